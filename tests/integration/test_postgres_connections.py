"""PostgreSQL units of work and their connections, counted on the wire (libpq's trace of
each connection the store uses; no timings).

- A unit of work's reads before its first write or locking read run in autocommit;
  ``BEGIN`` comes just before that write (or ``FOR UPDATE``), and ``COMMIT`` only if it
  came: a unit of work that only reads (a duplicate webhook) is its reads, nothing else.
  No round trip comes before the first statement (the pool's pre-ping was one, and a
  server transaction of its own, for every unit of work).
- A ``FOR UPDATE SKIP LOCKED`` read (the outbox claim) runs in autocommit first: finding
  nothing, it needs no transaction; finding rows, it runs again in the transaction, so
  that they stay locked until the commit.
- A connection the server dropped while it sat in the pool (``pg_terminate_backend``,
  as a restart, a failover or an idle timeout would) is replaced when the unit of
  work's first statement, or any before its ``BEGIN``, finds it lost, and the statement
  is sent again: it never fails a use case, whether someone watches the statements or
  not, and however many pooled connections died.
- A connection lost after the ``BEGIN`` is not replaced: the use case fails and nothing
  of it is committed, as before.
- Every unit of work is ``READ COMMITTED`` even where the server's default is not, and a
  connection a caller set to another isolation level is left to the driver.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portal_access import StorageError
from portal_access.ports import Lock
from portal_access.repositories import OUTBOX, OUTBOX_PENDING, unit_of_work
from portal_access.storage.sql import SqlStore
from portal_access.storage.sql._urls import database_url, psycopg_conninfo
from portal_access.testing._storage_contract import values
from tests.sql_databases import POSTGRES_MARKS, POSTGRES_URL, postgres_schema

pytestmark = POSTGRES_MARKS


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_schema() as found:
        yield found


@pytest.fixture
def store(url: str) -> Iterator[SqlStore]:
    with SqlStore(url, create=True) as found:
        yield found


class Wire:
    """The round trips of every connection a store checks out from now on (libpq's
    trace): each is ``(status, what)``, the server's transaction status before it
    (``I`` idle, ``T`` in a transaction, ``E`` failed) and the simple query sent, or
    ``"extended"`` for a statement of the extended protocol."""

    def __init__(self, store: SqlStore, directory: Path) -> None:
        self._directory = directory
        self._traced: list[tuple[Any, Path]] = []
        sa.event.listen(store._engine, "checkout", self._checkout)

    def _checkout(self, dbapi_connection: Any, record: Any, _proxy: object) -> None:
        if record.info.get("test_traced") is dbapi_connection:
            return
        from psycopg import pq  # noqa: PLC0415 - PostgreSQL only

        path = self._directory / f"wire-{len(self._traced)}.txt"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        dbapi_connection.pgconn.trace(descriptor)  # libpq writes there until the end
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        record.info["test_traced"] = dbapi_connection
        self._traced.append((dbapi_connection, path))

    def round_trips(self) -> list[tuple[str, str]]:
        """Every connection's round trips so far, one connection after another."""
        found: list[tuple[str, str]] = []
        for _connection, path in self._traced:
            status = "I"
            for line in path.read_text().splitlines():
                direction, _length, kind, detail = [*line.split("\t"), "", "", ""][:4]
                if direction == "B" and kind == "ReadyForQuery":
                    status = detail.strip()
                elif direction == "F" and kind == "Query":
                    found.append((status, detail.strip().strip('"')))
                elif direction == "F" and kind == "Sync":
                    found.append((status, "extended"))
        return found


_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"
#: An instant when values.message() is due, and a claim's lease.
_DUE = values.NOW + timedelta(days=1)
_LEASE = _DUE + timedelta(minutes=5)


def _pid(uow: Any) -> int:
    """The server process of a unit of work's connection (no statement sent:
    ``uow.transaction.connection`` would begin the transaction)."""
    pid: int = uow.transaction._dbapi_connection.info.backend_pid
    return pid


def _terminate(*pids: int) -> None:
    """End the server processes ``pids`` as a restart or an idle timeout would, and wait."""
    import psycopg  # noqa: PLC0415

    assert POSTGRES_URL is not None
    conninfo = psycopg_conninfo(database_url(POSTGRES_URL))
    with psycopg.connect(conninfo, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(500):
            alive = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (list(pids),)
            ).fetchone()
            if alive == (0,):
                return
            time.sleep(0.01)
    pytest.fail(f"server processes {pids} are still there")


def _save_offer(store: SqlStore, offer_id: str) -> None:
    _save_offer_after(store, offer_id, lambda _uow: None)


