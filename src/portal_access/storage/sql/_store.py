"""The SQL store: :class:`SqlStore`, its transactions and its hot path, on SQLAlchemy Core.

How concurrent workers stay correct (from the database, never from process-local locks):

- SQLite serialises writers: every transaction begins ``IMMEDIATE`` (see
  :mod:`~portal_access.storage.sql._engine`), so it is serializable, like the memory store.
  Within one process the store's writers also queue on a lock of their own (woken as
  soon as the writer before them is done, where SQLite's busy timeout polls and lets
  a writer that waited long enough fail with "database is locked"), and those that
  queue share a commit (group commit, :class:`_Writers`): one ``fsync`` for a group,
  each unit of work in a ``SAVEPOINT`` of the group's transaction, so a failed one is
  rolled back alone and the others still commit; none returns before the commit.
- PostgreSQL runs ``READ COMMITTED`` with explicit protection exactly where two workers
  race, as the repositories ask through the store port: unique keys (``INSERT ... ON
  CONFLICT DO NOTHING``: processed events, vendor objects, login emails, invoice
  numbers, idempotency keys, token digests), row versions (``UPDATE ... WHERE version =
  :read``), ``SELECT ... FOR UPDATE`` (``Lock.WAIT``) on the rows read then written
  (payments, subscriptions, invoices, tokens, outbox messages), and a counter row per
  counter. A lost race raises :class:`~portal_access.StaleStateError` and the service
  runs the use case again; deadlocks (``40P01``) map to the same error. A unit of
  work's reads before its first write or lock run in autocommit, where each sees what
  it would in the transaction (:mod:`~portal_access.storage.sql._transaction`).

  Why not ``SERIALIZABLE``: it would also abort transactions that lost no race that
  matters (its predicate locks on range reads such as "payments of this account", and
  two workers marking the same outbox message delivered), and some of those run outside
  the service's retry loop (outbox delivery, host code), so callers would see errors
  that READ COMMITTED with explicit locks never raises.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType, TracebackType
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from portal_access._domain.errors import StorageError
from portal_access.ports import Committed, Key, Table
from portal_access.repositories import (
    DEFAULT_DOCUMENT_CACHE_SIZE,
    DEFAULT_ROW_CACHE_SIZE,
    DocumentCache,
)
from portal_access.storage.sql._engine import (
    BUSY_TIMEOUT_SECONDS,
    READ_ONLY,
    begin_postgres,
    driver_error,
    make_engine,
    sqlite_execute,
    statements_watched,
)
from portal_access.storage.sql._errors import translate
from portal_access.storage.sql._hot_path import CommittedReader, ConnectionLostError
from portal_access.storage.sql._migrations import check_schema, migrate
from portal_access.storage.sql._outbox import SqlOutboxRepository
from portal_access.storage.sql._transaction import SqlTransaction
from portal_access.storage.sql._urls import absolute, database_url, safe_url

__all__ = ["SqlStore"]

log = logging.getLogger("portal_access.storage.sql")


class SqlStore:
    """A :class:`~portal_access.ports.Store` in SQLite (one process, the embedded default)
    or PostgreSQL (several workers or machines).

    Args:
        url: a file path or ``sqlite:///path`` (SQLite), or ``postgresql://...``
            (PostgreSQL through psycopg 3; ``?options=-csearch_path%3Dname`` picks a schema).
        create: create or upgrade the schema now (:func:`~.migrations.upgrade`); otherwise
            the schema's revision is checked on first use.
        echo: log every SQL statement (SQLAlchemy's ``echo``).
        access_cache_size: how many decoded access states the hot path keeps.
        document_cache_size: how many decoded documents units of work keep
            (:attr:`documents`; ``0``: none).

    Raises:
        ConfigurationError: ``url`` is not a SQLite path or PostgreSQL URL.
        ImportError: PostgreSQL without psycopg 3 (``pip install "portal-access[postgres]"``).
        SchemaVersionError: on first use, the database is empty, older or newer than
            this library (the message names the revisions and the command to run).

    Transactions do not nest, and every process makes its own store (connections are
    not shared across ``fork``). Close the store when done (or use ``with``). A host
    writes its own tables in a use case's transaction through
    ``uow.transaction.connection`` (:class:`~portal_access.storage.sql.SqlTransaction`).

    >>> import tempfile, pathlib
    >>> from portal_access._domain.accounts import AccountClass
    >>> from portal_access.repositories import read_access_state, unit_of_work
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "portal.db"
    >>> with SqlStore(path, create=True) as store:
    ...     with unit_of_work(store) as uow:
    ...         uow.account_classes.save(AccountClass(id="k-1", name="Commercial"))
    ...         uow.invoices.next_number()
    ...     with unit_of_work(store) as uow:
    ...         uow.account_classes.get("k-1").name, uow.invoices.next_number()
    '1001'
    ('Commercial', '1002')
    >>> empty = SqlStore(pathlib.Path(tempfile.mkdtemp()) / "empty.db")
    >>> read_access_state(empty, "c-1")
    Traceback (most recent call last):
    ...
    portal_access.SchemaVersionError: the database at sqlite:///... has no ...
    >>> empty.close()
    """

    #: The repositories this store serves faster (``docs/stores.md``): the outbox marks
    #: the messages a worker delivered in one statement.
    repositories: Mapping[str, type] = MappingProxyType({"outbox": SqlOutboxRepository})

    def __init__(
        self,
        url: str | os.PathLike[str],
        *,
        create: bool = False,
        echo: bool = False,
        access_cache_size: int = DEFAULT_ROW_CACHE_SIZE,
        document_cache_size: int = DEFAULT_DOCUMENT_CACHE_SIZE,
    ) -> None:
        self._url = absolute(database_url(url))
        self._engine = make_engine(self._url, echo=echo)
        self._reader = CommittedReader(self._url, self._engine.dialect)
        #: The decoded documents this store's units of work share.
        self.documents = DocumentCache(document_cache_size, rows=access_cache_size)
        self._local = threading.local()
        self._checked = threading.Lock()
        self._revision: str | None = None
        sqlite = self._url.get_backend_name() == "sqlite"
        self._writers = _Writers() if sqlite else None
        if create:
            self._revision = migrate(self._engine)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return safe_url(self._url)

    @property
    def revision(self) -> str:
        """The schema revision, checked on first use (see ``SchemaVersionError``)."""
        return self._ready()

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        """Begin a transaction; leaving the block commits, an exception rolls back.

        Raises:
            StaleStateError: the commit lost a race the caller may retry.
            StorageError: the store failed, or a transaction is already open in this
                thread, or a statement failed and the block went on (nothing committed).
            SchemaVersionError: the schema is not the one this library understands.
        """
        self._ready()
        if getattr(self._local, "open", False):
            raise StorageError(
                "a unit of work is already open in this thread; finish it before starting another"
            )
        self._local.open = True
        try:
            with self._transaction() as tx:
                yield tx
        finally:
            self._local.open = False

    def read_committed(self, table: Table, key: Key) -> Committed | None:
        """The committed row's ``(doc, version)``: one primary-key read on the driver's
        own connection, the value as it comes from the driver.

        Raises:
            StorageError: the database could not be read.
            SchemaVersionError: the schema is not the one this library understands.
        """
        mine = getattr(self._reader.local, "connection", None)  # the hot path: no more calls
        if mine is not None:
            try:
                found: Committed | None = mine.read(table, key)
            except ConnectionLostError:
                pass  # connect again, below
            else:
                return found
        self._ready()
        return self._reader.read(table, key)

    def close(self) -> None:
        """Close every connection (the store reconnects if used again)."""
        self._reader.close()
        self.documents.clear()
        if self._writers is not None:
            self._writers.close()
        self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _ready(self) -> str:
        if self._revision is not None:
            return self._revision
        with self._checked:
            if self._revision is None:
                try:
                    with self._engine.connect() as connection:
                        connection.execution_options(**{READ_ONLY: True})
                        self._revision = check_schema(connection)
                except DBAPIError as exc:
                    raise translate(exc) from exc
            return self._revision

    @contextmanager
    def _transaction(self) -> Iterator[SqlTransaction]:
        if self._writers is not None:
            with self._writers.transaction(self._engine) as grouped:
                yield grouped
            return
        # PostgreSQL: the transaction begins before the first write or locking read
        # (SqlTransaction), and a pooled connection the server dropped is replaced
        # there; while someone watches statements or transactions, it begins here
        # through SQLAlchemy (they see BEGIN, and every statement inside it)
        try:
            connection = self._engine.connect()
            if not _unwatched(connection):
                connection.close()
                connection = begin_postgres(self._engine)
                tx = SqlTransaction(connection)
            else:
                tx = SqlTransaction(connection, begun=False)
        except DBAPIError as exc:
            raise translate(exc) from exc
        try:
            try:
                yield tx
            except BaseException:
                tx.close()
                _roll_back(connection)
                raise
            tx.close()
            if tx.failed:
                _roll_back(connection)
                raise StorageError(
                    "a statement of this unit of work failed and the block went on; "
                    "nothing was committed"
                )
            try:
                _commit(connection)
            except DBAPIError as exc:
                _roll_back(connection)
                raise translate(exc) from exc
        finally:
            connection.close()


def _commit(connection: Connection) -> None:
    """Commit a PostgreSQL unit of work's transaction: through SQLAlchemy if it began
    one (watched, or a host's statement), else on the driver if one was begun there;
    a unit of work that never began one (it only read) sends nothing.

    Raises:
        DBAPIError: the commit failed.
    """
    if connection.in_transaction():
        connection.commit()  # the driver's COMMIT ends the driver's transaction, too
        return
    driver: Any = connection.connection.dbapi_connection
    if not driver.info.transaction_status:  # idle: nothing began
        return
    try:
        driver.commit()
    except connection.dialect.loaded_dbapi.Error as exc:
        raise driver_error(connection, "COMMIT", exc) from exc


def _roll_back(connection: Connection) -> None:
    """Roll back, keeping the error that got us here if the connection is gone too."""
    try:
        if connection.in_transaction():
            connection.rollback()
        elif not connection.invalidated:  # (lost: the server rolled back)
            # begun on the driver, or nothing to roll back (psycopg then sends nothing)
            driver: Any = connection.connection.dbapi_connection
            driver.rollback()
    except Exception:  # the caller's error matters more
        log.warning("rollback failed; the connection is discarded", exc_info=True)
        connection.invalidate()


def _roll_back_group(group: _Group) -> None:
    """Roll ``group`` back, keeping the error that got us here if the connection is gone
    too (as :func:`_roll_back`)."""
    try:
        group.finish(commit=False)
    except Exception:  # the caller's error matters more
        log.warning("rollback failed; the connection is discarded", exc_info=True)
        group.connection.invalidate()


#: How many units of work one SQLite commit carries at most.
GROUP_LIMIT = 32


class _Group:
    """One SQLite transaction that several units of work share, and its commit.

    ``driver``: the transaction was begun on the driver's connection, past SQLAlchemy
    (nobody watched statements when it began): SQLAlchemy's ``begin()`` and
    ``commit()`` machinery costs more than ``BEGIN IMMEDIATE`` itself. ``None``: begun
    through SQLAlchemy, so that watchers see ``BEGIN`` and ``COMMIT``.
    """

    def __init__(self, connection: Connection, driver: Any) -> None:
        self.connection = connection
        self.driver = driver
        self.members = 0
        #: Set once the group's transaction ended; made when a member first hands the
        #: group on (a group of one, the usual case, has nobody to wake).
        self.done: threading.Event | None = None
        self.error: BaseException | None = None

    def savepoint(self) -> _Savepoint:
        """A ``SAVEPOINT`` for the next member's work."""
        if self.driver is None:
            return self.connection.begin_nested()
        sqlite_execute(self.driver, "SAVEPOINT portal_access_member")
        return _DriverSavepoint(self.driver)

    def finish(self, *, commit: bool) -> None:
        """Commit (or roll back) the group's transaction.

        Raises:
            DBAPIError, sqlite3.Error: the commit failed.
        """
        connection = self.connection
        if self.driver is None or connection.in_transaction():
            # begun through SQLAlchemy, or SQLAlchemy began one on top (a host's own
            # statement on ``uow.transaction.connection``): end it there, so that its
            # state and the driver's agree (the driver's COMMIT ends both)
            if commit:
                connection.commit()
            else:
                connection.rollback()
            return
        if commit:
            self.driver.commit()
        else:
            self.driver.rollback()

    def in_doubt(self) -> bool:
        """Whether the connection's state is in doubt after :meth:`finish` (an error, or
        a transaction still open): the next group connects anew."""
        connection = self.connection
        if self.error is not None or connection.invalidated or connection.in_transaction():
            return True
        return self.driver is not None and bool(self.driver.in_transaction)


class _Savepoint(Protocol):
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class _DriverSavepoint:
    """A member's ``SAVEPOINT`` on the driver's connection (see :class:`_Group`)."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def commit(self) -> None:
        sqlite_execute(self.driver, "RELEASE SAVEPOINT portal_access_member")

    def rollback(self) -> None:
        sqlite_execute(self.driver, "ROLLBACK TO SAVEPOINT portal_access_member")
        sqlite_execute(self.driver, "RELEASE SAVEPOINT portal_access_member")


def _unwatched(connection: Connection) -> bool:
    """Whether nobody watches ``connection``'s statements or transactions (no cursor
    or transaction listener, no SQL logging), so that a transaction may begin and end
    on the driver."""
    dispatch = connection.dispatch
    return not (
        statements_watched(connection)
        or len(dispatch.begin) > 1  # more than the engine's own (_sqlite_begin, _postgres_begin)
        or dispatch.commit
        or dispatch.rollback
    )


class _Writers:
    """This process's writers to one SQLite database: one at a time, and those that queue
    share a commit.

    A writer takes :attr:`lock` (waiting up to the busy timeout), then runs its unit of
    work in the open group's transaction (begun ``IMMEDIATE`` by the group's first
    writer; the later ones in a ``SAVEPOINT``, so that a failure rolls back only its
    own work). When it is done and others queue for the lock, it hands the open
    transaction on and waits for the group's commit; the last one commits, once, for
    all. So every unit of work returns only after its commit, a failed one leaves
    nothing, and the others of its group are unaffected; if the commit fails, every
    unit of work of the group raises.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._queue = threading.Lock()
        self._queued = 0
        self._group: _Group | None = None
        #: The connection every group's transaction runs on, kept between them (one
        #: writer at a time: the pool's checkout and reset would cost each unit of work).
        self._connection: Connection | None = None

    def close(self) -> None:
        """Close the kept connection (a later unit of work opens another)."""
        with self._queue:
            connection, self._connection = self._connection, None
        if connection is not None and self._group is None:
            connection.close()

    @contextmanager
    def transaction(self, engine: Engine) -> Iterator[SqlTransaction]:
        with self._queue:
            self._queued += 1
        acquired = self.lock.acquire(timeout=BUSY_TIMEOUT_SECONDS)
        with self._queue:
            self._queued -= 1
        if not acquired:
            raise StorageError(
                f"no write lock on the SQLite database after {BUSY_TIMEOUT_SECONDS:.0f}s: a "
                "unit of work of this process stays open (one waiting for another?)"
            )
        try:
            group = self._group or self._begin(engine)
            savepoint = group.savepoint() if group.members else None
        except BaseException:
            self._end(self._group, joined=False)
            raise
        tx = SqlTransaction(group.connection)
        try:
            try:
                yield tx
            finally:
                tx.close()
            if tx.failed:
                raise StorageError(
                    "a statement of this unit of work failed and the block went on; "
                    "nothing was committed"
                )
            if savepoint is not None:
                try:
                    savepoint.commit()  # RELEASE: its work is the group's now
                except DBAPIError as exc:
                    raise translate(exc) from exc
        except BaseException:
            if savepoint is None:  # the group's first: nothing but its own work to undo
                self._end(group, joined=False, rollback=True)
            else:
                try:
                    savepoint.rollback()
                except Exception:  # the transaction is gone: the group's commit fails
                    log.warning("rolling back to a savepoint failed", exc_info=True)
                self._end(group, joined=False)
            raise
        self._end(group, joined=True)

    def _begin(self, engine: Engine) -> _Group:
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            try:
                connection = engine.connect()
            except DBAPIError as exc:
                raise translate(exc) from exc
            self._connection = connection
        driver = connection.connection.dbapi_connection if _unwatched(connection) else None
        try:
            # BEGIN IMMEDIATE: other processes may hold the file
            if driver is not None:
                sqlite_execute(driver, "BEGIN IMMEDIATE")
            else:
                connection.begin()
        except DBAPIError as exc:
            self._drop(connection)
            raise translate(exc) from exc
        self._group = _Group(connection, driver)
        return self._group

    def _end(self, group: _Group | None, *, joined: bool, rollback: bool = False) -> None:
        """Leave ``group`` (holding :attr:`lock`): hand it on to a writer that queues, or
        commit it (roll it back when ``rollback``); a member that ``joined`` waits for
        the commit and raises its error."""
        if group is None:
            self.lock.release()
            return
        if joined:
            group.members += 1
        with self._queue:
            hand_on = self._queued > 0 and not rollback and group.members < GROUP_LIMIT
        if hand_on:
            if group.done is None:  # made before the lock is released: whoever ends it sets it
                group.done = threading.Event()
            self.lock.release()
            if joined:
                self._wait(group)
            return
        self._group = None
        connection = group.connection
        try:
            if rollback or not group.members:
                _roll_back_group(group)
            else:
                try:
                    group.finish(commit=True)
                except (DBAPIError, sqlite3.Error) as exc:
                    group.error = translate(exc)
                    _roll_back_group(group)
        finally:
            if group.in_doubt():
                self._drop(connection)  # its state is in doubt: the next group connects anew
            if group.done is not None:
                group.done.set()
            self.lock.release()
        if joined and group.error is not None:
            raise group.error

    def _drop(self, connection: Connection) -> None:
        if self._connection is connection:
            self._connection = None
        connection.close()

    def _wait(self, group: _Group) -> None:
        """Wait for ``group``'s commit and raise its error. Should the writer it was
        handed on to give up (its wait for the lock timed out), commit it here."""
        done = group.done
        assert done is not None  # made when the group was handed on
        while not done.wait(timeout=1.0):
            if self.lock.acquire(blocking=False):
                if self._group is group:  # nobody took it on
                    self._end(group, joined=False)
                else:
                    self.lock.release()
        if group.error is not None:
            raise group.error
