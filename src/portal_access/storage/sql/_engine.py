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

PostgreSQL: psycopg 3, every transaction ``BEGIN ISOLATION LEVEL READ COMMITTED``
(whatever the server's default; why READ COMMITTED: see
:mod:`portal_access.storage.sql._store`). The driver is in autocommit mode and the
``BEGIN`` is ours, a simple query sent on the driver. A unit of work sends it just
before its first write or locking read (:mod:`~portal_access.storage.sql._transaction`:
its reads before that run in autocommit, and one that only reads sends neither
``BEGIN`` nor ``COMMIT``); SQLAlchemy's own begin (a host's statement on
``uow.transaction.connection``, or while someone watches statements) sends it here,
unless one is open already. A connection a caller gives an isolation level of its own
(``execution_options(isolation_level=...)``) is left to the driver.

The pool does not ping (``pool_pre_ping``): its ping (an empty query) was a round trip
and a server transaction of its own each time it handed out a connection
(``docs/performance.md``). Instead a unit of work's first statements are the check: a
connection found lost while no transaction of the unit of work is open on it (the
server restarted, failed over, or ended it for sitting idle in the pool) is replaced
and the statement sent again (nothing of the unit of work is held by the server), so
a connection the server dropped while idle never fails a use case. While someone
watches statements the transaction begins up front, through :func:`begin_postgres`,
which replaces such a connection at its ``BEGIN``. A connection lost *after* the
``BEGIN`` is not replaced: the server rolled the transaction back, and the use case
fails with :class:`~portal_access.StorageError`, as it must (its statements were sent,
and its commit may have been lost).
"""

from __future__ import annotations

import importlib.util
import logging
import sqlite3
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError, StatementError

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "POSTGRES_BEGIN",
    "READ_ONLY",
    "SQLITE_JOURNAL_MODE",
    "SQLITE_SYNCHRONOUS",
    "begin_postgres",
    "driver_error",
    "made_for_this_checkout",
    "make_engine",
    "require_driver",
    "sqlite_execute",
    "statements_watched",
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
#: How every PostgreSQL transaction begins (on the driver, in its autocommit mode).
POSTGRES_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"
_POSTGRES_BEGIN = POSTGRES_BEGIN.encode()
#: ``Connection.info`` key: the connection was made for this checkout (not pooled).
_NEW = "portal_access_new"

log = logging.getLogger("portal_access.storage.sql")


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
    engine = create_engine(url, echo=echo, isolation_level="READ COMMITTED")
    event.listen(engine, "connect", _postgres_connected)
    event.listen(engine, "begin", _postgres_begin)
    event.listen(engine.pool, "checkin", _postgres_checked_in)
    return engine


def begin_postgres(engine: Engine) -> Connection:
    """A PostgreSQL connection of ``engine``, its transaction begun.

    A pooled connection whose ``BEGIN`` finds it dead is discarded and the next one
    tried (after a server restart every pooled connection is dead), until one begins
    or a connection made for the purpose fails: that error is raised.

    Raises:
        DBAPIError: no connection could be made or begun.
    """
    while True:
        connection = engine.connect()
        new = made_for_this_checkout(connection)
        try:
            connection.begin()
        except DBAPIError as exc:
            connection.close()
            if new or not exc.connection_invalidated:
                raise
            why = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "lost"
            log.info("a pooled connection was dropped by the server (%s); connecting again", why)
            continue
        return connection


def made_for_this_checkout(connection: Connection) -> bool:
    """Whether ``connection``'s driver connection was made for its latest checkout from
    the pool (not pooled before: a failure of it is not a connection the server dropped
    while idle). Asked once per checkout: the answer is forgotten."""
    return bool(connection.info.pop(_NEW, False))


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
    if statements_watched(connection):
        connection.exec_driver_sql(sql)  # whoever watches statements sees it
        return
    assert dbapi_connection is not None
    # on the driver: SQLAlchemy's statement machinery costs more than BEGIN itself
    sqlite_execute(dbapi_connection, sql)


def sqlite_execute(driver: Any, sql: str) -> None:
    """``sql`` on SQLite's driver connection, a driver error raised as SQLAlchemy's.

    Raises:
        DBAPIError: the statement failed.
    """
    try:
        driver.execute(sql)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, (), exc, sqlite3.Error) from exc


def _postgres_connected(dbapi_connection: Any, record: Any) -> None:
    # Let us issue BEGIN ourselves (psycopg would send its own before the first statement).
    if dbapi_connection.info.transaction_status:  # not idle: SQLAlchemy's setup left one
        dbapi_connection.rollback()
    dbapi_connection.autocommit = True
    record.info[_NEW] = True


def _postgres_checked_in(_dbapi_connection: object, record: Any) -> None:
    # pooled from now on: no longer "made for this checkout" (made_for_this_checkout)
    record.info.pop(_NEW, None)


def _postgres_begin(connection: Connection) -> None:
    if "isolation_level" in connection.get_execution_options():
        return  # the caller chose an isolation level, or autocommit: the driver's way
    dbapi_connection: Any = connection.connection.dbapi_connection
    if dbapi_connection.info.transaction_status:
        # not idle: the store's unit of work began on the driver (a host's statement on
        # ``uow.transaction.connection`` then joins it), or psycopg did (below)
        return
    if not dbapi_connection.autocommit:  # SQLAlchemy reset a caller's isolation level
        dbapi_connection.autocommit = True
    if statements_watched(connection):
        connection.exec_driver_sql(POSTGRES_BEGIN)  # whoever watches statements sees it
        return
    try:  # on the driver: SQLAlchemy's statement machinery costs more than BEGIN itself
        dbapi_connection.execute(_POSTGRES_BEGIN, prepare=False)  # a simple query
    except connection.dialect.loaded_dbapi.Error as exc:
        raise driver_error(connection, POSTGRES_BEGIN, exc) from exc


def driver_error(connection: Connection, statement: str, exc: Any) -> StatementError:
    """SQLAlchemy's error for the driver's ``exc`` from ``statement`` sent on
    ``connection``'s driver connection past SQLAlchemy, the connection invalidated when
    ``exc`` says it was lost (so the pool never hands it out again)."""
    lost = connection.dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
    if lost:
        connection.invalidate(exc)
    errors = connection.dialect.loaded_dbapi.Error
    error: StatementError = DBAPIError.instance(
        statement, (), exc, errors, connection_invalidated=lost
    )
    return error


def statements_watched(connection: Connection) -> bool:
    """Whether someone watches this connection's statements (``echo``, SQL logging at
    INFO, a cursor listener): then statements go through SQLAlchemy for them to see."""
    dispatch = connection.dispatch
    return bool(
        dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or connection.engine.logger.isEnabledFor(logging.INFO)
    )
