"""The memory store's tables and the copy-on-write transaction over them.

Committed tables are plain dicts of immutable values that are never changed once
published: a transaction copies a table the first time it writes to it, and committing
publishes a new mapping of tables in one assignment. A reader holding the old mapping
keeps seeing a consistent, committed state.

>>> tx = Transaction(empty_tables())
>>> tx.write("idempotency")["k"] = "{}"
>>> dict(tx.read("idempotency")), dict(empty_tables()["idempotency"])
({'k': '{}'}, {})
>>> committed = tx.close()
>>> dict(committed["idempotency"])
{'k': '{}'}
>>> tx.read("idempotency")
Traceback (most recent call last):
...
portal_access.StorageError: this unit of work has ended; ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal_access._domain.errors import StorageError

__all__ = ["TABLES", "Repository", "Table", "Tables", "Transaction", "empty_tables"]

#: One table: key -> immutable value.
Table = dict[Any, Any]
#: Every table by name; published mappings are never mutated.
Tables = Mapping[str, Table]

#: The table names: one per repository, plus the invoice-number counter.
TABLES = (
    "offers",
    "plans",
    "account_classes",
    "accounts",
    "sites",
    "contacts",
    "logins",
    "invoices",
    "payments",
    "subscriptions",
    "access",
    "tokens",
    "gateway_events",
    "checkouts",
    "outbox",
    "idempotency",
    "counters",
)


def empty_tables() -> Tables:
    """A fresh set of empty tables."""
    return {name: {} for name in TABLES}


class Transaction:
    """The tables one unit of work sees: the committed ones, each copied on first write.

    Args:
        committed: the committed tables when the unit of work began.
    """

    def __init__(self, committed: Tables) -> None:
        self._committed = committed
        self._written: dict[str, Table] = {}
        self._open = True

    def read(self, name: str) -> Mapping[Any, Any]:
        """The table ``name`` as this transaction sees it (its own writes included).

        Raises:
            StorageError: the transaction has ended.
        """
        self._check_open()
        written = self._written.get(name)
        return written if written is not None else self._committed[name]

    def write(self, name: str) -> Table:
        """The transaction's private, writable copy of table ``name``.

        Raises:
            StorageError: the transaction has ended.
        """
        self._check_open()
        written = self._written.get(name)
        if written is None:
            written = self._written[name] = dict(self._committed[name])
        return written

    def close(self) -> Tables:
        """End the transaction; return the committed tables with its writes swapped in.

        The caller publishes the result to commit, or drops it to roll back.
        """
        self._open = False
        return {**self._committed, **self._written}

    def _check_open(self) -> None:
        if not self._open:
            raise StorageError(
                "this unit of work has ended; use repositories only inside "
                "`with store.unit_of_work() as uow:`"
            )


class Repository:
    """Base of the memory repositories: one table of one transaction.

    Args:
        tx: the unit of work's transaction.
        table: the table's name (one of :data:`TABLES`).
    """

    def __init__(self, tx: Transaction, table: str) -> None:
        self._tx = tx
        self._table = table

    def _rows(self) -> Mapping[Any, Any]:
        return self._tx.read(self._table)

    def _writable(self) -> Table:
        return self._tx.write(self._table)
