"""The account summary a contact sees on entering the portal.

Seed 004_67d5e53a019b49ae.txt: "your contacts will immediately see a summary of all
transactions made and pending"; seed 003_11ad6fb0c789d951.txt: invoices, balances,
payment history; seed 001_345994b3bb014aeb.txt: aging buckets (when displayed).
"""

from __future__ import annotations

from datetime import date

import attrs

from portal_access._domain.aging import AgingBuckets, age_invoices
from portal_access._domain.billing import Invoice, InvoiceStatus
from portal_access._domain.capabilities import Capability
from portal_access._domain.duplicate_payments import DuplicatePayment
from portal_access._domain.gateway_events import resubscribed_invoice_id
from portal_access._domain.money import Money
from portal_access._service.context import Work
from portal_access._service.documents import require_viewer, visible_invoices
from portal_access._service.payment_history import payment_history
from portal_access.repositories import PaymentRecord

__all__ = ["AccountSummary", "account_summary"]


@attrs.frozen
class AccountSummary:
    """Balances, aging, invoices and payments of the contact's account.

    Args:
        account_id: the account.
        as_of: the day balances and aging are computed for.
        balances: open balance per currency (only currencies with open invoices).
        aging: aging buckets per currency; empty when the portal hides aging buckets.
        invoices: the invoices the contact sees, newest first (open ones only when AR
            history is not displayed).
        settled_payments: succeeded, refunded and disputed payments, newest first
            (none when AR history is not displayed).
        pending_payments: payments still processing (ACH), newest first.
        duplicate_payments: payments that brought more than their invoice asked (a
            second payment of one invoice), with the surplus for staff to refund; each
            leaves the list once refunded (seed 000: an invoice is paid once).
    """

    account_id: str
    as_of: date
    balances: dict[str, Money]
    aging: dict[str, AgingBuckets]
    invoices: tuple[Invoice, ...]
    settled_payments: tuple[PaymentRecord, ...]
    pending_payments: tuple[PaymentRecord, ...]
    duplicate_payments: tuple[DuplicatePayment, ...] = ()


def account_summary(work: Work, contact_id: str) -> AccountSummary:
    """The summary for a contact with full access.

    Reads are one query each, whatever the account's size: the contact's access state,
    the contact, the account's invoices (one ``find``) and the account's payments (one
    ``find``); never one query per invoice. What it shows follows the display options
    and the contact's site scope:

    - only invoices the contact may see (the rule of documents: addressed to the contact
      or to no one, and of a site in its scope when the invoice names a site, seed 001),
      and only payments of those invoices;
    - "Display AR history" off: only open invoices, and no settled payments (pending
      payments still show, so a contact sees its bank payment clearing);
    - "Display aging buckets" off: no aging.

    Raises:
        NotFoundError: no such contact.
        AccessDeniedError: the contact may not view invoices (no full access).
    """
    viewer = require_viewer(work, contact_id, Capability.VIEW_INVOICES, what="the account summary")
    contact, decision = viewer
    now = work.context.clock.now()
    as_of = now.date()
    visible = visible_invoices(work.uow.invoices.for_account(contact.account_id), viewer)
    ar_history = decision.can(Capability.AR_HISTORY)
    invoices = tuple(
        sorted(
            (i for i in visible if ar_history or i.status is InvoiceStatus.OPEN),
            key=lambda invoice: (invoice.issued_on, invoice.id),
            reverse=True,
        )
    )
    open_invoices = [i for i in visible if i.status is InvoiceStatus.OPEN]
    currencies = sorted({i.currency for i in open_invoices})
    balances = {
        currency: Money.total(
            (i.balance for i in open_invoices if i.currency == currency), currency
        )
        for currency in currencies
    }
    aging = (
        {
            currency: age_invoices(
                (i for i in open_invoices if i.currency == currency),
                as_of=as_of,
                currency=currency,
            )
            for currency in currencies
        }
        if decision.can(Capability.AGING_BUCKETS)
        else {}
    )
    ids = {i.id for i in visible}
    records = [
        r
        for r in work.uow.payments.for_account(contact.account_id)
        if (resubscribed_invoice_id(r.snapshot.invoice_id) or r.snapshot.invoice_id) in ids
    ]
    history = payment_history(records, visible, now=now)
    return AccountSummary(
        account_id=contact.account_id,
        as_of=as_of,
        balances=balances,
        aging=aging,
        invoices=invoices,
        settled_payments=history.settled if ar_history else (),
        pending_payments=history.pending,
        duplicate_payments=history.duplicates,
    )
