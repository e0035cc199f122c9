"""One transaction of the SQL store: the store port's table operations, on one connection.

:class:`SqlTransaction` runs the statements of :mod:`~portal_access.storage.sql._statements`
(built once, compiled once per database) on the driver's cursor, translates database
errors (:mod:`~portal_access.storage.sql._errors`), remembers that a statement failed
(PostgreSQL then refuses everything but a rollback, so the transaction must not
commit), and refuses use after it ended.

On PostgreSQL (unless someone watches statements) the server transaction begins only
when the unit of work first needs one: its reads before that run in autocommit, and
its first write or locking read sends ``BEGIN`` first. In ``READ COMMITTED`` every
statement has a snapshot of its own, in a transaction or not, so those reads see what
they would have seen inside it; what a transaction adds is its own writes (there are
none yet) and the locks it holds until it ends (there are none yet either). So a unit
of work that only reads (a duplicate webhook) sends neither ``BEGIN`` nor ``COMMIT``.

- ``FOR UPDATE`` (``Lock.WAIT``) begins the transaction first: its lock must last.
- ``FOR UPDATE SKIP LOCKED`` (``Lock.SKIP``, the outbox claim) runs in autocommit
  first. Finding nothing (nearly always), it needs no transaction: it is what the same
  read inside one would have found, and it locked nothing. Finding rows, it cannot keep
  them: a statement in autocommit is a transaction of its own, whose locks end with it,
  so another worker may claim those rows at once. The transaction then begins and the
  read runs again inside it, and *its* rows (locked until the commit) are the answer:
  the same rows, or fewer where another worker claimed some meanwhile, which is what
  ``SKIP LOCKED`` promises anyway. Rows found cost one more round trip than beginning
  first; finding nothing saves two.
- While no transaction is open on the server, a connection found lost (dropped by the
  server while it sat in the pool: a restart, a failover, an idle timeout) is replaced
  and the statement sent again on the next one, even after other reads: nothing of the
  unit of work is held by the server (no lock, no write), and the reads already done
  stay as valid as they would have been inside a ``READ COMMITTED`` transaction (no
  later statement could rely on their snapshot there either). A connection lost after
  the ``BEGIN`` is not replaced: the unit of work fails with
  :class:`~portal_access.StorageError`.
"""

from __future__ import annotations

import contextlib
import logging
import types
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from portal_access._domain.errors import StorageError
from portal_access.ports import Index, Key, Lock, Row, Scalar, Table, Total, Where
from portal_access.storage.sql._engine import (
    POSTGRES_BEGIN,
    made_for_this_checkout,
    statements_watched,
)
from portal_access.storage.sql._errors import translate
from portal_access.storage.sql._schema import counters
from portal_access.storage.sql._statements import Statement, statements_of

__all__ = ["SqlTransaction"]

log = logging.getLogger("portal_access.storage.sql")

_FIRST, _ALL, _COUNT = range(3)
_BEGIN = POSTGRES_BEGIN.encode()
#: SQLAlchemy keeps the row count of a driver-level statement only when asked.
_KEEP_ROWCOUNT: Mapping[str, Any] = types.MappingProxyType({"preserve_rowcount": True})

_NEXT = (
    sa.update(counters)
    .where(counters.c.name == sa.bindparam("name"))
    .values(value=counters.c.value + 1)
)
_NEXT_RETURNING = Statement(_NEXT.returning(counters.c.value))
_NEXT_VALUE = Statement(_NEXT)
_LAST_VALUE = Statement(sa.select(counters.c.value).where(counters.c.name == sa.bindparam("name")))
_FIRST_VALUE = Statement(
    {
        name: dialect.insert(counters)
        .values(name=sa.bindparam("name"), value=sa.bindparam("value"))
        .on_conflict_do_nothing()
        for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    }
)


