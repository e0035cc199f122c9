"""Memory repositories for invoices, payments, subscriptions and checkout pages.

Invoice numbers come from a counter kept in the ``counters`` table, so a unit of work
that rolls back gives its numbers back.
"""

from __future__ import annotations

from collections.abc import Sequence

from portal_access._domain.billing import Invoice
from portal_access._domain.errors import ConflictError
from portal_access._domain.gateway_events import SubscriptionReport
from portal_access.ports import CheckoutRecord, PaymentRecord
from portal_access.storage.memory._tables import Repository, Transaction

__all__ = [
    "FIRST_INVOICE_NUMBER",
    "MemoryCheckoutRepository",
    "MemoryInvoiceRepository",
    "MemoryPaymentRepository",
    "MemorySubscriptionRepository",
]

#: The first number :meth:`MemoryInvoiceRepository.next_number` hands out.
FIRST_INVOICE_NUMBER = 1001
_COUNTER = "invoice_number"


class MemoryInvoiceRepository(Repository):
    """Invoices by id, number and account (:class:`portal_access.ports.InvoiceRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "invoices")

    def get(self, invoice_id: str) -> Invoice | None:
        """The invoice, or ``None``."""
        found: Invoice | None = self._rows().get(invoice_id)
        return found

    def with_number(self, number: str) -> Invoice | None:
        """The invoice with this number (exact match after trimming), or ``None``."""
        wanted = number.strip()
        invoices: list[Invoice] = list(self._rows().values())
        return next((i for i in invoices if i.number.strip() == wanted), None)

    def for_account(self, account_id: str) -> tuple[Invoice, ...]:
        """Invoices of the account, oldest issue date first, then by id."""
        invoices: list[Invoice] = list(self._rows().values())
        mine = (i for i in invoices if i.account_id == account_id)
        return tuple(sorted(mine, key=lambda i: (i.issued_on, i.id)))

    def save(self, invoice: Invoice) -> None:
        """Insert or replace the invoice under its id.

        Raises:
            ConflictError: another invoice already has this number.
        """
        other = self.with_number(invoice.number)
        if other is not None and other.id != invoice.id:
            raise ConflictError(f"invoice number {invoice.number.strip()} is taken")
        self._writable()[invoice.id] = invoice

    def next_number(self) -> str:
        """A new invoice number, unique and increasing ("1001", "1002", ...)."""
        last: int = self._tx.read("counters").get(_COUNTER, FIRST_INVOICE_NUMBER - 1)
        self._tx.write("counters")[_COUNTER] = last + 1
        return str(last + 1)


class MemoryPaymentRepository(Repository):
    """Payments by ``(gateway, payment_id)`` (:class:`portal_access.ports.PaymentRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "payments")

    def get(self, gateway: str, payment_id: str) -> PaymentRecord | None:
        """The record, or ``None``."""
        found: PaymentRecord | None = self._rows().get((gateway, payment_id))
        return found

    def save(self, record: PaymentRecord) -> None:
        """Insert or replace the record under ``(gateway, payment_id)``."""
        key = (record.snapshot.gateway, record.snapshot.payment_id)
        self._writable()[key] = record

    def for_account(self, account_id: str) -> tuple[PaymentRecord, ...]:
        """Payments of the account, in ``(gateway, payment_id)`` order."""
        rows = sorted(self._rows().items(), key=_by_key)
        return tuple(record for _key, record in rows if record.account_id == account_id)


class MemorySubscriptionRepository(Repository):
    """Subscriptions by ``(gateway, subscription_id)``
    (:class:`portal_access.ports.SubscriptionRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "subscriptions")

    def get(self, gateway: str, subscription_id: str) -> SubscriptionReport | None:
        """The newest report kept, or ``None``."""
        found: SubscriptionReport | None = self._rows().get((gateway, subscription_id))
        return found

    def save(self, report: SubscriptionReport) -> None:
        """Insert or replace under ``(gateway, subscription_id)``."""
        key = (report.snapshot.gateway, report.snapshot.subscription_id)
        self._writable()[key] = report

    def for_contact(self, contact_id: str) -> tuple[SubscriptionReport, ...]:
        """The contact's subscriptions, in ``(gateway, subscription_id)`` order."""
        rows = sorted(self._rows().items(), key=_by_key)
        return tuple(report for _key, report in rows if report.contact_id == contact_id)


class MemoryCheckoutRepository(Repository):
    """Hosted checkout pages (:class:`portal_access.ports.CheckoutRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "checkouts")

    def with_key(self, idempotency_key: str) -> CheckoutRecord | None:
        """The page opened under this key, or ``None``.

        A blank key names no page. Should two pages share a key, the first in
        ``(gateway, session_id)`` order is returned.
        """
        if not idempotency_key.strip():
            return None
        rows = sorted(self._rows().items(), key=_by_key)
        return next((r for _key, r in rows if r.idempotency_key == idempotency_key), None)

    def save(self, record: CheckoutRecord) -> None:
        """Insert or replace under ``(session.gateway, session.session_id)``."""
        self._writable()[(record.session.gateway, record.session.session_id)] = record

    def for_invoice(self, invoice_id: str) -> Sequence[CheckoutRecord]:
        """Pages opened for the invoice, in ``(gateway, session_id)`` order."""
        rows = sorted(self._rows().items(), key=_by_key)
        return tuple(record for _key, record in rows if record.invoice_id == invoice_id)


def _by_key(row: tuple[tuple[str, str], object]) -> tuple[str, str]:
    return row[0]
