"""The local Stripe API's payer and Stripe: each action emits the events Stripe sends,
in Stripe's order, signed with the real scheme, shaped as Stripe's objects."""

from __future__ import annotations

import json
from datetime import timedelta

import attrs
import pytest
import stripe

from portal_access import (
    GatewayRejectedError,
    InvoiceLine,
    LineKind,
    Money,
    PaymentMethodKind,
    Plan,
)
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
from portal_access.adapters import ManualClock
from portal_access.gateways.stripe import StripeGateway
from portal_access.testing.stripe import FakeStripeApi
from tests.stripe_shapes import assert_stripe_shaped
from tests.stripe_world import NOW, SECRET, api, clock, gateway, make_gateway

__all__ = ["api", "clock", "gateway"]  # the fixtures this module uses

BANK, CARD = PaymentMethodKind.BANK_ACCOUNT, PaymentMethodKind.CARD
PLAN = Plan(id="plan-monthly", name="Portal monthly", amount=Money(5000, "USD"))
REQUEST = CheckoutRequest(
    purpose=CheckoutPurpose.REQUIRED_PAYMENT, currency="USD", contact_id="c-1",
    success_url="https://portal.example/paid", cancel_url="https://portal.example/pay",
    idempotency_key="k-1", invoice_id="inv-1", payment_methods=frozenset({CARD, BANK}),
    lines=(InvoiceLine("Setup fee", Money(25000, "USD"), LineKind.ONE_TIME),),
)  # fmt: skip


def sent(api: FakeStripeApi) -> list[str]:
    """The types of the queued deliveries, each signature checked by the SDK's own
    verifier (its tolerance is against the wall clock: the test's clock is its own)."""
    types = []
    for headers, body in api.pending_deliveries():
        event = stripe.Webhook.construct_event(
            body, headers["Stripe-Signature"], SECRET, tolerance=None
        )
        types.append(event.type)
    api.deliver(lambda headers, body: None)
    return types


def page(gateway: StripeGateway, **changes: object) -> str:
    return gateway.start_checkout(attrs.evolve(REQUEST, **changes)).session_id


def test_a_card_pays_a_payment_page(api, gateway):
    """Payment mode, card: the charge, the intent (with our metadata), the session."""
    intent = api.pay(page(gateway))
    assert sent(api) == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    assert api.objects[intent]["metadata"]["invoice_id"] == "inv-1"


def test_a_declined_card_leaves_the_page_open(api, gateway):
    """A decline fails the charge and the intent; the payer may try again on the page."""
    session = page(gateway)
    api.pay(session, succeed=False)
    assert sent(api) == ["charge.failed", "payment_intent.payment_failed"]
    api.pay(session)
    assert sent(api)[-1] == "checkout.session.completed"
    with pytest.raises(stripe.InvalidRequestError):
        api.pay(session)  # complete now


def test_a_bank_debit_on_a_subscription_page_processes_then_clears_or_returns(api, gateway, clock):
    """Subscription mode, ACH: the subscription waits incomplete on its open first invoice
    (both charges) until the bank clears it, or the debit comes back."""
    session = page(gateway, plan=PLAN)
    intent = api.pay(session, method=BANK)
    assert sent(api) == ["customer.subscription.created", "invoice.finalized", "charge.pending",
                         "payment_intent.processing", "checkout.session.completed"]  # fmt: skip
    invoice = api.objects[api.objects[session]["invoice"]]
    assert [line["amount"] for line in invoice["lines"]["data"]] == [25000, 5000]
    assert (invoice["status"], api.objects[session]["payment_status"]) == ("open", "unpaid")
    clock.advance(timedelta(days=4))
    api.settle_ach(intent, cleared=True)
    assert sent(api) == ["charge.succeeded", "payment_intent.succeeded", "invoice.paid",
                         "customer.subscription.updated",
                         "checkout.session.async_payment_succeeded"]  # fmt: skip
    assert (
        api.objects[invoice["parent"]["subscription_details"]["subscription"]]["status"] == "active"
    )
    returned = api.pay(page(gateway, plan=PLAN, idempotency_key="k-2"), method=BANK)
    sent(api)
    api.settle_ach(returned, cleared=False)
    assert sent(api) == ["charge.failed", "payment_intent.payment_failed", "invoice.payment_failed",
                         "checkout.session.async_payment_failed"]  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError):
        api.settle_ach(returned, cleared=True)


