"""Statements built once, compiled once per database, and run on the driver.

SQLAlchemy's ``Connection.execute`` walks a statement to derive its cache key on every
call, even when the compiled form is cached; for the short statements the repositories
run, that costs more than the statement itself. A :class:`Statement` wraps a Core
statement built when its module is imported (no engine, no I/O), compiles it the first
time it runs on a kind of database, and from then on hands the SQL text and the values,
converted by the columns' types exactly as SQLAlchemy would convert them, to
``Connection.exec_driver_sql``. SQLAlchemy's events, ``echo``, error wrapping and
handling of lost connections stay in the path.

Parameters are named by the statement's ``bindparam`` keys; constants in the statement
(``attempts + 1``, ``OFFSET``) keep their values. :class:`TableStatements` holds, for one
declared table, every statement the store port runs on it, and turns the driver's rows
into :class:`~portal_access.ports.Row` values with the columns' types (SQLite hands back
dates, instants and booleans as text and integers).

>>> import sqlalchemy as sa
>>> from sqlalchemy.dialects import sqlite
>>> from portal_access.storage.sql._schema import TABLE
>>> table = TABLE["outbox"]
>>> statement = Statement(
...     sa.update(table)
...     .where(table.c.id == sa.bindparam("key"))
...     .values(attempts=table.c.attempts + 1)
... )
>>> compiled = statement.compiled(sqlite.dialect())
>>> compiled.sql
'UPDATE outbox SET attempts=(outbox.attempts + ?) WHERE outbox.id = ?'
>>> compiled.parameters({"key": "m-1"})
(1, 'm-1')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from portal_access._domain.errors import StorageError
from portal_access.ports import Index, Lock, Row, Table
from portal_access.repositories import TABLES
from portal_access.storage.sql._schema import TABLE

__all__ = ["Compiled", "Statement", "TableStatements", "statements_of"]

_Bind = tuple[str, str, bool, Any, Callable[[Any], Any] | None]


class Compiled:
    """A statement's SQL text for one kind of database, and how to bind its values.

    Args:
        compiled: the statement compiled for ``dialect``.
        dialect: the database's dialect.
    """

    def __init__(self, compiled: SQLCompiler, dialect: Dialect) -> None:
        self.sql: str = compiled.string
        names = compiled.positiontup
        self._positional = names is not None
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        order = names if names is not None else list(binds)
        self._binds: tuple[_Bind, ...] = tuple(
            (
                name,
                binds[name].key,
                binds[name].required,
                None if binds[name].required else binds[name].effective_value,
                binds[name].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name in order
        )

        #: The usual statement's binds all take a value (no constant among them): read
        #: them with one C call, then convert the few a type converts.
        self._read_all = (
            itemgetter(*(key for _, key, _, _, _ in self._binds))
            if self._binds and all(required for _, _, required, _, _ in self._binds)
            else None
        )
        self._processors = tuple(
            (position, process)
            for position, (_, _, _, _, process) in enumerate(self._binds)
            if process is not None
        )
        self._names = tuple(name for name, _, _, _, _ in self._binds)

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for ``values`` (by ``bindparam`` key).

        Raises:
            KeyError: a required value is missing.
        """
        read_all = self._read_all
        if read_all is not None:
            found = read_all(values) if len(self._names) > 1 else (read_all(values),)
            if self._processors:
                ordered = list(found)
                for position, process in self._processors:
                    ordered[position] = process(ordered[position])
                found = tuple(ordered)
            return found if self._positional else dict(zip(self._names, found, strict=True))
        return self.parameters_one_by_one(values)

    def parameters_one_by_one(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """:meth:`parameters` bind by bind (statements with a constant among their binds;
        tests hold the two ways equal).

        Raises:
            KeyError: a required value is missing.
        """
        converted = [
            (name, process(value) if process is not None else value)
            for name, key, required, default, process in self._binds
            for value in ((values[key] if required else default),)
        ]
        if self._positional:
            return tuple(value for _, value in converted)
        return dict(converted)


class Statement:
    """A Core statement, compiled the first time it runs on each kind of database.

    Args:
        statement: the statement; or, where the databases need different constructs
            (``INSERT ... ON CONFLICT``), a mapping of dialect name to statement.
    """

    def __init__(self, statement: ClauseElement | Mapping[str, ClauseElement]) -> None:
        self._statements: Mapping[str, ClauseElement] | None = (
            None if isinstance(statement, ClauseElement) else dict(statement)
        )
        self._statement = statement if isinstance(statement, ClauseElement) else None
        self._compiled: dict[tuple[str, str, str], Compiled] = {}
        self._last: tuple[Dialect, Compiled] | None = None

    def compiled(self, dialect: Dialect) -> Compiled:
        """The statement compiled for ``dialect`` (compiled once, then reused).

        Raises:
            KeyError: the statement has no form for this kind of database.
        """
        last = self._last
        if last is not None and last[0] is dialect:  # the usual case: one store, one dialect
            return last[1]
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        found = self._compiled.get(key)
        if found is None:
            statement = self._statement
            if statement is None:
                assert self._statements is not None
                statement = self._statements[dialect.name]
            compiled = statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            found = self._compiled[key] = Compiled(compiled, dialect)
        self._last = (dialect, found)
        return found


def _key_condition(table: sa.Table) -> sa.ColumnElement[bool]:
    """``pk1 = :pk1 AND pk2 = :pk2 ...``: the row of ``table`` with a given primary key."""
    return sa.and_(*(column == sa.bindparam(column.name) for column in table.primary_key))


def _same(column: sa.ColumnElement[Any], value: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """``column = value``, true of two nulls too when the column is nullable."""
    if getattr(column, "nullable", True):
        return column.is_not_distinct_from(value)
    return column == value


def _locked(select: sa.Select[Any], lock: Lock) -> sa.Select[Any]:
    if lock is Lock.NONE:
        return select
    return select.with_for_update(skip_locked=lock is Lock.SKIP)


class TableStatements:
    """Every statement the store port runs on one declared table, built once.

    - :meth:`get`: the row by key, as each :class:`~portal_access.ports.Lock` asks
      (SQLite ignores ``FOR UPDATE``: its writers are serialised already);
    - :meth:`find`: the rows an index selects, in index order, made on first use;
    - ``insert``: ``INSERT ... ON CONFLICT DO NOTHING`` (any unique key), so a taken
      key is a row count of 0, never a failed statement;
    - ``update``: by key, and by version when asked, in two forms: ``keeping`` sets only
      the columns no index covers, where the indexed ones are unchanged, and
      ``replacing`` sets every column. SQLite rewrites the entries of every index whose
      columns an ``UPDATE`` sets, changed or not (one more page to write and sync), so
      ``keeping`` runs first and ``replacing`` only when it changed no row;
    - ``delete``: by key.

    Args:
        table: the declared table.
    """

    def __init__(self, table: Table) -> None:
        found = TABLE[table.name]
        self.table = found
        self.names = tuple(column.name for column in table.columns)
        extra = (["version"] if table.versioned else []) + (["doc"] if table.document else [])
        self.selected = [found.c[name] for name in (*self.names, *extra)]
        self._version = len(self.names) if table.versioned else None
        self._doc = len(self.selected) - 1 if table.document else None
        by_key = sa.select(*self.selected).where(_key_condition(found))
        self._get = {lock: Statement(_locked(by_key, lock)) for lock in Lock}
        self._get_unlocked = self._get[Lock.NONE]
        self._find: dict[tuple[str, Lock, bool], Statement] = {}
        binds: dict[str, Any] = {c.name: sa.bindparam(c.name) for c in found.columns}
        self.insert = Statement(
            {
                "postgresql": postgresql.insert(found).values(binds).on_conflict_do_nothing(),
                "sqlite": sqlite.insert(found).values(binds).on_conflict_do_nothing(),
            }
        )
        self.delete = Statement(sa.delete(found).where(_key_condition(found)))
        self.update = {versioned: self._updates(versioned) for versioned in (False, True)}
        self._readers: dict[tuple[str, str], Callable[[Sequence[Any]], Row]] = {}
        self._last_reader: tuple[Dialect, Callable[[Sequence[Any]], Row]] | None = None

    def get(self, lock: Lock) -> Statement:
        """The row by key (key columns bound by name), locked as ``lock`` says."""
        return self._get_unlocked if lock is Lock.NONE else self._get[lock]

    def find(self, index: Index, lock: Lock, *, limited: bool) -> Statement:
        """The rows ``index`` selects (values bound by column name), at most
        ``:row_limit`` when ``limited``."""
        statement = self._find.get((index.name, lock, limited))
        if statement is None:
            table = self.table
            select = (
                sa.select(*self.selected)
                .where(*(table.c[name] == sa.bindparam(name) for name in index.equal))
                .order_by(*(table.c[name] for name in index.order), *table.primary_key)
            )
            if limited:
                select = select.limit(sa.bindparam("row_limit"))
            statement = Statement(_locked(select, lock))
            self._find[index.name, lock, limited] = statement
        return statement

    def reader(self, dialect: Dialect) -> Callable[[Sequence[Any]], Row]:
        """What turns a row of :attr:`selected` as ``dialect``'s driver returns it into a
        :class:`~portal_access.ports.Row`."""
        last = self._last_reader
        if last is not None and last[0] is dialect:  # the usual case: one store, one dialect
            return last[1]
        key = (dialect.name, dialect.driver)
        found = self._readers.get(key)
        if found is None:
            found = self._readers[key] = self._make_reader(dialect)
        self._last_reader = (dialect, found)
        return found

    def _make_reader(self, dialect: Dialect) -> Callable[[Sequence[Any]], Row]:
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.selected
        ]
        converting = [(n, p) for n, p in enumerate(processors) if p is not None]
        names, version, doc = self.names, self._version, self._doc
        new = tuple.__new__  # a Row without NamedTuple's Python-level __new__

        def read(raw: Sequence[Any]) -> Row:
            if converting:
                raw = list(raw)
                for position, process in converting:
                    raw[position] = process(raw[position])
            values = dict(zip(names, raw))  # noqa: B905 - raw holds the version and doc too
            return new(
                Row,
                (values, None if doc is None else raw[doc], 0 if version is None else raw[version]),
            )

        return read

    def _updates(self, versioned: bool) -> tuple[Statement | None, Statement]:
        """``(keeping, replacing)``; ``keeping`` is ``None`` when no index covers a column."""
        table = self.table
        where = [_key_condition(table)]
        if versioned and "version" in table.c:
            where.append(table.c.version == sa.bindparam("expected"))
        columns = [column.name for column in table.columns if not column.primary_key]
        key = {column.name for column in table.primary_key}
        covered = {column.name for index in table.indexes for column in index.columns}
        covered |= {
            column.name
            for constraint in table.constraints
            if isinstance(constraint, sa.UniqueConstraint)
            for column in constraint.columns
        }
        indexed = sorted(covered - key)
        replacing = Statement(
            sa.update(table).where(*where).values({name: sa.bindparam(name) for name in columns})
        )
        if not indexed:
            return None, replacing
        unchanged = [_same(table.c[name], sa.bindparam(name)) for name in indexed]
        keeping = Statement(
            sa.update(table)
            .where(*where, *unchanged)
            .values({name: sa.bindparam(name) for name in columns if name not in indexed})
        )
        return keeping, replacing


_STATEMENTS = {table.name: TableStatements(table) for table in TABLES}


def statements_of(table: Table) -> TableStatements:
    """The statements of a declared table.

    Raises:
        StorageError: the table is not one the SQL schema has.
    """
    try:
        return _STATEMENTS[table.name]
    except KeyError:
        raise StorageError(f"the SQL store has no table {table.name!r}") from None
