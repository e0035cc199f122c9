"""One transaction of the SQL store: the store port's table operations, on one connection.

:class:`SqlTransaction` runs the statements of :mod:`~portal_access.storage.sql._statements`
(built once, compiled once per database) on the driver's cursor, translates database
errors (:mod:`~portal_access.storage.sql._errors`), remembers that a statement failed
(PostgreSQL then refuses everything but a rollback, so the transaction must not
commit), and refuses use after it ended.
"""

from __future__ import annotations

import contextlib
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
from portal_access.storage.sql._engine import statements_watched
from portal_access.storage.sql._errors import translate
from portal_access.storage.sql._schema import counters
from portal_access.storage.sql._statements import Statement, statements_of

__all__ = ["SqlTransaction"]

_FIRST, _ALL, _COUNT = range(3)
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

    ``connection`` is the transaction's SQLAlchemy connection: a host may write its own
    tables through it (``uow.transaction.connection``), to commit or roll back together
    with the use case.

    Statements run on the driver's cursor: SQLAlchemy's per-statement machinery costs
    several times the statement itself, so it is used only while someone watches
    statements (``echo``, SQL logging at INFO, or a ``before_cursor_execute`` /
    ``after_cursor_execute`` listener when the transaction began), and they see every
    statement then. Either way a driver error is translated and a lost connection is
    invalidated, so the pool never hands it out again.

    Args:
        connection: a connection with a transaction begun.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
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

    def get(self, table: Table, key: Key, *, lock: Lock = Lock.NONE) -> Row | None:
        """The row with ``key``, or ``None``; ``Lock.WAIT`` is ``SELECT ... FOR UPDATE``."""
        statements = statements_of(table)
        found = self._run(statements.get(lock), dict(zip(table.key, key)), _FIRST)  # noqa: B905
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
        return [read(found) for found in self._run(statement, binds, _ALL)]

    def insert(self, table: Table, row: Row) -> bool:
        """``INSERT ... ON CONFLICT DO NOTHING``; ``False`` when a unique key is taken."""
        self.wrote = True
        return self._count(statements_of(table).insert, _binds(row)) == 1

    def update(self, table: Table, row: Row, *, expected_version: int | None = None) -> bool:
        """``UPDATE`` by key (and version); ``False`` when no row matched.

        Raises:
            ConflictError: ``row`` takes a unique index's values held by another row.
        """
        self.wrote = True
        keeping, replacing = statements_of(table).update[expected_version is not None]
        binds = _binds(row)
        binds["expected"] = expected_version
        if keeping is not None and self._count(keeping, binds) == 1:
            return True
        return self._count(replacing, binds) == 1

    def delete(self, table: Table, key: Key) -> bool:
        """``DELETE`` by key; ``False`` when there was no row."""
        self.wrote = True
        binds = dict(zip(table.key, key, strict=True))
        return self._count(statements_of(table).delete, binds) == 1

    def next_value(self, counter: str, *, first: int) -> int:
        """One more than the counter row's value (``UPDATE ... SET value = value + 1``,
        which locks the row until the transaction ends), or ``first`` in a new row."""
        self.wrote = True
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
        try:
            return self.connection.execute(statement)
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

    def select(self, statement: Statement, values: Mapping[str, Any]) -> list[Any]:
        """The driver's rows of a ``SELECT`` ``statement`` (values by ``bindparam`` key).

        Raises:
            StorageError: the transaction ended, or the database failed.
        """
        rows: list[Any] = self._run(statement, values, _ALL)
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
        self.wrote = True
        compiled = statement.compiled(self.dialect)
        parameters = [compiled.parameters(values) for values in rows]
        if self._watched:
            try:
                self.connection.exec_driver_sql(compiled.sql, parameters)
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
            self.failed = True
            if self.dialect.is_disconnect(exc, self._dbapi_connection, cursor):
                self.connection.invalidate(exc)
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
        cursor = self._cursor
        try:
            if cursor is None:
                cursor = self._cursor = self._dbapi_connection.cursor()
            cursor.execute(compiled.sql, parameters)
            if want == _FIRST:
                return cursor.fetchone()
            return cursor.fetchall() if want == _ALL else cursor.rowcount
        except self._errors as exc:
            self.failed = True
            if self.dialect.is_disconnect(exc, self._dbapi_connection, cursor):
                self.connection.invalidate(exc)
            raise translate(exc) from exc

    def _run_watched(self, sql: str, parameters: Any, want: int) -> Any:
        try:
            result = self.connection.exec_driver_sql(sql, parameters, _KEEP_ROWCOUNT)
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