def test_renewals_bill_the_plan_alone_and_failures_run_to_past_due_unpaid_or_canceled(
    api, gateway, clock
):
    """Seed 000_07c53b15302458c1.txt: a renewal invoice carries only the plan; a failed one
    makes the subscription past due, and when retries run out unpaid or canceled."""
    api.pay(page(gateway, plan=PLAN))
    sent(api)
    (subscription,) = [o for o in api.objects.values() if o["object"] == "subscription"]
    for unpaid in (True, False):
        clock.advance(timedelta(days=31))
        api.renew(subscription["id"], succeed=False)
        assert sent(api) == ["invoice.finalized", "charge.failed", "payment_intent.payment_failed",
                             "invoice.payment_failed", "customer.subscription.updated"]  # fmt: skip
        renewal = api.objects[subscription["latest_invoice"]]
        assert [line["amount"] for line in renewal["lines"]["data"]] == [5000]
        assert subscription["status"] == "past_due"
        if unpaid:
            api.exhaust_retries(subscription["id"], unpaid=True)
            assert (sent(api), subscription["status"]) == (
                ["customer.subscription.updated"],
                "unpaid",
            )
            clock.advance(timedelta(days=1))
            api.pay(subscription["latest_invoice"])  # the hosted invoice page: pays the debt
            assert sent(api)[-2:] == ["invoice.paid", "customer.subscription.updated"]
            assert subscription["status"] == "active"
    api.exhaust_retries(subscription["id"])
    assert sent(api) == ["customer.subscription.deleted"]
    assert subscription["cancellation_details"]["reason"] == "payment_failed"
    with pytest.raises(stripe.InvalidRequestError):
        api.renew(subscription["id"], succeed=True)


def test_saving_a_method_completes_a_setup_page(api, gateway):
    """Setup mode charges nothing: the setup intent succeeds and the session completes."""
    save = attrs.evolve(REQUEST, purpose=CheckoutPurpose.SAVE_PAYMENT_METHOD, invoice_id=None,
                        lines=(), save_payment_method=True, idempotency_key="k-s")  # fmt: skip
    api.pay(gateway.start_checkout(save).session_id)
    assert sent(api) == ["setup_intent.succeeded", "checkout.session.completed"]


def test_refunds_report_the_charge_and_refuse_too_much(api, gateway):
    """A partial refund leaves the charge not refunded, the rest refunds it; a refund of
    more than is left is refused. Their events wait for deliver (Stripe answers first)."""
    intent = api.pay(page(gateway))
    sent(api)
    gateway.refund(intent, amount=Money(5000, "USD"), idempotency_key="r-1")
    gateway.refund(intent, amount=None, idempotency_key="r-2")
    refunds = [json.loads(d.body)["data"]["object"] for d in api.pending_deliveries()]
    assert [(c["amount_refunded"], c["refunded"]) for c in refunds] == [
        (5000, False),
        (25000, True),
    ]
    with pytest.raises(GatewayRejectedError):
        gateway.refund(intent, amount=Money(1, "USD"), idempotency_key="r-3")


def test_a_dispute_opens_and_closes(api, gateway, clock):
    """A dispute of a paid invoice's payment is opened, then won or lost, once."""
    api.pay(page(gateway, plan=PLAN))
    sent(api)
    (invoice,) = [o["id"] for o in api.objects.values() if o["object"] == "invoice"]
    api.dispute(invoice)
    clock.advance(timedelta(days=20))
    api.close_dispute(invoice, won=False)
    assert sent(api) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
    ]
    with pytest.raises(stripe.InvalidRequestError):
        api.close_dispute(invoice, won=True)


def test_reconcile_lists_what_was_emitted_oldest_first(api, gateway, clock):
    """The events an action sent are the events the API lists, for reconcile."""
    api.pay(page(gateway, plan=PLAN), method=BANK)
    types = sent(api)
    assert [event.event_type for event in gateway.list_events(since=NOW)] == types


def test_a_page_takes_only_the_methods_it_offers(api, gateway):
    """A card-only page refuses a bank account."""
    with pytest.raises(stripe.InvalidRequestError):
        api.pay(page(gateway, payment_methods=frozenset({CARD})), method=BANK)


def every_action() -> dict[str, dict[str, object]]:
    """The objects and events of a local API that did everything once (for shape checks)."""
    clock = ManualClock(NOW)
    with FakeStripeApi(clock=clock, webhook_secret=SECRET) as api:
        gateway = make_gateway(api, clock)
        paid = api.pay(page(gateway))
        gateway.refund(paid, amount=Money(100, "USD"), idempotency_key="r-all")
        api.pay(page(gateway, idempotency_key="k-s", purpose=CheckoutPurpose.SAVE_PAYMENT_METHOD,
                     invoice_id=None, lines=(), save_payment_method=True))  # fmt: skip
        api.settle_ach(api.pay(page(gateway, plan=PLAN, idempotency_key="k-a"), method=BANK),
                       cleared=True)  # fmt: skip
        (subscription,) = [o for o in api.objects.values() if o["object"] == "subscription"]
        clock.advance(timedelta(days=31))
        api.renew(subscription["id"], succeed=False)
        api.exhaust_retries(subscription["id"], unpaid=True)
        api.dispute(paid)
        api.close_dispute(paid, won=True)
    assert_stripe_shaped(api)
    return {"objects": api.objects, **{e["id"]: e for e in api.events}}


def test_a_local_api_that_did_everything_made_only_stripe_shaped_objects():
    """Every object and event of every action has only fields Stripe's objects have."""
    assert len(every_action()) > 20