def _save_offer_after(store: SqlStore, offer_id: str, first: Callable[[Any], object]) -> None:
    """Save an offer in a unit of work that runs ``first`` as soon as it began."""
    with unit_of_work(store) as uow:
        first(uow)
        uow.offers.save(values.offer(offer_id))


def _offers(store: SqlStore, *offer_ids: str) -> list[bool]:
    with unit_of_work(store) as uow:
        return [uow.offers.get(offer_id) is not None for offer_id in offer_ids]


def test_a_unit_of_work_reads_then_begins_at_its_first_write(store: SqlStore, tmp_path: Path):
    """Ten units of work of a read and a write: 40 round trips, each unit's read in
    autocommit, then its BEGIN, its UPDATE and its COMMIT (one server transaction), and
    nothing before the read."""
    _save_offer(store, "o-1")

    def read_and_write() -> None:
        with unit_of_work(store) as uow:
            offer = uow.offers.get("o-1")
            assert offer is not None
            uow.offers.save(offer)  # an UPDATE (found: no INSERT)

    for _ in range(10):  # the driver prepares a statement on its fifth run: one more trip
        read_and_write()
    wire = Wire(store, tmp_path)
    for _ in range(10):
        read_and_write()
    store.close()  # every traced connection ends
    trips = wire.round_trips()
    assert len(trips) == 10 * 4, trips
    units = [trips[n : n + 4] for n in range(0, len(trips), 4)]
    for unit in units:
        assert unit == [("I", "extended"), ("I", _BEGIN), ("T", "extended"), ("T", "COMMIT")]


def test_a_unit_of_work_begins_read_committed_whatever_the_servers_default(url: str):
    """On a server whose sessions default to SERIALIZABLE, every unit of work is READ
    COMMITTED, whether someone watches its statements or not."""
    options = sa.make_url(url).query["options"]
    serializable = sa.make_url(url).update_query_dict(
        {"options": f"{options} -cdefault_transaction_isolation=serializable"}
    )
    with SqlStore(serializable.render_as_string(hide_password=False), create=True) as store:
        with unit_of_work(store) as uow:
            connection = uow.transaction.connection  # type: ignore[attr-defined]
            assert connection.exec_driver_sql("SHOW transaction_isolation").scalar() == (
                "read committed"
            )
        seen: list[str] = []
        sa.event.listen(store._engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        with unit_of_work(store) as uow:
            connection = uow.transaction.connection  # type: ignore[attr-defined]
            assert connection.exec_driver_sql("SHOW transaction_isolation").scalar() == (
                "read committed"
            )
        assert seen[0] == "BEGIN ISOLATION LEVEL READ COMMITTED"  # watched: seen, too
        with store._engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW default_transaction_isolation").scalar() == (
                "serializable"
            )


@pytest.mark.parametrize("watched", [False, True], ids=["on the driver", "watched"])
def test_a_connection_the_server_dropped_while_idle_never_fails_a_use_case(
    store: SqlStore, watched: bool, caplog: pytest.LogCaptureFixture
):
    """The server ends the pooled connection between two units of work: the next one
    begins on a new connection and commits; the store says so at INFO."""
    if watched:
        sa.event.listen(store._engine, "before_cursor_execute", lambda *_: None)
    with unit_of_work(store) as uow:
        uow.offers.save(values.offer("o-1"))
        dropped = _pid(uow)
    _terminate(dropped)
    with (
        caplog.at_level(logging.INFO, logger="portal_access.storage.sql"),
        unit_of_work(store) as uow,
    ):
        uow.offers.save(values.offer("o-2"))
        assert _pid(uow) != dropped
    assert _offers(store, "o-1", "o-2") == [True, True]
    assert "dropped by the server" in caplog.text


def test_after_a_restart_every_dead_pooled_connection_is_replaced(store: SqlStore):
    """Three pooled connections, all ended by the server (a restart): the next unit of
    work still commits, and so do three at once afterwards."""
    pids = _hold_three_at_once(store)
    assert len(pids) == 3
    _terminate(*pids)
    _save_offer(store, "o-1")
    assert _offers(store, "o-1") == [True]
    assert not set(_hold_three_at_once(store)) & set(pids)


def _hold_three_at_once(store: SqlStore) -> set[int]:
    """Run three units of work at once (so the pool holds three connections); their pids."""
    together = threading.Barrier(3)
    pids: set[int] = set()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with unit_of_work(store) as uow:
                pids.add(_pid(uow))
                together.wait(timeout=10)
                uow.offers.get("o-1")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return pids


