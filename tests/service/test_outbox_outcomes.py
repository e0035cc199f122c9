"""What became of delivered messages costs no commit of its own (issue #20, item 1): the
outcomes wait in the process and ride the next unit of work that writes; one that waited
half its claim's lease is written on its own, so no other worker claims its message
meanwhile; a failed delivery is recorded at once and retried after its wait, as before. (The
process killed before its marks landed: tests/integration/test_outbox_workers.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from portal_access import Contact, EmailAddress, OutboxMessage, OutboxSettings
from portal_access._portal import PortalAccess
from portal_access._service import context as service_context
from portal_access.adapters import ManualClock, MemoryMailer, ScryptPasswordHasher, SequentialIds
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from tests.service.harness import CLASS, START, account
from tests.service.test_outbox_delivery import CountingStore

LEASE = timedelta(minutes=5)


def portal_on(
    store: MemoryStore,
    clock: ManualClock,
    *,
    background: Callable[[Callable[[], object]], None] | None = None,
) -> PortalAccess:
    portal = PortalAccess(
        store=store,
        gateways=[],
        clock=clock,
        ids=SequentialIds(),
        hasher=ScryptPasswordHasher(n=16),
        mailer=MemoryMailer(),
        outbox=OutboxSettings(lease=LEASE),
        background=background or (lambda job: job()),
        development=True,
    )
    portal.save_account_class(CLASS)
    portal.save_account(account())
    return portal


def contact(n: int) -> Contact:
    email = EmailAddress.parse(f"c{n}@example.com")
    return Contact(id=f"c-{n}", account_id="acc-1", first_name=f"C{n}", email=email)


def created(store: MemoryStore) -> list[OutboxMessage]:
    """The stored ``contact.created`` messages, oldest first."""
    with unit_of_work(store) as uow:
        found = [uow.outbox.get(key[0]) for key in store.snapshot().get("outbox", {})]
    messages = [m for m in found if m is not None and m.topic == "contact.created"]
    return sorted(messages, key=lambda m: m.id)


def test_each_use_case_carries_the_marks_of_the_one_before_in_its_own_commit():
    """Five use cases with a subscriber: five units of work, and after each, every
    message but its own is marked delivered."""
    store, clock = CountingStore(), ManualClock(START)
    portal = portal_on(store, clock)
    seen: list[str] = []
    portal.subscribe(lambda message: seen.append(message.id), topic="contact.created")
    for n in range(5):
        store.units = 0
        portal.create_contact(contact(n))
        assert store.units == 1
        marks = [message.delivered for message in created(store)]
        assert marks == [True] * n + [False]
    assert seen == [message.id for message in created(store)]


def test_a_delivery_that_used_half_the_lease_writes_its_marks_at_once():
    """A subscriber slow enough to use half the lease: its mark is written before the
    use case returns (one more unit of work), not left to wait for the next one."""
    store, clock = CountingStore(), ManualClock(START)
    portal = portal_on(store, clock)
    portal.subscribe(lambda message: clock.advance(LEASE / 2), topic="contact.created")
    store.units = 0
    portal.create_contact(contact(1))
    assert store.units == 2
    assert [message.delivered for message in created(store)] == [True]


def test_an_idle_process_writes_waiting_marks_before_half_the_lease_is_gone():
    """Nothing else runs: the watcher leaves the mark waiting while less than half the
    lease is gone, then queues its write on the background runner, which writes it in a
    unit of work of its own; the message is never delivered again."""
    store, clock = CountingStore(), ManualClock(START)
    jobs: list[Callable[[], object]] = []
    portal = portal_on(store, clock, background=jobs.append)
    sent: list[str] = []
    portal.subscribe(lambda message: sent.append(message.id), topic="contact.created")
    portal.create_contact(contact(1))
    context = portal._context
    clock.advance(LEASE / 2 - timedelta(seconds=1))
    service_context._flush_if_due(context)
    assert jobs == []
    clock.advance(timedelta(seconds=1))
    service_context._flush_if_due(context)
    service_context._flush_if_due(context)  # queued once, until it ran
    assert len(jobs) == 1
    store.units = 0
    jobs.pop()()
    assert store.units == 1
    assert [message.delivered for message in created(store)] == [True]
    clock.advance(LEASE)
    assert portal.deliver_outbox() == 0
    assert len(sent) == 1


def test_the_watcher_thread_writes_the_marks_of_an_idle_process(
    monkeypatch: pytest.MonkeyPatch,
):
    """The same through the process's watcher thread and a background thread: the mark
    lands with no call into the portal once half the lease is gone."""
    monkeypatch.setattr(service_context, "WATCH_SECONDS", 0.01)
    store, clock = MemoryStore(), ManualClock(START)
    ran = threading.Event()

    def background(job: Callable[[], object]) -> None:
        threading.Thread(target=lambda: (job(), ran.set())).start()

    portal = portal_on(store, clock, background=background)
    portal.subscribe(lambda message: None, topic="contact.created")
    portal.create_contact(contact(1))
    clock.advance(LEASE / 2)
    assert ran.wait(timeout=30)
    deadline = time.monotonic() + 30
    while not created(store)[0].delivered and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [message.delivered for message in created(store)] == [True]


def test_a_failed_delivery_is_recorded_at_once_and_retried_after_its_wait():
    """A subscriber that fails once: the failure is written before the use case returns
    (the message due again 30 seconds on, unclaimed, whatever the process does next),
    with the marks of the others; it is not sent again before then, and is once after."""
    store, clock = CountingStore(), ManualClock(START)
    portal = portal_on(store, clock)
    calls: list[str] = []

    def flaky(message: OutboxMessage) -> None:
        calls.append(message.id)
        if len(calls) == 1:
            raise OSError("the host's queue is down")

    portal.subscribe(flaky, topic="contact.created")
    store.units = 0
    portal.create_contact(contact(1))
    assert store.units == 2
    (first,) = created(store)
    with unit_of_work(store) as uow:
        assert uow.outbox.claimed_by(first.id) is None
        assert uow.outbox.due_at(first.id) == START + timedelta(seconds=30)
        assert [m.attempts for m in uow.outbox.pending(5)] == [1]
    portal.create_contact(contact(2))
    clock.advance(timedelta(seconds=29))
    assert portal.deliver_outbox() == 0
    clock.advance(timedelta(seconds=1))
    assert portal.deliver_outbox() == 1
    assert calls.count(first.id) == 2
    assert all(message.delivered for message in created(store))


def test_a_unit_of_work_that_fails_leaves_the_marks_it_carried_waiting():
    """A use case that fails after the marks were taken rolls them back with it; the
    next one writes them."""
    store, clock = MemoryStore(), ManualClock(START)
    portal = portal_on(store, clock)
    portal.subscribe(lambda message: None, topic="contact.created")
    portal.create_contact(contact(1))
    with pytest.raises(Exception, match="c-1"):
        portal.create_contact(contact(1))  # the id is taken: a ConflictError
    assert [message.delivered for message in created(store)] == [False]
    portal.create_contact(contact(2))
    assert [message.delivered for message in created(store)] == [True, False]
