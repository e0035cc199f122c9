"""Several worker processes delivering one outbox (issue #13, item 4): each message is
sent exactly once while no worker crashes, and at least once when one is killed
mid-send (its lease ends and another worker sends what it held).

Processes on SQLite and PostgreSQL, each with its own store, as a host's workers have.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from portal_access import OutboxMessage, OutboxSettings
from portal_access.adapters import ManualClock, MemoryMailer
from portal_access.repositories import unit_of_work
from portal_access.storage.sql import SqlStore
from tests.integration.outbox_workers import (
    FileMailer,
    deliver_then_hang,
    deliver_until_done,
    portal_for,
)
from tests.service.harness import START
from tests.sql_databases import POSTGRES_MARKS, empty_database

WORKERS = 4
MESSAGES = 60
KINDS = ["sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)]


def fill(store: SqlStore) -> list[str]:
    """``MESSAGES`` emails waiting in the outbox; their ids."""
    ids = [f"ev_{n:03d}" for n in range(MESSAGES)]
    with unit_of_work(store) as uow:
        for n, message_id in enumerate(ids):
            payload = {
                "kind": "invitation",
                "to": [f"c{n}@example.com"],
                "subject": "s",
                "text": "t",
                "html": "h",
            }
            at = START + timedelta(seconds=n)
            uow.outbox.add(
                OutboxMessage(
                    id=message_id, occurred_at=at, topic="email.requested", payload=payload
                )
            )
    return ids


def sends(directory: Path) -> Counter[str]:
    """How many times any worker sent each message."""
    found: Counter[str] = Counter()
    for path in directory.glob("worker-*.txt"):
        found.update(path.read_text(encoding="utf-8").split())
    return found


#: The barriers and queues of running workers: the parent must hold them until the
#: children have started (a collected semaphore is unlinked before they open it).
_KEEP: list[object] = []


def start_workers(
    url: str, directory: Path, indexes: range, *, hang_on: int | None = None
) -> tuple[list, object]:
    """Start a worker of each index, released together; each hangs in its ``hang_on``-th
    send when given."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(len(indexes)), context.Queue()
    processes = [
        context.Process(
            target=deliver_until_done,
            args=(index, url, str(directory), hang_on, start, results),
        )
        for index in indexes
    ]
    _KEEP.extend([start, results])
    for process in processes:
        process.start()
    return processes, results


def stop(processes: list) -> None:
    for process in processes:
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
            process.join(timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_workers_send_each_message_exactly_once(tmp_path: Path, kind: str):
    """Four workers draining 60 messages three at a time: 60 sends, one per message."""
    directory = tmp_path / "sent"
    directory.mkdir()
    with empty_database(kind, tmp_path) as url, SqlStore(url, create=True) as store:
        ids = fill(store)
        processes, results = start_workers(url, directory, range(WORKERS))
        try:
            reports = sorted(results.get(timeout=120) for _ in processes)  # type: ignore[attr-defined]
        finally:
            stop(processes)
        assert all(isinstance(count, int) for _, count in reports), reports
        assert sum(count for _, count in reports) == MESSAGES
        sent = sends(directory)
        assert sorted(sent) == ids
        assert set(sent.values()) == {1}, {k: v for k, v in sent.items() if v > 1}
        with unit_of_work(store) as uow:
            assert uow.outbox.pending(MESSAGES) == ()


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_a_worker_killed_mid_send_leaves_its_messages_to_another(tmp_path: Path, kind: str):
    """Worker 0 claims first, hangs in its second send and is killed; three more send
    everything else once; what it held is sent after its lease ends, so every message
    went out at least once, and only the ones it held (at most a batch) twice."""
    directory = tmp_path / "sent"
    directory.mkdir()
    with empty_database(kind, tmp_path) as url, SqlStore(url, create=True) as store:
        ids = fill(store)
        hanging, stuck = start_workers(url, directory, range(1), hang_on=2)
        try:
            assert stuck.get(timeout=120)[0] == "stuck"  # type: ignore[attr-defined]
            processes, results = start_workers(url, directory, range(1, WORKERS))
            try:
                finished = [results.get(timeout=120) for _ in processes]  # type: ignore[attr-defined]
            finally:
                stop(processes)
            hanging[0].kill()  # mid-send, its claim never settled
        finally:
            stop(hanging)
        assert all(isinstance(count, int) for _, count in finished), finished
        with unit_of_work(store) as uow:
            held = [message.id for message in uow.outbox.pending(MESSAGES)]
        assert 1 <= len(held) <= 3  # worker 0's batch: still claimed, not yet due
        assert portal_for(store, MemoryMailer(), OutboxSettings()).deliver_outbox() == 0
        # after the lease, another worker (here with a clock past it) sends them
        later = ManualClock(START.replace(year=2100))
        mailer = FileMailer(directory / "worker-late.txt")
        portal = portal_for(store, mailer, OutboxSettings())
        portal._context.clock = later
        assert portal.deliver_outbox() == len(held)
        sent = sends(directory)
        assert sorted(sent) == ids  # every message at least once
        twice = sorted(message_id for message_id, count in sent.items() if count > 1)
        assert set(twice) <= set(held)
        assert set(sent.values()) <= {1, 2}
        with unit_of_work(store) as uow:
            assert uow.outbox.pending(MESSAGES) == ()


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_a_killed_process_s_unwritten_marks_mean_one_more_delivery_after_the_lease(
    tmp_path: Path, kind: str
):
    """A process delivers three events to its subscriber, each use case carrying the
    marks of the one before, and is killed with the last mark unwritten: that message
    stays claimed until the lease ends (no other worker sends it meanwhile), then is
    delivered again with the same id; the marked ones never are."""
    path = tmp_path / "subscriber.txt"
    with empty_database(kind, tmp_path) as url, SqlStore(url, create=True) as store:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        _KEEP.append(results)
        process = context.Process(target=deliver_then_hang, args=(url, str(path), results))
        process.start()
        try:
            status, sent = results.get(timeout=120)
            assert status == "delivered", sent
        finally:
            process.kill()
            process.join(timeout=60)
        assert len(sent) == 3
        with unit_of_work(store) as uow:
            waiting = [message.id for message in uow.outbox.pending(10)]
        assert waiting == sent[-1:]  # the first two were marked by the use cases after them
        received: list[str] = []
        portal = portal_for(store, MemoryMailer(), OutboxSettings())
        portal.subscribe(lambda message: received.append(message.id), topic="contact.created")
        assert portal.deliver_outbox() == 0  # still claimed by the dead process
        portal._context.clock = ManualClock(START.replace(year=2100))  # the lease is over
        assert portal.deliver_outbox() == 1
        assert received == sent[-1:]
        assert path.read_text(encoding="utf-8").split() == sent
        with unit_of_work(store) as uow:
            assert uow.outbox.pending(10) == ()
