"""What Stripe keeps, read for the books (seed 004_67d5e53a019b49ae.txt): a subscription
invoice's fee, a dispute's fee and its return, and a fee settled in another currency
(not booked, warned about once per payment), through the real SDK against the local
Stripe API."""

from __future__ import annotations

import logging
from datetime import timedelta

import attrs
import pytest

from portal_access import (
    DisputeOutcome,
    GatewayEvent,
    InvoiceLine,
    LineKind,
    Money,
    PaymentMethodKind,
    PaymentSnapshot,
    Plan,
)
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
from portal_access.gateways._kit import Fields
from portal_access.gateways.stripe import StripeGateway
from portal_access.gateways.stripe._objects import dispute_of
from portal_access.testing.stripe import FakeStripeApi
from tests.stripe_world import api, clock, gateway

__all__ = ["api", "clock", "gateway"]  # the fixtures this module uses

CARD = PaymentMethodKind.CARD
PLAN = Plan(id="plan-monthly", name="Portal monthly", amount=Money(5000, "USD"))
REQUEST = CheckoutRequest(
    purpose=CheckoutPurpose.REQUIRED_PAYMENT, currency="USD", contact_id="c-1",
    success_url="https://portal.example/paid", cancel_url="https://portal.example/pay",
    idempotency_key="k-1", invoice_id="inv-1", payment_methods=frozenset({CARD}),
    lines=(InvoiceLine("Setup fee", Money(25000, "USD"), LineKind.ONE_TIME),),
)  # fmt: skip

LOGGER = "portal_access.gateways.stripe"


