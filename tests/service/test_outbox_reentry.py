"""A subscriber that runs a use case while handling an event: every message is still
delivered once, in order, and nothing recurses."""

from __future__ import annotations

from collections import Counter

from portal_access import Account, AccountClass, Contact, EmailAddress, OutboxMessage, PortalAccess
from portal_access.adapters import MemoryMailer
from portal_access.storage.memory import MemoryStore


def test_a_subscriber_running_a_use_case_gets_each_message_once():
    """Each contact.created is handled once, including the one its own handler caused."""
    portal = PortalAccess(store=MemoryStore(), gateways=[], mailer=MemoryMailer(), development=True)
    commercial = AccountClass(id="k-1", name="Commercial")
    portal.save_account_class(commercial)
    portal.save_account(Account(id="a-1", number="A-1", name="Acme", account_class=commercial))
    seen: Counter[str] = Counter()
    topics: list[str] = []

    def on_event(message: OutboxMessage) -> None:
        seen[message.id] += 1
        topics.append(message.payload.get("contact_id", ""))
        if message.payload.get("contact_id") == "c-1":  # the handler creates a second contact
            portal.create_contact(
                Contact(
                    id="c-2",
                    account_id="a-1",
                    first_name="Di",
                    email=EmailAddress.parse("di@example.com"),
                )
            )

    portal.subscribe(on_event, topic="contact.created")
    portal.create_contact(
        Contact(
            id="c-1", account_id="a-1", first_name="Bo", email=EmailAddress.parse("bo@example.com")
        )
    )
    assert topics == ["c-1", "c-2"]
    assert set(seen.values()) == {1}
    assert portal.deliver_outbox() == 0
