"""Loading an aggregate that must exist, or raising the typed not-found error."""

from __future__ import annotations

from portal_access._domain.accounts import Account
from portal_access._domain.billing import Invoice, Plan
from portal_access._domain.contacts import Contact
from portal_access._domain.errors import ConfigurationError, NotFoundError
from portal_access._domain.offers import Offer
from portal_access._service.context import Work

__all__ = [
    "require_account",
    "require_contact",
    "require_invoice",
    "require_offer",
    "require_plan",
]


def require_account(work: Work, account_id: str) -> Account:
    """The account, or :class:`NotFoundError`."""
    account = work.uow.accounts.get(account_id)
    if account is None:
        raise NotFoundError("account", account_id)
    return account


def require_contact(work: Work, contact_id: str) -> Contact:
    """The contact, or :class:`NotFoundError`."""
    contact = work.uow.contacts.get(contact_id)
    if contact is None:
        raise NotFoundError("contact", contact_id)
    return contact


def require_invoice(work: Work, invoice_id: str) -> Invoice:
    """The invoice, or :class:`NotFoundError`."""
    invoice = work.uow.invoices.get(invoice_id)
    if invoice is None:
        raise NotFoundError("invoice", invoice_id)
    return invoice


def require_offer(work: Work, offer_id: str) -> Offer:
    """The offer, or :class:`NotFoundError`."""
    offer = work.uow.offers.get(offer_id)
    if offer is None:
        raise NotFoundError("offer", offer_id)
    return offer


def require_plan(work: Work, plan_id: str) -> Plan:
    """The plan a requirement names; its absence is a configuration mistake (a plan an
    offer used was removed), so :class:`ConfigurationError`, not not-found."""
    plan = work.uow.plans.get(plan_id)
    if plan is None:
        raise ConfigurationError(
            "the offer's plan no longer exists", field="plan_id", value=plan_id
        )
    return plan
