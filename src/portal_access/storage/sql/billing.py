"""SQL repositories for invoices, payments, subscriptions and checkout pages.

Invoices, payments and subscriptions are what concurrent webhook deliveries fight over
(the same vendor object reported twice, or a newer and an older snapshot at once), so:

- ``get`` locks the row it returns until the unit of work ends (``SELECT ... FOR
  UPDATE`` on PostgreSQL; SQLite's writers are serialised already). A second delivery
  waits, then reads what the first committed, and its "is this snapshot newer?" check
  sees the truth.
- A row that ``get`` found missing cannot be locked, so ``save`` then *inserts* it
  (``ON CONFLICT DO NOTHING``): when a concurrent unit of work created it meanwhile, the
  save raises :class:`~portal_access.StaleStateError` and the use case runs again,
  instead of overwriting a newer snapshot with an older one.
- A row saved without being read first is upserted (insert or replace).

Invoice numbers come from a counter row updated in the unit of work (``UPDATE ... SET
value = value + 1``): the row stays locked until commit, and a rollback hands the
number out again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from portal_access.domain.billing import Invoice
from portal_access.domain.errors import ConflictError, StaleStateError, StorageError
from portal_access.domain.gateway_events import SubscriptionReport
from portal_access.domain.serialization import to_json
from portal_access.ports import CheckoutRecord, PaymentRecord
from portal_access.storage.sql import schema
from portal_access.storage.sql.transaction import SqlRepository, SqlTransaction, load

__all__ = [
    "SqlCheckoutRepository",
    "SqlInvoiceRepository",
    "SqlPaymentRepository",
    "SqlSubscriptionRepository",
]


class _LockingRepository(SqlRepository):
    """Reads lock their row; a save of a row read as missing must insert it."""

    def __init__(self, tx: SqlTransaction) -> None:
        super().__init__(tx)
        self._missing: set[object] = set()

    def _locked(self, table: sa.Table, key: tuple[str, ...]) -> str | None:
        """The ``doc`` of the row with primary key ``key``, locked; ``None`` if missing."""
        columns = list(table.primary_key.columns)
        query = sa.select(table.c.doc).where(*(c == v for c, v in zip(columns, key, strict=True)))
        row = self._tx.first(query.with_for_update())
        if row is None:
            self._missing.add(key)
            return None
        self._missing.discard(key)
        doc: str = row.doc
        return doc

    def _write(self, table: sa.Table, key: tuple[str, ...], values: dict[str, Any]) -> None:
        if key not in self._missing:
            self._tx.upsert(table, values)
        elif self._tx.insert_new(table, values):
            self._missing.discard(key)
        else:
            raise StaleStateError(
                f"{table.name} {key!r} was created by a concurrent unit of work; retry"
            )


class SqlInvoiceRepository(_LockingRepository):
    """Invoices by id, number and account (:class:`portal_access.ports.InvoiceRepository`)."""

    def get(self, invoice_id: str) -> Invoice | None:
        """The invoice (locked until the unit of work ends), or ``None``."""
        doc = self._locked(schema.invoices, (invoice_id,))
        return None if doc is None else load(doc, Invoice, invoice_id)

    def with_number(self, number: str) -> Invoice | None:
        """The invoice with this number (exact match after trimming), or ``None``."""
        table = schema.invoices
        row = self._tx.first(
            sa.select(table.c.id, table.c.doc).where(table.c.number_key == number.strip())
        )
        return None if row is None else load(row.doc, Invoice, row.id)

    def for_account(self, account_id: str) -> tuple[Invoice, ...]:
        """Invoices of the account, oldest issue date first, then by id."""
        table = schema.invoices
        rows = self._tx.all(
            sa.select(table.c.id, table.c.doc)
            .where(table.c.account_id == account_id)
            .order_by(table.c.issued_on, table.c.id)
        )
        return tuple(load(row.doc, Invoice, row.id) for row in rows)

    def save(self, invoice: Invoice) -> None:
        """Insert or replace the invoice under its id.

        Raises:
            ConflictError: another invoice already has this number.
            StaleStateError: ``get`` found no such invoice, but a concurrent unit of
                work has since created it.
        """
        number = invoice.number.strip()
        other = self.with_number(number)
        if other is not None and other.id != invoice.id:
            raise ConflictError(f"invoice number {number} is taken")
        values = {
            "id": invoice.id,
            "number_key": number,
            "account_id": invoice.account_id,
            "issued_on": invoice.issued_on,
            "doc": to_json(invoice),
        }
        self._write(schema.invoices, (invoice.id,), values)

    def next_number(self) -> str:
        """A new invoice number, unique and increasing ("1001", "1002", ...)."""
        table = schema.counters
        update = (
            sa.update(table)
            .where(table.c.name == schema.INVOICE_NUMBER_COUNTER)
            .values(value=table.c.value + 1)
        )
        if self._tx.connection.dialect.update_returning:
            row = self._tx.first(update.returning(table.c.value))
        else:  # SQLite before 3.35: the write lock is ours, so read it back
            self._tx.execute(update)
            row = self._tx.first(
                sa.select(table.c.value).where(table.c.name == schema.INVOICE_NUMBER_COUNTER)
            )
        if row is None:
            raise StorageError(
                "the invoice-number counter row is missing; run `python -m portal_access "
                "db upgrade` on this database"
            )
        return str(row.value)


class SqlPaymentRepository(_LockingRepository):
    """Payments by ``(gateway, payment_id)`` (:class:`portal_access.ports.PaymentRepository`)."""

    def get(self, gateway: str, payment_id: str) -> PaymentRecord | None:
        """The record (locked until the unit of work ends), or ``None``."""
        doc = self._locked(schema.payments, (gateway, payment_id))
        return None if doc is None else load(doc, PaymentRecord, (gateway, payment_id))

    def save(self, record: PaymentRecord) -> None:
        """Insert or replace the record under ``(gateway, payment_id)``.

        Raises:
            StaleStateError: ``get`` found no such payment, but a concurrent unit of
                work has since created it.
        """
        key = (record.snapshot.gateway, record.snapshot.payment_id)
        values = {
            "gateway": key[0],
            "payment_id": key[1],
            "account_id": record.account_id,
            "doc": to_json(record),
        }
        self._write(schema.payments, key, values)

    def for_account(self, account_id: str) -> tuple[PaymentRecord, ...]:
        """Payments of the account, in ``(gateway, payment_id)`` order."""
        table = schema.payments
        rows = self._tx.all(
            sa.select(table.c.payment_id, table.c.doc)
            .where(table.c.account_id == account_id)
            .order_by(table.c.gateway, table.c.payment_id)
        )
        return tuple(load(row.doc, PaymentRecord, row.payment_id) for row in rows)


class SqlSubscriptionRepository(_LockingRepository):
    """Subscriptions by ``(gateway, subscription_id)``
    (:class:`portal_access.ports.SubscriptionRepository`)."""

    def get(self, gateway: str, subscription_id: str) -> SubscriptionReport | None:
        """The newest report kept (locked until the unit of work ends), or ``None``."""
        doc = self._locked(schema.subscriptions, (gateway, subscription_id))
        return None if doc is None else load(doc, SubscriptionReport, subscription_id)

    def save(self, report: SubscriptionReport) -> None:
        """Insert or replace under ``(gateway, subscription_id)``.

        Raises:
            StaleStateError: ``get`` found no such subscription, but a concurrent unit
                of work has since created it.
        """
        key = (report.snapshot.gateway, report.snapshot.subscription_id)
        values = {
            "gateway": key[0],
            "subscription_id": key[1],
            "contact_id": report.contact_id,
            "doc": to_json(report),
        }
        self._write(schema.subscriptions, key, values)

    def for_contact(self, contact_id: str) -> tuple[SubscriptionReport, ...]:
        """The contact's subscriptions, in ``(gateway, subscription_id)`` order."""
        table = schema.subscriptions
        rows = self._tx.all(
            sa.select(table.c.subscription_id, table.c.doc)
            .where(table.c.contact_id == contact_id)
            .order_by(table.c.gateway, table.c.subscription_id)
        )
        return tuple(load(row.doc, SubscriptionReport, row.subscription_id) for row in rows)


