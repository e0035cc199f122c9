"""Invitations and set-password links (seeds 000, 001, 002, 003).

An invitation is a single-use, expiring link to set the first password; "send portal
instructions" (seed 003) is the same kind of link, never a password. The link is
consumed on POST only: ``view_invitation`` (GET) checks it without using it up, because
mail scanners open links before people do.

Every link dies with what it was for (see :mod:`~portal_access._domain.links`): it works
only for the address it was mailed to, and not after a password was set or a newer link
of its purpose was used. An invitation never sets the password of a contact who is
registered already: inviting one mails where to log in (and "Having trouble?") instead.
"""

from __future__ import annotations

import attrs

from portal_access._domain.accounts import Account
from portal_access._domain.audit import Actor, AuditAction
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
from portal_access._domain.links import ensure_link_alive
from portal_access._domain.logins import PortalLogin
from portal_access._domain.passwords import check_new_password
from portal_access._domain.tokens import (
    MAX_TOKEN_TEXT_LENGTH,
    TokenPurpose,
    TokenRecord,
    check_token,
    token_digest,
)
from portal_access._service import audit_trail
from portal_access._service.access_states import change_access
from portal_access._service.context import Work
from portal_access._service.lookups import require_account, require_contact
from portal_access._service.mailings import mail_link, send_email, template_values

__all__ = [
    "InvitationView",
    "complete_password_link",
    "consume_token",
    "ensure_login",
    "invite",
    "look_up_token",
    "send_password_link",
    "set_own_password",
    "tell_already_registered",
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
    """Invite ``contact``: turn its portal user on, make its login, mail the link; on
    the audit trail by ``work.actor`` (staff, the visitor's own form, the library), with
    the source as its reason.

    A contact who is registered already gets no link that could set a password: the
    email says where to log in, and that "Having trouble?" resets a forgotten password.

    Raises:
        ConflictError: the class has the portal off, or the email is someone else's login.
        InvalidEmailError: the contact has no email (seed 001).
    """
    contact, email = _login_ready(work, contact, account)
    login = work.uow.logins.get(contact.id)
    if login is not None and login.registered:
        tell_already_registered(work, contact, account, email, source=source)
        return
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
    _on_record(work, contact, source, mailed="invitation")


def tell_already_registered(
    work: Work, contact: Contact, account: Account, email: EmailAddress, *, source: InvitationSource
) -> None:
    """Mail the holder of a login where to log in, with no link that could set a
    password: what an invitation to a registered contact, or a visitor's form naming a
    login's address, sends instead (on the audit trail with the source as reason)."""
    send_email(
        work,
        kind="already_registered",
        template=work.context.templates.already_registered,
        to=(email,),
        values=template_values(work, contact, account),
        contact_id=contact.id,
    )
    _on_record(work, contact, source, mailed="already_registered")


def _on_record(work: Work, contact: Contact, source: InvitationSource, *, mailed: str) -> None:
    audit_trail.record(
        work,
        AuditAction.SEND_INVITATION,
        reason=source.value,
        contact_id=contact.id,
        account_id=contact.account_id,
        details={"mailed": mailed},
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
        InvalidTokenError: unknown, malformed, for another purpose or another contact;
            retired (mailed to an address the contact no longer has, or older than a
            password set or a newer link of its purpose used); or an invitation of a
            contact who is registered already.
        TokenExpiredError: past its expiry.
        TokenAlreadyUsedError: used before.
    """
    if not isinstance(token, str):
        raise InvalidTokenError("this link is not valid")
    if len(token) > MAX_TOKEN_TEXT_LENGTH:
        raise InvalidTokenError("this link is not valid")
    try:
        record = work.uow.tokens.get(token_digest(token))
    except ValidationError:
        record = None
    if record is None or record.purpose not in purposes:
        raise InvalidTokenError("this link is not valid")
    check_token(
        record, token, purpose=record.purpose, now=work.context.clock.now(), contact_id=contact_id
    )
    login = work.uow.logins.get(record.contact_id)
    contact = work.uow.contacts.get(record.contact_id)
    if login is None or contact is None:
        raise InvalidTokenError("this link is not valid")
    ensure_link_alive(record, login.links, contact.email)
    if record.purpose is TokenPurpose.INVITATION and login.registered:
        raise InvalidTokenError(
            "you are registered already: log in, or use Having trouble? to reset your password"
        )
    return record


def consume_token(work: Work, record: TokenRecord) -> None:
    """Mark the token used, or fail if a concurrent request used it first; every older
    link of its purpose dies with it."""
    if not work.uow.tokens.mark_used(record.digest, work.context.clock.now()):
        raise TokenAlreadyUsedError("this link was already used")
    login = work.uow.logins.get(record.contact_id)
    if login is None:
        raise InvalidTokenError("this link is not valid")
    work.uow.logins.save(
        attrs.evolve(login, links=login.links.used(record)), expected_version=login.version
    )


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
    """Store a password the contact chose; register them if this is the first (an
    access change the audit trail puts down to the contact)."""
    work.actor = Actor.contact(contact.id)
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
