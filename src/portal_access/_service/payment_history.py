"""Payments as the portal shows them: per invoice in the order they were first recorded,
and per account split into settled, pending and duplicate (seed 004_67d5e53a019b49ae.txt:
"a summary of all transactions made and pending").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import attrs

from portal_access._domain.billing import Invoice, InvoiceStatus
from portal_access._domain.duplicate_payments import DuplicatePayment, duplicate_payments
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentSnapshot, PaymentStatus
from portal_access._service.context import Work
from portal_access.repositories import PaymentRecord

__all__ = [
    "PaymentHistory",
    "credit_order",
    "duplicates_of",
    "invoice_payments",
    "payment_history",
]

_EARLIEST = datetime.min.replace(tzinfo=UTC)
#: Payments whose money arrived (a refund or dispute comes after success).
_SETTLED = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED})


@attrs.frozen
class PaymentHistory:
    """A contact's (or an account's) payments, newest first.

    Args:
        settled: succeeded, refunded and disputed payments.
        pending: payments still processing (a bank payment clearing).
        duplicates: payments that brought more than their invoice asked, with the
            surplus to refund (seed 000: an invoice is paid once); gone once refunded.
    """

    settled: tuple[PaymentRecord, ...]
    pending: tuple[PaymentRecord, ...]
    duplicates: tuple[DuplicatePayment, ...]


def credit_order(records: Iterable[PaymentRecord]) -> list[PaymentRecord]:
    """``records`` in the order they were first recorded (ties: gateway, payment id)."""
    return sorted(
        records,
        key=lambda r: (r.recorded_at or _EARLIEST, r.snapshot.gateway, r.snapshot.payment_id),
    )


def invoice_payments(work: Work, invoice: Invoice) -> list[PaymentRecord]:
    """The invoice's payments from every gateway, in :func:`credit_order`."""
    records = work.uow.payments.for_account(invoice.account_id)
    return credit_order(r for r in records if r.snapshot.invoice_id == invoice.id)


def duplicates_of(
    invoice: Invoice, records: Sequence[PaymentRecord]
) -> tuple[DuplicatePayment, ...]:
    """The duplicate payments of ``invoice`` among its ``records`` (in credit order): a
    void invoice asks nothing, so all its money is surplus."""
    owed = Money.zero(invoice.currency) if invoice.status is InvoiceStatus.VOID else invoice.total
    snapshots: list[PaymentSnapshot] = [
        r.snapshot for r in records if r.snapshot.amount.currency == invoice.currency
    ]
    return duplicate_payments(owed, snapshots)


def payment_history(
    records: Iterable[PaymentRecord], invoices: Iterable[Invoice], *, now: datetime
) -> PaymentHistory:
    """Split ``records`` into settled, pending and duplicate payments, newest first."""
    ordered = credit_order(records)
    by_invoice: dict[str, list[PaymentRecord]] = {}
    for record in ordered:
        by_invoice.setdefault(record.snapshot.invoice_id, []).append(record)
    duplicates = tuple(
        duplicate
        for invoice in sorted(invoices, key=lambda i: i.id)
        for duplicate in duplicates_of(invoice, by_invoice.get(invoice.id, []))
    )
    newest = sorted(
        ordered,
        key=lambda r: (r.recorded_at or now, r.snapshot.payment_id),
        reverse=True,
    )
    return PaymentHistory(
        settled=tuple(r for r in newest if r.snapshot.status in _SETTLED),
        pending=tuple(r for r in newest if r.snapshot.status is PaymentStatus.PROCESSING),
        duplicates=duplicates,
    )
