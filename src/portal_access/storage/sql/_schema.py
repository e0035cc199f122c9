"""The SQL store's tables (SQLAlchemy Core), derived from the declarations in
:data:`portal_access.repositories.TABLES`.

Each declared column becomes a column of its type: ``str`` a key (:data:`KEY`), or
``TEXT`` when declared ``text``; ``datetime`` an instant stored in UTC
(:class:`UtcDateTime`), so ``ORDER BY`` sorts instants. A versioned table gets an integer
``version``, a table of documents a ``doc`` text; the key is the primary key; a unique
index is a unique constraint, any other index covers its ``equal`` and ``order`` columns
and then the key, so a lookup reads its rows in order from the index alone. Next to
them, :data:`counters` holds the counters
(:meth:`~portal_access.ports.StoreTransaction.next_value`).

Keys compare as code points on both databases, as Python's ``sorted`` does: SQLite's
default ``BINARY`` collation already does; on PostgreSQL key columns use ``COLLATE "C"``.

The migrations (:mod:`portal_access.storage.sql._migrations`) create these tables; a test
checks that the newest migration and this module agree.

>>> sorted(metadata.tables)[:4]
['access_states', 'account_classes', 'accounting_entries', 'accounts']
>>> sorted(index.name for index in TABLE["invoices"].indexes)
['ix_invoices_account', 'ix_invoices_status']
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from portal_access.ports import Column, Table
from portal_access.repositories import TABLES

__all__ = ["COUNTERS", "KEY", "TABLE", "UtcDateTime", "counters", "metadata", "sqlite_utc_text"]

#: A key or lookup column: code-point order on both databases.
KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
#: The counters' table: name -> last value handed out.
COUNTERS = "counters"


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware instant stored in UTC (naive UTC text on SQLite), so that ORDER BY
    sorts instants, whatever offset they were given in."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """``value`` converted to UTC (without the offset on SQLite)."""
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, :func:`sqlite_utc_text` (what this type's conversion followed by
        SQLite ``DATETIME``'s formatting gives, in C: a webhook binds several instants);
        elsewhere SQLAlchemy's composition of :meth:`process_bind_param` and the driver's."""
        if dialect.name == "sqlite":
            return sqlite_utc_text
        return super().bind_processor(dialect)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """The stored instant, timezone-aware in UTC."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_utc_text(value: datetime | None) -> str | None:
    """An instant as :class:`UtcDateTime` stores it on SQLite: naive UTC text in the form
    of SQLAlchemy's SQLite ``DATETIME`` (``YYYY-MM-DD HH:MM:SS.ffffff``, microseconds
    always written), so that text order is time order.

    >>> from datetime import timedelta, timezone
    >>> sqlite_utc_text(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))))
    '2026-01-02 01:04:05.000000'
    """
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


_TYPES: dict[type, Any] = {int: sa.Integer, bool: sa.Boolean, date: sa.Date, datetime: UtcDateTime}

metadata = sa.MetaData()


def _column(column: Column, table: Table) -> sa.Column[Any]:
    kind = (sa.Text if column.text else KEY) if column.type is str else _TYPES[column.type]()
    key = column.name in table.key
    return sa.Column(column.name, kind, primary_key=key, nullable=column.nullable and not key)


def _table(table: Table) -> sa.Table:
    parts: list[Any] = [_column(column, table) for column in table.columns]
    if table.versioned:
        parts.append(sa.Column("version", sa.Integer, nullable=False))
    if table.document:
        parts.append(sa.Column("doc", sa.Text, nullable=False))
    for index in table.indexes:
        if index.unique:
            parts.append(sa.UniqueConstraint(*index.equal, name=index.name))
        else:
            covered = index.equal + index.order
            parts.append(
                sa.Index(index.name, *covered, *(k for k in table.key if k not in covered))
            )
    return sa.Table(table.name, metadata, *parts)


#: The SQLAlchemy table of each declared table, by name.
TABLE: dict[str, sa.Table] = {table.name: _table(table) for table in TABLES}
counters = sa.Table(
    COUNTERS,
    metadata,
    sa.Column("name", KEY, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
