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
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import URL, Dialect

from portal_access._domain.errors import StorageError
from portal_access.ports import Committed, Key, Table
from portal_access.storage.sql._engine import BUSY_TIMEOUT_SECONDS
from portal_access.storage.sql._statements import statements_of
from portal_access.storage.sql._urls import psycopg_conninfo, safe_url, sqlite_path

__all__ = ["SQLITE_PAGE_CACHE_KIB", "CommittedReader", "ConnectionLostError"]

#: The page cache of each SQLite reading connection, in KiB (pages are taken as they are
#: read): it holds the index and table pages of the contacts browsing now, so a read at a
#: million contacts costs about what it costs at a thousand (SQLite's default is 2 MiB).
SQLITE_PAGE_CACHE_KIB = 32_768

#: Reads a committed row's (doc, version) by key on one connection.
_Read = Callable[[Table, Key], Committed | None]


class ConnectionLostError(StorageError):
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


class _Queries(dict[str, Any]):
    """Each table's query on one connection, made on first use.

    Args:
        placeholder: the driver's parameter marker (``?`` or ``%s``).
        encode: the driver takes the SQL as bytes (psycopg: no decoding per call).
    """

    def __init__(self, placeholder: str, *, encode: bool = False) -> None:
        super().__init__()
        self._placeholder = placeholder
        self._encode = encode

    def of(self, table: Table) -> Any:
        """``SELECT doc, version FROM table WHERE key = ?`` (``NULL``, ``0`` for a table
        without documents or versions)."""
        statements_of(table)  # fails for a table the schema does not have
        doc = "doc" if table.document else "NULL"
        version = "version" if table.versioned else "0"
        where = " AND ".join(f"{name} = {self._placeholder}" for name in table.key)
        sql = f"SELECT {doc}, {version} FROM {table.name} WHERE {where}"  # noqa: S608 - declared names
        found = self[table.name] = sql.encode() if self._encode else sql
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
        #: Per thread: ``connection``, the thread's :class:`_ThreadConnection`, once made.
        self.local = threading.local()
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()

    def read(self, table: Table, key: Key) -> Committed | None:
        """The committed row's ``(doc, version)``, or ``None``.

        Raises:
            StorageError: the database could not be read.
        """
        mine: _ThreadConnection | None = getattr(self.local, "connection", None)
        try:
            return (mine or self._connect()).read(table, key)
        except ConnectionLostError:
            return self._connect().read(table, key)  # once; a second loss goes up

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            connections = list(self._open)
            self._open = weakref.WeakSet()
            self.local = threading.local()
        for connection in connections:
            connection.close()

    def _connect(self) -> _ThreadConnection:
        mine = self._connect_postgres() if self._postgres else self._connect_sqlite()
        with self._lock:
            self._open.add(mine)
            self.local.connection = mine
        return mine

    def _lost(self) -> None:
        self.local.connection = None

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
        queries = _Queries("?")

        def read(table: Table, key: Key) -> Committed | None:
            sql = queries.get(table.name) or queries.of(table)
            try:
                cursor.execute(sql, key)
                found: Committed | None = cursor.fetchone()
            except sqlite3.ProgrammingError as exc:  # closed: open a new one
                self._lost()
                raise ConnectionLostError(f"reading a committed row failed: {exc}") from exc
            except sqlite3.Error as exc:
                raise StorageError(f"reading a committed row failed: {exc}") from exc
            return found

        return _ThreadConnection(connection, read)

    def _connect_postgres(self) -> _ThreadConnection:
        import psycopg  # noqa: PLC0415 - only for PostgreSQL

        try:
            connection = psycopg.connect(psycopg_conninfo(self._url), autocommit=True)
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to {safe_url(self._url)}: {exc}") from exc
        cursor = connection.cursor()
        queries = _Queries("%s", encode=True)

        def read(table: Table, key: Key) -> Committed | None:
            sql = queries.get(table.name) or queries.of(table)
            try:
                cursor.execute(sql, key, prepare=True)
                found: Committed | None = cursor.fetchone()
            except psycopg.Error as exc:
                if connection.closed:  # server restart, failover, idle timeout
                    self._lost()
                    raise ConnectionLostError(f"reading a committed row failed: {exc}") from exc
                raise StorageError(f"reading a committed row failed: {exc}") from exc
            return found

        return _ThreadConnection(connection, read)
