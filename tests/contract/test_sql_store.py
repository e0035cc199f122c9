"""The SQL store against the storage contract on SQLite and PostgreSQL, plus what only a
database shows: the hot path across stores and threads, connections killed and failures
injected mid-use-case, PostgreSQL's lost races and deadlocks, SQLite's settings and
index use. (Schema revisions and migrations: ``test_sql_schema.py``.)"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import attrs
import pytest
import sqlalchemy as sa

from portal_access import PaymentStatus
from portal_access._domain.errors import StaleStateError, StorageError
from portal_access.ports import Committed, Key, Store, StoreTransaction, Table
from portal_access.repositories import UnitOfWork, read_access_state, unit_of_work
from portal_access.storage.sql import SqlStore
from portal_access.storage.sql import _schema as schema
from portal_access.storage.sql._urls import database_url, psycopg_conninfo
from portal_access.testing import StoreContract
from portal_access.testing._faults import WRITE_METHODS, FailingStore
from portal_access.testing._storage_contract import StorageContract, values
from portal_access.testing._storage_contract.transactions import (
    roll_back,
    write_to_every_repository,
)
from tests.service.harness import (
    CANCEL,
    SUCCESS,
    Harness,
    build,
    paid_offer,
    register,
    sign_up,
)
from tests.sql_databases import (
    POSTGRES_MARKS,
    POSTGRES_URL,
    dump,
    empty_database,
    postgres_schema,
    requires_postgres,
    sqlite_url,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a new, empty database: a SQLite file, or a PostgreSQL schema."""
    with empty_database(request.param, tmp_path) as found:
        yield found


def _open(store: SqlStore) -> None:
    with unit_of_work(store):
        pass


class _OnSqlite:
    """A new SQL store on a SQLite file for each test."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlStore]:
        with SqlStore(sqlite_url(tmp_path), create=True) as store:
            yield store


class _OnPostgres:
    """A new SQL store on a PostgreSQL schema of its own for each test."""

    @pytest.fixture
    def store(self) -> Iterator[SqlStore]:
        with postgres_schema() as url, SqlStore(url, create=True) as store:
            yield store


class TestSqliteStorePort(_OnSqlite, StoreContract):
    """The SQL store on a SQLite file keeps the store port's contract."""


@requires_postgres
class TestPostgresStorePort(_OnPostgres, StoreContract):
    """The SQL store on PostgreSQL keeps the store port's contract."""


class TestSqliteStore(_OnSqlite, StorageContract):
    """The repositories keep the storage contract on the SQL store on a SQLite file."""


class TestSqliteStoreDecodingEveryRead(StorageContract):
    """Without its document cache (which hands back the very value a unit of work
    wrote), the SQL store still keeps the contract: every value read is decoded."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlStore]:
        with SqlStore(sqlite_url(tmp_path), create=True, document_cache_size=0) as store:
            yield store


@requires_postgres
class TestPostgresStore(_OnPostgres, StorageContract):
    """The repositories keep the storage contract on the SQL store on PostgreSQL."""


# -- the hot path ------------------------------------------------------------------------------


def test_read_access_state_sees_only_what_other_stores_committed(url: str):
    """Another store's uncommitted and rolled-back writes are never read; commits are."""
    with SqlStore(url, create=True) as writer, SqlStore(url) as reader:
        with unit_of_work(writer) as uow:
            uow.access.save(values.access_state(), expected_version=None)
            assert read_access_state(reader, "c-1") is None
        first = read_access_state(reader, "c-1")
        assert first == values.access_state(version=1)
        with unit_of_work(writer) as uow:
            uow.access.save(values.access_state(registered=False), expected_version=1)
            assert read_access_state(reader, "c-1") is first
        second = read_access_state(reader, "c-1")
        assert second == values.access_state(registered=False, version=2)
        roll_back(
            writer,
            lambda uow: uow.access.save(values.access_state(), expected_version=2),
        )
        assert read_access_state(reader, "c-1") is second


