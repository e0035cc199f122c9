"""Accounts, account classes, sites and contacts (seed 001_345994b3bb014aeb.txt).

Every change here that a contact's access depends on (class options, sites, scope,
role, portal settings) rewrites the affected contacts' access states in the same unit
of work, so ``check_access`` stays one read.
"""

from __future__ import annotations

import attrs

from portal_access._domain.access import AccessState
from portal_access._domain.accounts import Account, AccountClass, Site
from portal_access._domain.audit import Actor
from portal_access._domain.billing import Invoice
from portal_access._domain.contacts import Contact
from portal_access._domain.errors import ConflictError, ValidationError
from portal_access._domain.events import ContactCreated
from portal_access._domain.invitations import (
    InvitationSource,
    StaffMember,
    auto_invite_on_creation,
)
from portal_access._domain.logins import PortalLogin
from portal_access._domain.validation import ensure_instance
from portal_access._service.access_states import change_access, create_access
from portal_access._service.context import Work
from portal_access._service.invitations import invite
from portal_access._service.lookups import require_account, require_contact

__all__ = [
    "act_as",
    "create_contact",
    "save_account",
    "save_account_class",
    "save_invoice",
    "save_site",
    "sync_login_email",
    "update_contact",
]


def act_as(work: Work, staff: StaffMember | None) -> None:
    """Put what this unit of work changes down to ``staff`` on the audit trail (the
    host's staff screens name who saves); ``None`` leaves the actor as it is.

    Raises:
        ValidationError: ``staff`` is not a :class:`StaffMember`.
    """
    if staff is not None:
        work.actor = Actor.staff(ensure_instance(staff, StaffMember, field="staff"))


def save_account_class(
    work: Work, account_class: AccountClass, *, staff: StaffMember | None = None
) -> AccountClass:
    """Create or change a class; its accounts and their contacts follow at once."""
    act_as(work, staff)
    ensure_instance(account_class, AccountClass, field="account_class")
    work.uow.account_classes.save(account_class)
    for account_id in work.uow.accounts.ids_in_class(account_class.id):
        account = require_account(work, account_id)
        _store_account(work, attrs.evolve(account, account_class=account_class))
    return account_class


def save_account(work: Work, account: Account, *, staff: StaffMember | None = None) -> Account:
    """Create or change an account; a class not stored yet is stored with it."""
    act_as(work, staff)
    ensure_instance(account, Account, field="account")
    stored_class = work.uow.account_classes.get(account.account_class.id)
    if stored_class is None:
        work.uow.account_classes.save(account.account_class)
    elif stored_class != account.account_class:
        account = attrs.evolve(account, account_class=stored_class)
    _store_account(work, account)
    return account


def _store_account(work: Work, account: Account) -> None:
    work.uow.accounts.save(account)
    for contact_id in work.uow.access.contact_ids_for_account(account.id):
        change_access(
            work, contact_id, lambda state: attrs.evolve(state, account_class=account.account_class)
        )


def save_site(work: Work, site: Site, *, staff: StaffMember | None = None) -> Site:
    """Create or change a site (e.g. make it inactive); the account's contacts follow."""
    act_as(work, staff)
    ensure_instance(site, Site, field="site")
    require_account(work, site.account_id)
    work.uow.sites.save(site)
    sites = work.uow.sites.for_account(site.account_id)
    for contact_id in work.uow.access.contact_ids_for_account(site.account_id):
        change_access(work, contact_id, lambda state: attrs.evolve(state, sites=sites))
    return site


def create_contact(
    work: Work,
    contact: Contact,
    *,
    staff: StaffMember | None = None,
    auto_invite: bool = True,
) -> bool:
    """Save a new contact and its access state; auto-invite when the class says so.

    Returns whether an invitation was sent (seed 001: auto-invite on contact creation,
    for active accounts whose class says so, when an email is entered). With
    ``auto_invite=False`` none is: the caller mails what the contact needs itself.

    Raises:
        NotFoundError: the account does not exist.
        ConflictError: a contact with this id exists.
    """
    act_as(work, staff)
    ensure_instance(contact, Contact, field="contact")
    account = require_account(work, contact.account_id)
    if work.uow.contacts.get(contact.id) is not None:
        raise ConflictError(f"contact {contact.id!r} exists")
    work.uow.contacts.save(contact)
    create_access(
        work,
        AccessState(
            contact_id=contact.id,
            account_id=account.id,
            role=contact.role,
            registered=False,
            account_class=account.account_class,
            sites=work.uow.sites.for_account(account.id),
            scope=contact.scope,
            portal=contact.portal,
        ),
    )
    work.emit(ContactCreated(contact_id=contact.id, account_id=account.id))
    if auto_invite and auto_invite_on_creation(contact, account):
        invite(work, contact, account, source=InvitationSource.CONTACT_CREATED)
        return True
    return False


def update_contact(work: Work, contact: Contact, *, staff: StaffMember | None = None) -> Contact:
    """Change a contact (name, email, role, site scope, portal settings).

    Raises:
        NotFoundError: no such contact.
        ValidationError: the contact would move to another account.
        ConflictError: the new email is another login's username.
    """
    act_as(work, staff)
    stored = require_contact(work, ensure_instance(contact, Contact, field="contact").id)
    if stored.account_id != contact.account_id:
        raise ValidationError("a contact cannot move between accounts", field="account_id")
    work.uow.contacts.save(contact)
    sync_login_email(work, contact)
    change_access(
        work,
        contact.id,
        lambda state: attrs.evolve(
            state, role=contact.role, scope=contact.scope, portal=contact.portal
        ),
    )
    return contact


def sync_login_email(work: Work, contact: Contact) -> PortalLogin | None:
    """Keep the contact's login username equal to its email; when the email changes (or
    is removed), every outstanding link of the contact dies with the old address."""
    login = work.uow.logins.get(contact.id)
    if login is None or (contact.email is not None and login.email.value == contact.email.value):
        return login
    moved = contact.email != login.email  # another address, not the same one re-cased
    return work.uow.logins.save(
        attrs.evolve(
            login,
            email=contact.email or login.email,
            links=login.links.revoke_all() if moved else login.links,
        ),
        expected_version=login.version,
    )


def save_invoice(work: Work, invoice: Invoice) -> Invoice:
    """Record one of the host's own invoices (for summaries, aging, quick pay)."""
    work.uow.invoices.save(ensure_instance(invoice, Invoice, field="invoice"))
    return invoice
