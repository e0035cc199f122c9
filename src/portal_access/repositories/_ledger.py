"""Repositories of saved payment methods, autopay attempts, the catalog, purchase
orders, the ledger account mapping and accounting entries.

Accounting entries are written with ``insert`` only: the key ``(gateway, payment id,
line)`` is the "exactly once" rule, so a second report of the same payment (a webhook
redelivered, reconcile) adds nothing, in any store. The line (stored in the ``kind``
column) is the entry's kind with the vendor's id of the refund or dispute it records
(``refund:re_1``; see :func:`~portal_access._domain.accounting.entry_line`).
"""

from __future__ import annotations

from datetime import UTC, date

from portal_access._domain.accounting import AccountingEntry, LedgerAccount
from portal_access._domain.autopay import AutopayAttempt, SavedPaymentMethod
from portal_access._domain.payments import PaymentMethodKind
from portal_access._domain.purchase_orders import CatalogItem, PurchaseOrder
from portal_access.ports import Lock, Row, Scalar
from portal_access.repositories._base import ById, Repository
from portal_access.repositories._tables import (
    ACCOUNTING_ENTRIES,
    ACCOUNTING_ENTRIES_BY_MONTH,
    ACCOUNTING_ENTRIES_UNMAPPED,
    AUTOPAY_ATTEMPTS,
    AUTOPAY_ATTEMPTS_BY_INVOICE,
    CATALOG_ITEMS,
    CATALOG_ITEMS_FOR_SALE,
    LEDGER_ACCOUNTS,
    LEDGER_ACCOUNTS_BY_GATEWAY,
    PURCHASE_ORDERS,
    PURCHASE_ORDERS_BY_CONTACT,
    SAVED_METHODS,
    SAVED_METHODS_BY_GATEWAY,
    SAVED_METHODS_BY_METHOD,
)

__all__ = [
    "AccountingEntryRepository",
    "AutopayAttemptRepository",
    "CatalogItemRepository",
    "LedgerAccountRepository",
    "PurchaseOrderRepository",
    "SavedMethodRepository",
    "months_between",
]


class SavedMethodRepository(Repository):
    """Each contact's saved payment method (the newest reported), found by gateway.

    A method its gateway reported removed stays in the contact's row, marked
    (:attr:`~portal_access.SavedPaymentMethod.removed_at`), until a newer one replaces
    it: :meth:`latest` reads it, for ordering later reports; :meth:`get`,
    :meth:`for_gateway` and :meth:`holding` never return it.
    """

    table, lock = SAVED_METHODS, Lock.WAIT

    def get(self, contact_id: str) -> SavedPaymentMethod | None:
        """The contact's saved method (locked until the unit of work ends), or ``None``
        (none saved, or the one saved was removed)."""
        found = self.latest(contact_id)
        return None if found is None or found.removed else found

    def latest(self, contact_id: str) -> SavedPaymentMethod | None:
        """The contact's newest reported method, removed or not (locked until the unit
        of work ends), or ``None``."""
        return self._get((contact_id,), SavedPaymentMethod)

    def save(self, method: SavedPaymentMethod) -> None:
        """Insert or replace the contact's saved method (a removed one too)."""
        self._put(
            self._row(
                method,
                contact_id=method.contact_id,
                gateway=method.gateway,
                method_id=method.method_id,
            )
        )

    def for_gateway(self, gateway: str) -> tuple[SavedPaymentMethod, ...]:
        """The saved methods kept at ``gateway`` (none removed), by contact id."""
        found = self._find(SAVED_METHODS_BY_GATEWAY, gateway, SavedPaymentMethod)
        return tuple(method for method in found if not method.removed)

    def holding(self, gateway: str, method_id: str) -> SavedPaymentMethod | None:
        """The saved method (not removed) with the gateway's id ``method_id``, whoever's
        it is, or ``None``: for a report that does not say whose method it is (Stripe's
        ``payment_method.detached``).

        One lookup of the rows holding that id (``ix_saved_methods_method``), however
        many methods the gateway keeps. Should two contacts' rows hold the same id (a
        vendor reporting one method saved for two contacts), the first by contact id
        that is not removed is returned. Not locked: read the contact's row with
        :meth:`latest` before changing it.
        """
        rows = self.transaction.find(self.table, SAVED_METHODS_BY_METHOD, (gateway, method_id))
        for row in rows:
            method = self._decode(row, SavedPaymentMethod)
            if not method.removed:
                return method
        return None


