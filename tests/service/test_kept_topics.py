"""Topics a host relies on are declared when it builds PortalAccess, so every process
stores them whatever it subscribed to (issue #13, item 3): a web process that
subscribes to nothing still stores ``contact.created``, and leaves it to the worker
that subscribes; before, the event was gone."""

from __future__ import annotations

import pytest

from portal_access import (
    Account,
    AccountClass,
    ConfigurationError,
    Contact,
    EmailAddress,
    OutboxMessage,
    PortalAccess,
    PortalLinks,
)
from portal_access.adapters import MemoryMailer
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore

LINKS = PortalLinks(base_url="https://portal.example.com")


def process(store: MemoryStore, **options: object) -> PortalAccess:
    """One process's portal on the shared store."""
    return PortalAccess(store=store, gateways=[], mailer=MemoryMailer(), links=LINKS, **options)  # type: ignore[arg-type]


def create_contact(web: PortalAccess) -> None:
    clients = AccountClass(id="k-1", name="Clients")
    web.save_account_class(clients)
    web.save_account(Account(id="a-1", number="A-1", name="Acme", account_class=clients))
    web.create_contact(
        Contact(id="c-1", account_id="a-1", first_name="Bo", email=EmailAddress.parse("bo@x.io"))
    )


def test_a_declared_topic_reaches_the_worker_that_subscribes():
    store = MemoryStore()
    web = process(store, topics=["contact.created"])
    worker = process(store, topics=["contact.created"])
    seen: list[OutboxMessage] = []
    worker.subscribe(seen.append, topic="contact.created")
    create_contact(web)
    assert web.deliver_outbox() == 0  # the web process subscribes to nothing: it leaves it
    assert worker.deliver_outbox() == 1
    assert [m.payload["contact_id"] for m in seen] == ["c-1"]
    assert worker.deliver_outbox() == 0


def test_an_undeclared_topic_nobody_here_receives_is_not_stored():
    """Without the declaration, the web process stores nothing for the worker."""
    store = MemoryStore()
    web, worker = process(store), process(store)
    seen: list[OutboxMessage] = []
    worker.subscribe(seen.append, topic="contact.created")
    create_contact(web)
    assert worker.deliver_outbox() == 0
    assert seen == []
    with unit_of_work(store) as uow:
        assert uow.outbox.pending(10) == ()


def test_unknown_topics_are_refused_naming_the_known_ones():
    for topics in (["onboarding.due", "onboarding.done"], [3], "contact.typo"):
        with pytest.raises(ConfigurationError) as raised:
            process(MemoryStore(), topics=topics)
        assert raised.value.field == "topics"
        assert "onboarding.due" in str(raised.value)


def test_one_topic_as_a_string_is_one_topic():
    process(MemoryStore(), topics="onboarding.due")
