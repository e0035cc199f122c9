"""Invitations and set-password links (seeds 000, 001, 002, 003).

An invitation is a single-use, expiring link to set the first password; "send portal
instructions" (seed 003) is the same kind of link, never a password. The link is
consumed on POST only: ``view_invitation`` (GET) checks it without using it up, because
mail scanners open links before people do.
"""

from __future__ import annotations

import attrs

from portal_access._domain.accounts import Account
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import (
    ConflictError,
    InvalidTokenError,
    TokenAlreadyUsedError,
    ValidationError,
)
from portal_access._domain.events import ContactRegistered, InvitationSent
from portal_access._domain.invitations import InvitationSource, ensure_invitable
from portal_access._domain.logins import PortalLogin
from portal_access._domain.passwords import check_new_password
from portal_access._domain.tokens import TokenPurpose, TokenRecord, check_token, token_digest
from portal_access._service.access_states import change_access
from portal_access._service.context import Work
from portal_access._service.lookups import require_account, require_contact
from portal_access._service.mailings import mail_link

__all__ = [
    "InvitationView",
    "complete_password_link",
    "consume_token",
    "ensure_login",
    "invite",
    "look_up_token",
    "send_password_link",
    "set_own_password",
    "view_link",
]


@attrs.frozen
class InvitationView:
    """What the GET confirm page of a link may show (nothing is consumed)."""

    contact_id: str
    first_name: str
    email: str
    purpose: TokenPurpose


def ensure_login(work: Work, contact: Contact, email: EmailAddress) -> PortalLogin:
    """The contact's login, created (without a password) if missing.

    Raises:
        ConflictError: the email is already another contact's username.
    """
    login = work.uow.logins.get(contact.id)
    if login is not None:
        return login
    other = work.uow.logins.with_email(email)
    if other is not None:
        raise ConflictError(f"{email} is already the username of another contact")
    return work.uow.logins.save(
        PortalLogin(contact_id=contact.id, email=email), expected_version=None
    )


def _enable_portal(work: Work, contact: Contact) -> Contact:
    if contact.portal.enabled:
        return contact
    contact = attrs.evolve(contact, portal=attrs.evolve(contact.portal, enabled=True))
    work.uow.contacts.save(contact)
    change_access(work, contact.id, lambda state: attrs.evolve(state, portal=contact.portal))
    return contact


def _login_ready(work: Work, contact: Contact, account: Account) -> tuple[Contact, EmailAddress]:
    """Check the contact may be invited, turn its portal user on and make its login."""
    email = ensure_invitable(contact, account, saved=True)
    contact = _enable_portal(work, contact)
    ensure_login(work, contact, email)
    return contact, email


def invite(work: Work, contact: Contact, account: Account, *, source: InvitationSource) -> None:
    """Invite ``contact``: turn its portal user on, make its login, mail the link.

    Raises:
        ConflictError: the class has the portal off, or the email is someone else's login.
        InvalidEmailError: the contact has no email (seed 001).
    """
    contact, email = _login_ready(work, contact, account)
    expires = mail_link(
        work,
        contact,
        account,
        to=email,
        purpose=TokenPurpose.INVITATION,
        path=work.context.links.invitation,
        template=work.context.templates.invitation,
    )
    work.emit(
        InvitationSent(
            contact_id=contact.id,
            email=str(email),
            source=source.value,
            expires_at=expires.isoformat(),
        )
    )


def send_password_link(work: Work, contact_id: str, *, purpose: TokenPurpose) -> None:
    """Mail a set-password (seed 003 portal instructions) or reset link to the contact."""
    contact = require_contact(work, contact_id)
    account = require_account(work, contact.account_id)
    contact, email = _login_ready(work, contact, account)
    links, templates = work.context.links, work.context.templates
    reset = purpose is TokenPurpose.RESET_PASSWORD
    mail_link(
        work,
        contact,
        account,
        to=email,
        purpose=purpose,
        path=links.reset_password if reset else links.set_password,
        template=templates.password_reset if reset else templates.portal_instructions,
    )


def look_up_token(
    work: Work,
    token: str,
    purposes: tuple[TokenPurpose, ...],
    *,
    contact_id: str | None = None,
) -> TokenRecord:
    """The valid, unused token record for ``token`` (any of ``purposes``), unconsumed.

    Raises:
        InvalidTokenError: unknown, malformed, for another purpose or another contact.
        TokenExpiredError: past its expiry.
        TokenAlreadyUsedError: used before.
    """
    try:
        record = work.uow.tokens.get(token_digest(token))
    except ValidationError:
        record = None
    if record is None or record.purpose not in purposes:
        raise InvalidTokenError("this link is not valid")
    return check_token(
        record, token, purpose=record.purpose, now=work.context.clock.now(), contact_id=contact_id
    )


def consume_token(work: Work, record: TokenRecord) -> None:
    """Mark the token used, or fail if a concurrent request used it first."""
    if not work.uow.tokens.mark_used(record.digest, work.context.clock.now()):
        raise TokenAlreadyUsedError("this link was already used")


def complete_password_link(
    work: Work,
    token: str,
    password: str,
    purposes: tuple[TokenPurpose, ...],
    *,
    contact_id: str | None = None,
) -> str:
    """Consume a set-password kind of link and set the contact's password (POST).

    Returns the contact id. The first password a contact sets is their registration.
    """
    record = look_up_token(work, token, purposes, contact_id=contact_id)
    contact = require_contact(work, record.contact_id)
    check_new_password(password, email=contact.email)
    consume_token(work, record)
    set_own_password(work, contact, password)
    return contact.id


def set_own_password(work: Work, contact: Contact, password: str) -> None:
    """Store a password the contact chose; register them if this is the first."""
    login = work.uow.logins.get(contact.id)
    if login is None:
        raise InvalidTokenError("this link is not valid")
    now = work.context.clock.now()
    updated = login.with_password(work.context.hasher.hash(password), now=now)
    work.uow.logins.save(updated, expected_version=login.version)
    if not login.registered:
        work.emit(ContactRegistered(contact_id=contact.id))
        change_access(work, contact.id, lambda state: attrs.evolve(state, registered=True))


def view_link(work: Work, token: str, purposes: tuple[TokenPurpose, ...]) -> InvitationView:
    """What the GET confirm page shows; the link stays unused."""
    record = look_up_token(work, token, purposes)
    contact = require_contact(work, record.contact_id)
    return InvitationView(
        contact_id=contact.id,
        first_name=contact.first_name,
        email=str(contact.email) if contact.email else "",
        purpose=record.purpose,
    )
