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
(``attempts + 1``, ``OFFSET``) keep their values. Rows come back as the driver returns
them: the repositories read only text, integers and booleans.

>>> import sqlalchemy as sa
>>> from sqlalchemy.dialects import sqlite
>>> from portal_access.storage.sql import _schema as schema
>>> table = schema.outbox
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

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = [
    "Compiled",
    "Statement",
    "Upsert",
    "indexed_columns",
    "insert_new",
    "key_condition",
    "same",
]

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

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for ``values`` (by ``bindparam`` key).

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

    def compiled(self, dialect: Dialect) -> Compiled:
        """The statement compiled for ``dialect`` (compiled once, then reused).

        Raises:
            KeyError: the statement has no form for this kind of database.
        """
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
        return found


def key_condition(table: sa.Table) -> sa.ColumnElement[bool]:
    """``pk1 = :pk1 AND pk2 = :pk2 ...``: the row of ``table`` with a given primary key."""
    return sa.and_(*(column == sa.bindparam(column.name) for column in table.primary_key))


def _insert(table: sa.Table) -> dict[str, postgresql.Insert | sqlite.Insert]:
    values: dict[str, Any] = {column.name: sa.bindparam(column.name) for column in table.columns}
    return {
        "postgresql": postgresql.insert(table).values(values),
        "sqlite": sqlite.insert(table).values(values),
    }


def insert_new(table: sa.Table) -> Statement:
    """``INSERT`` every column of ``table`` unless its primary key exists (``ON CONFLICT
    DO NOTHING``): the row count says whether a row was inserted. On PostgreSQL a row
    inserted by a concurrent, uncommitted transaction is waited for; other unique keys
    still raise."""
    key = [column.name for column in table.primary_key]
    return Statement(
        {
            name: insert.on_conflict_do_nothing(index_elements=key)
            for name, insert in _insert(table).items()
        }
    )


class Upsert:
    """``INSERT`` every column of a table, or when the primary key exists, replace its
    other columns (``ON CONFLICT DO UPDATE``), in two forms:

    - ``keeping``: replaces only the columns no index covers, when the indexed ones are
      unchanged (``WHERE indexed = excluded.indexed``; no row changes otherwise);
    - ``replacing``: replaces every column.

    SQLite rewrites the entries of every index whose columns an ``UPDATE`` sets, changed
    or not: one more page to write and sync per index. Run ``keeping`` first and
    ``replacing`` only when ``keeping`` changed no row (``None`` when no index covers a
    column outside the primary key).

    Args:
        table: the table.
    """

    def __init__(self, table: sa.Table) -> None:
        key = [column.name for column in table.primary_key]
        indexed = indexed_columns(table)
        keeping: dict[str, ClauseElement] = {}
        replacing: dict[str, ClauseElement] = {}
        for name, insert in _insert(table).items():
            excluded = insert.excluded
            every = {c.name: excluded[c.name] for c in table.columns if c.name not in key}
            replacing[name] = insert.on_conflict_do_update(index_elements=key, set_=every)
            if indexed:
                kept = {column: value for column, value in every.items() if column not in indexed}
                unchanged = sa.and_(*(same(table.c[c], excluded[c]) for c in indexed))
                keeping[name] = insert.on_conflict_do_update(
                    index_elements=key, set_=kept, where=unchanged
                )
        self.keeping = Statement(keeping) if keeping else None
        self.replacing = Statement(replacing)


def same(column: sa.ColumnElement[Any], value: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """``column = value``, true of two nulls too when the column is nullable."""
    if getattr(column, "nullable", True):
        return column.is_not_distinct_from(value)
    return column == value


def indexed_columns(table: sa.Table) -> tuple[str, ...]:
    """The columns outside the primary key that an index or unique constraint covers."""
    key = {column.name for column in table.primary_key}
    covered = [column.name for index in table.indexes for column in index.columns]
    covered += [
        column.name
        for constraint in table.constraints
        if isinstance(constraint, sa.UniqueConstraint)
        for column in constraint.columns
    ]
    return tuple(sorted(set(covered) - key))
