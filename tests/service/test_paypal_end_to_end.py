"""Seed 000's and seed 004's stories end to end on PayPal: PortalAccess, PayPalGateway,
the real paypal-server-sdk, a local PayPal API on 127.0.0.1, PayPal-signed webhooks,
on the memory store and on SQLite."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from portal_access import (
    AccessLevel,
    AccessReason,
    AchPolicy,
    ContactPortalSettings,
    InvoiceStatus,
    Money,
    PaymentStatus,
)
from portal_access._portal import PortalAccess
from portal_access.adapters import (
    ManualClock,
)
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from portal_access.testing.paypal import LocalPayPalApi, PayPalWebhooks
from tests.paypal_shapes import assert_paypal_shaped
from tests.paypal_world import make_gateway as make_paypal_gateway
from tests.service.harness import (
    ADMIN,
    CANCEL,
    CLIENT,
    MONTHLY,
    START,
    SUCCESS,
    Harness,
    portal_with,
    register,
    sign_up,
)
from tests.sql_databases import sqlite_url

WEBHOOK_ID = "WH1ENDTOEND"
Delivery = tuple[dict[str, str], bytes]


@attrs.define
class Story:
    """A portal on PayPal (local API) and the PayPal-side actions of seed 000's payer."""

    harness: Harness
    api: LocalPayPalApi
    webhooks: PayPalWebhooks
    contact_id: str = ""

    @property
    def portal(self) -> PortalAccess:
        return self.harness.portal

    def deliver(self, *deliveries: Delivery) -> list[str]:
        """Hand each delivery to the host's endpoint, signed anew (PayPal signs each try)."""
        return [
            self.portal.handle_webhook("paypal", self.webhooks.sign(body), body).outcome
            for _headers, body in deliveries
        ]

    def subscription_event(self, event_type: str, subscription_id: str) -> Delivery:
        resource = dict(self.api.subscriptions[subscription_id])
        return self.webhooks.event(event_type, resource, resource_type="subscription")

    def sale_event(self, event_type: str, sale: dict[str, Any]) -> Delivery:
        return self.webhooks.event(event_type, dict(sale), resource_type="sale")

    def level(self) -> tuple[AccessLevel, AccessReason]:
        decision = self.portal.check_access(self.contact_id)
        return decision.level, decision.reason

    def approve(self, *, echeck: bool = False) -> tuple[str, dict[str, Any]]:
        """The payer opens the page and approves the subscription; PayPal charges the
        setup fee and reports the activation and the sale."""
        page = self.portal.start_checkout(self.contact_id, success_url=SUCCESS, cancel_url=CANCEL)
        assert page.session_id.startswith("I-")
        sale = self.api.approve_subscription(page.session_id, echeck=echeck)
        return page.session_id, sale


def _account(story: Story, uow: Any) -> str:
    contact = uow.contacts.get(story.contact_id)
    assert contact is not None
    return contact.account_id


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with SqlStore(sqlite_url(tmp_path), create=True) as sql:
        yield sql


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def api(clock: ManualClock) -> Iterator[LocalPayPalApi]:
    with LocalPayPalApi(now=clock.now) as local:
        yield local
    assert_paypal_shaped(local)


def story(store: Any, clock: ManualClock, api: LocalPayPalApi, *, ach: AchPolicy =
          AchPolicy.GRANT_ON_CLEARING, plan: Any = MONTHLY) -> Story:  # fmt: skip
    gateway = make_paypal_gateway(api, clock, webhook_id=WEBHOOK_ID)
    harness = portal_with([gateway], clock=clock, offer_gateway="paypal", store=store, ach=ach,
                          plan=plan)  # fmt: skip
    sign_up(harness)
    result = Story(harness, api, PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock, api=api))
    result.contact_id = register(harness)
    return result


def _invoices(s: Story) -> list[Any]:
    with unit_of_work(s.harness.store) as uow:
        return list(uow.invoices.for_account(_account(s, uow)))


