"""Fault injection for atomicity tests: a store whose Nth write fails.

"A store failure injected at each write leaves the store exactly as it was": run a use
case once through ``FailingStore(store, fail_on_write=0)`` to count its writes, then once
per write ``k`` with ``fail_on_write=k``, and check the store did not change.

>>> from portal_access._domain.accounts import AccountClass
>>> from portal_access.repositories import unit_of_work
>>> from portal_access.storage.memory import MemoryStore
>>> store = MemoryStore()
>>> failing = FailingStore(store, fail_on_write=2)
>>> with unit_of_work(failing) as uow:
...     uow.account_classes.save(AccountClass(id="k-1", name="Commercial"))
...     uow.invoices.next_number()
Traceback (most recent call last):
...
portal_access.StorageError: injected failure
>>> failing.writes, store.snapshot()
(2, {})
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from portal_access._domain.errors import StorageError, ValidationError
from portal_access.ports import (
    AfterCommit,
    AggregateReads,
    Committed,
    Index,
    Key,
    Lock,
    Row,
    Scalar,
    Store,
    StoreTransaction,
    Table,
    Total,
    Where,
)
from portal_access.repositories import DocumentCache, documents_of

__all__ = ["WRITE_METHODS", "FailingStore"]

#: The store-transaction methods that count as writes.
WRITE_METHODS = frozenset({"insert", "update", "delete", "next_value"})
#: What a store's transaction offers the host beside the port (the SQL store's
#: ``connection``, the Django store's ``using``): passed through, never counted.
HOST_ATTRIBUTES = frozenset({"connection", "using"})


class FailingStore:
    """Wraps any :class:`~portal_access.ports.Store`; its ``fail_on_write``-th write fails.

    Every call of a transaction method in :data:`WRITE_METHODS` is a write, counted in
    :attr:`writes` across every transaction of this wrapper. The write numbered
    ``fail_on_write`` (1-based) raises ``StorageError("injected failure")`` instead of
    running; every other call, and :meth:`read_committed`, passes through. The wrapped
    store's ``documents`` are kept; its ``repositories`` are not (the library's own run,
    so that every write goes through the port).

    The optional capabilities of :mod:`portal_access.ports` pass through exactly when the
    wrapped store has them, so that a use case runs as it would on that store: the
    wrapper has :meth:`~portal_access.ports.AfterCommit.after_commit` only when the store
    has it (a Django store's outbox then still waits for the host's commit), and its
    transactions are :class:`~portal_access.ports.AggregateReads` only when the store's
    are (neither counts as a write). What the wrapped store's transactions offer the
    host beside the port passes through too: ``uow.transaction.connection`` on a
    :class:`~portal_access.storage.sql.SqlStore`, ``uow.transaction.using`` on a Django
    store. A host's own statements on that connection are its own: they are neither
    counted nor failed, and they commit or roll back with the unit of work.

    Args:
        store: the store to wrap.
        fail_on_write: the write to fail; ``0`` fails none (to count a use case's writes).

    Raises:
        ValidationError: ``fail_on_write`` is not a non-negative ``int``.
    """

    def __init__(self, store: Store, *, fail_on_write: int) -> None:
        if isinstance(fail_on_write, bool) or not isinstance(fail_on_write, int):
            raise ValidationError("must be an int", field="fail_on_write", value=fail_on_write)
        if fail_on_write < 0:
            raise ValidationError(
                "must not be negative", field="fail_on_write", value=fail_on_write
            )
        self.store = store
        self.fail_on_write = fail_on_write
        #: How many writes were attempted so far, the failed one included.
        self.writes = 0
        if isinstance(store, AfterCommit):  # else no such attribute: the service probes it
            self.after_commit = store.after_commit

    #: The wrapped store's :meth:`~portal_access.ports.AfterCommit.after_commit`; only
    #: set when it has one.
    after_commit: Callable[[Callable[[], object]], None]

    @property
    def documents(self) -> DocumentCache:
        """The wrapped store's document cache."""
        return documents_of(self.store)

    @contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        """The wrapped store's transaction, with its writes counted (and one failed).

        Raises:
            StorageError: from a write, the injected failure; else as the wrapped store.
        """
        with self.store.transaction() as transaction:
            if isinstance(transaction, AggregateReads):
                yield _FailingAggregateTransaction(transaction, self._write)
            else:
                yield _FailingTransaction(transaction, self._write)

    def read_committed(self, table: Table, key: Key) -> Committed | None:
        """The wrapped store's answer (reads never fail)."""
        return self.store.read_committed(table, key)

    def _write(self) -> None:
        self.writes += 1
        if self.writes == self.fail_on_write:
            raise StorageError("injected failure")


class _FailingTransaction:
    """A store transaction that calls ``before_write`` before each write."""

    def __init__(self, inner: StoreTransaction, before_write: Callable[[], None]) -> None:
        self.inner = inner
        self._before_write = before_write

    def __getattr__(self, name: str) -> Any:
        """The wrapped transaction's ``HOST_ATTRIBUTES`` (read when asked for: the
        SQL store's ``connection`` begins a PostgreSQL transaction); nothing else, so
        that no capability the port probes for is advertised by accident."""
        if name in HOST_ATTRIBUTES:
            return getattr(self.inner, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get(self, table: Table, key: Key, *, lock: Lock = Lock.NONE) -> Row | None:
        return self.inner.get(table, key, lock=lock)

    def find(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        limit: int | None = None,
        lock: Lock = Lock.NONE,
    ) -> Sequence[Row]:
        return self.inner.find(table, index, values, limit=limit, lock=lock)

    @property
    def wrote(self) -> bool:
        return bool(getattr(self.inner, "wrote", True))

    def insert(self, table: Table, row: Row) -> bool:
        self._before_write()
        return self.inner.insert(table, row)

    def update(self, table: Table, row: Row, *, expected_version: int | None = None) -> bool:
        self._before_write()
        return self.inner.update(table, row, expected_version=expected_version)

    def delete(self, table: Table, key: Key) -> bool:
        self._before_write()
        return self.inner.delete(table, key)

    def next_value(self, counter: str, *, first: int) -> int:
        self._before_write()
        return self.inner.next_value(counter, first=first)


class _FailingAggregateTransaction(_FailingTransaction):
    """A :class:`_FailingTransaction` over a transaction that has the optional
    :class:`~portal_access.ports.AggregateReads` (reads: never counted, never failed)."""

    def __init__(self, inner: Any, before_write: Callable[[], None]) -> None:
        super().__init__(inner, before_write)
        self._aggregates: AggregateReads = inner

    def totals(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        by: Sequence[str],
        sums: Sequence[str] = (),
        where: Where | None = None,
        min_count: int = 1,
    ) -> Sequence[Total]:
        return self._aggregates.totals(
            table, index, values, by=by, sums=sums, where=where, min_count=min_count
        )

    def newest(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        order: Sequence[str],
        limit: int | None = None,
        where: Where | None = None,
    ) -> Sequence[Row]:
        return self._aggregates.newest(table, index, values, order=order, limit=limit, where=where)