def test_access_state_cache_skips_the_decode_only_for_the_same_version(url: str):
    """An unchanged row comes back as the same object; each new version is decoded afresh,
    even after the cache evicted entries (a tiny cache)."""
    with SqlStore(url, create=True, access_cache_size=2) as store:
        with unit_of_work(store) as uow:
            for n in range(5):
                uow.access.save(values.access_state(f"c-{n}"), expected_version=None)
        read = [read_access_state(store, f"c-{n}") for n in range(5)]
        assert read_access_state(store, "c-4") is read[4]
        with unit_of_work(store) as uow:
            uow.access.save(values.access_state("c-4", registered=False), expected_version=1)
        newer = read_access_state(store, "c-4")
        assert newer == values.access_state("c-4", registered=False, version=2)
        assert [read_access_state(store, f"c-{n}") for n in range(4)] == read[:4]


def test_hot_path_from_many_threads_never_goes_back_in_time(url: str):
    """Readers in 4 threads, while a writer bumps one state 30 times, each see versions
    that only grow and end at the last commit."""
    with SqlStore(url, create=True) as store:
        with unit_of_work(store) as uow:
            uow.access.save(values.access_state(), expected_version=None)
        done = threading.Event()
        seen: dict[int, list[int]] = {}
        errors: list[BaseException] = []

        def read(n: int) -> None:
            mine = seen.setdefault(n, [])
            try:
                while not done.is_set():
                    state = read_access_state(store, "c-1")
                    assert state is not None
                    mine.append(state.version)
                state = read_access_state(store, "c-1")
                assert state is not None
                mine.append(state.version)
            except BaseException as exc:  # reported below
                errors.append(exc)

        readers = [threading.Thread(target=read, args=(n,)) for n in range(4)]
        for thread in readers:
            thread.start()
        for version in range(1, 31):
            with unit_of_work(store) as uow:
                state = uow.access.get("c-1")
                assert state is not None
                uow.access.save(
                    attrs.evolve(state, onboarding_flow=f"f{version}"), expected_version=version
                )
        done.set()
        for thread in readers:
            thread.join(timeout=30)
        assert errors == []
        for versions in seen.values():
            assert versions == sorted(versions)
            assert versions[-1] == 31


def test_hot_path_reconnects_after_losing_its_connection(url: str):
    """The server dropping the hot path's connection costs nothing but a reconnect."""
    with SqlStore(url, create=True) as store:
        with unit_of_work(store) as uow:
            uow.access.save(values.access_state(), expected_version=None)
        assert read_access_state(store, "c-1") is not None
        _drop_hot_path_connection(store)
        assert read_access_state(store, "c-1") == values.access_state(version=1)


def _drop_hot_path_connection(store: SqlStore) -> None:
    connection = store._reader.local.connection.connection
    if isinstance(connection, sqlite3.Connection):
        connection.close()
        return
    assert POSTGRES_URL is not None
    _terminate(POSTGRES_URL, connection.info.backend_pid)


def _terminate(admin_url: str, pid: int) -> None:
    """Have PostgreSQL end the backend ``pid`` (as a restart or failover would), and wait."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(psycopg_conninfo(database_url(admin_url)), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(200):
            gone = admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
            if gone.fetchone() is None:
                return
            time.sleep(0.01)
    pytest.fail(f"backend {pid} is still there")


# -- atomicity under failure ---------------------------------------------------------------------


class _Interrupted:
    """Wraps a store: just before the ``at``-th write (1-based) of the first transaction
    since :meth:`reset`, ``interrupt`` runs with that transaction's connection.
    ``at=0`` only counts the writes."""

    def __init__(self, store: SqlStore, *, interrupt: Callable[[sa.Connection], None]):
        self.store, self._interrupt = store, interrupt
        self.documents = store.documents
        self.reset(at=0)

    def reset(self, *, at: int) -> None:
        self.at, self.writes, self._units = at, 0, 0

    @contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        self._units += 1
        watched = self._units == 1
        with self.store.transaction() as tx:
            yield cast(StoreTransaction, _Hooked(tx, lambda: self._write(tx.connection, watched)))

    def read_committed(self, table: Table, key: Key) -> Committed | None:
        return self.store.read_committed(table, key)

    def _write(self, connection: sa.Connection, watched: bool) -> None:
        if watched:
            self.writes += 1
            if self.writes == self.at:
                self._interrupt(connection)


class _Hooked:
    def __init__(self, inner: object, before_write: Callable[[], None]) -> None:
        self._inner, self._before_write = inner, before_write

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name not in WRITE_METHODS:
            return found

        def write(*args: Any, **kwargs: Any) -> Any:
            self._before_write()
            return found(*args, **kwargs)

        return write


def _kill(url: str) -> Callable[[sa.Connection], None]:
    """What kills a unit of work's connection mid-use-case on each database."""

    def kill(connection: sa.Connection) -> None:
        dbapi = connection.connection.dbapi_connection
        if isinstance(dbapi, sqlite3.Connection):
            dbapi.close()  # SQLite rolls the open transaction back
        else:
            assert POSTGRES_URL is not None
            _terminate(POSTGRES_URL, dbapi.info.backend_pid)  # type: ignore[union-attr]

    return kill


