"""Logging in, changing a password, and "Having trouble?" (seeds 000 and 003).

Anonymous flows answer the same way, in the same time, whatever matched, and are
rate-limited per client and per email (:mod:`~portal_access._service.anonymous`): a
login checks one password hash whether or not the email is known (a hash of no one's
password, computed once, stands in for a missing one), and "Having trouble?" only
counts the attempt and queues a job; the real answer (a reset link, a re-subscribe
link) is mailed to the matched address by that job.
"""

from __future__ import annotations

import attrs

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import (
    AuthenticationError,
    PasswordChangeRequiredError,
    ValidationError,
)
from portal_access._domain.logins import PortalLogin
from portal_access._domain.passwords import MAX_PASSWORD_LENGTH, check_new_password
from portal_access._domain.tokens import TokenPurpose
from portal_access._service.anonymous import answer_later, hit_limits
from portal_access._service.context import ServiceContext, Work, run
from portal_access._service.invitations import send_password_link, set_own_password
from portal_access._service.lookups import require_contact
from portal_access._service.resubscribe import send_resubscribe_link_if_due

__all__ = [
    "LoginResult",
    "change_password",
    "count_login",
    "counted_change_password",
    "counted_log_in",
    "having_trouble",
    "log_in",
]


@attrs.frozen
class LoginResult:
    """A successful login."""

    contact_id: str


def _password(value: object, field: str) -> str:
    """A presented password of bounded length (the hash's work is bounded by it)."""
    if not isinstance(value, str) or len(value) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            f"must be a string of at most {MAX_PASSWORD_LENGTH} characters",
            field=field,
            value=None,
        )
    return value


def _verify(work: Work, email: EmailAddress, password: str) -> PortalLogin:
    """The login with this email and password, else :class:`AuthenticationError`.

    Exactly one hash check runs either way: against the login's hash, or against the
    context's dummy hash when no login (or no password) matches.
    """
    dummy = work.context.dummy_hash()  # made on the first call, matched or not
    login = work.uow.logins.with_email(email)
    encoded = login.password_hash if login is not None else None
    matched = work.context.hasher.verify(password, encoded or dummy)
    if login is None or encoded is None or not matched:
        raise AuthenticationError("wrong email or password")
    return login


def count_login(context: ServiceContext, email: str, *, client_key: str) -> None:
    """Count an attempt to log in (or change a password) with ``email`` from the client,
    outside any unit of work, so a refused attempt still counts with a limiter that keeps
    its counts in the store.

    Raises:
        RateLimitedError: too many attempts from this client or for this email.
        ValidationError: a blank ``client_key``.
        InvalidEmailError: not an email address (says nothing about any account).
    """
    address = EmailAddress.parse(email)
    hit_limits(context, "login", client_key, email=address.key)


def log_in(work: Work, email: str, password: str) -> LoginResult:
    """Check an email and password (seed 003: the email is the username); the attempt
    was counted by :func:`count_login` first.

    Raises:
        AuthenticationError: wrong email or password (never says which).
        PasswordChangeRequiredError: right, but a staff-set temporary password that must
            be changed first (:func:`change_password`).
        ValidationError: a password longer than 1024 characters.
        InvalidEmailError: not an email address (says nothing about any account).
    """
    address = EmailAddress.parse(email)
    login = _verify(work, address, _password(password, "password"))
    if login.temporary:
        raise PasswordChangeRequiredError("choose your own password before logging in")
    return LoginResult(contact_id=login.contact_id)


def change_password(work: Work, email: str, current: str, new: str) -> LoginResult:
    """Replace the password (a temporary one included); the first password a contact
    chooses registers them (seed 000). Every outstanding link of the contact dies.

    Raises:
        AuthenticationError: ``current`` is wrong.
        ValidationError: ``new`` breaks the password rules.
    """
    address = EmailAddress.parse(email)
    login = _verify(work, address, _password(current, "current"))
    contact = require_contact(work, login.contact_id)
    check_new_password(new, email=address)
    set_own_password(work, contact, new)
    return LoginResult(contact_id=login.contact_id)


def having_trouble(context: ServiceContext, email: str, *, client_key: str) -> None:
    """The login page's "Having trouble?" (seed 000): mail a password-reset link, and a
    re-subscribe link when the contact's paid-access subscription lapsed.

    The request only validates, counts the attempt and queues the job that looks the
    email up and mails the links (:func:`mail_trouble_links`): it returns nothing, in the
    same time, whether or not the email matched.

    Raises:
        InvalidEmailError: not an email address (says nothing about any account).
        ValidationError: a blank ``client_key``.
        RateLimitedError: too many requests from this client or for this email.
    """
    address = EmailAddress.parse(email)
    hit_limits(context, "trouble", client_key, email=address.key)
    answer_later(context, "having trouble", lambda work: mail_trouble_links(work, address))


def mail_trouble_links(work: Work, email: EmailAddress) -> None:
    """The background part of :func:`having_trouble`: the links, to a matched login only."""
    login = work.uow.logins.with_email(email)
    if login is None:
        return
    send_password_link(work, login.contact_id, purpose=TokenPurpose.RESET_PASSWORD)
    send_resubscribe_link_if_due(work, login.contact_id)


def counted_log_in(
    context: ServiceContext, email: str, password: str, *, client_key: str
) -> LoginResult:
    """:func:`count_login`, come what may, then :func:`log_in` in its own unit of work."""
    count_login(context, email, client_key=client_key)
    return run(context, lambda work: log_in(work, email, password), deliver=False)


def counted_change_password(
    context: ServiceContext, email: str, current: str, new: str, *, client_key: str
) -> LoginResult:
    """:func:`count_login`, come what may, then :func:`change_password` in its own unit
    of work."""
    count_login(context, email, client_key=client_key)
    return run(context, lambda work: change_password(work, email, current, new), deliver=False)
