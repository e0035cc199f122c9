"""Logging in, changing a password, and "Having trouble?" (seeds 000 and 003).

Anonymous flows answer the same way whatever matched and are rate-limited; the real
answer (a reset link, a re-subscribe link) goes to the matched address only.
"""

from __future__ import annotations

import attrs

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import AuthenticationError, PasswordChangeRequiredError
from portal_access._domain.passwords import check_new_password
from portal_access._domain.tokens import TokenPurpose
from portal_access._service.context import Work
from portal_access._service.invitations import send_password_link, set_own_password
from portal_access._service.lookups import require_contact
from portal_access._service.resubscribe import send_resubscribe_link_if_due

__all__ = ["LoginResult", "change_password", "having_trouble", "log_in"]

# Verified when no login matches, so an unknown email costs the same time as a known one.
_DUMMY_HASH_PASSWORD = "portal-access timing equaliser"  # noqa: S105 - not a credential


@attrs.frozen
class LoginResult:
    """A successful login."""

    contact_id: str


def _limit(work: Work, kind: str, email: EmailAddress) -> None:
    work.context.limiter.hit(f"{kind}:{email.key}", now=work.context.clock.now())


def _verify(work: Work, email: EmailAddress, password: str) -> str:
    """The contact id whose login has this email and password, else AuthenticationError."""
    hasher = work.context.hasher
    login = work.uow.logins.with_email(email)
    if login is None or login.password_hash is None:
        hasher.verify(password, hasher.hash(_DUMMY_HASH_PASSWORD))
        raise AuthenticationError("wrong email or password")
    if not hasher.verify(password, login.password_hash):
        raise AuthenticationError("wrong email or password")
    return login.contact_id


def log_in(work: Work, email: str, password: str) -> LoginResult:
    """Check an email and password (seed 003: the email is the username).

    Raises:
        AuthenticationError: wrong email or password (never says which).
        PasswordChangeRequiredError: right, but a staff-set temporary password that must
            be changed first (:func:`change_password`).
        RateLimitedError: too many attempts for this email.
    """
    address = EmailAddress.parse(email)
    _limit(work, "login", address)
    contact_id = _verify(work, address, password)
    login = work.uow.logins.get(contact_id)
    assert login is not None
    if login.temporary:
        raise PasswordChangeRequiredError("choose your own password before logging in")
    return LoginResult(contact_id=contact_id)


def change_password(work: Work, email: str, current: str, new: str) -> LoginResult:
    """Replace the password (a temporary one included); the first password a contact
    chooses registers them (seed 000).

    Raises:
        AuthenticationError: ``current`` is wrong.
        ValidationError: ``new`` breaks the password rules.
        RateLimitedError: too many attempts.
    """
    address = EmailAddress.parse(email)
    _limit(work, "login", address)
    contact_id = _verify(work, address, current)
    contact = require_contact(work, contact_id)
    check_new_password(new, email=address)
    set_own_password(work, contact, new)
    return LoginResult(contact_id=contact_id)


def having_trouble(work: Work, email: str) -> None:
    """The login page's "Having trouble?" (seed 000): mail a password-reset link, and a
    re-subscribe link when the contact's paid-access subscription lapsed.

    Returns nothing whether or not the email matched: what happened is in the mailbox.

    Raises:
        InvalidEmailError: not an email address (says nothing about any account).
        RateLimitedError: too many requests for this email.
    """
    address = EmailAddress.parse(email)
    _limit(work, "trouble", address)
    login = work.uow.logins.with_email(address)
    if login is None:
        return
    send_password_link(work, login.contact_id, purpose=TokenPurpose.RESET_PASSWORD)
    send_resubscribe_link_if_due(work, login.contact_id)
