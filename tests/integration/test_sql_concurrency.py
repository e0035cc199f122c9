"""Concurrency with real processes: several workers handle the same 2,000 webhook events,
each delivered three times in shuffled order, on one SQL database. docs/rules.md "Scale":
correctness comes from the database; every effect happens once, nothing is lost, and
no lost race, deadlock or serialization failure reaches a caller.

The expected state comes from the same events handled once each, in order, on the
memory store (the reference): whatever the arrival order, the newest snapshot of each
vendor object must win.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from portal_access import AccessLevel, PaymentMethodKind, PortalPolicy, decide
from portal_access.ports import Store
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from portal_access.storage.sql._urls import database_url
from tests.integration.processes import run_workers
from tests.integration.webhook_workers import WorkerReport, handle_deliveries
from tests.service.harness import (
    CANCEL,
    SECRET,
    START,
    SUCCESS,
    Harness,
    build,
    paid_offer,
    register,
    sign_up,
)
from tests.sql_databases import postgres_schema, requires_postgres, sqlite_url

pytestmark = pytest.mark.slow

EVENTS = 2_000
DELIVERIES_PER_EVENT = 3
SEED = 20_260_302

Delivery = tuple[dict[str, str], bytes]


@attrs.define
class Scenario:
    """A portal whose contacts paid (or not) at the sandbox; the vendor's events queued."""

    harness: Harness
    kinds: dict[str, str]  # contact id -> what happened at the vendor
    deliveries: list[Delivery]


def _pay(h: Harness, contact_id: str, method: PaymentMethodKind) -> str:
    session = h.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    return h.sandbox.pay(session.session_id, method=method)


def _subscription(h: Harness, contact_id: str) -> str:
    return h.sandbox.subscription_ids(contact_id)[-1]


def _act(h: Harness, contact_id: str, kind: str) -> None:
    """What the payer and the vendor do for one contact (its events are only queued)."""
    card, ach = PaymentMethodKind.CARD, PaymentMethodKind.BANK_ACCOUNT
    if kind == "card":
        _pay(h, contact_id, card)
    elif kind == "ach_cleared":
        h.sandbox.settle_ach(_pay(h, contact_id, ach), cleared=True)
    elif kind == "ach_returned":
        h.sandbox.settle_ach(_pay(h, contact_id, ach), cleared=False)
    elif kind == "dispute_won":
        payment = _pay(h, contact_id, card)
        h.sandbox.dispute(payment)
        h.sandbox.close_dispute(payment, won=True)
    elif kind == "refunded":
        payment = _pay(h, contact_id, card)
        h.gateway.refund(payment, amount=None, idempotency_key=f"refund-{contact_id}")
    else:  # "renewals": two paid renewals, a failed one, then the vendor gives up
        _pay(h, contact_id, card)
        subscription = _subscription(h, contact_id)
        h.sandbox.renew(subscription, succeed=True)
        h.sandbox.renew(subscription, succeed=True)
        h.sandbox.renew(subscription, succeed=False)
        h.sandbox.exhaust_retries(subscription)


KINDS = ("card", "ach_cleared", "ach_returned", "dispute_won", "refunded", "renewals")
#: Kinds whose required invoice ends paid whatever the order: onboarding exactly once.
PAID_KINDS = {"card", "ach_cleared", "dispute_won", "renewals"}


def scenario(store: Store) -> Scenario:
    """Sign up, register and pay contacts until the vendor has emitted 2,000 events."""
    h = build(store=store)  # type: ignore[arg-type]
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
    deliveries = [(dict(d.headers), d.body) for d in h.sandbox.pending_deliveries()[:EVENTS]]
    return Scenario(h, kinds, deliveries)


def shuffled_copies(deliveries: list[Delivery]) -> list[Delivery]:
    """Each delivery three times, the events in random order and each event's copies a
    few places apart: dealt out in turn, they reach different workers at the same time."""
    rng = random.Random(SEED)
    rank = list(range(len(deliveries)))
    rng.shuffle(rank)
    keyed = [
        (rank[n] * DELIVERIES_PER_EVENT + rng.uniform(0, 2 * DELIVERIES_PER_EVENT), delivery)
        for n, delivery in enumerate(deliveries)
        for _ in range(DELIVERIES_PER_EVENT)
    ]
    return [delivery for _key, delivery in sorted(keyed, key=lambda item: item[0])]


def _state(store: Store, contact_ids: list[str], policy: PortalPolicy) -> dict[str, Any]:
    """Everything the events may have changed, per contact, comparable across stores."""
    found: dict[str, Any] = {}
    with unit_of_work(store) as uow:
        for contact_id in contact_ids:
            access = uow.access.get(contact_id)
            assert access is not None
            decision = decide(access, policy, START)
            invoices = uow.invoices.for_account(access.account_id)
            found[contact_id] = {
                "decision": (decision.level, decision.reason),
                "requirement": access.requirement,
                "payments": uow.payments.for_account(access.account_id),
                "subscriptions": uow.subscriptions.for_contact(contact_id),
                "invoices": sorted((i.id, i.status, i.amount_paid) for i in invoices),
            }
    return found