def test_a_connection_lost_after_begin_fails_the_use_case(store: SqlStore):
    """The server ends the connection after the unit of work's first write (its BEGIN
    came before it): it fails (its statements cannot be sent again elsewhere) and
    commits nothing; the next one works."""

    def write_lose_write() -> None:
        with unit_of_work(store) as uow:
            uow.offers.save(values.offer("o-1"))
            _terminate(_pid(uow))
            uow.offers.save(values.offer("o-2"))

    with pytest.raises(StorageError):
        write_lose_write()
    _save_offer(store, "o-3")
    assert _offers(store, "o-1", "o-2", "o-3") == [False, False, True]


def test_a_unit_of_work_that_only_reads_sends_its_reads_and_nothing_else(
    store: SqlStore, tmp_path: Path
):
    """A duplicate webhook's unit of work: a read, and the outbox claim's FOR UPDATE
    SKIP LOCKED that finds nothing due: two round trips, no BEGIN, no COMMIT."""
    _save_offer(store, "o-1")

    def duplicate() -> None:
        with unit_of_work(store) as uow:
            assert uow.offers.get("o-1") is not None
            assert uow.outbox.claim(now=values.NOW, until=_LEASE, claim="w-1", limit=8) == ()

    for _ in range(10):  # prepared on the server from now on
        duplicate()
    wire = Wire(store, tmp_path)
    for _ in range(10):
        duplicate()
    store.close()
    assert wire.round_trips() == [("I", "extended")] * 20


def test_a_locking_read_begins_the_transaction_first(store: SqlStore, tmp_path: Path):
    """FOR UPDATE (``Lock.WAIT``, as a payment's read) sends BEGIN first: its lock lasts
    until the COMMIT."""
    with unit_of_work(store) as uow:
        uow.offers.save(values.offer("o-1"))
        uow.outbox.add(values.message("m-1"))
    wire = Wire(store, tmp_path)
    with store.transaction() as tx:
        assert tx.get(OUTBOX, ("m-1",), lock=Lock.WAIT) is not None
    store.close()
    assert wire.round_trips() == [("I", _BEGIN), ("T", "extended"), ("T", "COMMIT")]


def _pending(tx: Any) -> tuple[str, ...]:
    """The pending outbox messages a FOR UPDATE SKIP LOCKED read finds in ``tx``."""
    return tuple(r.values["id"] for r in tx.find(OUTBOX, OUTBOX_PENDING, (False,), lock=Lock.SKIP))


def test_a_skipping_read_that_finds_rows_reads_them_again_locked(store: SqlStore, tmp_path: Path):
    """A FOR UPDATE SKIP LOCKED read finds a pending message in autocommit, whose locks
    end with the statement: it begins and reads again, so the message stays locked
    until the unit of work ends (another worker's skipping read meanwhile skips it)."""
    with unit_of_work(store) as uow:
        uow.outbox.add(values.message("m-1"))
    wire = Wire(store, tmp_path)
    others: list[tuple[str, ...]] = []

    def another_worker() -> None:
        with store.transaction() as tx:
            others.append(_pending(tx))

    with store.transaction() as tx:
        assert _pending(tx) == ("m-1",)
        trips = wire.round_trips()
        worker = threading.Thread(target=another_worker)
        worker.start()
        worker.join(timeout=30)
    assert others == [()]
    assert trips == [("I", "extended"), ("I", _BEGIN), ("T", "extended")]


def test_the_outbox_claim_that_finds_a_due_message_claims_it_in_its_transaction(
    store: SqlStore, tmp_path: Path
):
    """The outbox claim: its read in autocommit, then BEGIN, the read again (locking),
    the claim's UPDATE and the COMMIT."""
    with unit_of_work(store) as uow:
        uow.outbox.add(values.message("m-1"))
    wire = Wire(store, tmp_path)
    with unit_of_work(store) as uow:
        claimed = uow.outbox.claim(now=_DUE, until=_LEASE, claim="w-1", limit=8)
        assert [message.id for message in claimed] == ["m-1"]
    store.close()
    assert wire.round_trips() == [
        ("I", "extended"),
        ("I", _BEGIN),
        ("T", "extended"),
        ("T", "extended"),
        ("T", "COMMIT"),
    ]
    with unit_of_work(store) as uow:
        assert uow.outbox.claimed_by("m-1") == "w-1"


@pytest.mark.parametrize("first", ["read", "write", "host"])
def test_a_connection_dropped_before_the_first_statement_is_replaced_there(
    store: SqlStore, first: str, caplog: pytest.LogCaptureFixture
):
    """The server ends the unit of work's pooled connection after the checkout, before
    its first statement: that statement (a read, or the BEGIN before a write or before a
    host's statement on ``uow.transaction.connection``) finds it lost, and is sent again
    on another connection; the unit of work commits."""
    _save_offer(store, "o-1")
    with (
        caplog.at_level(logging.INFO, logger="portal_access.storage.sql"),
        unit_of_work(store) as uow,
    ):
        dropped = _pid(uow)
        _terminate(dropped)
        if first == "read":
            assert uow.offers.get("o-1") is not None
        elif first == "host":
            connection = uow.transaction.connection  # type: ignore[attr-defined]
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        uow.offers.save(values.offer("o-2"))
        assert _pid(uow) != dropped
    assert _offers(store, "o-1", "o-2") == [True, True]
    assert "dropped by the server" in caplog.text