def test_first_invoice_is_the_setup_fee_and_renewals_carry_only_the_plan(store, clock, api):
    """Seed 000_07c53b15302458c1.txt: 250 setup + 50/month: one approval pays the first
    invoice (both charges, as the subscription's setup fee); each renewal only the plan."""
    s = story(store, clock, api)
    assert s.level() == (AccessLevel.PAY_INVOICE_ONLY, AccessReason.INVOICE_OPEN)
    subscription_id, sale = s.approve()
    (created,) = [e for e in api.exchanges if e.path == "/v1/billing/subscriptions"]
    preferences = created.body["plan"]["payment_preferences"]
    assert preferences["setup_fee"] == {"currency_code": "USD", "value": "299.00"}
    assert preferences["setup_fee_failure_action"] == "CANCEL"
    assert created.body["start_time"] == "2026-04-02T09:00:00Z"  # one month after now
    (plan,) = api.plans.values()
    assert plan["billing_cycles"][0]["pricing_scheme"]["fixed_price"]["value"] == "49.00"
    outcomes = s.deliver(s.subscription_event("BILLING.SUBSCRIPTION.ACTIVATED", subscription_id),
                         s.sale_event("PAYMENT.SALE.COMPLETED", sale))  # fmt: skip
    assert outcomes == ["applied", "applied"]
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    assert len(s.harness.topics("onboarding.due")) == 1
    clock.advance(timedelta(days=31))
    renewal = api.renew(subscription_id, paid=True)
    assert renewal is not None
    assert s.deliver(s.sale_event("PAYMENT.SALE.COMPLETED", renewal)) == ["applied"]
    first, second = sorted(_invoices(s), key=lambda i: i.number)
    assert [line.description for line in first.lines] == ["Setup fee", "Portal monthly"]
    assert first.status is InvoiceStatus.PAID
    assert [line.description for line in second.lines] == ["Portal monthly"]
    assert (second.status, second.total) == (InvoiceStatus.PAID, Money(4900, "USD"))
    assert len(s.harness.topics("onboarding.due")) == 1


WHILE_PROCESSING = {
    AchPolicy.GRANT_ON_INITIATION: (AccessLevel.FULL, AccessReason.ACH_PROCESSING),
    AchPolicy.GRANT_ON_CLEARING: (AccessLevel.PAY_INVOICE_ONLY, AccessReason.PAYMENT_PROCESSING),
}


@pytest.mark.parametrize("policy", list(AchPolicy))
@pytest.mark.parametrize("cleared", [True, False], ids=["cleared", "returned"])
def test_echeck_setup_fee_follows_the_ach_policy(store, clock, api, policy, cleared):
    """Seed 000_07c53b15302458c1.txt: an eCheck (PayPal's bank payment) grants on initiation
    or on clearing per the setting; one the bank returns leaves pay-invoice-only."""
    s = story(store, clock, api, ach=policy)
    subscription_id, sale = s.approve(echeck=True)
    s.deliver(s.subscription_event("BILLING.SUBSCRIPTION.ACTIVATED", subscription_id),
              s.sale_event("PAYMENT.SALE.PENDING", sale))  # fmt: skip
    assert s.level() == WHILE_PROCESSING[policy]
    assert s.harness.topics("onboarding.due") == []
    clock.advance(timedelta(days=4))
    settled = api.settle_sale(sale["id"], cleared=cleared)
    kind = "PAYMENT.SALE.COMPLETED" if cleared else "PAYMENT.SALE.DENIED"
    s.deliver(s.sale_event(kind, settled))
    if cleared:
        assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
        assert len(s.harness.topics("onboarding.due")) == 1
    else:
        assert s.level() == (AccessLevel.PAY_INVOICE_ONLY, AccessReason.PAYMENT_FAILED)
        assert s.harness.topics("onboarding.due") == []


