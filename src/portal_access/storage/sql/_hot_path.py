"""``read_committed``: the hot path of ``check_access``, on every portal page view.

One primary-key read (of ``access_states``, for ``check_access``) on a bare driver
connection: ``sqlite3`` (its statement cache keeps the query prepared) or psycopg 3 (a
server-side prepared statement), in autocommit, so each read sees the newest committed
row and nothing uncommitted. SQLAlchemy's per-call machinery costs more than the read
itself, so it stays off this path; the row's values are converted as the columns'
types say (:meth:`~portal_access.storage.sql._statements.TableStatements.reader`).

Each thread gets its own connection (neither driver's connections may be shared by
threads at once); a SQLite one is read-only and keeps a larger page cache. Decoding the
row's document, and skipping that when the row did not change, is the repositories'
part (:func:`portal_access.repositories.read_access_state`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import URL, Dialect

from portal_access._domain.errors import StorageError
from portal_access.ports import Key, Row, Table
from portal_access.storage.sql._engine import BUSY_TIMEOUT_SECONDS
from portal_access.storage.sql._rows import RowReader
from portal_access.storage.sql._statements import statements_of
from portal_access.storage.sql._urls import psycopg_conninfo, safe_url, sqlite_path

__all__ = ["SQLITE_PAGE_CACHE_KIB", "CommittedReader"]

#: The page cache of each SQLite reading connection, in KiB (pages are taken as they are
#: read): it holds the index and table pages of the contacts browsing now, so a read at a
#: million contacts costs about what it costs at a thousand (SQLite's default is 2 MiB).
SQLITE_PAGE_CACHE_KIB = 32_768

#: Reads the committed row of a table by key on one connection.
_Read = Callable[[Table, Key], Row | None]


class _ConnectionLostError(StorageError):
    """The server dropped the hot path's connection; a new one may succeed."""


class _ThreadConnection:
    """One thread's connection and its read; closed when the thread's locals go."""

    __slots__ = ("__weakref__", "connection", "read")

    def __init__(self, connection: Any, read: _Read) -> None:
        self.connection = connection
        self.read = read

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort
            self.connection.close()

    def __del__(self) -> None:
        self.close()


class _Queries(dict[str, tuple[Any, RowReader]]):
    """Each table's query on one connection: the driver's SQL and what makes a Row of
    its result, made on first use.

    Args:
        dialect: the database's dialect, for the columns' conversions.
        placeholder: the driver's parameter marker (``?`` or ``%s``).
    """

    def __init__(self, dialect: Dialect, placeholder: str) -> None:
        super().__init__()
        self._dialect = dialect
        self._placeholder = placeholder

    def of(self, table: Table) -> tuple[Any, RowReader]:
        """``SELECT columns FROM table WHERE key = ?`` and its reader."""
        statements = statements_of(table)
        columns = ", ".join(column.name for column in statements.committed)
        where = " AND ".join(f"{name} = {self._placeholder}" for name in table.key)
        sql = f"SELECT {columns} FROM {table.name} WHERE {where}"  # noqa: S608 - declared names
        found = self[table.name] = (
            sql.encode() if self._placeholder == "%s" else sql,
            statements.reader(self._dialect, committed=True),
        )
        return found


class CommittedReader:
    """Reads committed rows by primary key, on per-thread driver connections.

    Args:
        url: the database (normalised by :func:`~.urls.database_url`).
        dialect: its SQLAlchemy dialect (how column values are converted).
    """

    def __init__(self, url: URL, dialect: Dialect) -> None:
        self._url = url
        self._dialect = dialect
        self._postgres = url.get_backend_name() == "postgresql"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()

    def read(self, table: Table, key: Key) -> Row | None:
        """The committed row of ``table`` with ``key``, or ``None``.

        Raises:
            StorageError: the database could not be read.
        """
        mine: _ThreadConnection | None = getattr(self._local, "connection", None)
        try:
            return (mine or self._connect()).read(table, key)
        except _ConnectionLostError:
            return self._connect().read(table, key)  # once; a second loss goes up

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            connections = list(self._open)
            self._open = weakref.WeakSet()
            self._local = threading.local()
        for connection in connections:
            connection.close()

    def _connect(self) -> _ThreadConnection:
        mine = self._connect_postgres() if self._postgres else self._connect_sqlite()
        with self._lock:
            self._open.add(mine)
            self._local.connection = mine
        return mine

    def _lost(self) -> None:
        self._local.connection = None

    def _connect_sqlite(self) -> _ThreadConnection:
        try:
            connection = sqlite3.connect(
                sqlite_path(self._url),
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
                check_same_thread=False,  # used by its own thread only, closed by any
            )
            connection.execute("PRAGMA query_only = ON")
            connection.execute(f"PRAGMA cache_size = -{SQLITE_PAGE_CACHE_KIB}")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {safe_url(self._url)}: {exc}") from exc
        cursor = connection.cursor()
        queries = _Queries(self._dialect, "?")

        def read(table: Table, key: Key) -> Row | None:
            sql, row = queries.get(table.name) or queries.of(table)
            try:
                cursor.execute(sql, key)
                found: Sequence[Any] | None = cursor.fetchone()
            except sqlite3.ProgrammingError as exc:  # closed: open a new one
                self._lost()
                raise _ConnectionLostError(f"reading a committed row failed: {exc}") from exc
            except sqlite3.Error as exc:
                raise StorageError(f"reading a committed row failed: {exc}") from exc
            return None if found is None else row(found, key)

        return _ThreadConnection(connection, read)

    def _connect_postgres(self) -> _ThreadConnection:
        import psycopg  # noqa: PLC0415 - only for PostgreSQL

        try:
            connection = psycopg.connect(psycopg_conninfo(self._url), autocommit=True)
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to {safe_url(self._url)}: {exc}") from exc
        cursor = connection.cursor()
        queries = _Queries(self._dialect, "%s")

        def read(table: Table, key: Key) -> Row | None:
            sql, row = queries.get(table.name) or queries.of(table)
            try:
                cursor.execute(sql, key, prepare=True)
                found: Sequence[Any] | None = cursor.fetchone()
            except psycopg.Error as exc:
                if connection.closed:  # server restart, failover, idle timeout
                    self._lost()
                    raise _ConnectionLostError(f"reading a committed row failed: {exc}") from exc
                raise StorageError(f"reading a committed row failed: {exc}") from exc
            return None if found is None else row(found, key)

        return _ThreadConnection(connection, read)
