"""The account summary a contact sees on entering the portal.

Seed 004_67d5e53a019b49ae.txt: "your contacts will immediately see a summary of all
transactions made and pending"; seed 003_11ad6fb0c789d951.txt: invoices, balances,
payment history; seed 001_345994b3bb014aeb.txt: aging buckets (when displayed).
"""

from __future__ import annotations

from datetime import date

import attrs

from portal_access._domain.aging import AgingBucket, AgingBuckets, aging_bucket
from portal_access._domain.billing import Invoice, InvoiceStatus
from portal_access._domain.capabilities import Capability
from portal_access._domain.duplicate_payments import DuplicatePayment
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentStatus
from portal_access._service.context import Work
from portal_access._service.documents import require_viewer, seen_by
from portal_access._service.payment_history import credit_order, duplicates_of
from portal_access.ports import Where
from portal_access.repositories import PaymentRecord

__all__ = ["SUMMARY_LIST_LENGTH", "AccountSummary", "account_summary"]


#: How many invoices, and how many settled payments, the summary lists (the newest);
#: ``contact_invoices`` and ``contact_payments`` list them all.
SUMMARY_LIST_LENGTH = 50
_SETTLED = (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED)


@attrs.frozen
class AccountSummary:
    """Balances, aging, invoices and payments of the contact's account.

    Args:
        account_id: the account.
        as_of: the day balances and aging are computed for.
        balances: open balance per currency (only currencies with open invoices).
        aging: aging buckets per currency; empty when the portal hides aging buckets.
        invoices: the newest :data:`SUMMARY_LIST_LENGTH` invoices the contact sees,
            newest first (open ones only when AR history is not displayed).
        settled_payments: the newest :data:`SUMMARY_LIST_LENGTH` succeeded, refunded and
            disputed payments, newest first (none when AR history is not displayed).
        pending_payments: payments still processing (ACH), newest first.
        duplicate_payments: payments that brought more than their invoice asked (a
            second payment of one invoice), with the surplus for staff to refund; each
            leaves the list once refunded (seed 000: an invoice is paid once).
        invoice_count: how many invoices :attr:`invoices` would list without the limit.
        open_invoice_count: how many of them are open.
        settled_payment_count: how many settled payments there are (0 when AR history
            is not displayed).
    """

    account_id: str
    as_of: date
    balances: dict[str, Money]
    aging: dict[str, AgingBuckets]
    invoices: tuple[Invoice, ...]
    settled_payments: tuple[PaymentRecord, ...]
    pending_payments: tuple[PaymentRecord, ...]
    duplicate_payments: tuple[DuplicatePayment, ...] = ()
    invoice_count: int = 0
    open_invoice_count: int = 0
    settled_payment_count: int = 0


def account_summary(work: Work, contact_id: str) -> AccountSummary:
    """The summary for a contact with full access.

    Each figure is one read, whatever the account's size, and only what is listed is
    decoded: the balances and aging are sums of the open invoices' ``balance`` column
    per currency and due date, the counts are counts; the lists are the newest rows
    (see :mod:`~portal_access.repositories` and the optional
    :class:`~portal_access.ports.AggregateReads` a store may offer). What it shows
    follows the display options and the contact's site scope:

    - only invoices the contact may see (the rule of documents: addressed to the contact
      or to no one, and of a site in its scope when the invoice names a site, seed 001),
      and only payments of those invoices;
    - "Display AR history" off: only open invoices, and no settled payments (pending
      payments still show, so a contact sees its bank payment clearing);
    - "Display aging buckets" off: no aging.

    Duplicates are looked for among the invoices with two or more succeeded payments and
    the void invoices.

    Raises:
        NotFoundError: no such contact.
        AccessDeniedError: the contact may not view invoices (no full access).
    """
    viewer = require_viewer(work, contact_id, Capability.VIEW_INVOICES, what="the account summary")
    contact, decision = viewer
    account_id = contact.account_id
    where = seen_by(viewer)
    now = work.context.clock.now()
    as_of = now.date()
    invoices, payments = work.uow.invoices, work.uow.payments
    open_sums: dict[str, int] = {}
    aged: dict[str, dict[AgingBucket, int]] = {}
    for currency, due_on, balance in invoices.open_balances(account_id, where):
        open_sums[currency] = open_sums.get(currency, 0) + balance
        buckets = aged.setdefault(currency, {})
        bucket = aging_bucket(due_on, as_of=as_of)
        buckets[bucket] = buckets.get(bucket, 0) + balance
    balances = {c: Money(open_sums[c], c) for c in sorted(open_sums)}
    aging = (
        {c: _buckets(c, aged[c]) for c in sorted(aged)}
        if decision.can(Capability.AGING_BUCKETS)
        else {}
    )
    ar_history = decision.can(Capability.AR_HISTORY)
    counts = invoices.status_counts(account_id, where)
    open_count = counts.get(InvoiceStatus.OPEN, 0)
    listed = invoices.newest(
        account_id,
        where,
        limit=SUMMARY_LIST_LENGTH,
        statuses=None if ar_history else (InvoiceStatus.OPEN,),
    )
    pending = payments.newest(account_id, where, limit=None, statuses=(PaymentStatus.PROCESSING,))
    settled: tuple[PaymentRecord, ...] = ()
    settled_count = 0
    if ar_history:
        settled = payments.newest(account_id, where, limit=SUMMARY_LIST_LENGTH, statuses=_SETTLED)
        paid_counts = payments.status_counts(account_id, where)
        settled_count = sum(paid_counts.get(status, 0) for status in _SETTLED)
    return AccountSummary(
        account_id=account_id,
        as_of=as_of,
        balances=balances,
        aging=aging,
        invoices=listed,
        settled_payments=settled,
        pending_payments=pending,
        duplicate_payments=_duplicates(work, account_id, where),
        invoice_count=sum(counts.values()) if ar_history else open_count,
        open_invoice_count=open_count,
        settled_payment_count=settled_count,
    )


def _buckets(currency: str, sums: dict[AgingBucket, int]) -> AgingBuckets:
    buckets = AgingBuckets.empty(currency)
    for bucket, amount in sums.items():
        buckets = buckets.adding(bucket, Money(amount, currency))
    return buckets


def _duplicates(work: Work, account_id: str, where: Where) -> tuple[DuplicatePayment, ...]:
    """The duplicate payments of the invoices that can have any: those with two or more
    succeeded payments, and the void ones (all their money is surplus)."""
    payments = work.uow.payments
    twice = payments.invoices_paid_more_than_once(account_id, where)
    void = work.uow.invoices.newest(account_id, where, limit=None, statuses=(InvoiceStatus.VOID,))
    candidates = sorted({*twice, *(i.id for i in void)})
    if not candidates:
        return ()
    found = {i.id: i for i in void}
    missing = [i for i in candidates if i not in found]
    if missing:
        found |= {
            i.id: i for i in work.uow.invoices.newest(account_id, where, limit=None, ids=missing)
        }
    records = payments.newest(account_id, where, limit=None, invoice_ids=candidates)
    by_invoice: dict[str, list[PaymentRecord]] = {}
    for record in credit_order(records):
        by_invoice.setdefault(record.snapshot.invoice_id, []).append(record)
    return tuple(
        duplicate
        for invoice_id in candidates
        if invoice_id in found
        for duplicate in duplicates_of(found[invoice_id], by_invoice.get(invoice_id, []))
    )
