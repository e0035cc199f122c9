"""SQLite writers of one process (threads sharing a ``SqlStore``): they queue on the
store's own lock and those that queue share a commit, each unit of work in a savepoint
of the group's transaction (issue #20). Nothing is weakened: a unit of work returns
only after the commit that carries it, one that fails leaves nothing and takes nothing
of the others with it, and many threads writing at once never see "database is
locked"."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal_access import StorageError
from portal_access.repositories import unit_of_work
from portal_access.storage.sql import SqlStore
from portal_access.testing._storage_contract import values
from tests.sql_databases import sqlite_url


def _queued(store: SqlStore, count: int) -> None:
    """Wait until ``count`` writers queue for the store's write lock."""
    writers = store._writers
    assert writers is not None
    deadline = time.monotonic() + 30
    while writers._queued < count:
        assert time.monotonic() < deadline, "the other writer never queued"
        time.sleep(0.001)


def _commits(store: SqlStore) -> list[object]:
    seen: list[object] = []

    def committed(connection: object) -> None:
        seen.append(connection)

    sa.event.listen(store._engine, "commit", committed)
    return seen


def test_a_writer_that_queues_shares_the_commit_of_the_one_before(tmp_path: Path):
    """Two units of work, the second queued while the first runs: one commit for both,
    and each returns only once it is committed (visible to a new connection)."""
    with SqlStore(sqlite_url(tmp_path), create=True) as store:
        commits = _commits(store)
        returned: list[str] = []

        def second() -> None:
            with unit_of_work(store) as uow:
                uow.offers.save(values.offer("offer-2"))
            returned.append("second")

        other = threading.Thread(target=second)
        with unit_of_work(store) as uow:
            uow.offers.save(values.offer("offer-1"))
            other.start()
            _queued(store, 1)
        returned.append("first")
        other.join(timeout=30)
        assert sorted(returned) == ["first", "second"]
        assert len(commits) == 1
        with unit_of_work(store) as uow:
            assert uow.offers.get("offer-1") is not None
            assert uow.offers.get("offer-2") is not None


def test_a_failed_unit_of_work_in_a_group_leaves_nothing_and_the_others_commit(tmp_path: Path):
    """The second of a group raises: its write is rolled back (to its savepoint), the
    first's is committed."""
    with SqlStore(sqlite_url(tmp_path), create=True) as store:
        errors: list[BaseException] = []

        def failing() -> None:
            try:
                with unit_of_work(store) as uow:
                    uow.offers.save(values.offer("offer-2"))
                    raise RuntimeError("the use case failed")
            except RuntimeError as exc:
                errors.append(exc)

        other = threading.Thread(target=failing)
        with unit_of_work(store) as uow:
            uow.offers.save(values.offer("offer-1"))
            other.start()
            _queued(store, 1)
        other.join(timeout=30)
        assert len(errors) == 1
        with unit_of_work(store) as uow:
            assert uow.offers.get("offer-1") is not None
            assert uow.offers.get("offer-2") is None


def test_a_failed_first_unit_of_work_hands_no_work_on(tmp_path: Path):
    """The group's first raises while another queues: it is rolled back, and the next
    one commits its own work alone."""
    with SqlStore(sqlite_url(tmp_path), create=True) as store:

        def second() -> None:
            with unit_of_work(store) as uow:
                uow.offers.save(values.offer("offer-2"))

        other = threading.Thread(target=second)

        def first() -> None:
            with unit_of_work(store) as uow:
                uow.offers.save(values.offer("offer-1"))
                other.start()
                _queued(store, 1)
                raise RuntimeError("the use case failed")

        with pytest.raises(RuntimeError):
            first()
        other.join(timeout=30)
        with unit_of_work(store) as uow:
            assert uow.offers.get("offer-1") is None
            assert uow.offers.get("offer-2") is not None


def test_eight_threads_writing_at_once_never_fail(tmp_path: Path):
    """Eight threads, fifty units of work each, each taking the next invoice number:
    every one commits (none meets "database is locked"), no number is lost or repeated."""
    with SqlStore(sqlite_url(tmp_path), create=True) as store:
        numbers: list[str] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def work() -> None:
            try:
                for _ in range(50):
                    with unit_of_work(store) as uow:
                        number = uow.invoices.next_number()
                    with lock:
                        numbers.append(number)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert sorted(numbers, key=int) == [str(n) for n in range(1001, 1401)]


def test_a_statement_error_in_a_group_member_rolls_back_only_its_own_work(tmp_path: Path):
    """A member whose statement failed and went on raises StorageError; its write is
    gone, the first's is committed."""
    with SqlStore(sqlite_url(tmp_path), create=True) as store:
        errors: list[BaseException] = []

        def broken() -> None:
            try:
                with unit_of_work(store) as uow:
                    uow.offers.save(values.offer("offer-2"))
                    try:
                        uow.transaction.connection.exec_driver_sql("SELECT * FROM nowhere")  # type: ignore[attr-defined]
                    except Exception:  # the block goes on: the store refuses to commit
                        uow.transaction.failed = True  # type: ignore[attr-defined]
            except StorageError as exc:
                errors.append(exc)

        other = threading.Thread(target=broken)
        with unit_of_work(store) as uow:
            uow.offers.save(values.offer("offer-1"))
            other.start()
            _queued(store, 1)
        other.join(timeout=30)
        assert len(errors) == 1
        with unit_of_work(store) as uow:
            assert uow.offers.get("offer-1") is not None
            assert uow.offers.get("offer-2") is None
