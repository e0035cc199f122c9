"""The sandbox vendor's stories, seen through its gateway: what paying, clearing, renewing
and disputing emit, and how the gateway calls the vendor's API."""

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
    GatewayError,
    GatewayRejectedError,
    WebhookVerificationError,
)
from portal_access._domain.gateway_events import GatewayEvent, renewal_invoice_id
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.adapters import ManualClock, SequentialIds
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.gateways.sandbox._errors import ERROR_TABLE
from portal_access.ports import PaymentGateway
from portal_access.testing._sandbox.books import ERROR_TYPES
from portal_access.testing.sandbox import SandboxError, SandboxVendor, SandboxWebhooks

SECRET = "whsec_sim"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLAN = Plan(id="p-monthly", name="Portal monthly", amount=Money(4900, "USD"))
SETUP = InvoiceLine("Setup fee", Money(25000, "USD"), LineKind.ONE_TIME)
CARD, ACH = PaymentMethodKind.CARD, PaymentMethodKind.BANK_ACCOUNT
ACTIVE, PAST_DUE = SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE


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
def vendor(clock: ManualClock) -> SandboxVendor:
    return SandboxVendor(webhook_secret=SECRET, clock=clock, ids=SequentialIds())


@pytest.fixture
def gateway(clock: ManualClock, vendor: SandboxVendor) -> SandboxGateway:
    return SandboxGateway(vendor=vendor, webhook_secret=SECRET, clock=clock)


@pytest.fixture
def received(vendor: SandboxVendor, gateway: SandboxGateway) -> Received:
    endpoint = Received(gateway)
    vendor.attach(endpoint)
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


def subscribe(vendor: SandboxVendor, gateway: SandboxGateway, received: Received) -> str:
    """A paid card checkout with the plan; returns the subscription id."""
    vendor.pay(gateway.start_checkout(request()).session_id)
    [(subscription_id, _, _)] = received.subscriptions()
    received.clear()
    return subscription_id


def paid(vendor: SandboxVendor, gateway: SandboxGateway, received: Received) -> str:
    """A paid card checkout (its events cleared); returns the payment id."""
    payment_id = vendor.pay(gateway.start_checkout(request()).session_id)
    received.clear()
    return payment_id


def past_due(vendor: SandboxVendor, gateway: SandboxGateway, received: Received) -> str:
    """A subscription whose renewal failed; returns its id."""
    subscription_id = subscribe(vendor, gateway, received)
    vendor.renew(subscription_id, succeed=False)
    received.clear()
    return subscription_id


def resubscribe(subscription_id: str, **changes: object) -> CheckoutRequest:
    """A re-subscribe page replacing ``subscription_id``."""
    return request(
        "k-re", purpose=CheckoutPurpose.RESUBSCRIBE, replaces_subscription_id=subscription_id,
        **changes,
    )  # fmt: skip


# -- paying ------------------------------------------------------------------------------


def test_the_sandbox_is_a_payment_gateway(gateway: SandboxGateway):
    """The sandbox implements the PaymentGateway port and names itself "sandbox"."""
    assert isinstance(gateway, PaymentGateway)
    assert gateway.name == "sandbox"


