"""Domain events reach Django signals after the transaction commits: once per event,
never for work that rolled back, and inside the host's own atomic block only when that
block commits."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from portal_access import OutboxMessage, PortalAccess
from portal_access.contrib.django import models, portal, signals
from tests.django.conftest import SandboxPortal
from tests.service.harness import ADMIN


class Received:
    """A receiver that keeps what it was sent, and whether the data was committed then."""

    def __init__(self) -> None:
        self.messages: list[OutboxMessage] = []
        self.senders: list[object] = []

    def __call__(self, sender: object, message: OutboxMessage, **_kwargs: Any) -> None:
        self.senders.append(sender)
        self.messages.append(message)


@pytest.fixture
def created(sandbox_portal: SandboxPortal):
    received = Received()
    signals.contact_created.connect(received)
    yield received
    signals.contact_created.disconnect(received)


pytestmark = pytest.mark.django_db(transaction=True)


def test_every_topic_has_its_signal():
    """One signal per event topic the Flask integration signals, named by topic."""
    assert set(signals.by_topic) == {
        "contact.created",
        "invitation.sent",
        "contact.registered",
        "invoice.created",
        "invoice.paid",
        "invoice.voided",
        "payment.recorded",
        "subscription.changed",
        "access.changed",
        "onboarding.due",
        "webhook.processed",
    }
    assert all(signal.topic == topic for topic, signal in signals.by_topic.items())


def test_a_committed_use_case_sends_its_event_once(sandbox_portal, created):
    """create_contact commits, then contact_created is sent once, by the portal, with
    the stored event."""
    sandbox_portal.contact()
    assert [m.payload["contact_id"] for m in created.messages] == ["c-ann"]
    assert created.senders == [portal()]
    assert isinstance(created.senders[0], PortalAccess)
    portal().deliver_outbox()
    assert len(created.messages) == 1  # delivered: never sent again


def test_nothing_is_sent_for_work_the_host_rolled_back(sandbox_portal, created):
    """A use case inside the host's atomic block that then fails sends nothing, and
    leaves nothing behind."""

    def view() -> None:
        with transaction.atomic():
            sandbox_portal.contact()
            raise RuntimeError("the host's view failed")

    with pytest.raises(RuntimeError):
        view()
    assert created.messages == []
    assert not models.Contact.objects.filter(id="c-ann").exists()
    portal().deliver_outbox()
    assert created.messages == []


def test_inside_the_hosts_block_the_signal_waits_for_its_commit(sandbox_portal, created):
    """Inside the host's atomic block (ATOMIC_REQUESTS) the event is sent when the
    outer block commits, not when the use case's savepoint ends."""
    with transaction.atomic():
        sandbox_portal.contact()
        assert created.messages == []
    assert [m.payload["contact_id"] for m in created.messages] == ["c-ann"]


def test_a_receiver_connected_later_gets_later_events(sandbox_portal):
    """Connecting a receiver after the portal was built still subscribes it."""
    sandbox_portal.contact()
    received = Received()
    signals.invitation_sent.connect(received)
    try:
        portal().invite_contact("c-ann", staff=ADMIN)
    finally:
        signals.invitation_sent.disconnect(received)
    assert [m.topic for m in received.messages] == ["invitation.sent"]
