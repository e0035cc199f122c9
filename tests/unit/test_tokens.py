"""Single-use tokens: issued from random bytes, stored as digests, checked, redeemed once."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_access._domain.errors import (
    InvalidTokenError,
    TokenAlreadyUsedError,
    TokenExpiredError,
    ValidationError,
)
from portal_access._domain.tokens import (
    DEFAULT_TOKEN_LIFETIMES,
    MIN_TOKEN_BYTES,
    TokenPurpose,
    TokenRecord,
    check_token,
    issue_token,
    redeem_token,
    token_digest,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RAW = bytes(range(100, 132))


def issue(
    raw: bytes = RAW, purpose: TokenPurpose = TokenPurpose.INVITATION, **kwargs: Any
) -> tuple[str, TokenRecord]:
    """Issue a token for contact c-1 at NOW (local factory)."""
    return issue_token(raw, purpose=purpose, **{"contact_id": "c-1", "now": NOW, **kwargs})


def make_record(**overrides: Any) -> TokenRecord:
    """A stored record (local factory)."""
    fields: dict[str, Any] = {
        "digest": "0" * 64,
        "purpose": TokenPurpose.INVITATION,
        "contact_id": "c-1",
        "issued_at": NOW,
        "expires_at": NOW + timedelta(days=1),
    }
    return TokenRecord(**{**fields, **overrides})


# -- lifetimes and digests ---------------------------------------------------------------------


def test_default_lifetimes() -> None:
    """Invitations live 7 days, set-password 3 days, reset 1 hour, re-subscribe 1 day."""
    assert dict(DEFAULT_TOKEN_LIFETIMES) == {
        TokenPurpose.INVITATION: timedelta(days=7),
        TokenPurpose.SET_PASSWORD: timedelta(days=3),
        TokenPurpose.RESET_PASSWORD: timedelta(hours=1),
        TokenPurpose.RESUBSCRIBE: timedelta(days=1),
    }


def test_default_lifetimes_are_read_only() -> None:
    """The default lifetimes cannot be changed at run time."""
    with pytest.raises(TypeError):
        DEFAULT_TOKEN_LIFETIMES[TokenPurpose.INVITATION] = timedelta(days=365)  # type: ignore[index]


def test_digest_is_hex_sha256_of_the_text() -> None:
    """token_digest is the hex SHA-256 of the token text."""
    assert token_digest("abc") == hashlib.sha256(b"abc").hexdigest()


def test_digest_of_a_non_string_is_invalid() -> None:
    """A non-string token raises ValidationError naming 'token'."""
    with pytest.raises(ValidationError) as caught:
        token_digest(b"abc")  # type: ignore[arg-type]
    assert caught.value.field == "token"


def test_digest_accepts_any_string() -> None:
    """Any string, even a lone surrogate from a hostile URL, has a digest."""
    assert len(token_digest("\ud800")) == 64


# -- issuing ----------------------------------------------------------------------------------


def test_token_text_is_url_safe_base64_without_padding() -> None:
    """The token text is the raw bytes in URL-safe base64 without padding."""
    text, _record = issue()
    assert "=" not in text
    assert base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) == RAW
    assert len(text) == 43


def test_only_the_digest_is_stored() -> None:
    """The record keeps the digest of the text, never the text."""
    text, record = issue()
    assert record.digest == token_digest(text)
    assert text not in repr(record)
    assert {field.name for field in attrs.fields(TokenRecord)} == {
        "digest",
        "purpose",
        "contact_id",
        "issued_at",
        "expires_at",
        "used_at",
        "serial",
        "sent_to",
    }


@pytest.mark.parametrize("purpose", list(TokenPurpose))
def test_default_lifetime_applies_per_purpose(purpose: TokenPurpose) -> None:
    """Without a lifetime the token expires after its purpose's default."""
    _text, record = issue(purpose=purpose)
    assert (record.purpose, record.contact_id, record.used_at) == (purpose, "c-1", None)
    assert record.issued_at == NOW
    assert record.expires_at == NOW + DEFAULT_TOKEN_LIFETIMES[purpose]


def test_explicit_lifetime_overrides_the_default() -> None:
    """An explicit lifetime sets the expiry."""
    _text, record = issue(lifetime=timedelta(minutes=15))
    assert record.expires_at == NOW + timedelta(minutes=15)


@pytest.mark.parametrize("raw", [b"", bytes(MIN_TOKEN_BYTES - 1), bytes(257)])
def test_raw_of_wrong_length_is_invalid_and_not_kept(raw: bytes) -> None:
    """Fewer than 32 (or more than 256) raw bytes raise ValidationError naming 'raw'."""
    with pytest.raises(ValidationError) as caught:
        issue(raw)
    assert (caught.value.field, caught.value.value) == ("raw", None)


