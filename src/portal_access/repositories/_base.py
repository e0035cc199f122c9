"""The base of every repository: one table, over one store transaction.

A repository turns domain values into rows and back (each value one JSON document, plus
the columns its lookups need) and carries the rules a store must not have to know:

- a row read as missing and then saved is *inserted*, and losing that insert to a
  concurrent unit of work is a :class:`~portal_access.StaleStateError` (the service runs
  the use case again), so an older snapshot never overwrites a newer one;
- a row saved without being read is written over (``update``, else ``insert``);
- versioned rows (logins, access states) are written only over the version read.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Protocol, TypeVar

import attrs

from portal_access._domain.errors import StaleStateError
from portal_access.ports import Index, Key, Lock, Row, Scalar, StoreTransaction, Table
from portal_access.repositories._documents import DocumentCache

__all__ = ["ById", "Repository"]

V = TypeVar("V")


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


I = TypeVar("I", bound=_Identified)  # noqa: E741 - the usual name of an id-bearing type


class Repository:
    """A repository of :attr:`table`, over one unit of work's transaction.

    A store may use a subclass instead (its ``repositories`` mapping, ``docs/stores.md``),
    to serve a method faster; it must keep the method's documented behaviour.

    Args:
        transaction: the unit of work's store transaction.
        documents: the cache of decoded documents the store's units of work share.
    """

    #: The table the repository reads and writes.
    table: ClassVar[Table]
    #: How :meth:`_read` locks the row it reads (``Lock.WAIT`` where webhooks race).
    lock: ClassVar[Lock] = Lock.NONE

    def __init__(self, transaction: StoreTransaction, documents: DocumentCache) -> None:
        self.transaction = transaction
        self.documents = documents
        self._missing: set[Key] = set()

    def _read(self, key: Key) -> Row | None:
        """The row with ``key`` (locked as :attr:`lock` says), noting it missing."""
        row = self.transaction.get(self.table, key, lock=self.lock)
        if row is None:
            self._missing.add(key)
        else:
            self._missing.discard(key)
        return row

    def _decode(self, row: Row, cls: type[V], key: object = None) -> V:
        """The ``cls`` in ``row``'s document (``key`` names it in errors; else its values)."""
        assert row.doc is not None, self.table.name
        return self.documents.decode(row.doc, cls, row.values if key is None else key)

    def _get(self, key: Key, cls: type[V]) -> V | None:
        row = self._read(key)
        return None if row is None else self._decode(row, cls, key)

    def _find(self, index: Index, value: Scalar, cls: type[V]) -> tuple[V, ...]:
        rows = self.transaction.find(self.table, index, (value,))
        return tuple(self._decode(row, cls) for row in rows)

    def _keys(self, index: Index, value: Scalar) -> tuple[Any, ...]:
        """The first key column of the rows ``index`` finds for ``value``."""
        name = self.table.key[0]
        return tuple(row.values[name] for row in self.transaction.find(self.table, index, (value,)))

    def _row(self, value: object, **columns: Scalar) -> Row:
        return Row(columns, self.documents.encode(value))

    def _put(self, row: Row) -> None:
        """Insert ``row``, or replace the row with its key (see the module's rules).

        Raises:
            StaleStateError: the row was read as missing (or vanished), and a concurrent
                unit of work has since created it.
        """
        key = self.table.key_of(row.values)
        tx, table = self.transaction, self.table
        if key not in self._missing and tx.update(table, row):
            return
        if not tx.insert(table, row):
            raise StaleStateError(
                f"{table.name} {key!r} was created by a concurrent unit of work; retry"
            )
        self._missing.discard(key)

    def _put_version(self, value: V, expected: int | None, **columns: Scalar) -> V:
        """Write ``value`` as version ``expected + 1`` (insert it when ``expected`` is
        ``None``) and return it so.

        Raises:
            StaleStateError: the stored version is not ``expected`` (or a row exists
                when inserting).
        """
        version = 1 if expected is None else expected + 1
        saved = attrs.evolve(value, version=version)  # type: ignore[misc]
        row = Row(columns, self.documents.encode(saved), version)
        tx, table = self.transaction, self.table
        if expected is None:
            written = tx.insert(table, row)
        else:
            written = tx.update(table, row, expected_version=expected)
        if not written:
            key = table.key_of(columns)
            stored = tx.get(table, key)
            found = "no row" if stored is None else f"version {stored.version}"
            wanted = "no row" if expected is None else f"version {expected}"
            raise StaleStateError(f"{table.name} {key!r}: expected {wanted}, found {found}")
        return saved


class ById(Repository, Generic[I]):
    """A repository of values kept under their ``id``.

    Subclasses say what they keep (:attr:`kind`) and which columns besides the id a value
    fills (:meth:`columns`).
    """

    #: The class of the values kept.
    kind: type[I]

    def get(self, value_id: str) -> I | None:
        """The value with this id, or ``None``."""
        return self._get((value_id,), self.kind)

    def save(self, value: I) -> None:
        """Insert or replace the value under its id."""
        self._put(self._row(value, id=value.id, **self.columns(value)))

    def columns(self, value: I) -> dict[str, Scalar]:
        """The lookup columns ``value`` fills besides its id (none unless overridden)."""
        return {}
