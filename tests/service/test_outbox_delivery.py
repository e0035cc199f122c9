"""Outbox delivery after commit: what it costs in units of work, and what it leaves in
the outbox. docs/rules.md: each use case is one unit of work and writes its events to the
outbox; they are delivered after commit, at least once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from portal_access import Contact, EmailAddress
from portal_access._domain.events import OutboxMessage
from portal_access._portal import PortalAccess
from portal_access.adapters._clock import ManualClock
from portal_access.adapters._passwords import ScryptPasswordHasher
from portal_access.adapters._randomness import SequentialIds
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore, MemoryTransaction
from tests.service.harness import ADMIN, CLASS, START, account, sandbox_pair


class CountingStore(MemoryStore):
    """A memory store that counts the transactions (units of work) it hands out."""

    def __init__(self) -> None:
        super().__init__()
        self.units = 0

    @contextmanager
    def transaction(self) -> Iterator[MemoryTransaction]:
        self.units += 1
        with super().transaction() as tx:
            yield tx


def portal_on(store: CountingStore) -> PortalAccess:
    clock = ManualClock(START)
    portal = PortalAccess(
        store=store,
        gateways=[sandbox_pair(clock)[1]],
        clock=clock,
        ids=SequentialIds(),
        hasher=ScryptPasswordHasher(n=16),
        development=True,
    )
    portal.save_account_class(CLASS)
    portal.save_account(account())
    return portal


def bo() -> Contact:
    return Contact(
        id="c-bo", account_id="acc-1", first_name="Bo", email=EmailAddress.parse("bo@example.com")
    )


def cy() -> Contact:
    return Contact(
        id="c-cy", account_id="acc-1", first_name="Cy", email=EmailAddress.parse("cy@example.com")
    )


def outbox(store: CountingStore) -> list[OutboxMessage]:
    with unit_of_work(store) as uow:
        found = [uow.outbox.get(key[0]) for key in store.snapshot().get("outbox", {})]
    return [message for message in found if message is not None]


def test_an_event_nobody_receives_is_not_written():
    """Without a subscriber of its topic, an event is not written to the outbox: the use
    case is its one unit of work, and nothing is pending."""
    store = CountingStore()
    portal = portal_on(store)
    store.units = 0
    portal.create_contact(bo())
    assert store.units == 1
    assert [m for m in outbox(store) if m.topic == "contact.created"] == []
    with unit_of_work(store) as uow:
        assert list(uow.outbox.pending(10)) == []


def test_an_email_is_written_with_no_subscriber_at_all():
    """An email always has a recipient (the mailer), so it is written and delivered; its
    mark (and its cleared payload) rides the next unit of work."""
    store = CountingStore()
    portal = portal_on(store)
    portal.create_contact(bo())
    portal.invite_contact("c-bo", staff=ADMIN)
    assert [sent.subject for sent in portal.mailer.sent]  # type: ignore[attr-defined]
    (email,) = [m for m in outbox(store) if m.topic == "email.requested"]
    assert not email.delivered  # still claimed by the delivery: no other worker takes it
    portal.create_contact(cy())
    (email,) = [m for m in outbox(store) if m.topic == "email.requested"]
    assert email.delivered
    assert email.payload == {"cleared": True}


def test_an_event_with_a_subscriber_is_delivered_after_commit_then_marked_by_the_next():
    """A subscribed event reaches its subscriber after commit, at the cost of the use
    case's one unit of work: what to deliver was read in it, and the delivered mark
    rides the next unit of work that writes (here the next use case's). A unit of work
    that writes nothing does not carry it: that would make it a commit of its own."""
    store = CountingStore()
    portal = portal_on(store)
    seen: list[str] = []
    portal.subscribe(lambda message: seen.append(message.topic), topic="contact.created")
    store.units = 0
    portal.create_contact(bo())
    assert seen == ["contact.created"]
    assert store.units == 1
    assert not any(message.delivered for message in outbox(store))
    portal.contact("c-bo")  # reads only
    assert not any(message.delivered for message in outbox(store))
    store.units = 0
    portal.create_contact(cy())
    assert store.units == 1
    delivered = {message.id: message.delivered for message in outbox(store)}
    assert sorted(delivered.values()) == [False, True]  # Bo's marked; Cy's waits in turn


def test_deliver_outbox_writes_the_marks_before_it_returns():
    """deliver_outbox carries the waiting marks in its claim and writes its own batch's
    before it returns, so a worker loop ends with nothing waiting."""
    store = CountingStore()
    portal = portal_on(store)
    portal.subscribe(lambda message: None, topic="contact.created")
    portal.create_contact(bo())
    store.units = 0
    assert portal.deliver_outbox() == 0
    assert store.units == 1  # the claim, carrying the waiting mark
    assert all(message.delivered for message in outbox(store))


def test_a_subscriber_of_another_topic_leaves_the_event_to_nobody():
    """A subscriber of another topic neither receives the event nor keeps it pending."""
    store = CountingStore()
    portal = portal_on(store)
    seen: list[str] = []
    portal.subscribe(lambda message: seen.append(message.topic), topic="invoice.paid")
    store.units = 0
    portal.create_contact(bo())
    assert seen == []
    assert store.units == 1
    with unit_of_work(store) as uow:
        assert list(uow.outbox.pending(10)) == []
