"""PostgreSQL units of work and their connections, counted on the wire (libpq's trace of
each connection the store uses; no timings).

- A unit of work is its ``BEGIN``, its statements and its ``COMMIT``: one server
  transaction, and no round trip before the ``BEGIN`` (the pool's pre-ping was one,
  and a server transaction of its own, for every unit of work).
- That ``BEGIN`` is the liveness check instead: a connection the server dropped while it
  sat in the pool (``pg_terminate_backend``, as a restart, a failover or an idle timeout
  would) is replaced there, so it never fails a use case, whether someone watches the
  statements or not, and however many pooled connections died.
- A connection lost after its ``BEGIN`` is not replaced: the use case fails and nothing
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
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portal_access import StorageError
from portal_access.repositories import unit_of_work
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


def _pid(uow: Any) -> int:
    """The server process of a unit of work's connection (no statement sent)."""
    pid: int = uow.transaction.connection.connection.dbapi_connection.info.backend_pid
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


def test_a_unit_of_work_is_begin_its_statements_and_commit(store: SqlStore, tmp_path: Path):
    """Ten units of work of two statements each: 40 round trips, each unit's first one
    its BEGIN from an idle connection (one server transaction each), none before it."""
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
    from_idle = [trip for trip in trips if trip[0] == "I"]
    assert len(from_idle) == 10, from_idle  # one server transaction per unit of work
    units = [trips[n : n + 4] for n in range(0, len(trips), 4)]
    for unit in units:
        assert unit[0] == ("I", "BEGIN ISOLATION LEVEL READ COMMITTED")
        assert unit[1:] == [("T", "extended"), ("T", "extended"), ("T", "COMMIT")]


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
    """The server ends the connection after the unit of work began: it fails (its
    statements cannot be sent again elsewhere) and commits nothing; the next one works."""
    with pytest.raises(StorageError):
        _save_offer_after(store, "o-1", lambda uow: _terminate(_pid(uow)))
    _save_offer(store, "o-2")
    assert _offers(store, "o-1", "o-2") == [False, True]


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
    trips = wire.round_trips()
    assert len(trips) == 3 * 4
    assert [status for status, _ in trips].count("I") == 3
