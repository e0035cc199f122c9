"""``read_access_state``: the hot path of ``check_access``, on every portal page view.

One primary-key read of ``access_states`` (version and document) on a bare driver
connection: ``sqlite3`` (its statement cache keeps the query prepared) or psycopg 3 (a
server-side prepared statement), in autocommit, so each read sees the newest committed
row and nothing uncommitted. SQLAlchemy's per-call machinery costs more than the read
itself, so it stays off this path.

Each thread gets its own connection (neither driver's connections may be shared by
threads at once); a SQLite one is read-only and keeps a larger page cache. Decoded
states are cached per store by contact id and row version: when the row's version is
the cached one, the cattrs decode is skipped; a changed version is always decoded
afresh, so the cache never serves a stale state.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import weakref
from collections.abc import Callable
from itertools import islice
from typing import Any

from sqlalchemy.engine import URL

from portal_access._domain.access import AccessState
from portal_access._domain.errors import StorageError
from portal_access.storage._documents import load
from portal_access.storage.sql import _schema as schema
from portal_access.storage.sql._engine import BUSY_TIMEOUT_SECONDS
from portal_access.storage.sql._urls import psycopg_conninfo, safe_url, sqlite_path

__all__ = ["DEFAULT_CACHE_SIZE", "SQLITE_PAGE_CACHE_KIB", "AccessStateReader", "Row"]

#: How many decoded access states a store keeps by default.
DEFAULT_CACHE_SIZE = 65_536
#: The page cache of each SQLite reading connection, in KiB (pages are taken as they are
#: read): it holds the index and table pages of the contacts browsing now, so a read at a
#: million contacts costs about what it costs at a thousand (SQLite's default is 2 MiB).
SQLITE_PAGE_CACHE_KIB = 32_768
#: A row read: (version, JSON document), or ``None``.
Row = tuple[int, str] | None

_TABLE = schema.access_states
_COLUMNS = f"{_TABLE.c.version.name}, {_TABLE.c.doc.name}"
_QUERY = f"SELECT {_COLUMNS} FROM {_TABLE.name} WHERE {_TABLE.c.contact_id.name} = "  # noqa: S608 - names from our schema


class _ConnectionLostError(StorageError):
    """The server dropped the hot path's connection; a new one may succeed."""


class _ThreadConnection:
    """One thread's connection and its read; closed when the thread's locals go."""

    __slots__ = ("__weakref__", "connection", "fetch")

    def __init__(self, connection: Any, fetch: Callable[[str], Row]) -> None:
        self.connection = connection
        self.fetch = fetch

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort
            self.connection.close()

    def __del__(self) -> None:
        self.close()


class AccessStateReader:
    """Reads committed access states by primary key, per-thread connections, cached.

    Args:
        url: the database (normalised by :func:`~.urls.database_url`).
        cache_size: how many decoded states to keep (the oldest go first beyond it).
    """

    def __init__(self, url: URL, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._url = url
        self._postgres = url.get_backend_name() == "postgresql"
        self._cache_size = max(cache_size, 1)
        self._cache: dict[str, AccessState] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()

    def read(self, contact_id: str) -> AccessState | None:
        """The contact's committed state, or ``None``.

        Raises:
            StorageError: the database could not be read.
        """
        mine: _ThreadConnection | None = getattr(self._local, "connection", None)
        try:
            row = (mine or self._connect()).fetch(contact_id)
        except _ConnectionLostError:
            row = self._connect().fetch(contact_id)  # once; a second loss goes up
        if row is None:
            return None
        version, doc = row
        cached = self._cache.get(contact_id)
        if cached is not None and cached.version == version:
            return cached
        state = load(doc, AccessState, contact_id)
        self._remember(contact_id, state)
        return state

    def close(self) -> None:
        """Close every thread's connection and empty the cache."""
        with self._lock:
            connections = list(self._open)
            self._open = weakref.WeakSet()
            self._cache.clear()
            self._local = threading.local()
        for connection in connections:
            connection.close()

    def _remember(self, contact_id: str, state: AccessState) -> None:
        with self._lock:
            cache = self._cache
            if len(cache) >= self._cache_size and contact_id not in cache:
                for old in list(islice(cache, max(self._cache_size // 8, 1))):
                    del cache[old]
            cache[contact_id] = state

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
        query = _QUERY + "?"

        def fetch(contact_id: str) -> Row:
            try:
                cursor.execute(query, (contact_id,))
                found: Row = cursor.fetchone()
            except sqlite3.ProgrammingError as exc:  # closed: open a new one
                self._lost()
                raise _ConnectionLostError(f"reading the access state failed: {exc}") from exc
            except sqlite3.Error as exc:
                raise StorageError(f"reading the access state failed: {exc}") from exc
            return found

        return _ThreadConnection(connection, fetch)

    def _connect_postgres(self) -> _ThreadConnection:
        import psycopg  # noqa: PLC0415 - only for PostgreSQL

        try:
            connection = psycopg.connect(psycopg_conninfo(self._url), autocommit=True)
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to {safe_url(self._url)}: {exc}") from exc
        cursor = connection.cursor()
        query = (_QUERY + "%s").encode()

        def fetch(contact_id: str) -> Row:
            try:
                cursor.execute(query, (contact_id,), prepare=True)
                found: Row = cursor.fetchone()
            except psycopg.Error as exc:
                if connection.closed:  # server restart, failover, idle timeout
                    self._lost()
                    raise _ConnectionLostError(f"reading the access state failed: {exc}") from exc
                raise StorageError(f"reading the access state failed: {exc}") from exc
            return found

        return _ThreadConnection(connection, fetch)