def test_a_connection_dropped_between_reads_and_the_first_write_is_replaced(store: SqlStore):
    """The server ends the connection after the unit of work's reads (in autocommit),
    before its first write: the BEGIN finds it lost and is sent on another connection.
    Nothing of the unit of work was held by the server, and the reads are as valid as
    in a READ COMMITTED transaction, where no later statement relies on their snapshot
    either: the unit of work goes on and commits."""
    _save_offer(store, "o-1")
    with unit_of_work(store) as uow:
        assert uow.offers.get("o-1") is not None
        dropped = _pid(uow)
        _terminate(dropped)
        assert uow.offers.get("o-1") is not None  # found lost, replaced
        uow.offers.save(values.offer("o-2"))
        assert _pid(uow) != dropped
    assert _offers(store, "o-1", "o-2") == [True, True]


def test_a_new_connection_lost_before_begin_fails_the_use_case(store: SqlStore):
    """A connection made for this unit of work and lost (the server is failing, not a
    pooled connection it dropped while idle) is not replaced: the unit of work fails."""
    store._engine.dispose()  # the next checkout makes a new connection

    def lose_read() -> None:
        with unit_of_work(store) as uow:
            _terminate(_pid(uow))
            uow.offers.get("o-1")

    with pytest.raises(StorageError):
        lose_read()
    _save_offer(store, "o-2")
    assert _offers(store, "o-2") == [True]


def test_a_hosts_statement_joins_the_unit_of_works_transaction(store: SqlStore):
    """A host's statement on ``uow.transaction.connection`` before the unit of work's
    first write begins the transaction, and the unit of work's writes join it; after
    it, it joins theirs: either way one rollback undoes both."""
    with store._engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE host_notes (note text)")

    class UndoError(Exception):
        pass

    def write_both(*, host_first: bool) -> None:
        with unit_of_work(store) as uow:
            connection = uow.transaction.connection  # type: ignore[attr-defined]
            if host_first:
                connection.exec_driver_sql("INSERT INTO host_notes VALUES ('first')")
            uow.offers.save(values.offer("o-1"))
            if not host_first:
                connection.exec_driver_sql("INSERT INTO host_notes VALUES ('after')")
            raise UndoError

    for host_first in (True, False):
        with pytest.raises(UndoError):
            write_both(host_first=host_first)
    with store._engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM host_notes").scalar() == 0
    assert _offers(store, "o-1") == [False]


def test_a_callers_isolation_level_is_left_to_the_driver(store: SqlStore, tmp_path: Path):
    """A connection a caller sets to SERIALIZABLE runs SERIALIZABLE (psycopg begins it);
    given back to the pool, it begins READ COMMITTED units of work again, one server
    transaction each."""
    _save_offer(store, "o-1")
    with store._engine.connect() as connection:
        connection.execution_options(isolation_level="SERIALIZABLE")
        assert connection.exec_driver_sql("SHOW transaction_isolation").scalar() == ("serializable")
        connection.commit()
    wire = Wire(store, tmp_path)
    for _ in range(3):  # the pool's one connection, its statements new to it (prepared later)
        with unit_of_work(store) as uow:
            assert uow.offers.get("o-1") is not None
            level = uow.transaction.connection.exec_driver_sql(  # type: ignore[attr-defined]
                "SHOW transaction_isolation"
            )
            assert level.scalar() == "read committed"
    store.close()
    trips = wire.round_trips()  # a read; SHOW (SQLAlchemy begins: our BEGIN); COMMIT
    show = ("T", "SHOW transaction_isolation")
    assert trips == [("I", "extended"), ("I", _BEGIN), show, ("T", "COMMIT")] * 3


def test_a_transaction_listener_still_sees_every_unit_of_work_begin_and_commit(
    store: SqlStore,
):
    """A host counting transactions with SQLAlchemy ``begin``/``commit`` listeners sees
    each unit of work's, one that only reads included: with such a listener the
    transaction begins up front, through SQLAlchemy."""
    _save_offer(store, "o-1")
    seen: list[str] = []
    sa.event.listen(store._engine, "begin", lambda _connection: seen.append("begin"))
    sa.event.listen(store._engine, "commit", lambda _connection: seen.append("commit"))
    assert _offers(store, "o-1") == [True]
    _save_offer(store, "o-2")
    assert seen == ["begin", "commit"] * 2