@pytest.mark.parametrize("raw", [bytearray(32), "x" * 43, None])
def test_raw_must_be_bytes(raw: object) -> None:
    """Raw that is not bytes raises ValidationError naming 'raw'."""
    with pytest.raises(ValidationError) as caught:
        issue(raw)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.value) == ("raw", None)


def test_naive_now_is_invalid() -> None:
    """A naive issue time raises ValidationError naming 'now'."""
    with pytest.raises(ValidationError) as caught:
        issue(now=datetime(2026, 3, 1, 12, 0))
    assert caught.value.field == "now"


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(seconds=-1), 3600])
def test_lifetime_must_be_a_positive_timedelta(lifetime: object) -> None:
    """A zero, negative or non-timedelta lifetime raises ValidationError naming 'lifetime'."""
    with pytest.raises(ValidationError) as caught:
        issue(lifetime=lifetime)
    assert caught.value.field == "lifetime"


def test_purpose_must_be_a_token_purpose() -> None:
    """A purpose that is not a TokenPurpose raises ValidationError naming 'purpose'."""
    with pytest.raises(ValidationError) as caught:
        issue(purpose="invitation")  # type: ignore[arg-type]
    assert caught.value.field == "purpose"


def test_blank_contact_id_is_invalid() -> None:
    """A blank contact id raises ValidationError naming 'contact_id'."""
    with pytest.raises(ValidationError) as caught:
        issue(contact_id=" ")
    assert caught.value.field == "contact_id"


# -- the record ----------------------------------------------------------------------------------


@pytest.mark.parametrize("digest", ["0" * 63, "A" * 64, "g" * 64, 123])
def test_record_digest_must_be_64_lowercase_hex(digest: object) -> None:
    """A digest that is not 64 lowercase hex characters raises ValidationError naming it."""
    with pytest.raises(ValidationError) as caught:
        make_record(digest=digest)
    assert caught.value.field == "digest"


@pytest.mark.parametrize("expires_at", [NOW, NOW - timedelta(seconds=1)])
def test_record_must_expire_after_issue(expires_at: datetime) -> None:
    """An expiry at or before the issue time raises ValidationError naming 'expires_at'."""
    with pytest.raises(ValidationError) as caught:
        make_record(expires_at=expires_at)
    assert caught.value.field == "expires_at"


@pytest.mark.parametrize("field", ["issued_at", "expires_at", "used_at"])
def test_record_times_must_be_aware(field: str) -> None:
    """A naive time in a record raises ValidationError naming the field."""
    with pytest.raises(ValidationError) as caught:
        make_record(**{field: datetime(2026, 3, 2)})
    assert caught.value.field == field


# -- checking and redeeming --------------------------------------------------------------------


def test_check_accepts_and_does_not_consume() -> None:
    """check_token returns the record unchanged, so a GET may check any number of times."""
    text, record = issue()
    assert check_token(record, text, purpose=TokenPurpose.INVITATION, now=NOW) is record
    assert check_token(record, text, purpose=TokenPurpose.INVITATION, now=NOW) is record


def test_redeem_marks_used_at_now() -> None:
    """redeem_token returns the record used at now."""
    text, record = issue()
    later = NOW + timedelta(hours=1)
    used = redeem_token(record, text, purpose=TokenPurpose.INVITATION, now=later)
    assert used == attrs.evolve(record, used_at=later)


@pytest.mark.parametrize("verify", [check_token, redeem_token])
def test_used_token_is_already_used(verify: Any) -> None:
    """A redeemed token raises TokenAlreadyUsedError on check and on redeem."""
    text, record = issue()
    used = redeem_token(record, text, purpose=TokenPurpose.INVITATION, now=NOW)
    with pytest.raises(TokenAlreadyUsedError) as caught:
        verify(used, text, purpose=TokenPurpose.INVITATION, now=NOW)
    assert caught.type is TokenAlreadyUsedError


@pytest.mark.parametrize(
    "presented",
    ["", "short", "A" * 43, "!" * 43, "x" * 343, None, b"bytes"],
)
def test_other_or_malformed_token_is_invalid(presented: object) -> None:
    """A different, malformed or non-string token raises InvalidTokenError."""
    _text, record = issue()
    with pytest.raises(InvalidTokenError) as caught:
        check_token(record, presented, purpose=TokenPurpose.INVITATION, now=NOW)  # type: ignore[arg-type]
    assert caught.type is InvalidTokenError


