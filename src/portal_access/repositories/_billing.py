"""Repositories of invoices, payments, subscriptions and checkout pages.

Invoices, payments and subscriptions are what concurrent webhook deliveries fight over
(the same vendor object reported twice, or a newer and an older snapshot at once), so a
``get`` locks the row it returns until the unit of work ends (``Lock.WAIT``): a second
delivery waits, then reads what the first committed. A row ``get`` found missing cannot
be locked, so saving it inserts it, and a concurrent creation makes the save a
:class:`~portal_access.StaleStateError` instead of an overwrite.

Invoice numbers come from the store's ``invoice_number`` counter, from 1001 on, taken in
the unit of work: a rollback hands the number out again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Generic, TypeVar

from portal_access._domain.billing import Invoice, InvoiceStatus
from portal_access._domain.errors import ConflictError
from portal_access._domain.gateway_events import SubscriptionReport
from portal_access._domain.payments import PaymentStatus
from portal_access.ports import Lock, Scalar, StoreTransaction, Where
from portal_access.repositories._aggregates import newest, totals
from portal_access.repositories._base import ById, Repository
from portal_access.repositories._documents import DocumentCache
from portal_access.repositories._records import CheckoutRecord, PaymentRecord
from portal_access.repositories._tables import (
    CHECKOUTS,
    CHECKOUTS_BY_INVOICE,
    CHECKOUTS_BY_KEY,
    FIRST_INVOICE_NUMBER,
    INVOICE_NUMBERS,
    INVOICES,
    INVOICES_BY_ACCOUNT,
    INVOICES_BY_NUMBER,
    PAYMENTS,
    PAYMENTS_BY_ACCOUNT,
    PAYMENTS_BY_RECORDED,
    SUBSCRIPTIONS,
    SUBSCRIPTIONS_BY_CONTACT,
)

__all__ = [
    "CheckoutRepository",
    "InvoiceRepository",
    "PaymentRepository",
    "SubscriptionRepository",
    "VendorObjects",
]

V = TypeVar("V")
#: ``recorded_at`` of a payment recorded before the time was kept.
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _as_date(value: Scalar) -> date:
    assert isinstance(value, date)
    return value


class InvoiceRepository(ById[Invoice]):
    """Invoices by id (read locked), number and account."""

    table, kind, lock = INVOICES, Invoice, Lock.WAIT

    def __init__(self, transaction: StoreTransaction, documents: DocumentCache) -> None:
        super().__init__(transaction, documents)
        #: Invoices read (locked) or saved in this unit of work: a locked row cannot
        #: change until the unit of work ends, so reading it again asks nothing new of
        #: the store (a webhook checks the invoice's gateway, then applies the payment).
        self._held: dict[str, Invoice] = {}

    def get(self, value_id: str) -> Invoice | None:
        """The invoice with this id (locked until the unit of work ends), or ``None``."""
        held = self._held.get(value_id)
        if held is not None:
            return held
        found = super().get(value_id)
        if found is not None:
            self._held[value_id] = found
        return found

    def columns(self, value: Invoice) -> dict[str, Scalar]:
        """The trimmed number, the account, the date it was issued, and the summary's
        figures: status, currency, balance, due date, contact and site."""
        return {
            "number_key": value.number.strip(),
            "account_id": value.account_id,
            "issued_on": value.issued_on,
            "status": value.status.value,
            "currency": value.currency,
            "balance": value.balance.amount,
            "due_on": value.due_on,
            "contact_id": value.contact_id,
            "site_id": value.site_id,
        }

    def open_balances(self, account_id: str, seen_by: Where) -> list[tuple[str, date, int]]:
        """``(currency, due date, balance)`` of the account's open invoices that pass
        ``seen_by``, summed per currency and due date: one read, no document decoded."""
        found = totals(
            self.transaction,
            INVOICES,
            INVOICES_BY_ACCOUNT,
            (account_id,),
            by=("currency", "due_on"),
            sums=("balance",),
            where={**seen_by, "status": (InvoiceStatus.OPEN.value,)},
        )
        return [(str(t.group[0]), _as_date(t.group[1]), t.sums[0]) for t in found]

    def status_counts(self, account_id: str, seen_by: Where) -> dict[InvoiceStatus, int]:
        """How many of the account's invoices that pass ``seen_by`` have each status."""
        found = totals(
            self.transaction, INVOICES, INVOICES_BY_ACCOUNT, (account_id,), by=("status",),
            where=seen_by,
        )  # fmt: skip
        return {InvoiceStatus(str(t.group[0])): t.rows for t in found}

    def newest(
        self,
        account_id: str,
        seen_by: Where,
        *,
        limit: int | None,
        statuses: Collection[InvoiceStatus] | None = None,
        ids: Collection[str] | None = None,
    ) -> tuple[Invoice, ...]:
        """The account's invoices that pass ``seen_by`` (and have one of ``statuses``, or
        one of ``ids``), newest issue date first (then by id, descending), at most
        ``limit``: only those are decoded."""
        where: dict[str, Collection[Scalar]] = dict(seen_by)
        if statuses is not None:
            where["status"] = tuple(status.value for status in statuses)
        if ids is not None:
            where["id"] = tuple(ids)
        rows = newest(
            self.transaction, INVOICES, INVOICES_BY_ACCOUNT, (account_id,),
            order=("issued_on",), limit=limit, where=where,
        )  # fmt: skip
        return tuple(self._decode(row, Invoice) for row in rows)

    def with_number(self, number: str) -> Invoice | None:
        """The invoice with this number (exact match after trimming), or ``None``."""
        found = self._find(INVOICES_BY_NUMBER, number.strip(), Invoice)
        return found[0] if found else None

    def for_account(self, account_id: str) -> tuple[Invoice, ...]:
        """Invoices of the account, oldest issue date first, then by id."""
        return self._find(INVOICES_BY_ACCOUNT, account_id, Invoice)

    def save(self, value: Invoice) -> None:
        """Insert or replace the invoice under its id.

        Raises:
            ConflictError: another invoice already has this number.
            StaleStateError: ``get`` in this unit of work found no such invoice and a
                concurrent unit of work has created it since.
        """
        other = self.with_number(value.number)
        if other is not None and other.id != value.id:
            raise ConflictError(f"invoice number {value.number.strip()} is taken")
        super().save(value)
        self._held[value.id] = value

    def next_number(self) -> str:
        """A new invoice number, unique and increasing ("1001", "1002", ...), taken in
        the unit of work (a rollback hands it out again)."""
        return str(self.transaction.next_value(INVOICE_NUMBERS, first=FIRST_INVOICE_NUMBER))


