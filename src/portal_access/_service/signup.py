"""Submitting a kickoff form (seed 000_07c53b15302458c1.txt).

One unit of work creates (or finds) the account and the contact, the required invoice
with the first charges, the contact's access state with its payment requirement and
onboarding flow, and the invitation when the offer says "immediately". The natural key
is (offer, email): a double-click or a retried request returns the first signup.
"""

from __future__ import annotations

import base64

import attrs

from portal_access._domain.access import AccessState
from portal_access._domain.accounts import Account
from portal_access._domain.billing import Invoice, InvoicePurpose
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ConflictError, NotFoundError, ValidationError
from portal_access._domain.events import InvoiceCreated
from portal_access._domain.invitations import InvitationSource
from portal_access._domain.offers import InviteTiming, Offer
from portal_access._domain.requirement import RequiredPayment
from portal_access._domain.serialization import from_json, to_json
from portal_access._domain.validation import instance_of, non_blank, optional
from portal_access._service.access_states import change_access
from portal_access._service.context import Work
from portal_access._service.directory import create_contact, save_account
from portal_access._service.invitations import invite
from portal_access._service.lookups import require_account, require_offer
from portal_access._service.mailings import template_values

__all__ = ["KickoffForm", "Signup", "new_quick_pay_code", "submit_kickoff_form"]


@attrs.frozen
class KickoffForm:
    """What a visitor typed into a kickoff form.

    Args:
        first_name: the contact's first name.
        email: the contact's email (the future username).
        last_name: the contact's last name.
        account_id: an existing account to join; ``None`` makes a new account in the
            offer's account class.
        account_name: the new account's name (defaults to the contact's full name).
    """

    first_name: str = attrs.field(validator=non_blank)
    email: str = attrs.field(validator=non_blank)
    last_name: str = attrs.field(default="", validator=instance_of(str))
    account_id: str | None = attrs.field(default=None, validator=optional(non_blank))
    account_name: str | None = attrs.field(default=None, validator=optional(non_blank))


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
    work: Work, offer_id: str, form: KickoffForm, *, idempotency_key: str | None = None
) -> Signup:
    """Create what the kickoff form asks for; see the module docstring.

    Raises:
        NotFoundError: no such offer or account.
        ConflictError: the offer is inactive, or the contact already has a payment
            requirement from another signup.
        ValidationError: a bad email, or no account named and the offer makes none.
    """
    offer = require_offer(work, offer_id)
    if not offer.active:
        raise ConflictError(f"offer {offer.id!r} is not taking submissions")
    email = EmailAddress.parse(form.email, field="email")
    key = f"kickoff:{offer.id}:{idempotency_key or email.key}"
    done = work.uow.idempotency.get(key)
    if done is not None:
        return from_json(done, Signup)
    account = _account_for(work, offer, form)
    contact, invited = _contact_for(work, offer, form, account, email)
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
    if offer.invite is InviteTiming.IMMEDIATELY and not invited:
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


def _account_for(work: Work, offer: Offer, form: KickoffForm) -> Account:
    if form.account_id is not None:
        return require_account(work, form.account_id)
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


def _contact_for(
    work: Work, offer: Offer, form: KickoffForm, account: Account, email: EmailAddress
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
    invited = create_contact(work, contact)
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
