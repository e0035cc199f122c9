"""Submitting a kickoff form (seed 000_07c53b15302458c1.txt).

One unit of work creates (or finds) the account and the contact, the required invoice
with the first charges, the contact's access state with its payment requirement and
onboarding flow, and the invitation when the offer says "immediately". The natural key
is (offer, email): a double-click, a retried request, or the same form sent by several
workers at once returns the first signup.

A visitor's form never tells whether its address already has a login: it is taken as
from anyone, and where a new address would have been mailed (an invitation), the login's
holder is mailed where to log in instead. The visitor's answer is the same.

A visitor's form always makes a new account: it never names an existing one (a
stranger could otherwise join any account through a free offer and see its invoices).
Joining an existing account is a staff call: staff holding ``INVITE_CONTACTS`` submit
the form with ``account_id`` (a host that emails its own join links checks them, then
makes that call for the staff member who issued the link).
"""

from __future__ import annotations

import base64

import attrs

from portal_access._domain.access import AccessState
from portal_access._domain.accounts import Account
from portal_access._domain.audit import Actor
from portal_access._domain.billing import Invoice, InvoicePurpose
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import (
    ConflictError,
    NotFoundError,
    StaleStateError,
    StorageError,
    ValidationError,
)
from portal_access._domain.events import InvoiceCreated
from portal_access._domain.invitations import (
    InvitationSource,
    StaffMember,
    StaffPermission,
    authorize,
    auto_invite_on_creation,
)
from portal_access._domain.offers import InviteTiming, Offer
from portal_access._domain.requirement import RequiredPayment
from portal_access._domain.serialization import from_json, to_json
from portal_access._domain.validation import ensure_identifier, ensure_instance, optional
from portal_access._domain.visitor_input import MAX_NAME_LENGTH, visitor_text
from portal_access._service.access_states import change_access
from portal_access._service.context import Work
from portal_access._service.directory import create_contact, save_account
from portal_access._service.invitations import invite, tell_already_registered
from portal_access._service.lookups import require_account, require_offer
from portal_access._service.mailings import template_values

__all__ = ["KickoffForm", "Signup", "new_quick_pay_code", "submit_kickoff_form"]


@attrs.frozen
class KickoffForm:
    """What a visitor typed into a kickoff form.

    Every field is bounded (names at most 255 characters, no control characters; the
    email as :class:`~portal_access.EmailAddress`); a form never names an account.

    Args:
        first_name: the contact's first name.
        email: the contact's email (the future username).
        last_name: the contact's last name.
        account_name: the new account's name (defaults to the contact's full name).

    Raises:
        ValidationError: a blank first name or email, a field too long, or control
            characters.
    """

    first_name: str = attrs.field(validator=visitor_text(MAX_NAME_LENGTH))
    email: str = attrs.field(validator=visitor_text(MAX_NAME_LENGTH))
    last_name: str = attrs.field(default="", validator=visitor_text(MAX_NAME_LENGTH, blank=True))
    account_name: str | None = attrs.field(
        default=None, validator=optional(visitor_text(MAX_NAME_LENGTH))
    )


@attrs.frozen
class Signup:
    """What a kickoff form created."""

    contact_id: str
    account_id: str
    invoice_id: str | None
    invited: bool


def new_quick_pay_code(work: Work) -> str:
    """An 8-character code printed on an invoice, for quick pay and self-registration."""
    raw = work.context.ids.token_bytes(5)
    return base64.b32encode(raw).decode("ascii")


def submit_kickoff_form(
    work: Work,
    offer_id: str,
    form: KickoffForm,
    *,
    idempotency_key: str | None = None,
    account_id: str | None = None,
    staff: StaffMember | None = None,
) -> Signup:
    """Create what the kickoff form asks for; see the module docstring.

    Args:
        work: the unit of work.
        offer_id: the offer (kickoff form) submitted.
        form: what was typed.
        idempotency_key: the host's key for this submission (default: the email).
        account_id: an existing account to put the contact on; only with ``staff``.
        staff: the staff member submitting for someone (needed with ``account_id``).

    Raises:
        NotFoundError: no such offer or account.
        AccessDeniedError: ``account_id`` without a staff member holding
            ``INVITE_CONTACTS``.
        ConflictError: the offer is inactive, or the contact already has a payment
            requirement from another signup.
        ValidationError: a bad email or id, or the offer makes no accounts and no
            account was given.
    """
    if not isinstance(form, KickoffForm):
        raise ValidationError("must be a KickoffForm", field="form", value=form)
    offer = require_offer(work, ensure_identifier(offer_id, field="offer_id"))
    if account_id is not None:
        ensure_identifier(account_id, field="account_id")
        authorize(staff, StaffPermission.INVITE_CONTACTS)  # joining an account: staff only
    if staff is not None:
        work.actor = Actor.staff(ensure_instance(staff, StaffMember, field="staff"))
    if not offer.active:
        raise ConflictError(f"offer {offer.id!r} is not taking submissions")
    email = EmailAddress.parse(form.email, field="email")
    if idempotency_key is not None:
        ensure_identifier(idempotency_key, field="idempotency_key")
    key = f"kickoff:{offer.id}:{idempotency_key or email.key}"
    done = work.uow.idempotency.get(key)
    if done is not None:
        return from_json(done, Signup)
    try:
        return _sign_up(
            work, offer, form, email, key=key, account_id=account_id, visitor=staff is None
        )
    except ConflictError:
        _raise_if_finished_elsewhere(work, key)
        raise