def _paying(store: Store) -> Harness:
    """A portal on ``store`` whose contact paid at the sandbox; the webhooks are queued."""
    h = build(store=store)  # type: ignore[arg-type]
    paid_offer(h)
    sign_up(h)
    register(h)
    session = h.portal.start_checkout(h.contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    h.sandbox.pay(session.session_id)
    return h


def test_connection_killed_mid_use_case_leaves_the_database_as_it_was(url: str):
    """A webhook whose connection dies before any one of its writes changes no row; the
    store then carries on, and the vendor's retry is applied in full."""
    with SqlStore(url, create=True) as store:
        interrupted = _Interrupted(store, interrupt=_kill(url))
        h = _paying(interrupted)  # type: ignore[arg-type]
        deliveries = h.sandbox.pending_deliveries()
        payment = deliveries[0]  # pay() reports the payment, then the subscription
        assert json.loads(payment.body)["type"] == "payment.succeeded"
        for delivery in deliveries[1:]:
            h.webhook(*delivery)
        h.portal.deliver_outbox()  # the delivered marks written: each webhook writes alike
        before = dump(url)
        interrupted.reset(at=0)
        assert h.webhook(*payment).applied  # counts the writes of its unit of work...
        total = interrupted.writes
        assert total >= 8
        for write in range(1, total + 1):
            assert _restore(url, before) == before  # ...then takes them back
            interrupted.reset(at=write)
            with pytest.raises(StorageError):
                h.webhook(*payment)
            assert dump(url) == before, f"write {write} of {total} left a change"
        interrupted.reset(at=0)
        assert h.webhook(*payment).applied
        assert h.portal.check_access(h.contact_id).full


def _restore(url: str, rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """Put every table back as ``rows`` has it (values as stored); return the new dump."""
    engine = sa.create_engine(database_url(url))
    try:
        with engine.begin() as connection:
            for table in schema.metadata.sorted_tables:
                names = [column.name for column in table.columns]
                raw = sa.table(table.name, *(sa.column(name) for name in names))
                connection.execute(raw.delete())
                if rows[table.name]:
                    connection.execute(
                        raw.insert(),
                        [dict(zip(names, row, strict=True)) for row in rows[table.name]],
                    )
    finally:
        engine.dispose()
    return dump(url)


def test_failure_injected_at_each_write_leaves_the_database_as_it_was(url: str):
    """A StorageError injected at each write of a multi-table unit of work changes no row."""
    with SqlStore(url, create=True) as store:
        with unit_of_work(store) as uow:
            write_to_every_repository(uow)
        before = dump(url)
        counting = FailingStore(store, fail_on_write=0)
        roll_back(counting, _use_case)
        assert counting.writes == 10
        for write in range(1, counting.writes + 1):
            failing = FailingStore(store, fail_on_write=write)
            with (
                pytest.raises(StorageError, match="injected failure"),
                unit_of_work(failing) as uow,
            ):
                _use_case(uow)
            assert dump(url) == before, f"write {write} left a change"
        with unit_of_work(store) as uow:
            _use_case(uow)
        assert dump(url) != before


def _use_case(uow: UnitOfWork) -> None:
    """A unit of work that reads and writes several tables, as a use case does."""
    number = uow.invoices.next_number()
    uow.invoices.save(values.invoice("inv-2", number=number))
    state = uow.access.get("c-1")
    assert state is not None
    uow.access.save(attrs.evolve(state, registered=False), expected_version=state.version)
    uow.tokens.mark_used(values.token().digest, values.NOW)
    uow.payments.save(values.payment(status=PaymentStatus.SUCCEEDED, version=2))
    uow.outbox.add(values.message("m-2", topic="email.requested"))
    uow.outbox.mark_delivered("m-1")
    uow.gateway_events.record("stripe", "evt_2", "applied", values.NOW)
    uow.idempotency.put("key-2", "{}")


def test_a_failed_statement_stops_the_commit(url: str):
    """A block that caught a database error and went on commits nothing."""
    with SqlStore(url, create=True) as store:
        with pytest.raises(StorageError, match="nothing was committed"):
            _go_on_after_a_failed_statement(store)
        with unit_of_work(store) as uow:
            assert uow.offers.get("o-1") is None


def _go_on_after_a_failed_statement(store: SqlStore) -> None:
    with unit_of_work(store) as uow:
        uow.offers.save(values.offer())
        tx = uow.transaction
        with contextlib.suppress(StorageError):
            tx.execute(sa.text("SELECT * FROM no_such_table"))


def _nest(store: SqlStore) -> None:
    with unit_of_work(store) as outer:
        outer.offers.save(values.offer())
        _open(store)


def test_units_of_work_do_not_nest_and_end_with_their_block(url: str):
    """A second unit of work in the same thread, or a repository kept past its block, fails."""
    with SqlStore(url, create=True) as store:
        with pytest.raises(StorageError, match="already open"):
            _nest(store)
        with unit_of_work(store) as uow:
            assert uow.offers.get("o-1") is None
            kept = uow
        with pytest.raises(StorageError, match="unit of work has ended"):
            kept.offers.get("o-1")


# -- PostgreSQL: isolation, lost races and deadlocks -----------------------------------------


@pytest.fixture
def postgres_store() -> Iterator[SqlStore]:
    with postgres_schema() as url, SqlStore(url, create=True) as store:
        yield store


@requires_postgres
def test_postgres_units_of_work_run_read_committed(postgres_store: SqlStore):
    """Each unit of work is READ COMMITTED, whatever the server's default."""
    with unit_of_work(postgres_store) as uow:
        level = uow.transaction.connection.exec_driver_sql("SHOW transaction_isolation").scalar()  # type: ignore[attr-defined]
    assert level == "read committed"


@requires_postgres
def test_postgres_older_snapshot_never_overwrites_a_concurrent_insert(postgres_store: SqlStore):
    """Two units of work both find a payment missing; the second to save it waits for
    the first's commit and then raises StaleStateError instead of overwriting it."""
    first_saved, second_reading = threading.Event(), threading.Event()
    newer = values.payment(status=PaymentStatus.SUCCEEDED, version=2)
    outcome: list[object] = []

    def second() -> None:
        try:
            with unit_of_work(postgres_store) as uow:
                first_saved.wait(timeout=10)
                assert uow.payments.get("stripe", "pi_1") is None  # not committed yet
                second_reading.set()
                uow.payments.save(values.payment(version=1))  # waits for the first
        except StaleStateError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    with unit_of_work(postgres_store) as uow:
        assert uow.payments.get("stripe", "pi_1") is None
        uow.payments.save(newer)
        first_saved.set()
        second_reading.wait(timeout=10)
        time.sleep(0.2)  # the second save is now blocked on our row
    thread.join(timeout=10)
    assert len(outcome) == 1
    with unit_of_work(postgres_store) as uow:
        assert uow.payments.get("stripe", "pi_1") == newer


@requires_postgres
def test_postgres_deadlock_is_a_stale_state_error(postgres_store: SqlStore):
    """Two units of work updating two access states in opposite orders: PostgreSQL
    breaks the deadlock and the loser sees StaleStateError (the service retries it)."""
    with unit_of_work(postgres_store) as uow:
        uow.access.save(values.access_state("c-1"), expected_version=None)
        uow.access.save(values.access_state("c-2"), expected_version=None)
    both_hold = threading.Barrier(2)
    errors: list[BaseException] = []

    def update(first: str, then: str) -> None:
        try:
            with unit_of_work(postgres_store) as uow:
                uow.access.save(values.access_state(first), expected_version=1)
                both_hold.wait(timeout=10)
                uow.access.save(values.access_state(then), expected_version=1)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=update, args=("c-1", "c-2")),
        threading.Thread(target=update, args=("c-2", "c-1")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 1, errors  # the loser rolled back; the winner went through
    assert isinstance(errors[0], StaleStateError)
    assert "deadlock" in str(errors[0])
    assert [read_access_state(postgres_store, c).version for c in ("c-1", "c-2")] == [2, 2]  # type: ignore[union-attr]


# -- SQLite: settings and indexes ---------------------------------------------------------------


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path):
    """Every SQLite connection of the store: WAL, foreign keys on, a busy timeout, and
    units of work that hold the write lock from their first statement."""
    with SqlStore(sqlite_url(tmp_path), create=True) as store, unit_of_work(store) as uow:
        connection = uow.transaction.connection  # type: ignore[attr-defined]
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() >= 5_000
        assert connection.connection.dbapi_connection.in_transaction


def test_sqlite_commits_are_synced_to_disk(tmp_path: Path):
    """A committed unit of work survives a power loss, not only a crash of the process:
    SQLite runs with synchronous=FULL (2) whatever its build's default."""
    with SqlStore(sqlite_url(tmp_path), create=True) as store, unit_of_work(store) as uow:
        synchronous = uow.transaction.connection.exec_driver_sql("PRAGMA synchronous").scalar()  # type: ignore[attr-defined]
        assert synchronous == 2


def test_sqlite_every_lookup_uses_a_key_or_an_index(tmp_path: Path):
    """docs/rules.md: indexes for every lookup a request makes. Every statement the
    repositories run is planned as an index search, never a scan of a whole table."""
    statements: list[tuple[str, Any]] = []
    with SqlStore(sqlite_url(tmp_path), create=True) as store:
        sa.event.listen(
            store._engine,
            "before_cursor_execute",
            lambda _c, _cur, sql, params, _ctx, _many: statements.append((sql, params)),
        )
        with unit_of_work(store) as uow:
            write_to_every_repository(uow)
        with unit_of_work(store) as uow:
            _read_everything(uow)
        with unit_of_work(store) as uow:
            plans = {
                sql: " / ".join(
                    row[-1]
                    for row in uow.transaction.connection.exec_driver_sql(  # type: ignore[attr-defined]
                        f"EXPLAIN QUERY PLAN {sql}", params
                    )
                )
                for sql, params in statements
                if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))
            }
    scans = {sql: plan for sql, plan in plans.items() if re.search(r"\bSCAN\b", plan)}
    assert plans
    assert scans == {}


def _read_everything(uow: UnitOfWork) -> None:
    uow.offers.get("o-1")
    uow.accounts.ids_in_class("k-1")
    uow.sites.for_account("a-1")
    uow.contacts.with_email(values.email())
    uow.contacts.for_account("a-1")
    uow.logins.with_email(values.email())
    uow.invoices.with_number("1001")
    uow.invoices.for_account("a-1")
    uow.payments.for_account("a-1")
    uow.subscriptions.for_contact("c-1")
    uow.access.contact_ids_for_account("a-1")
    uow.tokens.mark_used(values.token().digest, values.NOW)
    uow.gateway_events.outcome("stripe", "evt_1")
    uow.checkouts.with_key(values.checkout().idempotency_key)
    uow.checkouts.for_invoice("inv-1")
    uow.outbox.pending(10)
    uow.outbox.mark_failed("m-1")
    uow.outbox.mark_delivered("m-1")
    uow.idempotency.get("key-1")
