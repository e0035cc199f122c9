"""The rows the store contract writes (raw rows of the library's own tables: documents
are opaque text to a store), and the helpers its tests share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from portal_access.ports import Key, Row, Scalar, Store, StoreTransaction, Table

__all__ = [
    "EAST",
    "EVENT",
    "NOW",
    "Rollback",
    "StoreHelpers",
    "ids",
    "invoice",
    "login",
    "message",
    "offer",
    "payment",
]

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EAST = timezone(timedelta(hours=2))
EVENT = {"gateway": "stripe", "event_id": "evt_1"}


class Rollback(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside a transaction by the contract to roll it back."""


def offer(offer_id: str = "o-1", doc: str = "offer one") -> Row:
    """A row of the offers table."""
    return Row({"id": offer_id}, doc)


def invoice(invoice_id: str, number: str, *, account: str = "a-1", day: int = 1) -> Row:
    """A row of the invoices table, issued on March ``day``, 2026."""
    values: dict[str, Scalar] = {
        "id": invoice_id,
        "number_key": number,
        "account_id": account,
        "issued_on": date(2026, 3, day),
        "status": "open",
        "currency": "USD",
        "balance": 100 * day,
        "due_on": date(2026, 3, day),
        "contact_id": None,
        "site_id": None,
    }
    return Row(values, f"invoice {invoice_id}")


def payment(gateway: str, payment_id: str, *, account: str = "a-1") -> Row:
    """A row of the payments table: a succeeded payment of 49.00 USD recorded at ``NOW``."""
    values: dict[str, Scalar] = {
        "gateway": gateway,
        "payment_id": payment_id,
        "account_id": account,
        "invoice_id": "inv-1",
        "status": "succeeded",
        "amount": 4900,
        "currency": "USD",
        "recorded_at": NOW,
        "contact_id": None,
        "site_id": None,
    }
    return Row(values, f"payment {payment_id}")


def login(contact_id: str, email_key: str, version: int = 1) -> Row:
    """A row of the (versioned) logins table."""
    return Row({"contact_id": contact_id, "email_key": email_key}, f"v{version}", version)


def message(message_id: str, at: datetime = NOW, *, delivered: bool = False) -> Row:
    """A row of the outbox table."""
    values: dict[str, Scalar] = {
        "id": message_id,
        "occurred_at": at,
        "topic": "t",
        "delivered": delivered,
        "attempts": 0,
        "due_at": at,
        "claimed_by": None,
    }
    return Row(values, f"message {message_id}")


def ids(rows: object) -> list[Any]:
    """The ``id`` values of ``rows``, in order."""
    assert isinstance(rows, (list, tuple))
    return [row.values[name] for row in rows for name in ("id",) if name in row.values]


class StoreHelpers:
    """What the store contract's tests do again and again."""

    @staticmethod
    def committed(store: Store, *rows: tuple[Table, Row]) -> None:
        """Insert ``rows`` in one committed transaction."""
        with store.transaction() as tx:
            for table, row in rows:
                assert tx.insert(table, row) is True

    @staticmethod
    def stored(store: Store, table: Table, key: Key) -> Row | None:
        """The row as a new transaction reads it."""
        with store.transaction() as tx:
            return tx.get(table, key)

    @staticmethod
    def roll_back(store: Store, work: Callable[[StoreTransaction], object]) -> Rollback:
        """Run ``work`` in a transaction that then raises, so it rolls back; return what
        reached the caller."""

        def run() -> None:
            with store.transaction() as tx:
                work(tx)
                raise Rollback

        with pytest.raises(Rollback) as raised:
            run()
        return raised.value
