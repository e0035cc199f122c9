"""The sandbox vendor's stories: what paying, clearing, renewing and disputing emit."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from portal_access._domain.billing import InvoiceLine, InvoiceStatus, LineKind, Plan
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
from portal_access._domain.errors import (
    ConfigurationError,
    GatewayRejectedError,
    WebhookVerificationError,
)
from portal_access._domain.gateway_events import GatewayEvent, renewal_invoice_id
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.ports import PaymentGateway
from portal_access.testing.sandbox import SandboxWebhooks

SECRET = "whsec_sim"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLAN = Plan(id="p-monthly", name="Portal monthly", amount=Money(4900, "USD"))
SETUP = InvoiceLine("Setup fee", Money(25000, "USD"), LineKind.ONE_TIME)
CARD, ACH = PaymentMethodKind.CARD, PaymentMethodKind.BANK_ACCOUNT
ACTIVE, PAST_DUE = SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE


class ManualClock:
    """A clock that stands still until told to move."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class Received:
    """A webhook endpoint that verifies every delivery and keeps what it parsed."""

    def __init__(self, gateway: SandboxGateway) -> None:
        self.gateway = gateway
        self.events: list[GatewayEvent] = []

    def __call__(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        event = self.gateway.parse_webhook(headers, body)
        self.events.append(event)
        return event

    @property
    def types(self) -> list[str]:
        return [event.event_type for event in self.events]

    def payments(self) -> list[tuple[PaymentStatus, str]]:
        return [(p.status, p.invoice_id) for e in self.events for p in e.payments]

    def subscriptions(self) -> list[tuple[str, SubscriptionStatus, datetime | None]]:
        return [
            (r.snapshot.subscription_id, r.snapshot.status, r.snapshot.renewal_failed_at)
            for e in self.events
            for r in e.subscriptions
        ]

    def renewals(self) -> list[tuple[str, InvoiceStatus]]:
        return [(r.vendor_invoice_id, r.status) for e in self.events for r in e.renewals]

    def clear(self) -> None:
        self.events.clear()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def gateway(clock: ManualClock) -> SandboxGateway:
    return SandboxGateway(webhook_secret=SECRET, clock=clock)


@pytest.fixture
def received(gateway: SandboxGateway) -> Received:
    endpoint = Received(gateway)
    gateway.attach(endpoint)
    return endpoint


def request(key: str = "k-1", **changes: object) -> CheckoutRequest:
    base = CheckoutRequest(
        purpose=CheckoutPurpose.REQUIRED_PAYMENT,
        currency="USD",
        success_url="https://portal.example/paid",
        cancel_url="https://portal.example/cancel",
        idempotency_key=key,
        contact_id="c-1",
        invoice_id="inv-1",
        lines=(SETUP,),
        plan=PLAN,
        payment_methods=frozenset({CARD, ACH}),
    )
    return attrs.evolve(base, **changes)


def subscribe(gateway: SandboxGateway, received: Received) -> str:
    """A paid card checkout with the plan; returns the subscription id."""
    gateway.pay(gateway.start_checkout(request()).session_id)
    [(subscription_id, _, _)] = received.subscriptions()
    received.clear()
    return subscription_id


# -- paying ------------------------------------------------------------------------------


def test_the_sandbox_is_a_payment_gateway(gateway: SandboxGateway):
    """The sandbox implements the PaymentGateway port and names itself "sandbox"."""
    assert isinstance(gateway, PaymentGateway)
    assert gateway.name == "sandbox"


def test_a_paid_card_checkout_reports_the_payment_then_the_active_subscription(
    gateway: SandboxGateway, received: Received
):
    """Seed 000: the first invoice carries both charges; paying it starts the plan."""
    session = gateway.start_checkout(request())
    assert session.url == f"https://sandbox.portal-access.invalid/checkout/{session.session_id}"
    payment_id = gateway.pay(session.session_id)
    assert received.types == ["payment.succeeded", "subscription.updated"]
    [payment] = received.events[0].payments
    assert (payment.payment_id, payment.invoice_id, payment.amount) == (
        payment_id,
        "inv-1",
        Money(29900, "USD"),
    )
    assert received.events[0].checkout_session_id == session.session_id
    [report] = received.events[1].subscriptions
    assert (report.contact_id, report.snapshot.plan_id, report.snapshot.status) == (
        "c-1",
        "p-monthly",
        ACTIVE,
    )


def test_a_declined_card_fails_and_leaves_the_page_open(
    gateway: SandboxGateway, received: Received
):
    """A decline reports a failed payment, starts no subscription, and the payer may retry."""
    session = gateway.start_checkout(request())
    gateway.pay(session.session_id, succeed=False)
    assert received.payments() == [(PaymentStatus.FAILED, "inv-1")]
    assert received.subscriptions() == []
    gateway.pay(session.session_id)
    assert received.types[-2:] == ["payment.succeeded", "subscription.updated"]


def test_an_ach_payment_processes_then_clears(gateway: SandboxGateway, received: Received):
    """Seed 000 (ACH): processing with an incomplete subscription, then cleared and active."""
    payment_id = gateway.pay(gateway.start_checkout(request()).session_id, method=ACH)
    assert received.payments() == [(PaymentStatus.PROCESSING, "inv-1")]
    [(subscription_id, status, _)] = received.subscriptions()
    assert status is SubscriptionStatus.INCOMPLETE
    received.clear()
    gateway.settle_ach(payment_id, cleared=True)
    assert received.payments() == [(PaymentStatus.SUCCEEDED, "inv-1")]
    assert received.subscriptions() == [(subscription_id, ACTIVE, None)]


def test_an_ach_payment_that_fails_leaves_the_subscription_incomplete(
    gateway: SandboxGateway, received: Received
):
    """Seed 000 (ACH fails): the payment fails and the subscription never activates."""
    payment_id = gateway.pay(gateway.start_checkout(request()).session_id, method=ACH)
    received.clear()
    gateway.settle_ach(payment_id, cleared=False)
    assert received.payments() == [(PaymentStatus.FAILED, "inv-1")]
    assert received.subscriptions() == []
    with pytest.raises(GatewayRejectedError):
        gateway.settle_ach(payment_id, cleared=True)


def test_a_page_only_takes_the_methods_it_offers(gateway: SandboxGateway):
    """Paying by bank on a card-only page is refused."""
    session = gateway.start_checkout(request(payment_methods=frozenset({CARD})))
    with pytest.raises(GatewayRejectedError):
        gateway.pay(session.session_id, method=ACH)


def test_saving_a_payment_method_charges_nothing(gateway: SandboxGateway, received: Received):
    """Seed 003: saving a method emits setup.succeeded, which the mapper ignores."""
    save = request(
        purpose=CheckoutPurpose.SAVE_PAYMENT_METHOD, lines=(), plan=None, invoice_id=None
    )
    setup_id = gateway.pay(gateway.start_checkout(save).session_id)
    assert setup_id.startswith("seti_sbx_")
    assert received.types == ["setup.succeeded"]
    assert not received.events[0].actionable


# -- renewals ----------------------------------------------------------------------------


def test_a_successful_renewal_pays_a_renewal_invoice_and_advances_the_period(
    gateway: SandboxGateway, received: Received, clock: ManualClock
):
    """Seed 000: later invoices carry only the subscription charge."""
    subscription_id = subscribe(gateway, received)
    clock.advance(timedelta(days=31))
    gateway.renew(subscription_id, succeed=True)
    assert received.types == [
        "invoice.updated",
        "payment.succeeded",
        "invoice.updated",
        "subscription.updated",
    ]
    [(invoice_id, _), _] = received.renewals()
    assert received.renewals() == [
        (invoice_id, InvoiceStatus.OPEN),
        (invoice_id, InvoiceStatus.PAID),
    ]
    renewal = received.events[0].renewals[0]
    assert (renewal.amount, renewal.plan_id, renewal.contact_id) == (
        PLAN.amount,
        "p-monthly",
        "c-1",
    )
    assert received.payments() == [
        (PaymentStatus.SUCCEEDED, renewal_invoice_id("sandbox", invoice_id))
    ]
    assert received.subscriptions() == [(subscription_id, ACTIVE, None)]
    [event] = [e for e in gateway.list_events(since=clock.now()) if e.subscriptions]
    assert event.subscriptions[0].snapshot.status is ACTIVE
    assert gateway.pending_deliveries() == ()  # the attached endpoint took every delivery


def test_a_failed_renewal_puts_the_subscription_past_due(
    gateway: SandboxGateway, received: Received, clock: ManualClock
):
    """Seed 000: a failed renewal leaves the invoice open and the subscription past due."""
    subscription_id = subscribe(gateway, received)
    clock.advance(timedelta(days=31))
    gateway.renew(subscription_id, succeed=False)
    assert received.types == ["invoice.updated", "payment.failed", "subscription.updated"]
    [(invoice_id, status)] = received.renewals()
    assert status is InvoiceStatus.OPEN
    assert received.payments() == [
        (PaymentStatus.FAILED, renewal_invoice_id("sandbox", invoice_id))
    ]
    renewal_start = PLAN.interval.advance(START)
    assert received.subscriptions() == [(subscription_id, PAST_DUE, renewal_start)]


def test_exhausted_retries_cancel_with_the_same_failure_time(
    gateway: SandboxGateway, received: Received
):
    """Every report of one arrears run carries the same renewal_failed_at."""
    subscription_id = subscribe(gateway, received)
    gateway.renew(subscription_id, succeed=False)
    gateway.renew(subscription_id, succeed=False)  # a failed retry changes nothing else
    gateway.exhaust_retries(subscription_id)
    failed_at = PLAN.interval.advance(START)
    assert received.subscriptions() == [
        (subscription_id, PAST_DUE, failed_at),
        (subscription_id, SubscriptionStatus.CANCELED, failed_at),
    ]
    assert [status for _, status in received.renewals()] == [InvoiceStatus.OPEN, InvoiceStatus.VOID]
    with pytest.raises(GatewayRejectedError):
        gateway.renew(subscription_id, succeed=True)


def test_exhausted_retries_may_keep_the_subscription_unpaid(
    gateway: SandboxGateway, received: Received
):
    """With unpaid=True the subscription is kept as unpaid and its invoice stays open."""
    subscription_id = subscribe(gateway, received)
    gateway.renew(subscription_id, succeed=False)
    gateway.exhaust_retries(subscription_id, unpaid=True)
    assert received.subscriptions()[-1][1] is SubscriptionStatus.UNPAID
    assert [status for _, status in received.renewals()] == [InvoiceStatus.OPEN]


def test_a_successful_retry_restores_a_past_due_subscription(
    gateway: SandboxGateway, received: Received
):
    """Retrying the open renewal invoice pays it and makes the subscription active again."""
    subscription_id = subscribe(gateway, received)
    gateway.renew(subscription_id, succeed=False)
    [(invoice_id, _)] = received.renewals()
    received.clear()
    gateway.renew(subscription_id, succeed=True)
    assert received.renewals() == [(invoice_id, InvoiceStatus.PAID)]
    assert received.subscriptions() == [(subscription_id, ACTIVE, None)]


# -- re-subscribe ------------------------------------------------------------------------


def test_resubscribing_reactivates_the_past_due_subscription(
    gateway: SandboxGateway, received: Received
):
    """Seed 000: a successful re-subscribe makes the same subscription active again."""
    subscription_id = subscribe(gateway, received)
    gateway.renew(subscription_id, succeed=False)
    received.clear()
    again = request(
        "k-re",
        purpose=CheckoutPurpose.RESUBSCRIBE,
        lines=(),
        invoice_id="inv-2",
        replaces_subscription_id=subscription_id,
    )
    gateway.pay(gateway.start_checkout(again).session_id)
    assert received.payments() == [(PaymentStatus.SUCCEEDED, "inv-2")]
    assert received.subscriptions() == [(subscription_id, ACTIVE, None)]
    assert [status for _, status in received.renewals()] == [InvoiceStatus.VOID]


def test_resubscribing_by_ach_reactivates_once_the_payment_clears(
    gateway: SandboxGateway, received: Received
):
    """A re-subscribe paid by bank keeps the subscription past due until the payment clears."""
    subscription_id = subscribe(gateway, received)
    gateway.renew(subscription_id, succeed=False)
    received.clear()
    again = request(
        "k-re", purpose=CheckoutPurpose.RESUBSCRIBE, replaces_subscription_id=subscription_id
    )
    payment_id = gateway.pay(gateway.start_checkout(again).session_id, method=ACH)
    assert received.types == ["payment.processing"]
    gateway.settle_ach(payment_id, cleared=True)
    assert received.subscriptions() == [(subscription_id, ACTIVE, None)]


def test_resubscribing_after_cancellation_starts_a_newer_subscription(
    gateway: SandboxGateway, received: Received
):
    """A canceled subscription is replaced by a new one created later, which supersedes it."""
    old_id = subscribe(gateway, received)
    gateway.renew(old_id, succeed=False)
    gateway.exhaust_retries(old_id)
    old = received.events[-2].subscriptions[0].snapshot
    received.clear()
    again = request("k-re", purpose=CheckoutPurpose.RESUBSCRIBE, replaces_subscription_id=old_id)
    gateway.pay(gateway.start_checkout(again).session_id)
    [report] = [r for e in received.events for r in e.subscriptions]
    assert report.snapshot.subscription_id != old_id
    assert report.snapshot.status is ACTIVE
    assert report.snapshot.supersedes(old)


# -- refunds and disputes ----------------------------------------------------------------


def test_a_full_refund_reports_refunded(gateway: SandboxGateway, received: Received):
    """Refunding without an amount refunds everything: status refunded."""
    payment_id = gateway.pay(gateway.start_checkout(request()).session_id)
    received.clear()
    gateway.refund(payment_id, amount=None, idempotency_key="r-1")
    assert received.types == ["payment.refunded"]
    assert received.payments() == [(PaymentStatus.REFUNDED, "inv-1")]


def test_a_partial_refund_stays_succeeded_until_the_rest_is_refunded(
    gateway: SandboxGateway, received: Received
):
    """A partial refund keeps the payment succeeded; refunding the rest makes it refunded."""
    payment_id = gateway.pay(gateway.start_checkout(request()).session_id)
    received.clear()
    gateway.refund(payment_id, amount=Money(900, "USD"), idempotency_key="r-1")
    gateway.refund(payment_id, amount=Money(29000, "USD"), idempotency_key="r-2")
    assert received.types == ["payment.refunded", "payment.refunded"]
    assert [status for status, _ in received.payments()] == [
        PaymentStatus.SUCCEEDED,
        PaymentStatus.REFUNDED,
    ]


def test_a_refund_key_seen_before_refunds_nothing_more(gateway: SandboxGateway, received: Received):
    """The same idempotency key twice makes one refund."""
    payment_id = gateway.pay(gateway.start_checkout(request()).session_id)
    received.clear()
    gateway.refund(payment_id, amount=Money(900, "USD"), idempotency_key="r-1")
    gateway.refund(payment_id, amount=Money(900, "USD"), idempotency_key="r-1")
    assert received.types == ["payment.refunded"]


@pytest.mark.parametrize(
    ("payment_id", "amount"),
    [("py_missing", None), (None, Money(30000, "USD")), (None, Money(900, "EUR"))],
)
def test_impossible_refunds_are_rejected(
    gateway: SandboxGateway, payment_id: str | None, amount: Money | None
):
    """Unknown payments, too much, or the wrong currency are rejected by the vendor."""
    paid = gateway.pay(gateway.start_checkout(request()).session_id)
    with pytest.raises(GatewayRejectedError):
        gateway.refund(payment_id or paid, amount=amount, idempotency_key="r-x")


@pytest.mark.parametrize(
    ("won", "final"), [(True, PaymentStatus.SUCCEEDED), (False, PaymentStatus.DISPUTED)]
)
def test_a_dispute_is_won_or_lost(
    gateway: SandboxGateway, received: Received, won: bool, final: PaymentStatus
):
    """A dispute reports disputed; closing it reports succeeded (won) or disputed (lost)."""
    payment_id = gateway.pay(gateway.start_checkout(request()).session_id)
    received.clear()
    gateway.dispute(payment_id)
    gateway.close_dispute(payment_id, won=won)
    assert [status for status, _ in received.payments()] == [PaymentStatus.DISPUTED, final]
    first, last = (e.payments[0] for e in received.events)
    assert last.supersedes(first)
    with pytest.raises(GatewayRejectedError):
        gateway.close_dispute(payment_id, won=True)


def test_canceling_a_subscription_is_idempotent(gateway: SandboxGateway, received: Received):
    """Cancel reports canceled once; the same key again, or another, changes nothing."""
    subscription_id = subscribe(gateway, received)
    gateway.cancel_subscription(subscription_id, idempotency_key="x-1")
    gateway.cancel_subscription(subscription_id, idempotency_key="x-1")
    gateway.cancel_subscription(subscription_id, idempotency_key="x-2")
    assert received.subscriptions() == [(subscription_id, SubscriptionStatus.CANCELED, None)]
    with pytest.raises(GatewayRejectedError):
        gateway.cancel_subscription("sub_missing", idempotency_key="x-3")


# -- checkout pages and customers --------------------------------------------------------


def test_an_expired_page_takes_no_payment(gateway: SandboxGateway, received: Received):
    """After expire_checkout (twice is fine) paying is rejected."""
    session = gateway.start_checkout(request())
    gateway.expire_checkout(session.session_id)
    gateway.expire_checkout(session.session_id)
    assert received.types == ["checkout.expired"]
    with pytest.raises(GatewayRejectedError):
        gateway.pay(session.session_id)


def test_a_page_expires_after_a_day(gateway: SandboxGateway, clock: ManualClock):
    """A page left a day takes no payment, like a vendor's hosted checkout."""
    session = gateway.start_checkout(request())
    assert session.expires_at == START + timedelta(hours=24)
    clock.advance(timedelta(hours=24))
    with pytest.raises(GatewayRejectedError):
        gateway.pay(session.session_id)


def test_a_paid_page_cannot_be_paid_again_and_expiring_it_is_a_no_op(
    gateway: SandboxGateway, received: Received
):
    """Paying twice is rejected; expiring a completed page does nothing."""
    session = gateway.start_checkout(request())
    gateway.pay(session.session_id)
    gateway.expire_checkout(session.session_id)
    with pytest.raises(GatewayRejectedError):
        gateway.pay(session.session_id)
    assert "checkout.expired" not in received.types
    with pytest.raises(GatewayRejectedError):
        gateway.pay("cs_missing")


def test_one_customer_per_contact(gateway: SandboxGateway):
    """Many pages for one contact make one vendor customer; a retried key makes no page."""
    first = gateway.start_checkout(request("k-1"))
    assert gateway.start_checkout(request("k-1")) == first
    gateway.start_checkout(request("k-2"))
    gateway.start_checkout(request("k-3", contact_id="c-2"))
    assert gateway.customers() == {"c-1": "cus_sbx_0001", "c-2": "cus_sbx_0002"}


def test_a_key_reused_for_another_request_is_rejected(gateway: SandboxGateway):
    """The vendor refuses an idempotency key sent again with different parameters."""
    gateway.start_checkout(request("k-1"))
    with pytest.raises(GatewayRejectedError):
        gateway.start_checkout(request("k-1", invoice_id="inv-9"))


def test_a_plan_needs_a_contact(gateway: SandboxGateway):
    """A subscription needs a customer, so a guest page with a plan is rejected."""
    with pytest.raises(GatewayRejectedError):
        gateway.start_checkout(request(contact_id=None))


# -- deliveries --------------------------------------------------------------------------


def test_deliver_duplicates_and_shuffles_every_queued_delivery(gateway: SandboxGateway):
    """deliver(duplicate=3, rng=...) hands each delivery three times in a shuffled order."""
    gateway.pay(gateway.start_checkout(request()).session_id, method=ACH)
    queued = [json.loads(d.body)["id"] for d in gateway.pending_deliveries()]
    assert len(queued) == 2
    received = Received(gateway)
    results = gateway.deliver(received, duplicate=3, rng=random.Random(4))
    seen = [event.event_id for event in received.events]
    assert sorted(seen) == sorted(queued * 3)
    assert seen != sorted(seen, key=queued.index)  # the order was shuffled
    assert results == received.events
    assert gateway.pending_deliveries() == ()
    with pytest.raises(GatewayRejectedError):
        gateway.deliver(received, duplicate=0)


def test_an_attached_handler_gets_deliveries_in_emission_order(gateway: SandboxGateway):
    """Attached, each delivery is handed over as it happens; detached, they queue again."""
    gateway.pay(gateway.start_checkout(request()).session_id, succeed=False)
    received = Received(gateway)
    gateway.attach(received)
    assert received.events == []  # what was queued before stays queued
    payment_id = gateway.pay(gateway.start_checkout(request("k-2")).session_id, method=ACH)
    gateway.settle_ach(payment_id, cleared=True)
    assert received.types == [
        "payment.processing",
        "subscription.updated",
        "payment.succeeded",
        "subscription.updated",
    ]
    assert len(gateway.pending_deliveries()) == 1
    gateway.attach(None)
    gateway.dispute(payment_id)
    assert len(gateway.pending_deliveries()) == 2


def test_redeliver_resends_an_emitted_event(gateway: SandboxGateway, clock: ManualClock):
    """A vendor retry carries the same event, newly signed."""
    gateway.pay(gateway.start_checkout(request()).session_id)
    event_id = json.loads(gateway.pending_deliveries()[0].body)["id"]
    clock.advance(timedelta(hours=1))  # the first signature is stale by now
    received = Received(gateway)
    assert gateway.redeliver(event_id, received).event_id == event_id
    with pytest.raises(GatewayRejectedError):
        gateway.redeliver("evt_missing", received)


def test_list_events_returns_events_since_a_time_oldest_first(
    gateway: SandboxGateway, clock: ManualClock
):
    """Reconcile: list_events(since) returns the events created at or after since."""
    gateway.pay(gateway.start_checkout(request()).session_id, method=ACH)
    clock.advance(timedelta(days=2))
    cleared_at = clock.now()
    payment_id = gateway.pay(gateway.start_checkout(request("k-2")).session_id)
    gateway.refund(payment_id, amount=None, idempotency_key="r-1")
    assert len(list(gateway.list_events(since=START))) == 5
    later = list(gateway.list_events(since=cleared_at))
    assert [e.event_type for e in later] == [
        "payment.succeeded",
        "subscription.updated",
        "payment.refunded",
    ]
    assert all(e.occurred_at == cleared_at for e in later)


def test_versions_come_from_one_increasing_counter(gateway: SandboxGateway):
    """Every object change takes a strictly larger version than the one before."""
    payment_id = gateway.pay(gateway.start_checkout(request()).session_id, method=ACH)
    gateway.settle_ach(payment_id, cleared=True)
    gateway.refund(payment_id, amount=None, idempotency_key="r-1")
    versions = [
        json.loads(d.body)["data"]["object"]["version"] for d in gateway.pending_deliveries()
    ]
    assert versions == sorted(set(versions))
    assert len(versions) == 5


# -- signatures --------------------------------------------------------------------------


def test_rotated_secrets_accept_either_secret(clock: ManualClock):
    """While rotating, a delivery signed with the old or the new secret is accepted."""
    rotating = SandboxGateway(webhook_secret=["whsec_new", "whsec_old"], clock=clock)
    old = SandboxWebhooks(secret="whsec_old", clock=clock)
    headers, body = old.unknown(event_id="evt_old")
    assert rotating.parse_webhook(headers, body).event_id == "evt_old"
    only_new = SandboxGateway(webhook_secret="whsec_new", clock=clock)
    with pytest.raises(WebhookVerificationError) as info:
        only_new.parse_webhook(headers, body)
    assert info.value.reason == "signature"
    rotating.pay(rotating.start_checkout(request()).session_id)
    headers, body = rotating.pending_deliveries()[0]
    assert headers["Sandbox-Signature"].count("v1=") == 2
    assert only_new.parse_webhook(headers, body).actionable


def test_a_timestamp_in_the_future_beyond_the_tolerance_is_refused(clock: ManualClock):
    """The tolerance applies both ways around now."""
    gateway = SandboxGateway(webhook_secret=SECRET, clock=clock, tolerance=timedelta(seconds=30))
    ahead = ManualClock(START + timedelta(seconds=31))
    headers, body = SandboxWebhooks(secret=SECRET, clock=ahead).unknown(event_id="evt_1")
    with pytest.raises(WebhookVerificationError) as info:
        gateway.parse_webhook(headers, body)
    assert info.value.reason == "timestamp"


@pytest.mark.parametrize(
    "changes",
    [{"webhook_secret": []}, {"webhook_secret": " "}, {"name": ""}, {"tolerance": timedelta(-1)}],
)
def test_a_misconfigured_sandbox_is_refused(clock: ManualClock, changes: dict[str, object]):
    """No secret, a blank secret or name, or a negative tolerance is a configuration error."""
    options: dict[str, object] = {"webhook_secret": SECRET, **changes}
    with pytest.raises(ConfigurationError):
        SandboxGateway(clock=clock, **options)  # type: ignore[arg-type]


def test_custom_ids_come_from_the_token_source(clock: ManualClock):
    """With a TokenSource, every vendor id is drawn from it."""

    class Ids:
        def __init__(self) -> None:
            self.count = 0

        def token_bytes(self, size: int) -> bytes:
            return bytes(size)

        def new_id(self, prefix: str) -> str:
            self.count += 1
            return f"{prefix}x{self.count}"

    gateway = SandboxGateway(webhook_secret=SECRET, clock=clock, ids=Ids(), name="sbx2")
    session = gateway.start_checkout(request())
    assert session.session_id == "cs_sbx_x2"  # the customer drew x1
    assert gateway.pay(session.session_id) == "py_sbx_x3"
    headers, body = gateway.pending_deliveries()[0]
    assert gateway.parse_webhook(headers, body).gateway == "sbx2"