def _raise_if_finished_elsewhere(work: Work, key: str) -> None:
    """Raise :class:`StaleStateError` (run the use case again) when a concurrent
    submission of the same form committed since this one looked.

    On PostgreSQL (READ COMMITTED) a unit of work sees rows other units of work commit
    while it runs: the same form sent by several workers at once finds the first
    worker's login partway through and would answer "the email is someone else's".
    That is the race, not a conflict: run again, the idempotency key returns the first
    signup.
    """
    try:
        finished = work.uow.idempotency.get(key) is not None
    except StorageError:  # the transaction cannot read any more: report the conflict
        return
    if finished:
        raise StaleStateError("the same form was submitted concurrently and finished first")


def _sign_up(
    work: Work,
    offer: Offer,
    form: KickoffForm,
    email: EmailAddress,
    *,
    key: str,
    account_id: str | None,
    visitor: bool,
) -> Signup:
    account = _account_for(work, offer, form, account_id)
    holder = work.uow.logins.with_email(email) if visitor else None
    if holder is not None:
        _raise_if_finished_elsewhere(work, key)  # our own twin's login, not a stranger's
    contact, invited = _contact_for(work, offer, form, account, email, auto_invite=not holder)
    if work.actor == Actor.system():  # a visitor's own form: the contact acts
        work.actor = Actor.contact(contact.id)
    state = work.uow.access.get(contact.id)
    assert state is not None
    if state.requirement is not None:
        raise ConflictError("this contact already has a required payment")
    invoice = _required_invoice(work, offer, contact, account)
    requirement = (
        None
        if invoice is None or offer.paid_access is None
        else RequiredPayment(
            invoice_id=invoice.id,
            amount_due=invoice.total,
            gateway=offer.paid_access.gateway,
            plan_id=offer.paid_access.plan.id if offer.paid_access.plan else None,
        )
    )
    change_access(work, contact.id, lambda s: _enrol(s, requirement, offer))
    mails_now = offer.invite is InviteTiming.IMMEDIATELY or auto_invite_on_creation(
        contact, account
    )
    if holder is not None and mails_now:  # one mail to the address, as for anyone else
        _tell_holder(work, holder.contact_id, email)
        invited = True
    elif offer.invite is InviteTiming.IMMEDIATELY and not invited:
        invite(work, contact, account, source=InvitationSource.KICKOFF_FORM)
        invited = True
    signup = Signup(
        contact_id=contact.id,
        account_id=account.id,
        invoice_id=invoice.id if invoice else None,
        invited=invited,
    )
    work.uow.idempotency.put(key, to_json(signup))
    return signup


def _enrol(state: AccessState, requirement: RequiredPayment | None, offer: Offer) -> AccessState:
    return attrs.evolve(
        state, role=offer.role, requirement=requirement, onboarding_flow=offer.onboarding_flow
    )


def _account_for(work: Work, offer: Offer, form: KickoffForm, account_id: str | None) -> Account:
    if account_id is not None:
        return require_account(work, account_id)
    if offer.account_class_id is None:
        raise ValidationError("this form needs an existing account", field="account_id")
    account_class = work.uow.account_classes.get(offer.account_class_id)
    if account_class is None:
        raise NotFoundError("account class", offer.account_class_id)
    name = form.account_name or f"{form.first_name} {form.last_name}".strip()
    account_id = work.context.ids.new_id("a_")
    return save_account(
        work, Account(id=account_id, number=account_id, name=name, account_class=account_class)
    )


def _tell_holder(work: Work, contact_id: str, email: EmailAddress) -> None:
    """A visitor's form named the address of someone's login: the form is taken as from
    anyone, and the login's holder is told where to log in (no link that could set a
    password). The visitor sees the same answer as for a new address, so the form never
    tells whether an address has a login."""
    holder = work.uow.contacts.get(contact_id)
    if holder is None:  # a login without its contact: nothing to tell anyone
        return
    account = require_account(work, holder.account_id)
    tell_already_registered(work, holder, account, email, source=InvitationSource.KICKOFF_FORM)


def _contact_for(
    work: Work,
    offer: Offer,
    form: KickoffForm,
    account: Account,
    email: EmailAddress,
    *,
    auto_invite: bool,
) -> tuple[Contact, bool]:
    for contact in work.uow.contacts.with_email(email):
        if contact.account_id == account.id:
            return contact, False
    contact = Contact(
        id=work.context.ids.new_id("c_"),
        account_id=account.id,
        first_name=form.first_name.strip(),
        last_name=form.last_name.strip(),
        email=email,
        role=offer.role,
    )
    invited = create_contact(work, contact, auto_invite=auto_invite)
    return contact, invited


def _required_invoice(
    work: Work, offer: Offer, contact: Contact, account: Account
) -> Invoice | None:
    paid = offer.paid_access
    if paid is None:
        return None
    today = work.context.clock.now().date()
    number = work.uow.invoices.next_number()
    lines = paid.first_invoice
    values = template_values(
        work,
        contact,
        account,
        offer__name=offer.name,
        invoice__number=number,
        invoice__due_date=today.isoformat(),
        invoice__total=str(paid.first_invoice_total),
    )
    invoice = Invoice(
        id=work.context.ids.new_id("inv_"),
        number=number,
        account_id=account.id,
        contact_id=contact.id,
        title=paid.title_template.render(values),
        currency=paid.currency,
        lines=lines,
        issued_on=today,
        due_on=today,
        purpose=InvoicePurpose.REQUIRED_PAYMENT,
        gateway=paid.gateway,
        quick_pay_code=new_quick_pay_code(work),
    )
    work.uow.invoices.save(invoice)
    work.emit(
        InvoiceCreated(
            invoice_id=invoice.id,
            number=invoice.number,
            contact_id=contact.id,
            total=invoice.total.amount,
            currency=invoice.currency,
        )
    )
    return invoice
