"""The storage contract for processed gateway events, the outbox and idempotency results."""

from __future__ import annotations

from datetime import timedelta, timezone

import attrs
import pytest

from portal_access._domain.errors import ConflictError
from portal_access.ports import Store
from portal_access.repositories import unit_of_work
from portal_access.testing._storage_contract import values
from portal_access.testing._storage_contract.transactions import roll_back

__all__ = ["MessageContract"]


class MessageContract:
    """What every store's gateway-event, outbox and idempotency repositories guarantee."""

    def test_gateway_events_record_first_time(self, store: Store) -> None:
        """gateway_events.record of a new event returns True and keeps its outcome."""
        with unit_of_work(store) as uow:
            assert uow.gateway_events.record("stripe", "evt_1", "applied", values.NOW) is True
        with unit_of_work(store) as uow:
            assert uow.gateway_events.outcome("stripe", "evt_1") == "applied"

    def test_gateway_events_record_only_once(self, store: Store) -> None:
        """gateway_events.record of a recorded event returns False and keeps the first outcome."""
        with unit_of_work(store) as uow:
            uow.gateway_events.record("stripe", "evt_1", "applied", values.NOW)
            assert uow.gateway_events.record("stripe", "evt_1", "other", values.NOW) is False
        with unit_of_work(store) as uow:
            assert uow.gateway_events.record("stripe", "evt_1", "again", values.NOW) is False
            assert uow.gateway_events.outcome("stripe", "evt_1") == "applied"

    def test_gateway_events_keyed_by_gateway_too(self, store: Store) -> None:
        """The same event id from two gateways is two events; an unseen one has no outcome."""
        with unit_of_work(store) as uow:
            uow.gateway_events.record("stripe", "evt_1", "applied", values.NOW)
            assert uow.gateway_events.record("square", "evt_1", "ignored", values.NOW) is True
        with unit_of_work(store) as uow:
            assert uow.gateway_events.outcome("square", "evt_1") == "ignored"
            assert uow.gateway_events.outcome("paypal", "evt_1") is None

    def test_gateway_events_remember_a_removed_method_once(self, store: Store) -> None:
        """record_removed_method remembers (gateway, method) once, apart from events with
        the same id and from other gateways; method_removed reads it back."""
        with unit_of_work(store) as uow:
            assert uow.gateway_events.record_removed_method("stripe", "pm_1", values.NOW) is True
            assert uow.gateway_events.record_removed_method("stripe", "pm_1", values.NOW) is False
            uow.gateway_events.record("stripe", "pm_2", "applied", values.NOW)
        with unit_of_work(store) as uow:
            assert uow.gateway_events.method_removed("stripe", "pm_1") is True
            assert uow.gateway_events.method_removed("square", "pm_1") is False
            assert uow.gateway_events.method_removed("stripe", "pm_2") is False
            assert uow.gateway_events.outcome("stripe", "pm_1") is None

    def test_gateway_events_record_rolls_back_with_its_effects(self, store: Store) -> None:
        """An event recorded in a rolled-back unit of work is recorded afresh by the retry."""
        roll_back(store, lambda uow: uow.gateway_events.record("stripe", "evt_1", "x", values.NOW))
        with unit_of_work(store) as uow:
            assert uow.gateway_events.outcome("stripe", "evt_1") is None
            assert uow.gateway_events.record("stripe", "evt_1", "applied", values.NOW) is True

    def test_outbox_pending_oldest_first_then_id(self, store: Store) -> None:
        """outbox.pending lists undelivered messages oldest instant first, then by id."""
        later = values.NOW + timedelta(minutes=1)
        earlier_elsewhere = (values.NOW - timedelta(minutes=1)).astimezone(
            timezone(timedelta(hours=2))
        )
        with unit_of_work(store) as uow:
            uow.outbox.add(values.message("m-c", occurred_at=later))
            uow.outbox.add(values.message("m-b", occurred_at=values.NOW))
            uow.outbox.add(values.message("m-z", occurred_at=earlier_elsewhere))
            uow.outbox.add(values.message("m-a", occurred_at=values.NOW))
        with unit_of_work(store) as uow:
            assert [m.id for m in uow.outbox.pending(10)] == ["m-z", "m-a", "m-b", "m-c"]

    def test_outbox_pending_respects_limit(self, store: Store) -> None:
        """outbox.pending returns at most ``limit`` messages, the oldest ones."""
        with unit_of_work(store) as uow:
            for minute in range(5):
                at = values.NOW + timedelta(minutes=minute)
                uow.outbox.add(values.message(f"m-{minute}", occurred_at=at))
        with unit_of_work(store) as uow:
            assert [m.id for m in uow.outbox.pending(2)] == ["m-0", "m-1"]

    def test_outbox_pending_keeps_the_message(self, store: Store) -> None:
        """outbox.pending returns a message as added: topic, payload, time and zero attempts."""
        added = values.message(payload={"contact_id": "c-1", "to": ["ann@example.com"], "n": 2})
        with unit_of_work(store) as uow:
            uow.outbox.add(added)
        with unit_of_work(store) as uow:
            assert list(uow.outbox.pending(10)) == [added]

    def test_outbox_added_delivered_is_never_pending(self, store: Store) -> None:
        """outbox.add of a message already delivered keeps it, but never as pending."""
        delivered = attrs.evolve(values.message("m-1"), delivered=True)
        with unit_of_work(store) as uow:
            uow.outbox.add(delivered)
            uow.outbox.add(values.message("m-2"))
        with unit_of_work(store) as uow:
            assert [m.id for m in uow.outbox.pending(10)] == ["m-2"]
            assert uow.outbox.get("m-1") == delivered

    def test_outbox_mark_delivered_leaves_pending(self, store: Store) -> None:
        """outbox.mark_delivered takes the message out of pending, email or not."""
        with unit_of_work(store) as uow:
            uow.outbox.add(values.message("m-1"))
            uow.outbox.add(values.message("m-2", topic="email.requested"))
            uow.outbox.add(values.message("m-3"))
        with unit_of_work(store) as uow:
            uow.outbox.mark_delivered("m-1")
            uow.outbox.mark_delivered("m-2")
        with unit_of_work(store) as uow:
            assert [m.id for m in uow.outbox.pending(10)] == ["m-3"]

    def test_outbox_get_and_payload_clearing(self, store: Store) -> None:
        """outbox.get finds any message; delivering an email clears its payload only."""
        with unit_of_work(store) as uow:
            uow.outbox.add(values.message("m-1", payload={"contact_id": "c-1"}))
            uow.outbox.add(values.message("m-2", topic="email.requested", payload={"text": "t"}))
        with unit_of_work(store) as uow:
            uow.outbox.mark_delivered("m-1")
            uow.outbox.mark_delivered("m-2")
        with unit_of_work(store) as uow:
            first, second = uow.outbox.get("m-1"), uow.outbox.get("m-2")
            assert first is not None
            assert second is not None
            assert first.delivered
            assert first.payload == {"contact_id": "c-1"}
            assert second.payload == {"cleared": True}
            assert uow.outbox.get("m-none") is None

    def test_outbox_mark_all_delivered_marks_each_at_its_instant(self, store: Store) -> None:
        """outbox.mark_all_delivered marks each message delivered at its own instant
        (retention counts from it), clears an email's payload only, and skips a message
        that is not stored; the others stay pending."""
        later = values.NOW + timedelta(seconds=7)
        plain = values.message("m-1", payload={"contact_id": "c-1"})
        email = values.message("m-2", topic="email.requested", payload={"text": "t"})
        with unit_of_work(store) as uow:
            for message in (plain, email, values.message("m-3")):
                uow.outbox.add(message, due_at=values.NOW, claimed_by="w-1")
        with unit_of_work(store) as uow:
            gone = values.message("m-gone")
            uow.outbox.mark_all_delivered([(plain, values.NOW), (gone, later), (email, later)])
        with unit_of_work(store) as uow:
            first, second = uow.outbox.get("m-1"), uow.outbox.get("m-2")
            assert first is not None
            assert second is not None
            assert (first.delivered, first.payload) == (True, {"contact_id": "c-1"})
            assert (second.delivered, second.payload) == (True, {"cleared": True})
            assert (uow.outbox.due_at("m-1"), uow.outbox.due_at("m-2")) == (values.NOW, later)
            assert [m.id for m in uow.outbox.pending(10)] == ["m-3"]
            assert uow.outbox.get("m-gone") is None

    def test_outbox_mark_failed_counts_attempts(self, store: Store) -> None:
        """outbox.mark_failed adds one attempt and the message stays pending."""
        with unit_of_work(store) as uow:
            uow.outbox.add(values.message("m-1"))
        for _ in range(2):
            with unit_of_work(store) as uow:
                uow.outbox.mark_failed("m-1")
        with unit_of_work(store) as uow:
            pending = list(uow.outbox.pending(10))
            assert [(m.id, m.attempts, m.delivered) for m in pending] == [("m-1", 2, False)]

    def test_outbox_claim_takes_due_messages_once(self, store: Store) -> None:
        """outbox.claim takes the messages due now, soonest first, up to the limit; a
        claimed one is not due again until its lease ends, then any claim takes it."""
        lease = values.NOW + timedelta(minutes=5)
        with unit_of_work(store) as uow:
            for minute in range(3):
                at = values.NOW - timedelta(minutes=minute)
                uow.outbox.add(values.message(f"m-{minute}", occurred_at=at))
            uow.outbox.add(values.message("m-later", occurred_at=values.NOW + timedelta(1)))
        with unit_of_work(store) as uow:
            first = uow.outbox.claim(now=values.NOW, until=lease, claim="w-1", limit=2)
        assert [m.id for m in first] == ["m-2", "m-1"]
        with unit_of_work(store) as uow:
            second = uow.outbox.claim(now=values.NOW, until=lease, claim="w-2", limit=10)
            assert uow.outbox.claimed_by("m-1") == "w-1"
            assert uow.outbox.due_at("m-1") == lease
        assert [m.id for m in second] == ["m-0"]
        with unit_of_work(store) as uow:
            assert uow.outbox.claim(now=values.NOW, until=lease, claim="w-3", limit=10) == ()
            after = uow.outbox.claim(now=lease, until=lease + timedelta(5), claim="w-3", limit=9)
        assert sorted(m.id for m in after) == ["m-0", "m-1", "m-2"]

    def test_outbox_added_claimed_is_not_due_until_its_lease_ends(self, store: Store) -> None:
        """outbox.add with due_at and claimed_by writes a message a delivery holds."""
        lease = values.NOW + timedelta(minutes=5)
        with unit_of_work(store) as uow:
            uow.outbox.add(values.message("m-1"), due_at=lease, claimed_by="w-1")
        with unit_of_work(store) as uow:
            assert uow.outbox.claim(now=values.NOW, until=lease, claim="w-2", limit=5) == ()
            assert uow.outbox.claimed_by("m-1") == "w-1"
            assert [m.id for m in uow.outbox.pending(5)] == ["m-1"]

    def test_outbox_mark_failed_backs_off_only_for_its_claim(self, store: Store) -> None:
        """mark_failed under a claim counts the attempt and sets the retry, unless the
        message has since been claimed by another worker or delivered."""
        lease, retry = values.NOW + timedelta(minutes=5), values.NOW + timedelta(minutes=1)
        with unit_of_work(store) as uow:
            uow.outbox.add(values.message("m-1"), due_at=lease, claimed_by="w-1")
            uow.outbox.add(values.message("m-2"), due_at=lease, claimed_by="w-1")
        with unit_of_work(store) as uow:
            assert uow.outbox.mark_failed("m-1", retry_at=retry, claim="w-1") is True
            assert uow.outbox.mark_failed("m-2", retry_at=retry, claim="w-other") is False
        with unit_of_work(store) as uow:
            assert uow.outbox.due_at("m-1") == retry
            assert uow.outbox.claimed_by("m-1") is None
            assert [(m.id, m.attempts) for m in uow.outbox.pending(5)] == [("m-1", 1), ("m-2", 0)]
            uow.outbox.mark_delivered("m-2", at=retry)
        with unit_of_work(store) as uow:
            assert uow.outbox.mark_failed("m-2", retry_at=retry) is False
            delivered = uow.outbox.get("m-2")
            assert delivered is not None
            assert (delivered.delivered, delivered.attempts) == (True, 0)

    def test_outbox_prune_deletes_delivered_messages_only(self, store: Store) -> None:
        """outbox.prune deletes messages delivered before the cutoff, never an undelivered
        one however old."""
        old = values.NOW - timedelta(days=400)
        with unit_of_work(store) as uow:
            for name in ("m-old", "m-recent", "m-waiting"):
                uow.outbox.add(values.message(name, occurred_at=old))
            uow.outbox.mark_delivered("m-old", at=old)
            uow.outbox.mark_delivered("m-recent", at=values.NOW)
        with unit_of_work(store) as uow:
            assert uow.outbox.prune(values.NOW - timedelta(days=1), 10) == 1
        with unit_of_work(store) as uow:
            assert uow.outbox.get("m-old") is None
            assert uow.outbox.get("m-recent") is not None
            assert [m.id for m in uow.outbox.pending(5)] == ["m-waiting"]
            assert uow.outbox.prune(values.NOW + timedelta(days=1), 10) == 1
            assert [m.id for m in uow.outbox.pending(5)] == ["m-waiting"]

    def test_gateway_events_prune_deletes_the_oldest_first(self, store: Store) -> None:
        """gateway_events.prune deletes records processed before the cutoff, oldest
        first, at most ``limit``; later ones stay recorded."""
        with unit_of_work(store) as uow:
            for days in (90, 60, 45, 1):
                at = values.NOW - timedelta(days=days)
                uow.gateway_events.record("stripe", f"evt_{days}", "applied", at)
        cutoff = values.NOW - timedelta(days=30)
        with unit_of_work(store) as uow:
            assert uow.gateway_events.prune(cutoff, 2) == 2
        with unit_of_work(store) as uow:
            assert uow.gateway_events.outcome("stripe", "evt_90") is None
            assert uow.gateway_events.outcome("stripe", "evt_45") == "applied"
            assert uow.gateway_events.prune(cutoff, 10) == 1
            assert uow.gateway_events.outcome("stripe", "evt_1") == "applied"

    def test_idempotency_put_then_get(self, store: Store) -> None:
        """idempotency.put stores the result under the key; get of another key is None."""
        with unit_of_work(store) as uow:
            uow.idempotency.put("key-1", '{"ok":true}')
        with unit_of_work(store) as uow:
            assert uow.idempotency.get("key-1") == '{"ok":true}'
            assert uow.idempotency.get("key-2") is None

    def test_idempotency_put_taken_key_raises(self, store: Store) -> None:
        """idempotency.put on a taken key raises ConflictError and keeps the first result."""
        with unit_of_work(store) as uow:
            uow.idempotency.put("key-1", "first")
        with pytest.raises(ConflictError), unit_of_work(store) as uow:
            uow.idempotency.put("key-1", "second")
        with unit_of_work(store) as uow:
            assert uow.idempotency.get("key-1") == "first"
