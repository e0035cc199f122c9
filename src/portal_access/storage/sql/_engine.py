"""Engines set up the way the store needs each database.

SQLite: WAL (readers never wait for the writer, and the hot path reads the last commit),
``synchronous=FULL``, ``foreign_keys=ON``, a busy timeout, and every transaction begins
``IMMEDIATE``: it takes the write lock first, so two writers queue instead of both
reading and then failing to upgrade a shared lock (the "database is locked" deadlock of
``BEGIN DEFERRED``).

Why ``synchronous=FULL`` although ``NORMAL`` is the usual choice with WAL: ``NORMAL``
skips the ``fsync`` of each commit, so it survives the application crashing but not a
power loss or an operating-system crash, which can take the last commits back. Those
commits include webhooks already acknowledged to the vendor, which will not send them
again: the payment would stay unapplied until a reconcile (the "acknowledged but lost"
failure docs/rules.md sets out to prevent). One ``fsync`` per unit of work is the price; it
is set explicitly because builds of SQLite differ in their default.

PostgreSQL: psycopg 3, ``READ COMMITTED`` set explicitly (whatever the server default),
and a liveness check when a pooled connection is handed out, so a connection the server
dropped is replaced instead of failing a use case. Why READ COMMITTED: see
:mod:`portal_access.storage.sql._store`.
"""

from __future__ import annotations

import importlib.util
import logging
import sqlite3
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "READ_ONLY",
    "SQLITE_JOURNAL_MODE",
    "SQLITE_SYNCHRONOUS",
    "make_engine",
    "require_driver",
]

#: How long a SQLite writer waits for the write lock before giving up.
BUSY_TIMEOUT_SECONDS = 30.0
#: SQLite's journal: a write-ahead log (a lasting property of the file).
SQLITE_JOURNAL_MODE = "wal"
#: When SQLite syncs to disk: every commit (see the module's docstring).
SQLITE_SYNCHRONOUS = "FULL"
#: Execution option of a connection that only reads: SQLite begins it DEFERRED, so it
#: neither waits for nor blocks the writer (WAL readers see the last commit).
READ_ONLY = "portal_access_read_only"


def require_driver(url: URL) -> None:
    """Fail early, with the fix, when the database's driver is not installed.

    Raises:
        ImportError: PostgreSQL without psycopg 3.
    """
    if url.get_backend_name() == "postgresql" and importlib.util.find_spec("psycopg") is None:
        raise ImportError(
            'PostgreSQL needs psycopg 3: pip install "portal-access[postgres]"',
            name="psycopg",
        )


def make_engine(url: URL, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (normalised by :func:`~.urls.database_url`).

    Raises:
        ImportError: the database's driver is not installed.
    """
    require_driver(url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, echo=echo, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _sqlite_connected)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, isolation_level="READ COMMITTED", pool_pre_ping=True)


def _sqlite_connected(dbapi_connection: Any, _record: object) -> None:
    # Let us issue BEGIN ourselves (the sqlite3 module would BEGIN DEFERRED lazily).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
        _use_wal(cursor)
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL (a lasting property of the file) unless it is already.

    Switching needs an exclusive lock, and SQLite answers "database is locked" at once,
    without waiting, when other connections hold the file (several processes opening a
    new database together): so wait here, up to the busy timeout.
    """
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] == SQLITE_JOURNAL_MODE:
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute(f"PRAGMA journal_mode={SQLITE_JOURNAL_MODE}")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
        else:
            return


def _sqlite_begin(connection: Connection) -> None:
    """Begin SQLAlchemy's transaction on SQLite: ``BEGIN IMMEDIATE`` (``BEGIN`` for a
    :data:`READ_ONLY` connection), or nothing where the store's writer has begun one on
    the driver already (a host's statement on ``uow.transaction.connection`` then joins
    it)."""
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and dbapi_connection.in_transaction:
        return
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    sql = "BEGIN" if read_only else "BEGIN IMMEDIATE"
    dispatch = connection.dispatch
    if (
        dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or connection.engine.logger.isEnabledFor(logging.INFO)
    ):
        connection.exec_driver_sql(sql)  # whoever watches statements sees it
        return
    assert dbapi_connection is not None
    try:  # on the driver: SQLAlchemy's statement machinery costs more than BEGIN itself
        dbapi_connection.execute(sql)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, (), exc, sqlite3.Error) from exc
