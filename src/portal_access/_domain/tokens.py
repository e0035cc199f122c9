"""Single-use tokens for invitation, password and re-subscribe links.

The seeds are silent on how; the "Rules a careful library adds" of docs/rules.md fixes it: tokens
come from ``secrets`` (through the token-source port, so the domain stays pure), only
their SHA-256 digest is stored, they are compared in constant time, expire, and are used
once. A link is checked on GET (:func:`check_token`) and consumed only on POST
(:func:`redeem_token`), because mail scanners open links before the person does.

>>> from datetime import datetime, timezone
>>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> text, record = issue_token(bytes(range(32)), purpose=TokenPurpose.INVITATION,
...                            contact_id="c-1", now=now)
>>> text
'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8'
>>> record.expires_at - record.issued_at
datetime.timedelta(days=7)
>>> used = redeem_token(record, text, purpose=TokenPurpose.INVITATION, now=now)
>>> redeem_token(used, text, purpose=TokenPurpose.INVITATION, now=now)
Traceback (most recent call last):
...
portal_access.TokenAlreadyUsedError: this link was already used
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import types
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from portal_access._domain.errors import (
    InvalidTokenError,
    TokenAlreadyUsedError,
    TokenExpiredError,
    ValidationError,
)
from portal_access._domain.validation import (
    aware_datetime,
    ensure_aware,
    identifier,
    instance_of,
    int64,
    non_blank,
    optional,
)

__all__ = [
    "DEFAULT_TOKEN_LIFETIMES",
    "MAX_TOKEN_TEXT_LENGTH",
    "MIN_TOKEN_BYTES",
    "TokenPurpose",
    "TokenRecord",
    "check_token",
    "issue_token",
    "redeem_token",
    "token_digest",
]

#: The fewest random bytes a token may carry (256 bits).
MIN_TOKEN_BYTES = 32
_MAX_TOKEN_BYTES = 256
# URL-safe base64 without padding of 32..256 bytes is 43..342 characters.
_TOKEN_TEXT = re.compile(r"[A-Za-z0-9_-]{43,342}")
#: The longest token text :func:`issue_token` makes: longer text is refused unread.
MAX_TOKEN_TEXT_LENGTH = 342
_DIGEST = re.compile(r"[0-9a-f]{64}")


class TokenPurpose(enum.Enum):
    """What a token lets its holder do."""

    INVITATION = "invitation"
    SET_PASSWORD = "set_password"  # noqa: S105 - a purpose, not a password
    RESET_PASSWORD = "reset_password"  # noqa: S105
    RESUBSCRIBE = "resubscribe"


#: How long a token lives when :func:`issue_token` is given no ``lifetime``.
DEFAULT_TOKEN_LIFETIMES: Mapping[TokenPurpose, timedelta] = types.MappingProxyType(
    {
        TokenPurpose.INVITATION: timedelta(days=7),
        TokenPurpose.SET_PASSWORD: timedelta(days=3),
        TokenPurpose.RESET_PASSWORD: timedelta(hours=1),
        TokenPurpose.RESUBSCRIBE: timedelta(days=1),
    }
)


def _digest(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or _DIGEST.fullmatch(value) is None:
        raise ValidationError(
            "must be 64 lowercase hex characters (a SHA-256 digest)",
            field=attribute.name,
            value=value,
        )


@attrs.frozen
class TokenRecord:
    """What the store keeps of a token: never the token itself, only its digest.

    Args:
        digest: :func:`token_digest` of the token text; the store's unique lookup key.
        purpose: what the token is for.
        contact_id: whose token it is.
        issued_at: when it was issued (timezone-aware).
        expires_at: when it stops working; after ``issued_at``.
        used_at: when it was redeemed, or ``None``.
        serial: its place among the contact's links (see
            :class:`~portal_access._domain.links.LinkLedger`); 0 for links issued
            before serials existed.
        sent_to: the case-folded address it was mailed to (``EmailAddress.key``); the
            link works only while that is still the contact's address.

    Raises:
        ValidationError: a malformed digest, a naive datetime, or an expiry not after
            the issue time.
    """

    digest: str = attrs.field(validator=_digest)
    purpose: TokenPurpose = attrs.field(validator=instance_of(TokenPurpose))
    contact_id: str = attrs.field(validator=identifier)
    issued_at: datetime = attrs.field(validator=aware_datetime)
    expires_at: datetime = attrs.field(validator=aware_datetime)
    used_at: datetime | None = attrs.field(default=None, validator=optional(aware_datetime))
    serial: int = attrs.field(default=0, validator=int64)
    sent_to: str | None = attrs.field(default=None, validator=optional(non_blank))

    def __attrs_post_init__(self) -> None:
        if self.serial < 0:
            raise ValidationError("must not be negative", field="serial", value=self.serial)
        if self.expires_at <= self.issued_at:
            raise ValidationError(
                "must be after issued_at", field="expires_at", value=self.expires_at
            )


def token_digest(presented: str) -> str:
    """The hex SHA-256 of a token's text: what is stored and looked up.

    Raises:
        ValidationError: ``presented`` is not a ``str`` (``field="token"``).

    >>> len(token_digest("anything")), token_digest("a") == token_digest("a")
    (64, True)
    """
    if not isinstance(presented, str):
        raise ValidationError("must be a string", field="token")
    return hashlib.sha256(presented.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(
    raw: bytes,
    *,
    purpose: TokenPurpose,
    contact_id: str,
    now: datetime,
    lifetime: timedelta | None = None,
    serial: int = 0,
    sent_to: str | None = None,
) -> tuple[str, TokenRecord]:
    """Make a token from ``raw`` random bytes: the text to send and the record to store.

    Args:
        raw: at least 32 (at most 256) random bytes from the token-source port (the
            service uses ``secrets.token_bytes(32)``).
        purpose: what the token is for.
        contact_id: whose token it is.
        now: the issue time (timezone-aware).
        lifetime: how long it lives; default :data:`DEFAULT_TOKEN_LIFETIMES` [purpose].
        serial: the link's serial from the contact's ``LinkLedger``.
        sent_to: the key of the address the link is mailed to.

    Returns:
        The token text (URL-safe base64 without padding) and its :class:`TokenRecord`.

    Raises:
        ValidationError: ``raw`` is not bytes of the right length (``field="raw"``; the
            bytes are never kept in the error), ``purpose`` is not a :class:`TokenPurpose`,
            ``now`` is naive, or ``lifetime`` is not positive.
    """
    if not isinstance(raw, bytes):
        raise ValidationError("must be bytes", field="raw")
    if not MIN_TOKEN_BYTES <= len(raw) <= _MAX_TOKEN_BYTES:
        raise ValidationError(
            f"must be {MIN_TOKEN_BYTES} to {_MAX_TOKEN_BYTES} random bytes", field="raw"
        )
    if not isinstance(purpose, TokenPurpose):
        raise ValidationError("must be a TokenPurpose", field="purpose", value=purpose)
    ensure_aware(now, field="now")
    if lifetime is None:
        lifetime = DEFAULT_TOKEN_LIFETIMES[purpose]
    if not isinstance(lifetime, timedelta):
        raise ValidationError("must be a timedelta", field="lifetime", value=lifetime)
    if lifetime <= timedelta(0):
        raise ValidationError("must be a positive timedelta", field="lifetime", value=lifetime)
    text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    record = TokenRecord(
        digest=token_digest(text),
        purpose=purpose,
        contact_id=contact_id,
        issued_at=now,
        expires_at=now + lifetime,
        serial=serial,
        sent_to=sent_to,
    )
    return text, record


def check_token(
    record: TokenRecord,
    presented: str,
    *,
    purpose: TokenPurpose,
    now: datetime,
    contact_id: str | None = None,
) -> TokenRecord:
    """Verify ``presented`` against ``record`` without consuming it (the GET confirm page).

    Args:
        record: the stored record (found by :func:`token_digest` of ``presented``).
        presented: the token text from the link.
        purpose: what the caller is about to do with it.
        now: the current time (timezone-aware).
        contact_id: when given, the token must belong to this contact.

    Returns:
        ``record``, unchanged.

    Raises:
        InvalidTokenError: not this record's token (compared in constant time), another
            purpose, or another contact's token.
        TokenAlreadyUsedError: it was redeemed before.
        TokenExpiredError: ``now`` is at or after ``expires_at``.
        ValidationError: ``now`` is naive.
    """
    ensure_aware(now, field="now")
    if not isinstance(presented, str):
        raise InvalidTokenError("unknown token")
    if len(presented) > MAX_TOKEN_TEXT_LENGTH:
        raise InvalidTokenError("unknown token")
    if _TOKEN_TEXT.fullmatch(presented) is None:
        raise InvalidTokenError("unknown token")  # not something issue_token makes
    digest = token_digest(presented).encode("ascii")
    if not hmac.compare_digest(digest, record.digest.encode("ascii")):
        raise InvalidTokenError("unknown token")
    if record.purpose is not purpose:
        raise InvalidTokenError("the token is for another purpose")
    if contact_id is not None and contact_id != record.contact_id:
        raise InvalidTokenError("the token belongs to another contact")
    if record.used_at is not None:
        raise TokenAlreadyUsedError("this link was already used")
    if now >= record.expires_at:
        raise TokenExpiredError("this link has expired")
    return record


def redeem_token(
    record: TokenRecord,
    presented: str,
    *,
    purpose: TokenPurpose,
    now: datetime,
    contact_id: str | None = None,
) -> TokenRecord:
    """Verify like :func:`check_token`, then return the record marked used at ``now``.

    Single use: the service stores the returned record (on POST only) and a second
    redemption raises :class:`~portal_access.TokenAlreadyUsedError`.

    Raises:
        InvalidTokenError, TokenAlreadyUsedError, TokenExpiredError, ValidationError:
            as :func:`check_token`.
    """
    checked = check_token(record, presented, purpose=purpose, now=now, contact_id=contact_id)
    return attrs.evolve(checked, used_at=now)