def test_a_paid_card_checkout_reports_the_payment_then_the_active_subscription(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """Seed 000: the first invoice carries both charges; paying it starts the plan."""
    session = gateway.start_checkout(request())
    assert session.url == f"https://sandbox.portal-access.invalid/checkout/{session.session_id}"
    payment_id = vendor.pay(session.session_id)
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
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """A decline reports a failed payment, starts no subscription, and the payer may retry."""
    session = gateway.start_checkout(request())
    vendor.pay(session.session_id, succeed=False)
    assert received.payments() == [(PaymentStatus.FAILED, "inv-1")]
    assert received.subscriptions() == []
    vendor.pay(session.session_id)
    assert received.types[-2:] == ["payment.succeeded", "subscription.updated"]


def test_an_ach_payment_processes_then_clears(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """Seed 000 (ACH): processing with an incomplete subscription, then cleared and active."""
    payment_id = vendor.pay(gateway.start_checkout(request()).session_id, method=ACH)
    assert received.payments() == [(PaymentStatus.PROCESSING, "inv-1")]
    [(subscription_id, status, _)] = received.subscriptions()
    assert status is SubscriptionStatus.INCOMPLETE
    received.clear()
    vendor.settle_ach(payment_id, cleared=True)
    assert received.payments() == [(PaymentStatus.SUCCEEDED, "inv-1")]
    assert received.subscriptions() == [(subscription_id, ACTIVE, None)]


def test_an_ach_payment_that_fails_leaves_the_subscription_incomplete(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """Seed 000 (ACH fails): the payment fails and the subscription never activates."""
    payment_id = vendor.pay(gateway.start_checkout(request()).session_id, method=ACH)
    received.clear()
    vendor.settle_ach(payment_id, cleared=False)
    assert received.payments() == [(PaymentStatus.FAILED, "inv-1")]
    assert received.subscriptions() == []
    with pytest.raises(SandboxError):
        vendor.settle_ach(payment_id, cleared=True)


def test_a_page_only_takes_the_methods_it_offers(vendor: SandboxVendor, gateway: SandboxGateway):
    """Paying by bank on a card-only page is refused."""
    session = gateway.start_checkout(request(payment_methods=frozenset({CARD})))
    with pytest.raises(SandboxError):
        vendor.pay(session.session_id, method=ACH)


def test_saving_a_payment_method_charges_nothing(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """Seed 003: saving a method emits setup.succeeded, which reports the saved method and no payment."""
    save = request(
        purpose=CheckoutPurpose.SAVE_PAYMENT_METHOD, lines=(), plan=None, invoice_id=None
    )
    setup_id = vendor.pay(gateway.start_checkout(save).session_id)
    assert setup_id.startswith("seti_sbx_")
    assert received.types == ["setup.succeeded"]
    (event,) = received.events
    assert event.payments == ()
    assert [m.method_id for m in event.saved_methods] == [setup_id]


# -- renewals ----------------------------------------------------------------------------


def test_a_successful_renewal_pays_a_renewal_invoice_and_advances_the_period(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received, clock: ManualClock
):
    """Seed 000: later invoices carry only the subscription charge."""
    subscription_id = subscribe(vendor, gateway, received)
    clock.advance(timedelta(days=31))
    vendor.renew(subscription_id, succeed=True)
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
    assert vendor.pending_deliveries() == ()  # the attached endpoint took every delivery


def test_a_failed_renewal_puts_the_subscription_past_due(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received, clock: ManualClock
):
    """Seed 000: a failed renewal leaves the invoice open and the subscription past due."""
    subscription_id = subscribe(vendor, gateway, received)
    clock.advance(timedelta(days=31))
    vendor.renew(subscription_id, succeed=False)
    assert received.types == ["invoice.updated", "payment.failed", "subscription.updated"]
    [(invoice_id, status)] = received.renewals()
    assert status is InvoiceStatus.OPEN
    assert received.payments() == [
        (PaymentStatus.FAILED, renewal_invoice_id("sandbox", invoice_id))
    ]
    renewal_start = PLAN.interval.advance(START)
    assert received.subscriptions() == [(subscription_id, PAST_DUE, renewal_start)]


def test_exhausted_retries_cancel_with_the_same_failure_time(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """Every report of one arrears run carries the same renewal_failed_at."""
    subscription_id = subscribe(vendor, gateway, received)
    vendor.renew(subscription_id, succeed=False)
    vendor.renew(subscription_id, succeed=False)  # a failed retry changes nothing else
    vendor.exhaust_retries(subscription_id)
    failed_at = PLAN.interval.advance(START)
    assert received.subscriptions() == [
        (subscription_id, PAST_DUE, failed_at),
        (subscription_id, SubscriptionStatus.CANCELED, failed_at),
    ]
    assert [status for _, status in received.renewals()] == [InvoiceStatus.OPEN, InvoiceStatus.VOID]
    with pytest.raises(SandboxError):
        vendor.renew(subscription_id, succeed=True)


def test_exhausted_retries_may_keep_the_subscription_unpaid(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """With unpaid=True the subscription is kept as unpaid and its invoice stays open."""
    subscription_id = subscribe(vendor, gateway, received)
    vendor.renew(subscription_id, succeed=False)
    vendor.exhaust_retries(subscription_id, unpaid=True)
    assert received.subscriptions()[-1][1] is SubscriptionStatus.UNPAID
    assert [status for _, status in received.renewals()] == [InvoiceStatus.OPEN]


def test_a_successful_retry_restores_a_past_due_subscription(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """Retrying the open renewal invoice pays it and makes the subscription active again."""
    subscription_id = subscribe(vendor, gateway, received)
    vendor.renew(subscription_id, succeed=False)
    [(invoice_id, _)] = received.renewals()
    received.clear()
    vendor.renew(subscription_id, succeed=True)
    assert received.renewals() == [(invoice_id, InvoiceStatus.PAID)]
    assert received.subscriptions() == [(subscription_id, ACTIVE, None)]


# -- re-subscribe ------------------------------------------------------------------------


def test_resubscribing_reactivates_the_past_due_subscription(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """Seed 000: a successful re-subscribe makes the same subscription active again."""
    subscription_id = past_due(vendor, gateway, received)
    again = resubscribe(subscription_id, lines=(), invoice_id="inv-2")
    vendor.pay(gateway.start_checkout(again).session_id)
    assert received.payments() == [(PaymentStatus.SUCCEEDED, "inv-2")]
    assert received.subscriptions() == [(subscription_id, ACTIVE, None)]
    assert [status for _, status in received.renewals()] == [InvoiceStatus.VOID]


def test_resubscribing_by_ach_reactivates_once_the_payment_clears(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """A re-subscribe paid by bank keeps the subscription past due until the payment clears."""
    subscription_id = past_due(vendor, gateway, received)
    payment_id = vendor.pay(
        gateway.start_checkout(resubscribe(subscription_id)).session_id, method=ACH
    )
    assert received.types == ["payment.processing"]
    vendor.settle_ach(payment_id, cleared=True)
    assert received.subscriptions() == [(subscription_id, ACTIVE, None)]


def test_resubscribing_after_cancellation_starts_a_newer_subscription(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """A canceled subscription is replaced by a new one created later, which supersedes it."""
    old_id = subscribe(vendor, gateway, received)
    vendor.renew(old_id, succeed=False)
    vendor.exhaust_retries(old_id)
    old = received.events[-2].subscriptions[0].snapshot
    received.clear()
    again = resubscribe(old_id)
    vendor.pay(gateway.start_checkout(again).session_id)
    [report] = [r for e in received.events for r in e.subscriptions]
    assert report.snapshot.subscription_id != old_id
    assert report.snapshot.status is ACTIVE
    assert report.snapshot.supersedes(old)


# -- refunds and disputes ----------------------------------------------------------------


def test_a_full_refund_reports_refunded(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """Refunding without an amount refunds everything: status refunded."""
    payment_id = paid(vendor, gateway, received)
    gateway.refund(payment_id, amount=None, idempotency_key="r-1")
    assert received.types == ["payment.refunded"]
    assert received.payments() == [(PaymentStatus.REFUNDED, "inv-1")]


def test_a_partial_refund_stays_succeeded_until_the_rest_is_refunded(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """A partial refund keeps the payment succeeded; refunding the rest makes it refunded."""
    payment_id = paid(vendor, gateway, received)
    gateway.refund(payment_id, amount=Money(900, "USD"), idempotency_key="r-1")
    gateway.refund(payment_id, amount=Money(29000, "USD"), idempotency_key="r-2")
    assert received.types == ["payment.refunded", "payment.refunded"]
    assert [status for status, _ in received.payments()] == [
        PaymentStatus.SUCCEEDED,
        PaymentStatus.REFUNDED,
    ]


def test_a_refund_key_seen_before_refunds_nothing_more(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """The same idempotency key twice makes one refund."""
    payment_id = paid(vendor, gateway, received)
    gateway.refund(payment_id, amount=Money(900, "USD"), idempotency_key="r-1")
    gateway.refund(payment_id, amount=Money(900, "USD"), idempotency_key="r-1")
    assert received.types == ["payment.refunded"]


@pytest.mark.parametrize(
    ("payment_id", "amount"),
    [("py_missing", None), (None, Money(30000, "USD")), (None, Money(900, "EUR"))],
)
def test_impossible_refunds_are_rejected(
    vendor: SandboxVendor, gateway: SandboxGateway, payment_id: str | None, amount: Money | None
):
    """Unknown payments, too much, or the wrong currency are rejected by the vendor."""
    paid = vendor.pay(gateway.start_checkout(request()).session_id)
    with pytest.raises(GatewayRejectedError):
        gateway.refund(payment_id or paid, amount=amount, idempotency_key="r-x")


@pytest.mark.parametrize(
    ("won", "final"), [(True, PaymentStatus.SUCCEEDED), (False, PaymentStatus.DISPUTED)]
)
def test_a_dispute_is_won_or_lost(
    vendor: SandboxVendor,
    gateway: SandboxGateway,
    received: Received,
    won: bool,
    final: PaymentStatus,
):
    """A dispute reports disputed; closing it reports succeeded (won) or disputed (lost)."""
    payment_id = paid(vendor, gateway, received)
    vendor.dispute(payment_id)
    vendor.close_dispute(payment_id, won=won)
    assert [status for status, _ in received.payments()] == [PaymentStatus.DISPUTED, final]
    first, last = (e.payments[0] for e in received.events)
    assert last.supersedes(first)
    with pytest.raises(SandboxError):
        vendor.close_dispute(payment_id, won=True)


def test_canceling_a_subscription_is_idempotent(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """Cancel reports canceled once; the same key again, or another, changes nothing."""
    subscription_id = subscribe(vendor, gateway, received)
    gateway.cancel_subscription(subscription_id, idempotency_key="x-1")
    gateway.cancel_subscription(subscription_id, idempotency_key="x-1")
    gateway.cancel_subscription(subscription_id, idempotency_key="x-2")
    assert received.subscriptions() == [(subscription_id, SubscriptionStatus.CANCELED, None)]
    with pytest.raises(GatewayRejectedError):
        gateway.cancel_subscription("sub_missing", idempotency_key="x-3")


# -- checkout pages and customers --------------------------------------------------------


def test_an_expired_page_takes_no_payment(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """After expire_checkout (twice is fine) paying is rejected."""
    session = gateway.start_checkout(request())
    gateway.expire_checkout(session.session_id)
    gateway.expire_checkout(session.session_id)
    assert received.types == ["checkout.expired"]
    with pytest.raises(SandboxError):
        vendor.pay(session.session_id)


def test_a_page_expires_after_a_day(
    vendor: SandboxVendor, gateway: SandboxGateway, clock: ManualClock
):
    """A page left a day takes no payment, like a vendor's hosted checkout."""
    session = gateway.start_checkout(request())
    assert session.expires_at == START + timedelta(hours=24)
    clock.advance(timedelta(hours=24))
    with pytest.raises(SandboxError):
        vendor.pay(session.session_id)


def test_a_paid_page_cannot_be_paid_again_and_expiring_it_is_a_no_op(
    vendor: SandboxVendor, gateway: SandboxGateway, received: Received
):
    """Paying twice is rejected; expiring a completed page does nothing."""
    session = gateway.start_checkout(request())
    vendor.pay(session.session_id)
    gateway.expire_checkout(session.session_id)
    with pytest.raises(SandboxError):
        vendor.pay(session.session_id)
    assert "checkout.expired" not in received.types
    with pytest.raises(SandboxError):
        vendor.pay("cs_missing")


def test_one_customer_per_contact(vendor: SandboxVendor, gateway: SandboxGateway):
    """Many pages for one contact make one vendor customer; a retried key makes no page."""
    first = gateway.start_checkout(request("k-1"))
    assert gateway.start_checkout(request("k-1")) == first
    gateway.start_checkout(request("k-2"))
    gateway.start_checkout(request("k-3", contact_id="c-2"))
    assert vendor.customers() == {"c-1": "cus_sbx_000001", "c-2": "cus_sbx_000004"}


def test_a_plan_needs_a_contact(gateway: SandboxGateway):
    """A subscription needs a customer, so a guest page with a plan is rejected."""
    with pytest.raises(GatewayRejectedError):
        gateway.start_checkout(request(contact_id=None))


# -- deliveries --------------------------------------------------------------------------


def test_deliver_duplicates_and_shuffles_every_queued_delivery(
    vendor: SandboxVendor, gateway: SandboxGateway
):
    """deliver(duplicate=3, rng=...) hands each delivery three times in a shuffled order."""
    vendor.pay(gateway.start_checkout(request()).session_id, method=ACH)
    queued = [json.loads(d.body)["id"] for d in vendor.pending_deliveries()]
    assert len(queued) == 2
    received = Received(gateway)
    results = vendor.deliver(received, duplicate=3, rng=random.Random(4))
    seen = [event.event_id for event in received.events]
    assert sorted(seen) == sorted(queued * 3)
    assert seen != sorted(seen, key=queued.index)  # the order was shuffled
    assert results == received.events
    assert vendor.pending_deliveries() == ()
    with pytest.raises(ValueError, match="at least 1"):
        vendor.deliver(received, duplicate=0)


def test_an_attached_handler_gets_deliveries_in_emission_order(
    vendor: SandboxVendor, gateway: SandboxGateway
):
    """Attached, each delivery is handed over as it happens; detached, they queue again."""
    vendor.pay(gateway.start_checkout(request()).session_id, succeed=False)
    received = Received(gateway)
    vendor.attach(received)
    assert received.events == []  # what was queued before stays queued
    payment_id = vendor.pay(gateway.start_checkout(request("k-2")).session_id, method=ACH)
    vendor.settle_ach(payment_id, cleared=True)
    assert received.types == [
        "payment.processing",
        "subscription.updated",
        "payment.succeeded",
        "subscription.updated",
    ]
    assert len(vendor.pending_deliveries()) == 1
    vendor.attach(None)
    vendor.dispute(payment_id)
    assert len(vendor.pending_deliveries()) == 2


def test_redeliver_resends_an_emitted_event(
    vendor: SandboxVendor, gateway: SandboxGateway, clock: ManualClock
):
    """A vendor retry carries the same event, newly signed."""
    vendor.pay(gateway.start_checkout(request()).session_id)
    event_id = json.loads(vendor.pending_deliveries()[0].body)["id"]
    clock.advance(timedelta(hours=1))  # the first signature is stale by now
    received = Received(gateway)
    assert vendor.redeliver(event_id, received).event_id == event_id
    with pytest.raises(SandboxError):
        vendor.redeliver("evt_missing", received)


def test_list_events_returns_events_since_a_time_oldest_first(
    vendor: SandboxVendor, gateway: SandboxGateway, clock: ManualClock
):
    """Reconcile: list_events(since) returns the events created at or after since."""
    vendor.pay(gateway.start_checkout(request()).session_id, method=ACH)
    clock.advance(timedelta(days=2))
    cleared_at = clock.now()
    payment_id = vendor.pay(gateway.start_checkout(request("k-2")).session_id)
    gateway.refund(payment_id, amount=None, idempotency_key="r-1")
    assert len(list(gateway.list_events(since=START))) == 5
    later = list(gateway.list_events(since=cleared_at))
    assert [e.event_type for e in later] == [
        "payment.succeeded",
        "subscription.updated",
        "payment.refunded",
    ]
    assert all(e.occurred_at == cleared_at for e in later)


def test_versions_come_from_one_increasing_counter(vendor: SandboxVendor, gateway: SandboxGateway):
    """Every object change takes a strictly larger version than the one before."""
    payment_id = vendor.pay(gateway.start_checkout(request()).session_id, method=ACH)
    vendor.settle_ach(payment_id, cleared=True)
    gateway.refund(payment_id, amount=None, idempotency_key="r-1")
    versions = [
        json.loads(d.body)["data"]["object"]["version"] for d in vendor.pending_deliveries()
    ]
    assert versions == sorted(set(versions))
    assert len(versions) == 5


# -- signatures --------------------------------------------------------------------------


def test_rotated_secrets_accept_either_secret(clock: ManualClock):
    """While rotating, a delivery signed with the old or the new secret is accepted."""
    vendor = SandboxVendor(webhook_secret=["whsec_new", "whsec_old"], clock=clock)
    rotating = SandboxGateway(vendor=vendor, webhook_secret=["whsec_new", "whsec_old"], clock=clock)
    only_new = SandboxGateway(vendor=vendor, webhook_secret="whsec_new", clock=clock)
    old = SandboxWebhooks(secret="whsec_old", clock=clock)
    headers, body = old.unknown(event_id="evt_old")
    assert rotating.parse_webhook(headers, body).event_id == "evt_old"
    with pytest.raises(WebhookVerificationError) as info:
        only_new.parse_webhook(headers, body)
    assert info.value.reason == "signature"
    vendor.pay(rotating.start_checkout(request()).session_id)
    headers, body = vendor.pending_deliveries()[0]
    assert headers["Sandbox-Signature"].count("v1=") == 2
    assert only_new.parse_webhook(headers, body).actionable


@pytest.mark.parametrize("ahead", [True, False])
def test_the_tolerance_holds_both_ways_around_the_gateways_clock(
    vendor: SandboxVendor, clock: ManualClock, ahead: bool
):
    """A signature more than the tolerance before or after the gateway's now is refused."""
    gateway = SandboxGateway(
        vendor=vendor, webhook_secret=SECRET, clock=clock, tolerance=timedelta(seconds=30)
    )
    step = timedelta(seconds=31 if ahead else -31)
    headers, body = SandboxWebhooks(secret=SECRET, clock=ManualClock(START + step)).unknown(
        event_id="evt_1"
    )
    with pytest.raises(WebhookVerificationError) as info:
        gateway.parse_webhook(headers, body)
    assert info.value.reason == "timestamp"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"webhook_secret": []}, "webhook_secret"),
        ({"webhook_secret": " "}, "webhook_secret"),
        ({"name": ""}, "name"),
        ({"tolerance": timedelta(-1)}, "tolerance"),
        ({"tolerance": 300}, "tolerance"),
    ],
)
def test_a_misconfigured_gateway_names_the_field(
    vendor: SandboxVendor, changes: dict[str, object], field: str
):
    """No secret, a blank secret or name, or a tolerance that is not a timedelta of zero
    or more is a configuration error naming that field."""
    options: dict[str, object] = {"webhook_secret": SECRET, **changes}
    with pytest.raises(ConfigurationError) as caught:
        SandboxGateway(vendor=vendor, **options)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_custom_ids_come_from_the_token_source(clock: ManualClock):
    """With a TokenSource, every vendor id is drawn from it; the gateway keeps its name."""

    class Ids:
        def __init__(self) -> None:
            self.count = 0

        def token_bytes(self, size: int) -> bytes:
            return bytes(size)

        def new_id(self, prefix: str) -> str:
            self.count += 1
            return f"{prefix}x{self.count}"

    vendor = SandboxVendor(webhook_secret=SECRET, clock=clock, ids=Ids())
    gateway = SandboxGateway(vendor=vendor, webhook_secret=SECRET, clock=clock, name="sbx2")
    session = gateway.start_checkout(request())
    assert session.session_id == "cs_sbx_x2"  # the customer drew x1
    assert vendor.pay(session.session_id) == "py_sbx_x3"
    headers, body = vendor.pending_deliveries()[0]
    assert gateway.parse_webhook(headers, body).gateway == "sbx2"


def test_ids_are_random_unless_a_test_asks_for_sequential_ones(clock: ManualClock):
    """Two vendors started one after the other never draw the same ids (a dev server
    reloaded on the same database), so their events are never taken as duplicates."""
    first, second = (SandboxVendor(webhook_secret=SECRET, clock=clock) for _ in range(2))
    ids = []
    for vendor in (first, second):
        gateway = SandboxGateway(vendor=vendor, webhook_secret=SECRET, clock=clock)
        session = gateway.start_checkout(request())
        vendor.pay(session.session_id)
        ids.append(
            {session.session_id, *(json.loads(d.body)["id"] for d in vendor.pending_deliveries())}
        )
    assert len(ids[0]) == len(ids[1]) == 3
    assert not ids[0] & ids[1]
    assert all(len(i) > len("evt_sbx_") + 12 for i in ids[0])


# -- the vendor's API and its errors -----------------------------------------------------


@pytest.mark.parametrize("error_type", sorted(ERROR_TYPES))
def test_every_error_the_vendor_answers_is_a_decision_of_the_gateway(
    vendor: SandboxVendor, gateway: SandboxGateway, error_type: str
):
    """Each error type the vendor's API answers with has its own entry in the gateway's
    table; a busy or failing vendor is retry-safe, a refused request is not."""
    assert error_type in ERROR_TABLE
    vendor.fail_next(error_type)
    with pytest.raises(GatewayError) as caught:
        gateway.start_checkout(request())
    assert type(caught.value) is ERROR_TABLE[error_type]
    assert caught.value.retry_safe is (error_type != "invalid_request")
    assert caught.value.gateway == "sandbox"
    gateway.start_checkout(request())  # the vendor is back


def test_a_refusal_carries_the_vendors_code(gateway: SandboxGateway):
    """The vendor's error code reaches the host on the GatewayRejectedError: a key reused
    for another request, a page the vendor does not know."""
    gateway.start_checkout(request("k-1"))
    with pytest.raises(GatewayRejectedError) as caught:
        gateway.start_checkout(request("k-1", invoice_id="inv-9"))
    assert caught.value.code == "idempotency"
    with pytest.raises(GatewayRejectedError) as caught:
        gateway.expire_checkout("cs_missing")
    assert caught.value.code == "no_such_session"


def test_the_vendor_refuses_parameters_it_does_not_know(vendor: SandboxVendor):
    """The vendor's API checks its parameters as a real API does: an error reply, not an exception."""
    reply = vendor.create_checkout_session({"mode": "payment"}, idempotency_key="k-bad")
    assert reply["error"]["type"] == "invalid_request"
    assert reply["error"]["code"] == "parameter_invalid"
