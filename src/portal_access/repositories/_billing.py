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

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from portal_access._domain.billing import Invoice
from portal_access._domain.errors import ConflictError
from portal_access._domain.gateway_events import SubscriptionReport
from portal_access.ports import Lock, Scalar
from portal_access.repositories._base import ById, Repository
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


class InvoiceRepository(ById[Invoice]):
    """Invoices by id (read locked), number and account."""

    table, kind, lock = INVOICES, Invoice, Lock.WAIT

    def columns(self, value: Invoice) -> dict[str, Scalar]:
        """The trimmed number, the account and the date it was issued."""
        return {
            "number_key": value.number.strip(),
            "account_id": value.account_id,
            "issued_on": value.issued_on,
        }

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
        }
        self._put(self._row(value, **columns))


class PaymentRepository(VendorObjects[PaymentRecord]):
    """Payments keyed by ``(gateway, vendor payment id)``, found by account."""

    table, kind, owner = PAYMENTS, PaymentRecord, "account_id"

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
