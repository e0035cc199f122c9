"""Several worker processes on PostgreSQL through the ORM store: each webhook delivered
three times, shuffled across the workers; every event applied once, one onboarding per
contact (signalled once, after commit), nothing lost, and the same final state as one
in-order delivery to a memory store."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.db import connections

from portal_access.contrib.django import models
from portal_access.contrib.django._store import DjangoStore
from portal_access.storage.memory import MemoryStore
from tests.django.conftest import end_other_sessions, requires_postgres
from tests.integration.processes import run_workers
from tests.integration.test_sql_concurrency import (
    DELIVERIES_PER_EVENT,
    KINDS,
    PAID_KINDS,
    Delivery,
    _act,
    _state,
    shuffled_copies,
)
from tests.service.harness import SECRET, START, build, paid_offer, register, sign_up

from .concurrency_workers import handle_deliveries

EVENTS = 300
WORKERS = 4

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def scenario(store):
    """Contacts sign up, register and pay at the sandbox until it has queued EVENTS
    events; the harness, each contact's kind, and the deliveries."""
    h = build(store=store)
    paid_offer(h)
    kinds: dict[str, str] = {}
    number = 0
    while len(h.sandbox.pending_deliveries()) < EVENTS:
        email = f"contact{number}@example.com"
        contact_id = sign_up(h, email=email, first_name=f"C{number}").contact_id
        register(h, email=email)
        kinds[contact_id] = KINDS[number % len(KINDS)]
        _act(h, contact_id, kinds[contact_id])
        number += 1
    deliveries: list[Delivery] = [
        (dict(d.headers), d.body) for d in h.sandbox.pending_deliveries()[:EVENTS]
    ]
    return h, kinds, deliveries


@requires_postgres
@pytest.mark.django_db(transaction=True, databases=["postgres"])
def test_workers_apply_every_event_once_through_the_orm_store():
    store = DjangoStore(using="postgres")
    harness, kinds, deliveries = scenario(store)
    reference, reference_kinds, reference_deliveries = scenario(MemoryStore())
    assert [b for _h, b in deliveries] == [b for _h, b in reference_deliveries]
    for headers, body in reference_deliveries:  # once each, in the vendor's order
        reference.webhook(headers, body)

    copies = shuffled_copies(deliveries)
    database = connections["postgres"].settings_dict["NAME"]
    reports = run_workers(
        handle_deliveries,
        lambda index: (index, database, copies[index::WORKERS], {"now": START, "secret": SECRET}),
        WORKERS,
    )
    errors = [error for report in reports for error in report[1]]
    assert errors == [], errors[0]
    outcomes: Counter[str] = Counter()
    for report in reports:
        outcomes.update(report[2])
    assert outcomes["applied"] + outcomes["ignored"] == EVENTS, outcomes
    assert outcomes["duplicate"] == EVENTS * (DELIVERIES_PER_EVENT - 1)

    events = [json.loads(body) for _h, body in deliveries]
    stored = models.GatewayEvent.objects.using("postgres")
    assert sorted(stored.values_list("event_id", flat=True)) == sorted(e["id"] for e in events)
    paid = {e["data"]["object"]["id"] for e in events if e["data"]["object"]["object"] == "payment"}
    payments = models.Payment.objects.using("postgres").values_list("payment_id", flat=True)
    assert sorted(payments) == sorted(paid)
    numbers = sorted(
        int(n)
        for n in models.Invoice.objects.using("postgres").values_list("number_key", flat=True)
    )
    assert numbers == list(range(1001, 1001 + len(numbers)))
    onboarding = models.OutboxMessage.objects.using("postgres").filter(topic="onboarding.due")
    stored_onboarding = {
        message_id: json.loads(doc)["payload"]["contact_id"]
        for message_id, doc in onboarding.values_list("id", "doc")
    }
    onboarded = Counter(stored_onboarding.values())
    # Signals are at least once (two workers may deliver one pending message): a
    # receiver deduplicating on message.id sees every stored onboarding, and only those.
    signalled = {message_id: contact for report in reports for message_id, contact in report[4]}
    assert signalled == stored_onboarding
    assert not models.OutboxMessage.objects.using("postgres").filter(delivered=False).exists()
    for contact_id, kind in kinds.items():
        if kind in PAID_KINDS:
            assert onboarded[contact_id] == 1, (contact_id, kind)
        elif kind == "ach_returned":
            assert onboarded[contact_id] == 0, (contact_id, kind)

    contacts = sorted(kinds)
    assert contacts == sorted(reference_kinds)
    found = _state(store, contacts, harness.portal.policy)
    expected = _state(reference.store, contacts, reference.portal.policy)
    for contact_id in contacts:
        for key in ("decision", "requirement", "payments", "subscriptions", "invoices"):
            assert found[contact_id][key] == expected[contact_id][key], (contact_id, key)
    retries = sum(report[3] for report in reports)
    repeats = sum(len(report[4]) for report in reports) - len(signalled)
    print(  # noqa: T201 - the figures for the notes (pytest -s)
        f"{WORKERS} workers, {len(contacts)} contacts, {EVENTS} events x "
        f"{DELIVERIES_PER_EVENT}: retries after lost races {retries}, deliveries deferred "
        f"{outcomes['deferred']}, onboarding signals repeated (at least once) {repeats}"
    )
    end_other_sessions("postgres")
