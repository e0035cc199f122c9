"""What one verified webhook costs the database, counted (issue #20; no timings): the
statements and commits of a Stripe ``payment_intent`` webhook on a SQLite ``SqlStore``,
in the steady state, with no subscriber and with a subscriber to every event. The
delivered marks of one webhook's events ride the next webhook's transaction, so a
subscriber costs a few statements and no commit. Before its unit of work a webhook reads
whether its event was recorded already, once, outside any transaction (the store's
committed read); a duplicate stops there. ``benchmarks/webhooks.py`` prints the same
counts beside its timings; docs/performance.md explains each statement."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe

from portal_access import (
    AccountClass,
    AchPolicy,
    Charge,
    Money,
    OutboxMessage,
    PaymentMethodKind,
    PortalPolicy,
)
from portal_access._portal import PortalAccess
from portal_access._service.signup import KickoffForm
from portal_access.adapters import ScryptPasswordHasher
from portal_access.gateways.stripe import StripeGateway
from portal_access.ports import Committed, Key, Table
from portal_access.repositories import unit_of_work
from portal_access.storage.sql import SqlStore
from portal_access.testing.stripe import payment_intent_object
from tests.sql_databases import POSTGRES_MARKS, postgres_schema

SECRET = "whsec_statements"
#: Statements of the unit of work (``BEGIN`` included), committed reads outside it, and
#: commits of one webhook, steady state.
NO_SUBSCRIBER = (8, 1, 1)
A_SUBSCRIBER = (11, 1, 1)


class Counted:
    """The statements (each ``executemany`` once) and commits on a store's engine, and
    the store's committed reads (its own connection, past the engine)."""

    def __init__(self, store: SqlStore) -> None:
        self.statements: list[str] = []
        self.commits = 0
        self.committed_reads: list[str] = []
        sa.event.listen(store._engine, "before_cursor_execute", self._statement)
        sa.event.listen(store._engine, "commit", self._commit)
        read = store.read_committed

        def counted_read(table: Table, key: Key) -> Committed | None:
            self.committed_reads.append(table.name)
            return read(table, key)

        store.read_committed = counted_read  # type: ignore[method-assign]

    def _statement(self, _conn: object, _cursor: object, sql: str, *_rest: object) -> None:
        self.statements.append(sql)

    def _commit(self, _conn: object) -> None:
        self.commits += 1

    def reset(self) -> None:
        self.statements, self.commits, self.committed_reads = [], 0, []


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    with SqlStore(tmp_path / "portal.db", create=True) as found:
        yield found


def client_portal(store: SqlStore) -> tuple[PortalAccess, str]:
    """A portal on ``store`` with one client whose invoice is open; the invoice's id."""
    gateway = StripeGateway(api_key="sk_test_statements", webhook_secret=SECRET,
                            api_base="http://127.0.0.1:9")  # fmt: skip
    portal = PortalAccess(store=store, gateways=[gateway], hasher=ScryptPasswordHasher(n=16),
                          policy=PortalPolicy(ach=AchPolicy.GRANT_ON_CLEARING),
                          background=lambda job: job(), development=True)  # fmt: skip
    portal.save_account_class(AccountClass(id="retail", name="Retail"))
    portal.create_offer("Onboarding", gateway="stripe", currency="USD",
                        one_time=Charge("Setup fee", Money(25000, "USD")),
                        account_class_id="retail", offer_id="offer-1")  # fmt: skip
    signup = portal.submit_kickoff_form(
        "offer-1", KickoffForm(first_name="Ann", last_name="Lee", email="ann@example.com")
    )
    assert signup.invoice_id is not None
    return portal, signup.invoice_id


def deliveries(invoice_id: str, count: int) -> list[tuple[dict[str, str], bytes]]:
    """Signed ``payment_intent.processing`` events of one payment, each newer."""
    now, signed = int(time.time()), []
    for n in range(count):
        intent = payment_intent_object(
            intent_id="pi_counted", amount=Money(25000, "USD"), status="processing",
            method=PaymentMethodKind.BANK_ACCOUNT, metadata={"invoice_id": invoice_id},
        )  # fmt: skip
        event = {"id": f"evt_counted_{n:03d}", "object": "event", "created": now - count + n,
                 "type": "payment_intent.processing", "api_version": stripe.api_version,
                 "data": {"object": intent}, "livemode": False}  # fmt: skip
        body = json.dumps(event).encode()
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET, now)
        signed.append(({"Stripe-Signature": header}, body))
    return signed