def test_wrong_purpose_is_invalid() -> None:
    """A token presented for another purpose raises InvalidTokenError."""
    text, record = issue(purpose=TokenPurpose.RESET_PASSWORD)
    with pytest.raises(InvalidTokenError) as caught:
        redeem_token(record, text, purpose=TokenPurpose.SET_PASSWORD, now=NOW)
    assert caught.type is InvalidTokenError


def test_other_contacts_token_is_invalid() -> None:
    """A token of another contact raises InvalidTokenError; the right contact passes."""
    text, record = issue()
    with pytest.raises(InvalidTokenError) as caught:
        check_token(record, text, purpose=TokenPurpose.INVITATION, now=NOW, contact_id="c-2")
    assert caught.type is InvalidTokenError
    assert check_token(record, text, purpose=TokenPurpose.INVITATION, now=NOW, contact_id="c-1")


def test_token_expires_at_its_expiry() -> None:
    """A token works until just before expires_at and raises TokenExpiredError from then."""
    text, record = issue(purpose=TokenPurpose.RESET_PASSWORD)
    just_before = record.expires_at - timedelta(microseconds=1)
    assert check_token(record, text, purpose=TokenPurpose.RESET_PASSWORD, now=just_before)
    for now in (record.expires_at, record.expires_at + timedelta(days=30)):
        with pytest.raises(TokenExpiredError):
            redeem_token(record, text, purpose=TokenPurpose.RESET_PASSWORD, now=now)


def test_expiry_compares_instants_across_time_zones() -> None:
    """Expiry compares instants, whatever time zone now is given in."""
    text, record = issue(purpose=TokenPurpose.RESET_PASSWORD)
    tokyo = timezone(timedelta(hours=9))
    with pytest.raises(TokenExpiredError):
        check_token(
            record,
            text,
            purpose=TokenPurpose.RESET_PASSWORD,
            now=record.expires_at.astimezone(tokyo),
        )


def test_used_is_reported_before_expired() -> None:
    """A used and expired token raises TokenAlreadyUsedError."""
    text, record = issue()
    used = redeem_token(record, text, purpose=TokenPurpose.INVITATION, now=NOW)
    with pytest.raises(TokenAlreadyUsedError):
        check_token(used, text, purpose=TokenPurpose.INVITATION, now=NOW + timedelta(days=30))


def test_check_with_naive_now_is_invalid() -> None:
    """A naive now raises ValidationError naming 'now'."""
    text, record = issue()
    with pytest.raises(ValidationError) as caught:
        check_token(record, text, purpose=TokenPurpose.INVITATION, now=datetime(2026, 3, 1))
    assert caught.value.field == "now"


# -- properties ----------------------------------------------------------------------------------

RAWS = st.binary(min_size=MIN_TOKEN_BYTES, max_size=64)
PURPOSES = st.sampled_from(TokenPurpose)


@settings(max_examples=300)
@given(raw=RAWS, purpose=PURPOSES, elapsed=st.floats(min_value=0, max_value=0.999))
def test_issued_token_redeems_once_then_always_fails(
    raw: bytes, purpose: TokenPurpose, elapsed: float
) -> None:
    """An issued token redeems once before it expires; a second redeem always fails."""
    text, record = issue(raw, purpose)
    now = NOW + (record.expires_at - NOW) * elapsed
    used = redeem_token(record, text, purpose=purpose, now=now, contact_id="c-1")
    assert used.used_at == now
    with pytest.raises(TokenAlreadyUsedError):
        redeem_token(used, text, purpose=purpose, now=now)


@settings(max_examples=300)
@given(
    raw=RAWS,
    other=st.text(max_size=400)
    | RAWS.map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")),
)
def test_any_other_token_string_fails(raw: bytes, other: str) -> None:
    """Any string other than the issued token raises InvalidTokenError."""
    text, record = issue(raw)
    if other == text:
        return
    with pytest.raises(InvalidTokenError) as caught:
        check_token(record, other, purpose=TokenPurpose.INVITATION, now=NOW)
    assert caught.type is InvalidTokenError


@settings(max_examples=300)
@given(raw=RAWS, data=st.data())
def test_token_with_one_character_changed_fails(raw: bytes, data: st.DataObject) -> None:
    """The issued token with any one character changed raises InvalidTokenError."""
    text, record = issue(raw)
    index = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    char = data.draw(st.sampled_from(alphabet.replace(text[index], "")))
    tampered = text[:index] + char + text[index + 1 :]
    with pytest.raises(InvalidTokenError) as caught:
        check_token(record, tampered, purpose=TokenPurpose.INVITATION, now=NOW)
    assert caught.type is InvalidTokenError
