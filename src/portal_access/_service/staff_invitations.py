"""What staff do to give contacts portal access (seeds 001, 002, 003).

Every action takes the acting :class:`~portal_access.StaffMember` and checks the
permission it needs; seed 002: "If you are a System Admin with Firm Settings access -
you can invite them".
"""

from __future__ import annotations

from portal_access._domain.accounts import Account
from portal_access._domain.audit import Actor, AuditAction
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.invitations import (
    InvitationSource,
    StaffMember,
    StaffPermission,
    authorize,
    ensure_invitable,
)
from portal_access._domain.passwords import check_new_password
from portal_access._domain.tokens import TokenPurpose
from portal_access._service import audit_trail
from portal_access._service.context import Work
from portal_access._service.directory import create_contact
from portal_access._service.invitations import ensure_login, invite, send_password_link
from portal_access._service.lookups import require_account, require_contact

__all__ = [
    "contact_for_address",
    "invite_as_staff",
    "invite_contact",
    "invite_email_address",
    "registered",
    "send_portal_instructions",
    "set_temporary_password",
]


def invite_contact(work: Work, contact_id: str, *, staff: StaffMember) -> None:
    """Staff invite a saved contact (seed 001's "Send portal access invitation").

    Raises:
        AccessDeniedError: the staff member lacks ``INVITE_CONTACTS``.
        NotFoundError: no such contact.
        InvalidEmailError: the contact has no email.
    """
    authorize(staff, StaffPermission.INVITE_CONTACTS)
    contact = require_contact(work, contact_id)
    account = require_account(work, contact.account_id)
    invite_as_staff(work, contact, account, staff=staff, source=InvitationSource.STAFF)


def invite_as_staff(
    work: Work,
    contact: Contact,
    account: Account,
    *,
    staff: StaffMember,
    source: InvitationSource,
) -> None:
    """Invite ``contact`` on ``staff``'s behalf (the invitation is on the audit trail
    by ``staff``)."""
    work.actor = Actor.staff(staff)
    invite(work, contact, account, source=source)


def contact_for_address(work: Work, account_id: str, email: EmailAddress) -> Contact:
    """The account's contact with ``email``, created (client, account level) if none.

    A contact made here is not auto-invited on creation: every caller invites it next,
    as staff and for its own reason, so the address gets one invitation, not two."""
    for contact in work.uow.contacts.with_email(email):
        if contact.account_id == account_id:
            return contact
    contact = Contact(
        id=work.context.ids.new_id("c_"),
        account_id=account_id,
        first_name="",
        email=email,
    )
    create_contact(work, contact, auto_invite=False)
    return contact


def invite_email_address(work: Work, account_id: str, email: str, *, staff: StaffMember) -> str:
    """Seed 002, Settings > Invites: "select OR enter an email address" and a client.

    The account's contact with that email is invited, or a new contact is made for it.
    Returns the contact id.
    """
    authorize(staff, StaffPermission.INVITE_CONTACTS)
    account = require_account(work, account_id)
    address = EmailAddress.parse(email)
    contact = contact_for_address(work, account.id, address)
    if not registered(work, contact.id):
        invite_as_staff(work, contact, account, staff=staff, source=InvitationSource.STAFF)
    return contact.id


def registered(work: Work, contact_id: str) -> bool:
    """Whether the contact has set a password of their own."""
    login = work.uow.logins.get(contact_id)
    return login is not None and login.registered


def send_portal_instructions(work: Work, contact_id: str, *, staff: StaffMember) -> None:
    """Seed 003's "Send Portal Instructions": the login URL, the username and a
    set-password link. The password itself is never emailed (docs/rules.md)."""
    authorize(staff, StaffPermission.INVITE_CONTACTS)
    work.actor = Actor.staff(staff)
    send_password_link(work, contact_id, purpose=TokenPurpose.SET_PASSWORD)
    contact = require_contact(work, contact_id)
    audit_trail.record(
        work,
        AuditAction.SEND_PORTAL_INSTRUCTIONS,
        contact_id=contact.id,
        account_id=contact.account_id,
    )


def set_temporary_password(
    work: Work, contact_id: str, password: str, *, staff: StaffMember
) -> None:
    """Seed 003: staff set a temporary password during setup. The contact must change
    it at the first login; until then they are not registered and have no access.

    Raises:
        AccessDeniedError: the staff member lacks ``SET_TEMPORARY_PASSWORD``.
        ValidationError: the password is too short or equals the email.
    """
    authorize(staff, StaffPermission.SET_TEMPORARY_PASSWORD)
    work.actor = Actor.staff(staff)
    contact = require_contact(work, contact_id)
    account = require_account(work, contact.account_id)
    email = ensure_invitable(contact, account, saved=True)
    check_new_password(password, email=email)
    login = ensure_login(work, contact, email)
    work.uow.logins.save(
        login.with_temporary_password(work.context.hasher.hash(password)),
        expected_version=login.version,
    )
    audit_trail.record(
        work,
        AuditAction.SET_TEMPORARY_PASSWORD,
        contact_id=contact.id,
        account_id=account.id,
    )
