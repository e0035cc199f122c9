"""A delivery of an event already recorded is answered from one committed read, and a
delivery that read "not recorded" just before a concurrent one committed still applies
the event once (docs/rules.md "Webhooks"; seed 000_07c53b15302458c1.txt's stories,
where every vendor event may arrive more than once)."""

from __future__ import annotations

from portal_access.ports import Committed, Key, Table
from portal_access.repositories._tables import GATEWAY_EVENTS
from tests.service.harness import CANCEL, SUCCESS, Harness, build, paid_offer, register, sign_up

Delivery = tuple[dict[str, str], bytes]


def paid_client() -> tuple[Harness, list[Delivery]]:
    """A client who paid by card, every webhook of it applied once; the deliveries."""
    harness = build()
    paid_offer(harness)
    sign_up(harness)
    contact_id = register(harness)
    session = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    harness.sandbox.pay(session.session_id, succeed=True)
    deliveries: list[Delivery] = []

    def endpoint(headers: dict[str, str], body: bytes) -> object:
        deliveries.append((headers, body))
        return harness.webhook(headers, body)

    harness.sandbox.deliver(endpoint)
    harness.portal.deliver_outbox()
    assert deliveries
    return harness, deliveries


def test_every_retry_of_a_recorded_event_is_a_duplicate_that_changes_nothing():
    """Seed 000_07c53b15302458c1.txt: a vendor's retry changes nothing."""
    harness, deliveries = paid_client()
    before = harness.store.snapshot()  # type: ignore[attr-defined]
    for headers, body in deliveries:
        assert harness.webhook(headers, body).outcome == "duplicate"
    assert harness.store.snapshot() == before  # type: ignore[attr-defined]


def test_a_delivery_overtaken_after_its_committed_read_applies_the_event_once():
    """The committed read said "not recorded" (a concurrent delivery of the same event
    committed right after it): the unit of work applies nothing twice, because
    recording the event fails on its key and the attempt rolls back whole; the retry
    finds the record and answers ``duplicate``."""
    harness, deliveries = paid_client()
    store = harness.store
    before = store.snapshot()  # type: ignore[attr-defined]
    read = store.read_committed
    hidden: list[Key] = []

    def overtaken(table: Table, key: Key) -> Committed | None:
        if table is GATEWAY_EVENTS:
            hidden.append(key)
            return None  # as read just before the other delivery's commit
        return read(table, key)

    store.read_committed = overtaken  # type: ignore[method-assign]
    for headers, body in deliveries:
        assert harness.webhook(headers, body).outcome == "duplicate"
    assert len(hidden) == len(deliveries)
    assert store.snapshot() == before  # type: ignore[attr-defined]
    sent = len(harness.mailer.sent)
    harness.portal.deliver_outbox()
    assert len(harness.mailer.sent) == sent