class SqlCheckoutRepository(SqlRepository):
    """Hosted checkout pages (:class:`portal_access.ports.CheckoutRepository`)."""

    def with_key(self, idempotency_key: str) -> CheckoutRecord | None:
        """The page opened under this key, or ``None``. A blank key names no page; should
        two pages share a key, the first in ``(gateway, session_id)`` order is returned."""
        if not idempotency_key.strip():
            return None
        found = self._where(schema.checkouts.c.idempotency_key == idempotency_key, limit=1)
        return found[0] if found else None

    def save(self, record: CheckoutRecord) -> None:
        """Insert or replace under ``(session.gateway, session.session_id)``."""
        values = {
            "gateway": record.session.gateway,
            "session_id": record.session.session_id,
            "idempotency_key": record.idempotency_key,
            "invoice_id": record.invoice_id,
            "doc": to_json(record),
        }
        self._tx.upsert(schema.checkouts, values)

    def for_invoice(self, invoice_id: str) -> Sequence[CheckoutRecord]:
        """Pages opened for the invoice, in ``(gateway, session_id)`` order."""
        return self._where(schema.checkouts.c.invoice_id == invoice_id)

    def _where(
        self, condition: sa.ColumnElement[bool], *, limit: int | None = None
    ) -> tuple[CheckoutRecord, ...]:
        table = schema.checkouts
        query = (
            sa.select(table.c.session_id, table.c.doc)
            .where(condition)
            .order_by(table.c.gateway, table.c.session_id)
            .limit(limit)
        )
        return tuple(load(row.doc, CheckoutRecord, row.session_id) for row in self._tx.all(query))