def _sql_rows(url: str) -> dict[str, list[Any]]:
    engine = sa.create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            return {
                "events": connection.execute(sa.text("SELECT event_id FROM gateway_events")).all(),
                "onboarding": connection.execute(
                    sa.text("SELECT doc FROM outbox WHERE topic = 'onboarding.due'")
                ).all(),
                "numbers": connection.execute(sa.text("SELECT number_key FROM invoices")).all(),
                "payments": connection.execute(sa.text("SELECT payment_id FROM payments")).all(),
            }
    finally:
        engine.dispose()


def _run_workers(url: str, deliveries: list[Delivery], workers: int) -> list[WorkerReport]:
    settings = {"now": START, "secret": SECRET}
    return run_workers(
        handle_deliveries,
        lambda index: (index, url, deliveries[index::workers], settings),
        workers,
    )


def _check(url: str, workers: int) -> None:
    began = time.perf_counter()
    with SqlStore(url, create=True) as store:
        sql = scenario(store)
    reference = scenario(MemoryStore())
    assert [body for _h, body in sql.deliveries] == [body for _h, body in reference.deliveries]
    for headers, body in reference.deliveries:  # once each, in the vendor's order
        reference.harness.webhook(headers, body)
    setup = time.perf_counter() - began

    copies = shuffled_copies(sql.deliveries)
    began = time.perf_counter()
    reports = _run_workers(url, copies, workers)
    handling = time.perf_counter() - began

    errors = [error for report in reports for error in report[1]]
    assert errors == [], errors[0]
    outcomes: Counter[str] = Counter()
    for report in reports:
        outcomes.update(report[2])
    assert outcomes["applied"] + outcomes["ignored"] == EVENTS, outcomes  # each processed once
    assert outcomes["duplicate"] == EVENTS * (DELIVERIES_PER_EVENT - 1)
    deferred = outcomes["deferred"]  # renewal payments that overtook their invoice, resent

    rows = _sql_rows(url)
    events = [json.loads(body) for _h, body in sql.deliveries]
    assert sorted(row.event_id for row in rows["events"]) == sorted(e["id"] for e in events)
    paid = {e["data"]["object"]["id"] for e in events if e["data"]["object"]["object"] == "payment"}
    assert sorted(row.payment_id for row in rows["payments"]) == sorted(paid)  # one row each
    numbers = sorted(int(row.number_key) for row in rows["numbers"])
    assert numbers == list(range(1001, 1001 + len(numbers)))  # rollbacks gave numbers back
    onboarded = Counter(json.loads(row.doc)["payload"]["contact_id"] for row in rows["onboarding"])
    assert max(onboarded.values()) == 1
    for contact_id, kind in sql.kinds.items():
        if kind in PAID_KINDS:
            assert onboarded[contact_id] == 1, (contact_id, kind)
        elif kind == "ach_returned":
            assert onboarded[contact_id] == 0, (contact_id, kind)

    contacts = sorted(sql.kinds)
    with SqlStore(url) as store:
        found = _state(store, contacts, sql.harness.portal.policy)
    expected = _state(reference.harness.store, contacts, reference.harness.portal.policy)
    for contact_id in contacts:
        mine, theirs = found[contact_id], expected[contact_id]
        for key in ("decision", "requirement", "payments", "subscriptions", "invoices"):
            assert mine[key] == theirs[key], (contact_id, sql.kinds[contact_id], key)
    full = sum(found[c]["decision"][0] is AccessLevel.FULL for c in contacts)
    retries = sum(report[3] for report in reports)
    print(  # noqa: T201 - the figures for the notes (pytest -s)
        f"{workers} workers, {len(contacts)} contacts, {EVENTS} events x "
        f"{DELIVERIES_PER_EVENT}: setup {setup:.1f}s, handling {handling:.1f}s, "
        f"retries after lost races {retries}, deliveries deferred and resent {deferred}, "
        f"contacts with full access {full}"
    )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


def test_sqlite_four_workers_apply_every_event_once(tmp_path: Path) -> None:
    """4 processes on one SQLite file: 2,000 events x 3 shuffled deliveries, every effect once."""
    _check(sqlite_url(tmp_path), 4)


@requires_postgres
def test_postgres_eight_workers_apply_every_event_once(postgres_url: str) -> None:
    """8 processes on PostgreSQL: 2,000 events x 3 shuffled deliveries, every effect once."""
    _check(postgres_url, 8)