def card_fee(amount: int) -> Money:
    """The local API's card fee: 2.9 % + 30 cents, as Stripe's US list price."""
    return Money(amount * 290 // 10_000 + 30, "USD")


def parsed(api: FakeStripeApi, gateway: StripeGateway) -> list[GatewayEvent]:
    """The queued deliveries, each parsed by the gateway (as a webhook), in order."""
    found = api.deliver(gateway.parse_webhook)
    assert all(isinstance(event, GatewayEvent) for event in found)
    return found  # type: ignore[return-value]


def payments_of(events: list[GatewayEvent], event_type: str) -> list[PaymentSnapshot]:
    return [p for e in events if e.event_type == event_type for p in e.payments]


def page(gateway: StripeGateway, **changes: object) -> str:
    return gateway.start_checkout(attrs.evolve(REQUEST, **changes)).session_id


def subscription_id(api: FakeStripeApi) -> str:
    (found,) = [o["id"] for o in api.objects.values() if o["object"] == "subscription"]
    return str(found)


def settle_in(api: FakeStripeApi, currency: str) -> None:
    """Every balance transaction of a charge so far settled in ``currency`` (an account
    whose balance is in another currency than its charges'); the fee keeps its figure."""
    for obj in api.objects.values():
        if obj["object"] == "balance_transaction" and obj["type"] == "charge":
            obj["currency"] = currency
            for detail in obj["fee_details"]:
                detail["currency"] = currency


def test_a_paid_subscription_invoice_carries_its_fee(api, gateway, clock):
    """The first invoice (250 + 50) and a renewal (50) each carry the fee of the charge
    that paid it, and the charge's method, found through the invoice's paid invoice
    payments (the invoice names no payment at the pinned API version)."""
    api.pay(page(gateway, plan=PLAN))
    clock.advance(timedelta(days=31))
    api.renew(subscription_id(api), succeed=True)
    paid = payments_of(parsed(api, gateway), "invoice.paid")
    assert [(p.payment_id[:3], p.amount.amount, p.fee, p.method) for p in paid] == [
        ("in_", 30000, card_fee(30000), CARD),
        ("in_", 5000, card_fee(5000), CARD),  # the renewal offers no method: its charge's
    ]
    asked = [r.params for r in api.requests if r.path == "/v1/invoice_payments"]
    assert asked
    assert all(q["status"] == "paid" for q in asked)


def test_a_failed_subscription_invoice_asks_for_no_fee(api, gateway, clock):
    """Only a paid invoice's fee is asked for: a failed renewal makes no lookup."""
    api.pay(page(gateway, plan=PLAN))
    parsed(api, gateway)
    clock.advance(timedelta(days=31))
    asked = len(api.requests)
    api.renew(subscription_id(api), succeed=False)
    (failed,) = payments_of(parsed(api, gateway), "invoice.payment_failed")
    assert failed.fee is None
    assert [r.path for r in api.requests[asked:]] == []


def test_an_invoice_of_a_subscription_not_ours_asks_for_no_fee(api, gateway):
    """Another app's subscription on the same account (no ``contact_id`` in its
    metadata): its paid invoices are not ours, and cost no API call."""
    api.pay(page(gateway, plan=PLAN))
    (paid,) = [e for e in api.events if e["type"] == "invoice.paid"]
    paid["data"]["object"]["parent"]["subscription_details"]["metadata"] = {}
    asked = len(api.requests)
    event = api.redeliver(paid["id"], gateway.parse_webhook)
    assert event.payments == ()  # type: ignore[attr-defined]
    assert api.requests[asked:] == []


@pytest.mark.parametrize("won", [True, False])
def test_a_dispute_carries_its_fee_and_its_return_once_won(api, gateway, clock, won):
    """The dispute's own balance transactions (carried by the event: no API call): the
    funds withdrawn with a 15.00 dispute fee; won, reinstated with the fee returned."""
    intent = api.pay(page(gateway))
    parsed(api, gateway)
    asked = len(api.requests)
    api.dispute(intent)
    clock.advance(timedelta(days=20))
    api.close_dispute(intent, won=won)
    events = parsed(api, gateway)
    disputes = {e.event_type: p.disputes for e in events for p in e.payments}
    fee = Money(1500, "USD")
    (opened,) = disputes["charge.dispute.created"]
    assert (opened.outcome, opened.fee, opened.fee_returned) == (DisputeOutcome.OPEN, None, None)
    (withdrawn,) = disputes["charge.dispute.funds_withdrawn"]
    assert (withdrawn.fee, withdrawn.fee_returned) == (fee, None)
    (closed,) = disputes["charge.dispute.closed"]
    assert (closed.fee, closed.fee_returned) == (fee, fee if won else None)
    assert (closed.outcome is DisputeOutcome.WON) is won
    assert ("charge.dispute.funds_reinstated" in disputes) is won
    lookups = {r.path.split("/")[2] for r in api.requests[asked:]}
    assert lookups <= {"payment_intents"}  # whose payment it is; the fees come with the event


def test_a_fee_in_another_currency_is_not_booked_and_warned_once(api, gateway, caplog):
    """A charge's fee settled in EUR is not the USD payment's fee (no exchange rate is
    assumed): no fee, and one warning line naming the payment and both currencies,
    however often the event is delivered."""
    intent = api.pay(page(gateway))
    settle_in(api, "eur")
    (succeeded,) = [e for e in api.events if e["type"] == "payment_intent.succeeded"]
    caplog.set_level(logging.WARNING, logger=LOGGER)
    found = [api.redeliver(succeeded["id"], gateway.parse_webhook) for _ in range(3)]
    assert {p.fee for event in found for p in event.payments} == {None}  # type: ignore[attr-defined]
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert [(r.levelno, r.getMessage()) for r in warnings] == [
        (logging.WARNING, f"stripe payment {intent}: its fee is in EUR, not the payment's USD: "
                          "not booked (no exchange rate is assumed)"),
    ]  # fmt: skip


def test_an_invoice_fee_in_another_currency_is_warned_naming_the_invoice(api, gateway, caplog):
    """The same for a subscription invoice: the warning names the ``in_...`` payment."""
    api.pay(page(gateway, plan=PLAN))
    settle_in(api, "gbp")
    caplog.set_level(logging.WARNING, logger=LOGGER)
    (paid,) = payments_of(parsed(api, gateway), "invoice.paid")
    assert paid.fee is None
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == [
        f"stripe payment {paid.payment_id}: its fee is in GBP, not the payment's USD: "
        "not booked (no exchange rate is assumed)"
    ]


def test_a_dispute_fee_in_another_currency_is_not_booked_and_warned(api, gateway, caplog):
    """A dispute fee settled in another currency than the dispute's is not its fee."""
    intent = api.pay(page(gateway))
    parsed(api, gateway)
    api.dispute(intent)
    (withdrawn,) = [e for e in api.events if e["type"] == "charge.dispute.funds_withdrawn"]
    for transaction in withdrawn["data"]["object"]["balance_transactions"]:
        transaction["currency"] = "cad"
        transaction["fee_details"][0]["currency"] = "cad"
    caplog.set_level(logging.WARNING, logger=LOGGER)
    event = api.redeliver(withdrawn["id"], gateway.parse_webhook)
    ((dispute,),) = [p.disputes for p in event.payments]  # type: ignore[attr-defined]
    assert (dispute.amount, dispute.fee) == (Money(25000, "USD"), None)
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == [
        f"stripe payment {intent}: its dispute fee is in CAD, not the payment's USD: "
        "not booked (no exchange rate is assumed)"
    ]


@pytest.mark.parametrize(
    ("transactions", "fee", "returned"),
    [
        # the withdrawal in another currency: the return has no fee here to offset
        ([("eur", 1500), ("usd", -1500)], None, None),
        # more given back than these transactions charged: no more than charged
        ([("usd", 1500), ("usd", -2000)], 1500, 1500),
    ],
)
def test_a_dispute_fee_returned_beyond_its_charge_is_not_a_refused_webhook(
    transactions, fee, returned
):
    """Seed 004_67d5e53a019b49ae.txt: a dispute whose transactions give back more fee
    than they charged in its currency is booked as far as the books can hold it (a
    return up to the fee), not refused: a refused webhook is redelivered for days and
    the dispute itself would never be booked."""
    dispute = Fields(
        {
            "id": "dp_1",
            "object": "dispute",
            "amount": 10000,
            "currency": "usd",
            "status": "won",
            "balance_transactions": [
                {
                    "id": f"txn_{n}",
                    "object": "balance_transaction",
                    "currency": currency,
                    "fee": fee_part,
                    "amount": 0,
                }
                for n, (currency, fee_part) in enumerate(transactions)
            ],
        },
        gateway="stripe",
    )
    (found,) = dispute_of(dispute)
    assert found.amount == Money(10000, "USD")
    assert found.fee == (Money(fee, "USD") if fee else None)
    assert found.fee_returned == (Money(returned, "USD") if returned else None)
