"""The memory store: tables of immutable rows, and real, serialisable transactions.

A transaction holds one store-wide lock for its whole duration (so transactions run one
after another, and the locks :class:`~portal_access.ports.Lock` asks for are already
held), works on copy-on-write copies of the tables it writes, and on normal exit
publishes them in one assignment; on an exception nothing is kept. Committed tables are
never changed once published, so :meth:`MemoryStore.read_committed` reads them without
the lock and always sees one whole commit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from portal_access._domain.errors import ConflictError, StorageError
from portal_access.ports import Committed, Index, Key, Lock, Row, Scalar, Table

__all__ = ["MemoryStore", "MemoryTransaction"]

#: One table: key -> row. Published tables are never changed.
Rows = Mapping[Key, Row]
#: The counters' table: a counter is the row ``(name,)`` whose version is its last value.
_COUNTERS = "counters"


class MemoryTransaction:
    """The tables one transaction sees: the committed ones, each copied on first write
    (a :class:`~portal_access.ports.StoreTransaction`).

    Args:
        committed: the committed tables, by name, when the transaction began.
    """

    def __init__(self, committed: Mapping[str, Rows]) -> None:
        self._committed = committed
        self._written: dict[str, dict[Key, Row]] | None = {}

    @property
    def wrote(self) -> bool:
        """Whether this transaction has written anything (an unwritten one commits
        nothing; the service then adds no write of its own to it)."""
        return bool(self._written)

    def get(self, table: Table, key: Key, *, lock: Lock = Lock.NONE) -> Row | None:
        """The row with ``key``, or ``None`` (locks: see the module)."""
        return self._read(table.name).get(key)

    def find(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        limit: int | None = None,
        lock: Lock = Lock.NONE,
    ) -> Sequence[Row]:
        """The rows ``index`` selects for ``values``, in index order, at most ``limit``."""
        found = [
            row for row in self._read(table.name).values() if index.selects(row.values, values)
        ]
        found.sort(key=table.sort_key(index))
        return found if limit is None else found[:limit]

    def insert(self, table: Table, row: Row) -> bool:
        """Add ``row``; ``False`` when its key or a unique index's values are taken."""
        key = table.key_of(row.values)
        if key in self._read(table.name) or self._clash(table, row, key):
            return False
        self._write(table.name)[key] = row
        return True

    def update(self, table: Table, row: Row, *, expected_version: int | None = None) -> bool:
        """Replace the row with ``row``'s key (only at ``expected_version`` when given).

        Raises:
            ConflictError: ``row`` takes a unique index's values held by another row.
        """
        key = table.key_of(row.values)
        stored = self._read(table.name).get(key)
        if stored is None or expected_version not in (None, stored.version):
            return False
        if self._clash(table, row, key):
            raise ConflictError(f"{table.name}: a unique index's values are taken")
        self._write(table.name)[key] = row
        return True

    def delete(self, table: Table, key: Key) -> bool:
        """Remove the row with ``key``; ``False`` when there was none."""
        if key not in self._read(table.name):
            return False
        del self._write(table.name)[key]
        return True

    def next_value(self, counter: str, *, first: int) -> int:
        """``first``, then one more than the counter's last value."""
        last = self._read(_COUNTERS).get((counter,))
        value = first if last is None else last.version + 1
        self._write(_COUNTERS)[(counter,)] = Row({"name": counter}, version=value)
        return value

    def close(self) -> dict[str, Rows]:
        """End the transaction; return the committed tables with its writes swapped in."""
        written, self._written = self._written, None
        return {**self._committed, **(written or {})}

    def _clash(self, table: Table, row: Row, key: Key) -> bool:
        """Whether another row holds ``row``'s values of a unique index."""
        for index in table.indexes:
            if not index.unique:
                continue
            wanted = tuple(row.values[name] for name in index.equal)
            others = self._read(table.name).items()
            if any(k != key and index.selects(other.values, wanted) for k, other in others):
                return True
        return False

    def _read(self, name: str) -> Rows:
        if self._written is None:
            raise StorageError(
                "this unit of work has ended; use repositories only inside "
                "`with unit_of_work(store) as uow:`"
            )
        rows = self._written.get(name)
        return self._committed.get(name, {}) if rows is None else rows

    def _write(self, name: str) -> dict[Key, Row]:
        rows = self._read(name)
        assert self._written is not None
        if name not in self._written:
            rows = self._written[name] = dict(rows)
        return self._written[name]


class MemoryStore:
    """A :class:`~portal_access.ports.Store` kept in this process's memory.

    Transactions are serialised by one lock and are all-or-nothing. A transaction used
    after its ``with`` block ended raises :class:`~portal_access.StorageError`, and so
    does opening one inside another in the same thread (the inner one could not see the
    outer one's writes).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tables: Mapping[str, Rows] = {}
        self._open = False

    @contextmanager
    def transaction(self) -> Iterator[MemoryTransaction]:
        """Begin a transaction; leaving the block commits, an exception rolls back.

        Raises:
            StorageError: a transaction is already open in this thread.
        """
        with self._lock:
            if self._open:
                raise StorageError(
                    "a unit of work is already open in this thread; "
                    "finish it before starting another"
                )
            self._open = True
            tx = MemoryTransaction(self._tables)
            try:
                yield tx
            except BaseException:
                tx.close()
                raise
            else:
                self._tables = tx.close()
            finally:
                self._open = False

    def read_committed(self, table: Table, key: Key) -> Committed | None:
        """The committed row's ``(doc, version)``, read without waiting for the lock."""
        row = self._tables.get(table.name, {}).get(key)
        return None if row is None else (row.doc, row.version)

    def snapshot(self) -> dict[str, dict[Key, Row]]:
        """Every committed row, by table name, for equality checks (rows are immutable).

        Atomicity tests compare two snapshots: a use case that failed must leave the
        store exactly as it was.
        """
        return {name: dict(rows) for name, rows in self._tables.items() if rows}