def per_webhook(store: SqlStore, *, subscribe: bool) -> tuple[float, float, float, Counted]:
    """Statements, committed reads and commits per webhook over ten, after five to
    reach the steady state."""
    portal, invoice_id = client_portal(store)
    received: list[OutboxMessage] = []
    if subscribe:
        portal.subscribe(received.append)
    portal.deliver_outbox()
    signed = deliveries(invoice_id, 15)
    for headers, body in signed[:5]:
        assert portal.handle_webhook("stripe", headers, body).applied
    counted = Counted(store)
    for headers, body in signed[5:]:
        assert portal.handle_webhook("stripe", headers, body).applied
    assert not subscribe or len(received) >= 2 * 15
    statements, reads = len(counted.statements) / 10, len(counted.committed_reads) / 10
    return statements, reads, counted.commits / 10, counted


def test_a_webhook_with_no_subscriber_is_one_commit(store: SqlStore):
    """No subscriber: one transaction, and nothing written to the outbox."""
    statements, reads, commits, counted = per_webhook(store, subscribe=False)
    assert (statements, reads, commits) == NO_SUBSCRIBER
    assert set(counted.committed_reads) == {"gateway_events"}
    assert not any("FROM gateway_events" in sql for sql in counted.statements)
    assert not any(
        sql.startswith(("INSERT INTO outbox", "UPDATE outbox")) for sql in counted.statements
    )


def test_a_webhook_with_a_subscriber_is_one_commit_too(store: SqlStore):
    """A subscriber to every event: still one commit per webhook; its events are written
    (claimed) in it, and the marks of the webhook before it ride it in one UPDATE."""
    statements, reads, commits, counted = per_webhook(store, subscribe=True)
    assert (statements, reads, commits) == A_SUBSCRIBER
    marks = [sql for sql in counted.statements if sql.startswith("UPDATE outbox")]
    assert len(marks) == 10  # one per webhook, however many events it carried


def test_the_marks_land_with_the_next_webhook_and_deliver_outbox(store: SqlStore):
    """After a webhook its events are delivered but still claimed (pending); the next
    webhook's one commit marks them; deliver_outbox writes the last ones."""
    portal, invoice_id = client_portal(store)
    portal.subscribe(lambda message: None)
    portal.deliver_outbox()
    first, second = deliveries(invoice_id, 2)
    counted = Counted(store)
    portal.handle_webhook("stripe", *first)
    with unit_of_work(store) as uow:
        after_first = {message.id for message in uow.outbox.pending(20)}
    assert after_first  # delivered, claimed, not marked yet
    counted.reset()
    portal.handle_webhook("stripe", *second)
    assert counted.commits == 1
    with unit_of_work(store) as uow:
        after_second = {message.id for message in uow.outbox.pending(20)}
    assert not after_first & after_second
    assert portal.deliver_outbox() == 0
    with unit_of_work(store) as uow:
        assert uow.outbox.pending(20) == ()


def test_a_duplicate_is_one_committed_read_and_no_transaction(store: SqlStore):
    """A vendor's retry of an event already recorded: one read of the record outside
    any transaction; no statement, no write lock, no commit."""
    portal, invoice_id = client_portal(store)
    (delivery,) = deliveries(invoice_id, 1)
    assert portal.handle_webhook("stripe", *delivery).applied
    counted = Counted(store)
    for _ in range(3):
        assert portal.handle_webhook("stripe", *delivery).outcome == "duplicate"
    assert counted.committed_reads == ["gateway_events"] * 3
    assert counted.statements == []
    assert counted.commits == 0


@pytest.mark.parametrize("mark", [pytest.param("postgres", marks=POSTGRES_MARKS)])
def test_a_duplicate_on_postgresql_checks_out_no_pooled_connection(mark: str):
    """On PostgreSQL too a duplicate is the committed read alone (one prepared
    statement on its own connection): no connection leaves the pool, so no ``BEGIN``,
    no outbox claim, no ``COMMIT``."""
    with postgres_schema() as url, SqlStore(url, create=True) as store:
        portal, invoice_id = client_portal(store)
        (delivery,) = deliveries(invoice_id, 1)
        assert portal.handle_webhook("stripe", *delivery).applied
        checkouts: list[object] = []
        sa.event.listen(store._engine, "checkout", lambda *args: checkouts.append(args))
        counted = Counted(store)
        for _ in range(3):
            assert portal.handle_webhook("stripe", *delivery).outcome == "duplicate"
        assert counted.committed_reads == ["gateway_events"] * 3
        assert (checkouts, counted.statements, counted.commits) == ([], [], 0)