class VendorObjects(Repository, Generic[V]):
    """Objects a gateway reports, keyed by ``(gateway, vendor id)``; ``get`` locks the row.

    A subclass names its table (whose key is ``gateway`` and the snapshot's id field),
    the class it keeps, and :attr:`owner`: the value's field its lookup index holds.
    """

    lock = Lock.WAIT
    #: The class of the values kept.
    kind: type[V]
    #: The field of a value that its table's index looks up (the account, the contact).
    owner: ClassVar[str]

    def get(self, gateway: str, vendor_id: str) -> V | None:
        """The newest kept (locked until the unit of work ends), or ``None``."""
        return self._get((gateway, vendor_id), self.kind)

    def save(self, value: V) -> None:
        """Insert or replace under ``(gateway, vendor id)``.

        Raises:
            StaleStateError: ``get`` in this unit of work found no such row and a
                concurrent unit of work has created it since (so an older snapshot never
                replaces a newer one).
        """
        snapshot: Any = getattr(value, "snapshot")  # noqa: B009 - V is any reported value
        gateway, vendor_id = self.table.key
        columns: dict[str, Scalar] = {
            gateway: snapshot.gateway,
            vendor_id: getattr(snapshot, vendor_id),
            self.owner: getattr(value, self.owner),
            **self.extra_columns(value),
        }
        self._put(self._row(value, **columns))

    def extra_columns(self, value: V) -> dict[str, Scalar]:
        """The table's other columns ``value`` fills (none unless overridden)."""
        return {}