class SqlTransaction:
    """The connection of one transaction, open until its block ends (a
    :class:`~portal_access.ports.StoreTransaction`).

    :attr:`connection` is the transaction's SQLAlchemy connection: a host may write its
    own tables through it (``uow.transaction.connection``), to commit or roll back
    together with the use case.

    Statements run on the driver's cursor: SQLAlchemy's per-statement machinery costs
    several times the statement itself, so it is used only while someone watches
    statements (``echo``, SQL logging at INFO, or a ``before_cursor_execute`` /
    ``after_cursor_execute`` listener when the transaction began), and they see every
    statement then. Either way a driver error is translated and a lost connection is
    invalidated, so the pool never hands it out again.

    Args:
        connection: a connection with a transaction begun, or (``begun=False``) a
            PostgreSQL connection idle in autocommit mode.
        begun: whether the transaction is begun already; if not, it begins on the
            driver (``BEGIN ISOLATION LEVEL READ COMMITTED``) before the first write or
            locking read (see the module).
    """

    def __init__(self, connection: Connection, *, begun: bool = True) -> None:
        self._connection = connection
        self.dialect = connection.dialect
        self.open = True
        self.failed = False
        #: Whether a statement that may write ran (any through :meth:`execute`): an
        #: unwritten transaction commits nothing, and the service adds no write to it.
        self.wrote = False
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None  # a connection in a transaction has one
        self._dbapi_connection = dbapi_connection
        self._cursor: Any = None
        self._errors = self.dialect.loaded_dbapi.Error
        self._watched = statements_watched(connection)
        #: Whether a transaction is open on the server (or none is needed: SQLite's
        #: writer and watched PostgreSQL connections begin before the unit of work).
        self._begun = begun
        #: Whether the connection was pooled before this unit of work (so a loss found
        #: before the ``BEGIN`` is one that happened while it sat idle).
        self._pooled = not begun and not made_for_this_checkout(connection)
        if not begun:
            _autocommit(dbapi_connection)

    @property
    def connection(self) -> Connection:
        """The transaction's SQLAlchemy connection, for a host's own statements: on
        PostgreSQL, asking for it begins the server transaction if the unit of work has
        not yet (so those statements are in it, and a connection the server dropped
        while pooled is replaced first, as for the unit of work's own)."""
        if not self._begun and self.open:
            self._begin()
        return self._connection

    def get(self, table: Table, key: Key, *, lock: Lock = Lock.NONE) -> Row | None:
        """The row with ``key``, or ``None``; ``Lock.WAIT`` is ``SELECT ... FOR UPDATE``."""
        statements = statements_of(table)
        binds = dict(zip(table.key, key))  # noqa: B905
        if lock is Lock.NONE or self._begun:
            found = self._run(statements.get(lock), binds, _FIRST)
        else:
            found = self._locking_read(statements.get(lock), binds, lock, _FIRST)
        return None if found is None else statements.reader(self.dialect)(found)

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
        statements = statements_of(table)
        statement = statements.find(index, lock, limited=limit is not None)
        binds: dict[str, Any] = dict(zip(index.equal, values, strict=True))
        binds["row_limit"] = limit
        read = statements.reader(self.dialect)
        if lock is Lock.NONE or self._begun:
            return [read(found) for found in self._run(statement, binds, _ALL)]
        return [read(found) for found in self._locking_read(statement, binds, lock, _ALL)]

    def insert(self, table: Table, row: Row) -> bool:
        """``INSERT ... ON CONFLICT DO NOTHING``; ``False`` when a unique key is taken."""
        self._writing()
        return self._count(statements_of(table).insert, _binds(row)) == 1

    def update(self, table: Table, row: Row, *, expected_version: int | None = None) -> bool:
        """``UPDATE`` by key (and version); ``False`` when no row matched.

        Raises:
            ConflictError: ``row`` takes a unique index's values held by another row.
        """
        self._writing()
        keeping, replacing = statements_of(table).update[expected_version is not None]
        binds = _binds(row)
        binds["expected"] = expected_version
        if keeping is not None and self._count(keeping, binds) == 1:
            return True
        return self._count(replacing, binds) == 1

    def delete(self, table: Table, key: Key) -> bool:
        """``DELETE`` by key; ``False`` when there was no row."""
        self._writing()
        binds = dict(zip(table.key, key, strict=True))
        return self._count(statements_of(table).delete, binds) == 1

    def next_value(self, counter: str, *, first: int) -> int:
        """One more than the counter row's value (``UPDATE ... SET value = value + 1``,
        which locks the row until the transaction ends), or ``first`` in a new row."""
        self._writing()
        while True:
            if self.dialect.update_returning:
                found = self._run(_NEXT_RETURNING, {"name": counter}, _FIRST)
            else:  # SQLite before 3.35: the write lock is ours, so read it back
                self._count(_NEXT_VALUE, {"name": counter})
                found = self._run(_LAST_VALUE, {"name": counter}, _FIRST)
            if found is not None:
                return int(found[0])
            if self._count(_FIRST_VALUE, {"name": counter, "value": first}) == 1:
                return first
            # a concurrent transaction created the row and committed: take the next one

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
        """One ``SELECT by..., SUM(..), COUNT(*) ... GROUP BY by... HAVING COUNT(*) >= n``
        (:class:`~portal_access.ports.AggregateReads`)."""
        found = statements_of(table).table
        count = sa.func.count()
        select = (
            sa.select(
                *(found.c[name] for name in by),
                *(sa.func.coalesce(sa.func.sum(found.c[name]), 0) for name in sums),
                count,
            )
            .where(*_conditions(found, index, values, where))
            .group_by(*(found.c[name] for name in by))
        )
        if min_count > 1:
            select = select.having(count >= min_count)
        width = len(by)
        return [
            Total(tuple(row[:width]), tuple(int(n) for n in row[width:-1]), int(row[-1]))
            for row in self._execute(select)
        ]

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
        """One ``SELECT ... ORDER BY order... DESC, key DESC LIMIT n``
        (:class:`~portal_access.ports.AggregateReads`). Without a limit the rows are
        sorted here instead: the database then picks the index that filters best, not
        the one that orders (a few pending payments among twenty thousand)."""
        statements = statements_of(table)
        found = statements.table
        select = sa.select(*statements.selected).where(*_conditions(found, index, values, where))
        if limit is not None:
            select = select.order_by(
                *(found.c[name].desc() for name in order),
                *(column.desc() for column in found.primary_key),
            ).limit(limit)
        names = statements.names
        width = len(names)
        rows = [
            Row(
                dict(zip(names, raw[:width], strict=True)),
                raw[-1] if table.document else None,
                raw[width] if table.versioned else 0,
            )
            for raw in self._execute(select)
        ]
        if limit is None:
            rows.sort(key=lambda row: tuple(row.values[n] for n in (*order, *table.key)))
            rows.reverse()
        return rows

    def execute(self, statement: Executable) -> CursorResult[Any]:
        """Run any Core ``statement`` in this transaction.

        Raises:
            StorageError: the transaction ended, or the database failed.
            StaleStateError: the database asks for a retry (lost race, deadlock).
            ConflictError: a unique-key violation.
        """
        self.wrote = True  # a host's statement: assume it writes
        return self._execute(statement)

    def _execute(self, statement: Executable) -> CursorResult[Any]:
        self._check_open()
        if not self._begun:  # SQLAlchemy would begin on this connection: begin here
            self._begin()
        try:
            return self._connection.execute(statement)
        except DBAPIError as exc:
            self.failed = True
            raise translate(exc) from exc

    def close(self) -> None:
        """End: later statements raise :class:`~portal_access.StorageError`."""
        self.open = False
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            with contextlib.suppress(Exception):  # the connection may be gone
                cursor.close()

    def select(
        self, statement: Statement, values: Mapping[str, Any], *, lock: Lock = Lock.NONE
    ) -> list[Any]:
        """The driver's rows of a ``SELECT`` ``statement`` (values by ``bindparam`` key);
        ``lock`` says how ``statement`` locks its rows (``Lock.SKIP``: ``FOR UPDATE SKIP
        LOCKED``), for the transaction to begin when it must (see the module).

        Raises:
            StorageError: the transaction ended, or the database failed.
        """
        rows: list[Any]
        if lock is Lock.NONE or self._begun:
            rows = self._run(statement, values, _ALL)
        else:
            rows = self._locking_read(statement, values, lock, _ALL)
        return rows

    def run_many(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run ``statement`` once for each of ``rows`` (by ``bindparam`` key), in one call
        of the driver (``executemany``: one round trip where the driver pipelines).

        Raises:
            StorageError: the transaction ended, or the database failed.
            StaleStateError: the database asks for a retry (lost race, deadlock).
        """
        self._check_open()
        if not rows:
            return
        self._writing()
        compiled = statement.compiled(self.dialect)
        parameters = [compiled.parameters(values) for values in rows]
        if self._watched:
            try:
                self._connection.exec_driver_sql(compiled.sql, parameters)
            except DBAPIError as exc:
                self.failed = True
                raise translate(exc) from exc
            return
        cursor = self._cursor
        try:
            if cursor is None:
                cursor = self._cursor = self._dbapi_connection.cursor()
            cursor.executemany(compiled.sql, parameters)
        except self._errors as exc:
            self._failed(exc, cursor)
            raise translate(exc) from exc

    def _count(self, statement: Statement, values: Mapping[str, Any]) -> int:
        count: int = self._run(statement, values, _COUNT)
        return count

    def _run(self, statement: Statement, values: Mapping[str, Any], want: int) -> Any:
        self._check_open()
        compiled = statement.compiled(self.dialect)
        parameters = compiled.parameters(values)
        if self._watched:
            return self._run_watched(compiled.sql, parameters, want)
        while True:
            cursor = self._cursor
            try:
                if cursor is None:
                    cursor = self._cursor = self._dbapi_connection.cursor()
                cursor.execute(compiled.sql, parameters)
                if want == _FIRST:
                    return cursor.fetchone()
                return cursor.fetchall() if want == _ALL else cursor.rowcount
            except self._errors as exc:
                if self._failed(exc, cursor):
                    continue  # nothing of the unit of work was lost with it: again
                raise translate(exc) from exc

    def _writing(self) -> None:
        """Note that a statement that may write runs next, beginning the server
        transaction first if the unit of work has not yet (see the module)."""
        self.wrote = True
        if not self._begun:
            self._begin()

    def _locking_read(
        self, statement: Statement, values: Mapping[str, Any], lock: Lock, want: int
    ) -> Any:
        """A locking read before the transaction began (see the module): ``Lock.SKIP``
        in autocommit first, and inside the transaction only if that found rows."""
        if lock is Lock.SKIP:
            found = self._run(statement, values, want)
            if not found:
                return found
        self._begin()
        return self._run(statement, values, want)

    def _begin(self) -> None:
        """Begin the server transaction on the driver (PostgreSQL, in autocommit mode),
        unless a host's statement on :attr:`connection` has begun it already.

        Raises:
            StorageError: the connection is lost (after replacing those the server
                dropped while pooled), or the database failed.
        """
        self._check_open()
        if self._connection.in_transaction():  # SQLAlchemy began it (our begin event)
            self._begun = True
            return
        while True:
            try:
                self._dbapi_connection.execute(_BEGIN, prepare=False)  # a simple query
            except self._errors as exc:
                if self._failed(exc, None):
                    continue
                raise translate(exc) from exc
            self._begun = True
            return

    def _failed(self, exc: Any, cursor: Any) -> bool:
        """Note the driver's error ``exc``; ``True`` when it was a connection lost
        before the transaction began, replaced (a statement may be sent again).

        Raises:
            StorageError: the connection was lost before the transaction began and
                could not be replaced.
        """
        if not self.dialect.is_disconnect(exc, self._dbapi_connection, cursor):
            self.failed = True
            return False
        replaceable = self._pooled and not self._begun and not self._connection.in_transaction()
        self._connection.invalidate(exc)
        if not replaceable:
            self.failed = True
            return False
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else "lost"
        log.info("a pooled connection was dropped by the server (%s); connecting again", why)
        self._cursor = None
        try:  # SQLAlchemy checks out another for the same Connection
            dbapi_connection = self._connection.connection.dbapi_connection
        except DBAPIError as error:
            self.failed = True
            raise translate(error) from error
        assert dbapi_connection is not None
        self._dbapi_connection = dbapi_connection
        self._pooled = not made_for_this_checkout(self._connection)
        _autocommit(dbapi_connection)
        return True

    def _run_watched(self, sql: str, parameters: Any, want: int) -> Any:
        try:
            result = self._connection.exec_driver_sql(sql, parameters, _KEEP_ROWCOUNT)
            if want == _FIRST:
                return result.first()
            return result.all() if want == _ALL else result.rowcount
        except DBAPIError as exc:
            self.failed = True
            raise translate(exc) from exc

    def _check_open(self) -> None:
        if not self.open:
            raise StorageError(
                "this unit of work has ended; use repositories only inside "
                "`with unit_of_work(store) as uow:`"
            )


def _autocommit(dbapi_connection: Any) -> None:
    """Put psycopg in autocommit mode, for the reads before the ``BEGIN`` (SQLAlchemy
    takes it out when it resets a caller's isolation level)."""
    if not dbapi_connection.autocommit:
        dbapi_connection.autocommit = True


def _conditions(
    table: sa.Table, index: Index, values: Sequence[Scalar], where: Where | None
) -> list[sa.ColumnElement[bool]]:
    """The index's lookup and ``where``'s filters (``None`` among the values: a null)."""
    conditions = [table.c[name] == value for name, value in zip(index.equal, values, strict=True)]
    for name, allowed in (where or {}).items():
        column = table.c[name]
        given = [value for value in allowed if value is not None]
        choices = [column.in_(given)] if given else []
        if len(given) != len(list(allowed)):
            choices.append(column.is_(None))
        conditions.append(sa.or_(*choices) if choices else sa.false())
    return conditions


def _binds(row: Row) -> dict[str, Any]:
    binds: dict[str, Any] = dict(row.values)
    binds["version"] = row.version
    binds["doc"] = row.doc
    return binds
