"""A complete portal-access store in one page: rows in one dict, one lock, and each
transaction a private copy of the dict that replaces it on commit.

It keeps both contract suites (``tests/contract/test_store_contracts.py`` runs them).
It copies every row per transaction, so it is for reading: use
``portal_access.storage.memory.MemoryStore`` or the SQL store for real.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from portal_access import ConflictError, StorageError
from portal_access.ports import Index, Key, Lock, Row, Scalar, Table

#: Every row of every table, by (table name, key).
Rows = dict[tuple[str, Key], Row]


class DictStore:
    """A store: the two methods of ``portal_access.ports.Store``."""

    def __init__(self) -> None:
        self.rows: Rows = {}
        self.lock = threading.RLock()  # one transaction at a time
        self.busy = False

    @contextmanager
    def transaction(self) -> Iterator[DictTransaction]:
        with self.lock:
            if self.busy:
                raise StorageError("transactions do not nest")
            self.busy, tx = True, DictTransaction(dict(self.rows))
            try:
                yield tx
                self.rows = tx.rows  # commit; an exception skips this: rollback
            finally:
                self.busy, tx.ended = False, True

    def read_committed(self, table: Table, key: Key) -> tuple[str | None, int] | None:
        row = self.rows.get((table.name, key))
        return None if row is None else (row.doc, row.version)


class DictTransaction:
    """A transaction: the six methods of ``portal_access.ports.StoreTransaction``."""

    def __init__(self, rows: Rows) -> None:
        self.rows, self.ended = rows, False

    def table(self, table: Table) -> list[tuple[Key, Row]]:
        if self.ended:
            raise StorageError("this transaction has ended")
        return [(key, row) for (name, key), row in self.rows.items() if name == table.name]

    def get(self, table: Table, key: Key, *, lock: Lock = Lock.NONE) -> Row | None:
        return dict(self.table(table)).get(key)

    def find(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        limit: int | None = None,
        lock: Lock = Lock.NONE,
    ) -> Sequence[Row]:
        found = [row for _, row in self.table(table) if index.selects(row.values, values)]
        return sorted(found, key=table.sort_key(index))[:limit]

    def insert(self, table: Table, row: Row) -> bool:
        key = table.key_of(row.values)
        if self.get(table, key) is not None or self.taken(table, row):
            return False
        self.rows[table.name, key] = row
        return True

    def update(self, table: Table, row: Row, *, expected_version: int | None = None) -> bool:
        old = self.get(table, table.key_of(row.values))
        if old is None or expected_version not in (None, old.version):
            return False
        if self.taken(table, row):
            raise ConflictError(f"{table.name}: a unique value is taken")
        self.rows[table.name, table.key_of(row.values)] = row
        return True

    def delete(self, table: Table, key: Key) -> bool:
        if self.get(table, key) is None:
            return False
        del self.rows[table.name, key]
        return True

    def next_value(self, counter: str, *, first: int) -> int:
        last = self.rows.get(("counters", (counter,)))
        value = first if last is None else last.version + 1
        self.rows["counters", (counter,)] = Row({}, version=value)
        return value

    def taken(self, table: Table, row: Row) -> bool:
        """Whether another row holds ``row``'s values of a unique index."""
        key = table.key_of(row.values)
        return any(
            index.unique
            and other != key
            and index.selects(held.values, [row.values[n] for n in index.equal])
            for index in table.indexes
            for other, held in self.table(table)
        )
