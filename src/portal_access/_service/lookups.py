"""Loading an aggregate that must exist, or raising the typed not-found error.

Every id is checked before it reaches a store (a lone surrogate or a NUL in an id is a
:class:`ValidationError` naming the argument, never a driver's encoding error)."""

from __future__ import annotations

from portal_access._domain.accounts import Account
from portal_access._domain.billing import Invoice, Plan
from portal_access._domain.contacts import Contact
from portal_access._domain.errors import ConfigurationError, NotFoundError
from portal_access._domain.offers import Offer
from portal_access._domain.validation import ensure_identifier
from portal_access._service.context import Work

__all__ = [
    "require_account",
    "require_contact",
    "require_invoice",
    "require_offer",
    "require_plan",
]


def require_account(work: Work, account_id: str) -> Account:
    """The account, or :class:`NotFoundError` (:class:`ValidationError`: not an id)."""
    account = work.uow.accounts.get(ensure_identifier(account_id, field="account_id"))
    if account is None:
        raise NotFoundError("account", account_id)
    return account


def require_contact(work: Work, contact_id: str) -> Contact:
    """The contact, or :class:`NotFoundError` (:class:`ValidationError`: not an id)."""
    contact = work.uow.contacts.get(ensure_identifier(contact_id, field="contact_id"))
    if contact is None:
        raise NotFoundError("contact", contact_id)
    return contact


def require_invoice(work: Work, invoice_id: str) -> Invoice:
    """The invoice, or :class:`NotFoundError` (:class:`ValidationError`: not an id)."""
    invoice = work.uow.invoices.get(ensure_identifier(invoice_id, field="invoice_id"))
    if invoice is None:
        raise NotFoundError("invoice", invoice_id)
    return invoice


def require_offer(work: Work, offer_id: str) -> Offer:
    """The offer, or :class:`NotFoundError` (:class:`ValidationError`: not an id)."""
    offer = work.uow.offers.get(ensure_identifier(offer_id, field="offer_id"))
    if offer is None:
        raise NotFoundError("offer", offer_id)
    return offer


def require_plan(work: Work, plan_id: str) -> Plan:
    """The plan a requirement names; its absence is a configuration mistake (a plan an
    offer used was removed), so :class:`ConfigurationError`, not not-found."""
    plan = work.uow.plans.get(ensure_identifier(plan_id, field="plan_id"))
    if plan is None:
        raise ConfigurationError(
            "the offer's plan no longer exists", field="plan_id", value=plan_id
        )
    return plan