class AutopayAttemptRepository(Repository):
    """Autopay attempts by ``(invoice, saved method)``; ``get`` locks the row."""

    table, lock = AUTOPAY_ATTEMPTS, Lock.WAIT

    def get(self, invoice_id: str, method_id: str) -> AutopayAttempt | None:
        """The attempt of this invoice with this method, or ``None``."""
        return self._get((invoice_id, method_id), AutopayAttempt)

    def save(self, attempt: AutopayAttempt) -> None:
        """Insert or replace the attempt.

        Raises:
            StaleStateError: ``get`` found none and a concurrent run has since made it.
        """
        self._put(self._row(attempt, invoice_id=attempt.invoice_id, method_id=attempt.method_id))

    def for_invoice(self, invoice_id: str) -> tuple[AutopayAttempt, ...]:
        """Every attempt of the invoice, by method id."""
        return self._find(AUTOPAY_ATTEMPTS_BY_INVOICE, invoice_id, AutopayAttempt)


class CatalogItemRepository(ById[CatalogItem]):
    """The host's catalog items by id; those for sale by name."""

    table, kind = CATALOG_ITEMS, CatalogItem

    def columns(self, value: CatalogItem) -> dict[str, Scalar]:
        """Whether it is for sale, and its name (the listing's order)."""
        return {"for_sale": value.for_sale, "name": value.name}

    def for_sale(self) -> tuple[CatalogItem, ...]:
        """The items for sale, by name (code point order), then id."""
        return self._find(CATALOG_ITEMS_FOR_SALE, True, CatalogItem)


class PurchaseOrderRepository(ById[PurchaseOrder]):
    """Purchase orders by id, and by contact in the order they were placed."""

    table, kind = PURCHASE_ORDERS, PurchaseOrder

    def columns(self, value: PurchaseOrder) -> dict[str, Scalar]:
        """The contact and when it was placed."""
        return {"contact_id": value.contact_id, "placed_at": value.placed_at}

    def for_contact(self, contact_id: str) -> tuple[PurchaseOrder, ...]:
        """The contact's orders, oldest first."""
        return self._find(PURCHASE_ORDERS_BY_CONTACT, contact_id, PurchaseOrder)


class LedgerAccountRepository(Repository):
    """Staff's mapping of ``(gateway, payment method)`` to a bank or ledger account."""

    table = LEDGER_ACCOUNTS

    def get(self, gateway: str, method: PaymentMethodKind) -> LedgerAccount | None:
        """The account mapped to this gateway and method, or ``None``: unmapped."""
        return self._get((gateway, method.value), LedgerAccount)

    def save(self, account: LedgerAccount) -> None:
        """Map the account's gateway and method to it (replacing any earlier account)."""
        self._put(self._row(account, gateway=account.gateway, method=account.method.value))

    def for_gateway(self, gateway: str) -> tuple[LedgerAccount, ...]:
        """The gateway's mappings, by method."""
        return self._find(LEDGER_ACCOUNTS_BY_GATEWAY, gateway, LedgerAccount)


def months_between(start: date, end: date) -> list[str]:
    """The ``YYYY-MM`` months from ``start``'s to ``end``'s, both included.

    >>> months_between(date(2025, 11, 30), date(2026, 2, 1))
    ['2025-11', '2025-12', '2026-01', '2026-02']
    """
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


class AccountingEntryRepository(Repository):
    """Accounting entries, each once under ``(gateway, payment id, line)``; by month."""

    table = ACCOUNTING_ENTRIES

    def add(self, entry: AccountingEntry) -> bool:
        """Record ``entry`` unless one of its payment and line exists; whether it was new."""
        columns: dict[str, Scalar] = {
            "gateway": entry.gateway,
            "payment_id": entry.payment_id,
            "kind": entry.line,
            "month": entry.occurred_at.astimezone(UTC).strftime("%Y-%m"),
            "occurred_at": entry.occurred_at,
            "unmapped": entry.ledger_account is None,
        }
        return self.transaction.insert(self.table, Row(columns, self.documents.encode(entry)))

    def get(self, gateway: str, payment_id: str, line: str) -> AccountingEntry | None:
        """The entry of this payment and line (``"fee"``, ``"refund:re_1"``), or ``None``."""
        row = self.transaction.get(self.table, (gateway, payment_id, line))
        return None if row is None else self._decode(row, AccountingEntry)

    def in_period(self, start: date, end: date) -> tuple[AccountingEntry, ...]:
        """The entries that occurred from ``start`` to ``end`` (days, both included,
        UTC), oldest first: one lookup per month."""
        found: list[AccountingEntry] = []
        for month in months_between(start, end):
            found += self._find(ACCOUNTING_ENTRIES_BY_MONTH, month, AccountingEntry)
        return tuple(e for e in found if start <= e.occurred_at.astimezone(UTC).date() <= end)

    def unmapped(self) -> tuple[AccountingEntry, ...]:
        """The entries recorded with no account, oldest first."""
        return self._find(ACCOUNTING_ENTRIES_UNMAPPED, True, AccountingEntry)
