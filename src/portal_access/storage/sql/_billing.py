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

from portal_access._domain.billing import Invoice
from portal_access._domain.errors import ConflictError, StaleStateError, StorageError
from portal_access._domain.gateway_events import SubscriptionReport
from portal_access.ports import CheckoutRecord, PaymentRecord
from portal_access.storage.sql import _schema as schema
from portal_access.storage.sql._statements import Statement, Upsert, insert_new, key_condition
from portal_access.storage.sql._transaction import SqlRepository, SqlTransaction

__all__ = [
    "SqlCheckoutRepository",
    "SqlInvoiceRepository",
    "SqlPaymentRepository",
    "SqlSubscriptionRepository",
]


class _Keyed:
    """The statements that read (locked) and write one table by primary key."""

    def __init__(self, table: sa.Table) -> None:
        self.name = table.name
        self.key = tuple(column.name for column in table.primary_key)
        self.locked = Statement(
            sa.select(table.c.doc).where(key_condition(table)).with_for_update()
        )
        self.upsert = Upsert(table)
        self.insert = insert_new(table)


_INVOICES, _PAYMENTS, _SUBSCRIPTIONS = (
    _Keyed(schema.invoices),
    _Keyed(schema.payments),
    _Keyed(schema.subscriptions),
)
_I, _P, _S, _C = schema.invoices, schema.payments, schema.subscriptions, schema.checkouts
_INVOICE_WITH_NUMBER = Statement(
    sa.select(_I.c.id, _I.c.doc).where(_I.c.number_key == sa.bindparam("number_key"))
)
_INVOICES_OF_ACCOUNT = Statement(
    sa.select(_I.c.id, _I.c.doc)
    .where(_I.c.account_id == sa.bindparam("account_id"))
    .order_by(_I.c.issued_on, _I.c.id)
)
_COUNTER = schema.counters
_NEXT = (
    sa.update(_COUNTER)
    .where(_COUNTER.c.name == schema.INVOICE_NUMBER_COUNTER)
    .values(value=_COUNTER.c.value + 1)
)
_NEXT_NUMBER_RETURNING = Statement(_NEXT.returning(_COUNTER.c.value))
_NEXT_NUMBER = Statement(_NEXT)
_LAST_NUMBER = Statement(
    sa.select(_COUNTER.c.value).where(_COUNTER.c.name == schema.INVOICE_NUMBER_COUNTER)
)
_PAYMENTS_OF_ACCOUNT = Statement(
    sa.select(_P.c.payment_id, _P.c.doc)
    .where(_P.c.account_id == sa.bindparam("account_id"))
    .order_by(_P.c.gateway, _P.c.payment_id)
)
_SUBSCRIPTIONS_OF_CONTACT = Statement(
    sa.select(_S.c.subscription_id, _S.c.doc)
    .where(_S.c.contact_id == sa.bindparam("contact_id"))
    .order_by(_S.c.gateway, _S.c.subscription_id)
)
_CHECKOUT_WITH_KEY = Statement(
    sa.select(_C.c.session_id, _C.c.doc)
    .where(_C.c.idempotency_key == sa.bindparam("idempotency_key"))
    .order_by(_C.c.gateway, _C.c.session_id)
    .limit(1)
)
_CHECKOUTS_OF_INVOICE = Statement(
    sa.select(_C.c.session_id, _C.c.doc)
    .where(_C.c.invoice_id == sa.bindparam("invoice_id"))
    .order_by(_C.c.gateway, _C.c.session_id)
)
_SAVE_CHECKOUT = Upsert(_C)


class _LockingRepository(SqlRepository):
    """Reads lock their row; a save of a row read as missing must insert it."""

    _table: _Keyed

    def __init__(self, tx: SqlTransaction) -> None:
        super().__init__(tx)
        self._missing: set[object] = set()

    def _locked(self, key: tuple[str, ...]) -> str | None:
        """The ``doc`` of the row with primary key ``key``, locked; ``None`` if missing."""
        row = self._tx.first(self._table.locked, dict(zip(self._table.key, key, strict=True)))
        if row is None:
            self._missing.add(key)
            return None
        self._missing.discard(key)
        doc: str = row[0]
        return doc

    def _write(self, key: tuple[str, ...], values: dict[str, Any]) -> None:
        if key not in self._missing:
            self._tx.upsert(self._table.upsert, values)
        elif self._tx.count(self._table.insert, values) == 1:
            self._missing.discard(key)
        else:
            raise StaleStateError(
                f"{self._table.name} {key!r} was created by a concurrent unit of work; retry"
            )