class PaymentRepository(VendorObjects[PaymentRecord]):
    """Payments keyed by ``(gateway, vendor payment id)``, found by account."""

    table, kind, owner = PAYMENTS, PaymentRecord, "account_id"

    def extra_columns(self, value: PaymentRecord) -> dict[str, Scalar]:
        """The summary's columns: invoice, status, amount, when first recorded (the
        earliest instant when unknown), and its invoice's contact and site."""
        snapshot = value.snapshot
        return {
            "invoice_id": snapshot.invoice_id,
            "status": snapshot.status.value,
            "amount": snapshot.amount.amount,
            "currency": snapshot.amount.currency,
            "recorded_at": value.recorded_at or _EARLIEST,
            "contact_id": value.contact_id,
            "site_id": value.site_id,
        }

    def status_counts(self, account_id: str, seen_by: Where) -> dict[PaymentStatus, int]:
        """How many of the account's payments that pass ``seen_by`` have each status."""
        found = totals(
            self.transaction, PAYMENTS, PAYMENTS_BY_ACCOUNT, (account_id,), by=("status",),
            where=seen_by,
        )  # fmt: skip
        return {PaymentStatus(str(t.group[0])): t.rows for t in found}

    def newest(
        self,
        account_id: str,
        seen_by: Where,
        *,
        limit: int | None,
        statuses: Collection[PaymentStatus] | None = None,
        invoice_ids: Collection[str] | None = None,
    ) -> tuple[PaymentRecord, ...]:
        """The account's payments that pass ``seen_by`` (with one of ``statuses``, of one
        of ``invoice_ids``), the latest recorded first (then by gateway and payment id,
        descending), at most ``limit``: only those are decoded."""
        where: dict[str, Collection[Scalar]] = dict(seen_by)
        if statuses is not None:
            where["status"] = tuple(status.value for status in statuses)
        if invoice_ids is not None:
            where["invoice_id"] = tuple(invoice_ids)
        rows = newest(
            self.transaction, PAYMENTS, PAYMENTS_BY_RECORDED, (account_id,),
            order=("recorded_at",), limit=limit, where=where,
        )  # fmt: skip
        return tuple(self._decode(row, PaymentRecord) for row in rows)

    def invoices_paid_more_than_once(self, account_id: str, seen_by: Where) -> list[str]:
        """The invoices (as payments name them) with two or more succeeded payments."""
        found = totals(
            self.transaction, PAYMENTS, PAYMENTS_BY_ACCOUNT, (account_id,), by=("invoice_id",),
            where={**seen_by, "status": (PaymentStatus.SUCCEEDED.value,)}, min_count=2,
        )  # fmt: skip
        return sorted(str(t.group[0]) for t in found)

    def for_account(self, account_id: str) -> tuple[PaymentRecord, ...]:
        """Payments of the account, in ``(gateway, payment_id)`` order."""
        return self._find(PAYMENTS_BY_ACCOUNT, account_id, PaymentRecord)


class SubscriptionRepository(VendorObjects[SubscriptionReport]):
    """Subscriptions keyed by ``(gateway, vendor subscription id)``, found by contact."""

    table, kind, owner = SUBSCRIPTIONS, SubscriptionReport, "contact_id"

    def for_contact(self, contact_id: str) -> tuple[SubscriptionReport, ...]:
        """The contact's subscriptions, in ``(gateway, subscription_id)`` order."""
        return self._find(SUBSCRIPTIONS_BY_CONTACT, contact_id, SubscriptionReport)


class CheckoutRepository(Repository):
    """Hosted checkout pages by idempotency key and by invoice."""

    table = CHECKOUTS

    def with_key(self, idempotency_key: str) -> CheckoutRecord | None:
        """The page opened under this key, or ``None``. A blank key matches nothing;
        should two pages share a key, the first in ``(gateway, session_id)`` order wins."""
        if not idempotency_key.strip():
            return None
        rows = self.transaction.find(self.table, CHECKOUTS_BY_KEY, (idempotency_key,), limit=1)
        return self._decode(rows[0], CheckoutRecord) if rows else None

    def save(self, record: CheckoutRecord) -> None:
        """Insert or replace under ``(session.gateway, session.session_id)``."""
        session = record.session
        self._put(
            self._row(
                record,
                gateway=session.gateway,
                session_id=session.session_id,
                idempotency_key=record.idempotency_key,
                invoice_id=record.invoice_id,
            )
        )

    def for_invoice(self, invoice_id: str) -> Sequence[CheckoutRecord]:
        """Pages opened for the invoice, in ``(gateway, session_id)`` order."""
        return self._find(CHECKOUTS_BY_INVOICE, invoice_id, CheckoutRecord)