@pytest.mark.parametrize("policy", list(AchPolicy))
def test_echeck_order_is_captured_then_clears(store, clock, api, policy):
    """Seed 000_07c53b15302458c1.txt: a one-time offer paid by eCheck: the approval is
    captured by the gateway, pending, then cleared, under either policy."""
    s = story(store, clock, api, ach=policy, plan=None)
    page = s.portal.start_checkout(s.contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    order = api.approve_order(page.session_id, method="echeck")
    approved = s.webhooks.event("CHECKOUT.ORDER.APPROVED", {k: v for k, v in order.items()
                                if not k.startswith("_")}, resource_type="checkout-order")  # fmt: skip
    assert s.deliver(approved) == ["applied"]
    assert s.level() == WHILE_PROCESSING[policy]
    (capture,) = api.captures.values()
    settled = api.settle_capture(capture["id"], cleared=True)
    s.deliver(s.webhooks.event("PAYMENT.CAPTURE.COMPLETED", dict(settled), resource_type="capture"))
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    assert s.deliver(approved) == ["duplicate"]
    captures = [e for e in api.exchanges if e.path.endswith("/capture")]
    assert len(captures) == 1
    assert captures[0].headers["paypal-request-id"] == f"portal-access:capture:{page.session_id}"


def test_failed_renewal_restricts_then_resubscribe_restores(store, clock, api):
    """Seed 000_07c53b15302458c1.txt: a failed renewal restricts to re-subscribing; the
    Re-Subscribe link opens a new subscription (the suspended one is cancelled first, so
    never two live ones) and its payment restores access."""
    s = story(store, clock, api)
    subscription_id, sale = s.approve()
    s.deliver(s.subscription_event("BILLING.SUBSCRIPTION.ACTIVATED", subscription_id),
              s.sale_event("PAYMENT.SALE.COMPLETED", sale))  # fmt: skip
    clock.advance(timedelta(days=31))
    assert api.renew(subscription_id, paid=False) is None
    s.deliver(s.subscription_event("BILLING.SUBSCRIPTION.PAYMENT.FAILED", subscription_id),
              s.subscription_event("BILLING.SUBSCRIPTION.SUSPENDED", subscription_id))  # fmt: skip
    assert s.level() == (AccessLevel.RESUBSCRIBE_ONLY, AccessReason.RENEWAL_FAILED)
    s.portal.having_trouble("ann@example.com", client_key=CLIENT)
    token = s.harness.link("ann@example.com", "/portal/resubscribe")
    page = s.portal.resubscribe(token, success_url=SUCCESS, cancel_url=CANCEL)
    assert page.session_id != subscription_id
    assert api.subscriptions[subscription_id]["status"] == "CANCELLED"
    new_sale = api.approve_subscription(page.session_id)
    live = [x for x in api.subscriptions.values() if x["status"] in ("ACTIVE", "SUSPENDED")]
    assert [x["id"] for x in live] == [page.session_id]
    (created,) = [e for e in api.exchanges if e.path == "/v1/billing/subscriptions"][1:]
    setup_fee = created.body["plan"]["payment_preferences"]["setup_fee"]
    assert setup_fee == {"currency_code": "USD", "value": "49.00"}  # one period, no setup again
    s.deliver(s.subscription_event("BILLING.SUBSCRIPTION.CANCELLED", subscription_id),
              s.subscription_event("BILLING.SUBSCRIPTION.ACTIVATED", page.session_id),
              s.sale_event("PAYMENT.SALE.COMPLETED", new_sale))  # fmt: skip
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    assert len(s.harness.topics("onboarding.due")) == 1


def test_cancel_required_payment_closes_the_order_so_it_is_never_captured(store, clock, api):
    """Seed 000_07c53b15302458c1.txt: staff cancel the required payment; the open order is
    closed, and the payer's late approval is not captured."""
    s = story(store, clock, api, plan=None)
    page = s.portal.start_checkout(s.contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    s.portal.cancel_required_payment(s.contact_id, staff=ADMIN)
    assert s.level() == (AccessLevel.FULL, AccessReason.PAYMENT_WAIVED)
    order = api.approve_order(page.session_id)
    resource = {k: v for k, v in order.items() if not k.startswith("_")}
    approved = s.webhooks.event("CHECKOUT.ORDER.APPROVED", resource, resource_type="checkout-order")
    assert s.deliver(approved) == ["ignored: CHECKOUT.ORDER.APPROVED is not acted on"]
    assert api.captures == {}


def test_reconcile_replays_the_webhook_events_list(store, clock, api):
    """Missed deliveries are repaired from PayPal's webhook events list."""
    s = story(store, clock, api)
    subscription_id, sale = s.approve()
    s.subscription_event("BILLING.SUBSCRIPTION.ACTIVATED", subscription_id)  # never delivered
    s.sale_event("PAYMENT.SALE.COMPLETED", sale)
    assert s.level()[0] is AccessLevel.PAY_INVOICE_ONLY
    report = s.portal.reconcile("paypal", since=START)
    assert (report.seen, report.repaired, report.duplicates) == (2, 2, 0)
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    again = s.portal.reconcile("paypal", since=START)
    assert (again.repaired, again.duplicates) == (0, 2)


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [(None, frozenset({"paypal"})), (frozenset({"paypal"}), frozenset({"paypal"})),
     (frozenset({"stripe"}), frozenset())],
)  # fmt: skip
def test_each_contact_pays_only_with_the_gateways_allowed(store, clock, api, allowed, expected):
    """Seed 004_67d5e53a019b49ae.txt: per contact, the portal offers PayPal only where its
    selector is on (and the host configured it)."""
    s = story(store, clock, api)
    subscription_id, sale = s.approve()
    s.deliver(s.subscription_event("BILLING.SUBSCRIPTION.ACTIVATED", subscription_id),
              s.sale_event("PAYMENT.SALE.COMPLETED", sale))  # fmt: skip
    with unit_of_work(s.harness.store) as uow:
        contact = uow.contacts.get(s.contact_id)
    assert contact is not None
    portal_settings = ContactPortalSettings(allowed_gateways=allowed)
    s.portal.update_contact(attrs.evolve(contact, portal=portal_settings))
    decision = s.portal.check_access(s.contact_id)
    assert decision.level is AccessLevel.FULL
    assert decision.gateways == expected


def test_one_time_offer_needs_no_plan(store, clock, api):
    """Seed 000_07c53b15302458c1.txt: a one-time payment alone is an order, captured on approval."""
    s = story(store, clock, api, plan=None)
    page = s.portal.start_checkout(s.contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    (opened,) = [e for e in api.exchanges if e.path == "/v2/checkout/orders"]
    unit = opened.body["purchase_units"][0]
    assert unit["amount"]["value"] == "250.00"
    assert unit["custom_id"] == s.portal.check_access(s.contact_id).required_invoice_id
    order = api.approve_order(page.session_id, method="card")
    resource = {k: v for k, v in order.items() if not k.startswith("_")}
    s.deliver(s.webhooks.event("CHECKOUT.ORDER.APPROVED", resource, resource_type="checkout-order"))
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)


def _fee(amount: int) -> int:
    """The local API's fee: 3.49 % + 0.49, PayPal's US list price."""
    return amount * 349 // 10_000 + 49


@pytest.mark.parametrize("echeck", [False, True], ids=["wallet", "echeck"])
def test_each_subscription_payment_books_its_fee(store, clock, api, echeck):
    """Seed 004_67d5e53a019b49ae.txt: a subscription's payments are sales; what PayPal
    kept of each (its ``transaction_fee``) is a fee entry, as a capture's is: the setup
    fee's sale (an eCheck's once cleared: a pending sale has settled nothing) and each
    renewal's."""
    s = story(store, clock, api)
    subscription_id, sale = s.approve(echeck=echeck)
    kind = "PAYMENT.SALE.PENDING" if echeck else "PAYMENT.SALE.COMPLETED"
    s.deliver(s.subscription_event("BILLING.SUBSCRIPTION.ACTIVATED", subscription_id),
              s.sale_event(kind, sale))  # fmt: skip
    if echeck:
        clock.advance(timedelta(days=4))
        s.deliver(s.sale_event("PAYMENT.SALE.COMPLETED", api.settle_sale(sale["id"], cleared=True)))
    clock.advance(timedelta(days=31))
    renewal = api.renew(subscription_id, paid=True)
    assert renewal is not None
    s.deliver(s.sale_event("PAYMENT.SALE.COMPLETED", renewal))
    entries = s.portal.accounting_entries(START.date(), START.date() + timedelta(days=40))
    booked = sorted((e.payment_id, e.kind.value, e.signed_amount) for e in entries)
    assert booked == sorted([
        (sale["id"], "payment", 29900), (sale["id"], "fee", -_fee(29900)),
        (renewal["id"], "payment", 4900), (renewal["id"], "fee", -_fee(4900)),
    ])  # fmt: skip


@pytest.mark.parametrize("seed", range(3))
def test_a_renewal_refunded_from_paypal_is_booked_once_per_refund(store, clock, api, seed):
    """Seed 004_67d5e53a019b49ae.txt: a renewal (a sale) refunded from PayPal's dashboard,
    first in part then the rest, is booked: each refund an entry by its own id, once,
    though each ``PAYMENT.SALE.REFUNDED`` is delivered three times and shuffled with the
    sale's completion; the renewal ends refunded. The refund event carries only the
    refund: the gateway looks the sale up (``GET /v1/payments/sale/{id}``)."""
    s = story(store, clock, api)
    subscription_id, sale = s.approve()
    s.deliver(s.subscription_event("BILLING.SUBSCRIPTION.ACTIVATED", subscription_id),
              s.sale_event("PAYMENT.SALE.COMPLETED", sale))  # fmt: skip
    clock.advance(timedelta(days=31))
    renewal = api.renew(subscription_id, paid=True)
    assert renewal is not None
    completed = s.sale_event("PAYMENT.SALE.COMPLETED", renewal)
    clock.advance(timedelta(days=2))
    partly = s.webhooks.refund_sale(renewal["id"], amount=Money(1900, "USD"))
    clock.advance(timedelta(days=1))
    rest = s.webhooks.refund_sale(renewal["id"])
    deliveries = [completed, partly, partly, partly, rest, rest, rest]
    random.Random(seed).shuffle(deliveries)
    s.deliver(*deliveries)
    first, second = (r["id"] for r in api.sale_refunds[renewal["id"]])
    entries = s.portal.accounting_entries(START.date(), START.date() + timedelta(days=40))
    booked = [(e.payment_id, e.kind.value, e.reference, e.signed_amount) for e in entries
              if e.payment_id == renewal["id"]]  # fmt: skip
    assert sorted(booked) == sorted([
        (renewal["id"], "payment", "", 4900), (renewal["id"], "fee", "", -_fee(4900)),
        (renewal["id"], "refund", first, -1900), (renewal["id"], "refund", second, -3000),
    ])  # fmt: skip
    with unit_of_work(s.harness.store) as uow:
        payment = uow.payments.get("paypal", renewal["id"])
    assert payment is not None
    assert payment.snapshot.status is PaymentStatus.REFUNDED


def test_a_dispute_in_another_currency_is_applied_not_refused(store, clock, api, caplog):
    """A verified dispute whose amount is in another currency than its capture's was
    refused (HTTP 400, redelivered for days, the payment never marked disputed): it is
    applied, the payment disputed, and no dispute entry made (no exchange rate is
    assumed; the gateway warns)."""
    s = story(store, clock, api, plan=None)
    page = s.portal.start_checkout(s.contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    order = api.approve_order(page.session_id, method="card")
    resource = {k: v for k, v in order.items() if not k.startswith("_")}
    s.deliver(s.webhooks.event("CHECKOUT.ORDER.APPROVED", resource, resource_type="checkout-order"))
    (capture_id,) = api.captures
    clock.advance(timedelta(hours=1))
    dispute = api.open_dispute(capture_id)
    dispute["dispute_amount"] = {"currency_code": "EUR", "value": "230.00"}
    assert s.deliver(s.webhooks.dispute(dispute)) == ["applied"]
    with unit_of_work(s.harness.store) as uow:
        stored = uow.payments.get("paypal", capture_id)
    assert stored is not None
    assert stored.snapshot.status is PaymentStatus.DISPUTED
    entries = s.portal.accounting_entries(START.date(), START.date())
    assert sorted(e.kind.value for e in entries) == ["fee", "payment"]
    assert any("is in EUR, not the payment's USD" in r.getMessage() for r in caplog.records)
