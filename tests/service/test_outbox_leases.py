"""Outbox leases, retries and pruning in one process (issue #13, item 4; the several
processes are in tests/integration/test_outbox_workers.py): a claimed message waits for
its lease, a failed one for a wait that doubles up to a cap, and ``prune`` deletes what
was delivered long enough ago, never what is still waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal_access import (
    OutboxMessage,
    OutboxSettings,
    PortalAccess,
    PortalLinks,
    Retention,
    ValidationError,
)
from portal_access.adapters import ManualClock, MemoryMailer
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from tests.service.harness import START


class FlakyMailer(MemoryMailer):
    """Fails while ``down``; records every attempt's time."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.down = True
        self.clock = clock
        self.attempts: list[timedelta] = []

    def send(self, **message: object) -> None:  # type: ignore[override]
        self.attempts.append(self.clock.now() - START)
        if self.down:
            raise OSError("mail server down")
        super().send(**message)  # type: ignore[arg-type]


def email(message_id: str = "ev_1") -> OutboxMessage:
    payload = {"kind": "k", "to": ["ann@example.com"], "subject": "s", "text": "t", "html": "h"}
    return OutboxMessage(id=message_id, occurred_at=START, topic="email.requested", payload=payload)


def portal_on(store: MemoryStore, clock: ManualClock, mailer: MemoryMailer, **outbox: object):
    return PortalAccess(
        store=store,
        gateways=[],
        mailer=mailer,
        clock=clock,
        links=PortalLinks(base_url="https://portal.example.com"),
        outbox=OutboxSettings(**outbox),  # type: ignore[arg-type]
    )


def test_a_failing_message_is_retried_after_waits_that_double_up_to_the_cap():
    """Attempts at 0s, 30s, 90s, 210s, then every 4 minutes (the cap): never earlier."""
    clock, store = ManualClock(START), MemoryStore()
    mailer = FlakyMailer(clock)
    portal = portal_on(store, clock, mailer, longest_retry=timedelta(minutes=4))
    with unit_of_work(store) as uow:
        uow.outbox.add(email())
    for _second in range(0, 700, 10):
        portal.deliver_outbox()
        clock.advance(timedelta(seconds=10))
    assert [a.total_seconds() for a in mailer.attempts] == [0, 30, 90, 210, 450, 690]
    with unit_of_work(store) as uow:
        assert [m.attempts for m in uow.outbox.pending(5)] == [6]
    mailer.down = False
    clock.advance(timedelta(minutes=4))
    assert portal.deliver_outbox() == 1
    assert [sent.subject for sent in mailer.sent] == ["s"]


def test_a_message_another_worker_holds_waits_for_its_lease():
    """A message claimed by a worker that died is not sent until the lease ends."""
    clock, store, mailer = ManualClock(START), MemoryStore(), MemoryMailer()
    portal = portal_on(store, clock, mailer, lease=timedelta(minutes=5))
    with unit_of_work(store) as uow:
        uow.outbox.add(email(), due_at=START + timedelta(minutes=5), claimed_by="dead-worker")
    clock.advance(timedelta(minutes=4, seconds=59))
    assert portal.deliver_outbox() == 0
    clock.advance(timedelta(seconds=1))
    assert portal.deliver_outbox() == 1
    assert portal.deliver_outbox() == 0
    assert len(mailer.sent) == 1


def test_prune_deletes_old_delivered_messages_and_event_records_never_waiting_ones():
    """prune with a 7-day and a 30-day retention, 40 days on: the delivered message and
    the 40-day-old event record go; the undelivered message and a recent record stay."""
    clock, store = ManualClock(START), MemoryStore()
    mailer = FlakyMailer(clock)
    mailer.down = False
    portal = portal_on(store, clock, mailer)
    with unit_of_work(store) as uow:
        uow.outbox.add(email("ev_sent"))
        uow.outbox.add(email("ev_waiting"), due_at=START + timedelta(days=365), claimed_by="w")
        uow.gateway_events.record("stripe", "evt_old", "applied", START)
        uow.gateway_events.record("stripe", "evt_new", "applied", START + timedelta(days=20))
    assert portal.deliver_outbox() == 1
    clock.advance(timedelta(days=40))
    seen = []
    pruned = portal.prune(
        Retention(delivered_messages=timedelta(days=7), processed_events=timedelta(days=30)),
        progress=seen.append,
    )
    assert (pruned.messages, pruned.events) == (1, 1)
    assert seen[-1] == pruned
    with unit_of_work(store) as uow:
        assert uow.outbox.get("ev_sent") is None
        assert uow.outbox.get("ev_waiting") is not None
        assert uow.gateway_events.outcome("stripe", "evt_old") is None
        assert uow.gateway_events.outcome("stripe", "evt_new") == "applied"


def test_settings_refuse_what_would_lose_or_repeat_work():
    """A retention of processed events under 30 days, a zero lease, a first retry longer
    than the cap, a batch of 0: each a ValidationError naming the field."""
    cases = [
        (lambda: Retention(timedelta(days=1), timedelta(days=29)), "processed_events"),
        (lambda: Retention(timedelta(0), timedelta(days=30)), "delivered_messages"),
        (lambda: OutboxSettings(lease=timedelta(0)), "lease"),
        (lambda: OutboxSettings(first_retry=timedelta(hours=2)), "first_retry"),
        (lambda: OutboxSettings(batch=0), "batch"),
    ]
    for build, field in cases:
        with pytest.raises(ValidationError) as raised:
            build()
        assert raised.value.field == field