class SqlInvoiceRepository(_LockingRepository):
    """Invoices by id, number and account (:class:`portal_access.ports.InvoiceRepository`)."""

    _table = _INVOICES

    def get(self, invoice_id: str) -> Invoice | None:
        """The invoice (locked until the unit of work ends), or ``None``."""
        doc = self._locked((invoice_id,))
        return None if doc is None else self._tx.decode(doc, Invoice, invoice_id)

    def with_number(self, number: str) -> Invoice | None:
        """The invoice with this number (exact match after trimming), or ``None``."""
        row = self._tx.first(_INVOICE_WITH_NUMBER, {"number_key": number.strip()})
        return None if row is None else self._tx.decode(row[1], Invoice, row[0])

    def for_account(self, account_id: str) -> tuple[Invoice, ...]:
        """Invoices of the account, oldest issue date first, then by id."""
        rows = self._tx.all(_INVOICES_OF_ACCOUNT, {"account_id": account_id})
        return tuple(self._tx.decode(doc, Invoice, invoice_id) for invoice_id, doc in rows)

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
            "doc": self._tx.encode(invoice),
        }
        self._write((invoice.id,), values)

    def next_number(self) -> str:
        """A new invoice number, unique and increasing ("1001", "1002", ...)."""
        if self._tx.dialect.update_returning:
            row = self._tx.first(_NEXT_NUMBER_RETURNING)
        else:  # SQLite before 3.35: the write lock is ours, so read it back
            self._tx.count(_NEXT_NUMBER)
            row = self._tx.first(_LAST_NUMBER)
        if row is None:
            raise StorageError(
                "the invoice-number counter row is missing; run `python -m portal_access "
                "db upgrade` on this database"
            )
        return str(row[0])


class SqlPaymentRepository(_LockingRepository):
    """Payments by ``(gateway, payment_id)`` (:class:`portal_access.ports.PaymentRepository`)."""

    _table = _PAYMENTS

    def get(self, gateway: str, payment_id: str) -> PaymentRecord | None:
        """The record (locked until the unit of work ends), or ``None``."""
        doc = self._locked((gateway, payment_id))
        return None if doc is None else self._tx.decode(doc, PaymentRecord, (gateway, payment_id))

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
            "doc": self._tx.encode(record),
        }
        self._write(key, values)

    def for_account(self, account_id: str) -> tuple[PaymentRecord, ...]:
        """Payments of the account, in ``(gateway, payment_id)`` order."""
        rows = self._tx.all(_PAYMENTS_OF_ACCOUNT, {"account_id": account_id})
        return tuple(self._tx.decode(doc, PaymentRecord, payment_id) for payment_id, doc in rows)


class SqlSubscriptionRepository(_LockingRepository):
    """Subscriptions by ``(gateway, subscription_id)``
    (:class:`portal_access.ports.SubscriptionRepository`)."""

    _table = _SUBSCRIPTIONS

    def get(self, gateway: str, subscription_id: str) -> SubscriptionReport | None:
        """The newest report kept (locked until the unit of work ends), or ``None``."""
        doc = self._locked((gateway, subscription_id))
        return None if doc is None else self._tx.decode(doc, SubscriptionReport, subscription_id)

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
            "doc": self._tx.encode(report),
        }
        self._write(key, values)

    def for_contact(self, contact_id: str) -> tuple[SubscriptionReport, ...]:
        """The contact's subscriptions, in ``(gateway, subscription_id)`` order."""
        rows = self._tx.all(_SUBSCRIPTIONS_OF_CONTACT, {"contact_id": contact_id})
        return tuple(self._tx.decode(doc, SubscriptionReport, key) for key, doc in rows)


class SqlCheckoutRepository(SqlRepository):
    """Hosted checkout pages (:class:`portal_access.ports.CheckoutRepository`)."""

    def with_key(self, idempotency_key: str) -> CheckoutRecord | None:
        """The page opened under this key, or ``None``. A blank key names no page; should
        two pages share a key, the first in ``(gateway, session_id)`` order is returned."""
        if not idempotency_key.strip():
            return None
        found = self._where(_CHECKOUT_WITH_KEY, {"idempotency_key": idempotency_key})
        return found[0] if found else None

    def save(self, record: CheckoutRecord) -> None:
        """Insert or replace under ``(session.gateway, session.session_id)``."""
        values = {
            "gateway": record.session.gateway,
            "session_id": record.session.session_id,
            "idempotency_key": record.idempotency_key,
            "invoice_id": record.invoice_id,
            "doc": self._tx.encode(record),
        }
        self._tx.upsert(_SAVE_CHECKOUT, values)

    def for_invoice(self, invoice_id: str) -> Sequence[CheckoutRecord]:
        """Pages opened for the invoice, in ``(gateway, session_id)`` order."""
        return self._where(_CHECKOUTS_OF_INVOICE, {"invoice_id": invoice_id})

    def _where(self, statement: Statement, values: dict[str, str]) -> tuple[CheckoutRecord, ...]:
        rows = self._tx.all(statement, values)
        return tuple(self._tx.decode(doc, CheckoutRecord, session_id) for session_id, doc in rows)
