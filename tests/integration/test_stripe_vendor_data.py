"""Stripe data our values cannot hold as it is, sent as Stripe sends it (the local API's
events, signed with ``Stripe-Signature``) to the real gateway: what the books can hold is
booked, the rest is said once on the gateway's logger, and the verified webhook is never
refused for it (a refused webhook comes back for days, and whatever else it carried
would never be booked). Seed 004_67d5e53a019b49ae.txt: the payments, fees, refunds and
disputes the books are built from."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import attrs
import pytest

from portal_access import (
    GatewayEvent,
    GatewayRejectedError,
    InvoiceLine,
    LineKind,
    Money,
    PaymentMethodKind,
    PaymentStatus,
    Plan,
)
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
from portal_access.gateways.stripe import StripeGateway
from portal_access.testing.stripe import FakeStripeApi, StripeWebhooks
from tests.stripe_world import NOW, SECRET, api, clock, gateway

__all__ = ["api", "clock", "gateway"]  # the fixtures this module uses

LOGGER = "portal_access.gateways.stripe"
PLAN = Plan(id="plan-monthly", name="Portal monthly", amount=Money(5000, "USD"))
REQUEST = CheckoutRequest(
    purpose=CheckoutPurpose.REQUIRED_PAYMENT, currency="USD", contact_id="c-1",
    success_url="https://portal.example/paid", cancel_url="https://portal.example/pay",
    idempotency_key="k-1", invoice_id="inv-1",
    payment_methods=frozenset({PaymentMethodKind.CARD}),
    lines=(InvoiceLine("Setup fee", Money(25000, "USD"), LineKind.ONE_TIME),),
)  # fmt: skip


def page(gateway: StripeGateway, **changes: object) -> str:
    return gateway.start_checkout(attrs.evolve(REQUEST, **changes)).session_id


def emitted(api: FakeStripeApi, event_type: str) -> dict[str, Any]:
    """The newest event of ``event_type`` the local API emitted (changed in place, it
    is what a redelivery sends)."""
    return [e for e in api.events if e["type"] == event_type][-1]


def delivered(api: FakeStripeApi, gateway: StripeGateway, event: dict[str, Any]) -> GatewayEvent:
    """``event`` delivered three times, signed, to the gateway: each time the same."""
    found = [api.redeliver(event["id"], gateway.parse_webhook) for _ in range(3)]
    assert found[0] == found[1] == found[2]
    assert isinstance(found[0], GatewayEvent)
    return found[0]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def subscription_id(api: FakeStripeApi) -> str:
    (found,) = [o["id"] for o in api.objects.values() if o["object"] == "subscription"]
    return str(found)


def credit(invoice: dict[str, Any], amount: int) -> None:
    """``invoice`` made a credit of ``amount``: a downgrade's proration invoiced at once
    (its line a negative amount), paid at once by the customer's balance (nothing due)."""
    for line in invoice["lines"]["data"]:
        line["amount"] = -amount
    invoice.update(subtotal=-amount, total=-amount, amount_due=0, amount_paid=0,
                   amount_remaining=0, status="paid", billing_reason="subscription_update")  # fmt: skip


@pytest.mark.parametrize("ours", [True, False])
def test_a_credit_invoice_is_no_payment_and_no_renewal(api, gateway, clock, caplog, ours):
    """An invoice whose total is negative (a downgrade's proration invoiced at once) is a
    credit to the customer's balance: ``invoice.paid`` books no payment and no renewal
    invoice, our subscription's says so once, and another app's subscription's says
    nothing; neither is refused (its ``total`` failed the money check, whoever's it was)."""
    api.pay(page(gateway, plan=PLAN))
    clock.advance(timedelta(days=10))
    api.renew(subscription_id(api), succeed=True)
    paid = emitted(api, "invoice.paid")
    credit(paid["data"]["object"], 2500)
    if not ours:
        paid["data"]["object"]["parent"]["subscription_details"]["metadata"] = {}
    caplog.set_level(logging.WARNING, logger=LOGGER)
    event = delivered(api, gateway, paid)
    assert (event.payments, event.renewals) == ((), ())
    invoice = paid["data"]["object"]
    expected = (
        f"stripe invoice {invoice['id']} of subscription {subscription_id(api)}: its total "
        "is -25.00 USD, a credit to the customer's balance: no payment or renewal booked"
    )
    assert warnings(caplog) == ([expected] if ours else [])


def test_a_prevented_dispute_books_no_chargeback(api, gateway, caplog):
    """A dispute Stripe's prevention blocked or resolved before it became a chargeback
    (``prevented``) moved no money: the payment stays paid and no dispute is itemized (a
    resolution refunds the payment, which its own refund reports)."""
    intent = api.pay(page(gateway))
    api.dispute(intent)
    created = emitted(api, "charge.dispute.created")
    created["data"]["object"]["status"] = "prevented"
    (payment,) = delivered(api, gateway, created).payments
    assert (payment.payment_id, payment.status, payment.disputes) == (
        intent, PaymentStatus.SUCCEEDED, ()
    )  # fmt: skip


def test_a_dispute_fee_returned_beyond_its_charge_is_capped_and_said(api, gateway, caplog):
    """Stripe gives back more dispute fee (2000) than the dispute's transactions charged
    (1500): the return is booked up to the fee, and the 5.00 beyond it is said once
    (commit b8e824f capped it without a word)."""
    intent = api.pay(page(gateway))
    dispute_id = api.dispute(intent)
    api.close_dispute(intent, won=True)
    closed = emitted(api, "charge.dispute.closed")
    (_, reinstated) = closed["data"]["object"]["balance_transactions"]
    reinstated["fee"] = reinstated["fee_details"][0]["amount"] = -2000
    caplog.set_level(logging.WARNING, logger=LOGGER)
    ((dispute,),) = [p.disputes for p in delivered(api, gateway, closed).payments]
    assert (dispute.fee, dispute.fee_returned) == (Money(1500, "USD"), Money(1500, "USD"))
    assert warnings(caplog) == [
        f"stripe dispute {dispute_id}: 5.00 USD of fee given back beyond the 15.00 USD its "
        "transactions charged: not booked"
    ]


LONG = "INV-" + "7" * 296  # another app's reference: Stripe's metadata takes 500 characters
SAVE = {"purpose": CheckoutPurpose.SAVE_PAYMENT_METHOD, "invoice_id": None, "lines": (),
        "save_payment_method": True}  # fmt: skip


@pytest.mark.parametrize(
    ("event_type", "page_changes", "where", "key"),
    [
        ("checkout.session.completed", {}, (), "invoice_id"),
        ("payment_intent.succeeded", {}, (), "invoice_id"),
        ("customer.subscription.created", {"plan": PLAN}, (), "contact_id"),
        ("invoice.paid", {"plan": PLAN}, ("parent", "subscription_details"), "contact_id"),
        ("setup_intent.succeeded", SAVE, (), "contact_id"),
    ],
)
def test_a_metadata_value_that_could_be_no_id_of_ours_is_not_ours(
    api, gateway, clock, caplog, event_type, page_changes, where, key
):
    """Stripe's metadata values hold up to 500 characters, our ids 255: an object whose
    ``invoice_id`` or ``contact_id`` could be no id of ours (another app on the account
    uses the same key) is not ours, said once, and its event is not refused (the
    snapshot's check refused the id, so the event was refused whoever's it was). The
    invoice is a renewal (a first invoice is ours by its ``invoice_id``)."""
    api.pay(page(gateway, **page_changes))
    if event_type == "invoice.paid":
        clock.advance(timedelta(days=31))
        api.renew(subscription_id(api), succeed=True)
    event = emitted(api, event_type)
    obj = event["data"]["object"]
    for step in where:
        obj = obj[step]
    obj["metadata"] = {**obj["metadata"], key: LONG}
    caplog.set_level(logging.WARNING, logger=LOGGER)
    found = delivered(api, gateway, event)
    assert not found.actionable
    (said,) = warnings(caplog)
    assert said.startswith("stripe ")
    assert f"its metadata {key} (300 characters: " in said
    assert said.endswith("could be no id of ours: read as absent, not ours")


def test_a_charge_whose_intent_names_no_invoice_of_ours_is_not_ours(api, gateway, caplog):
    """A charge without our metadata is resolved through its payment intent, asked of the
    API: an intent whose ``invoice_id`` could be no id of ours is not ours either."""
    intent = api.pay(page(gateway))
    gateway.refund(intent, amount=Money(1000, "USD"), idempotency_key="r-1")
    api.objects[intent]["metadata"] = {"invoice_id": LONG}
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert delivered(api, gateway, emitted(api, "charge.refunded")).payments == ()
    (said,) = warnings(caplog)
    assert said.startswith(f"stripe {intent}: its metadata invoice_id (300 characters: ")


@pytest.mark.parametrize(
    "event_type", ["payment_intent.succeeded", "charge.refunded", "charge.dispute.created"]
)
def test_another_apps_payment_in_a_currency_we_do_not_know_is_not_read(
    api, gateway, caplog, event_type
):
    """Another app on the account takes a payment in a currency the library's ISO 4217
    table does not hold (one ISO has withdrawn, or one newer than the table): its events
    are not ours, and their money is not read (it failed the currency check before
    whose payment it was asked, so the event was refused)."""
    intent = api.pay(page(gateway))
    gateway.refund(intent, amount=Money(1000, "USD"), idempotency_key="r-1")
    api.dispute(intent)
    other = api.add({"id": "pi_other", "object": "payment_intent", "amount": 2500,
                     "currency": "std", "status": "succeeded", "metadata": {},
                     "created": api.now(), "livemode": False})  # fmt: skip
    event = emitted(api, event_type)
    obj = event["data"]["object"]
    obj["currency"] = "std"
    if obj["object"] == "payment_intent":
        obj["metadata"] = {}
    else:
        obj["payment_intent"] = other["id"]
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert not delivered(api, gateway, event).actionable
    assert warnings(caplog) == []


def _sent_unit_amounts(api: FakeStripeApi) -> list[int]:
    (opened,) = [r.params for r in api.requests if r.path == "/v1/checkout/sessions"]
    return [int(item["price_data"]["unit_amount"]) for item in opened["line_items"]]


def test_isk_is_counted_in_hundredths_as_stripe_counts_it(api, gateway, caplog):
    """Stripe's API keeps ISK two-decimal (every amount a multiple of 100) where ISO 4217
    has no decimals: a 5,000 kr. invoice is a ``unit_amount`` of 500000, its payment
    5,000 kr. again, a 1,000 kr. refund 100000 and back. (Read as ISO's, Stripe charged
    50 kr. for it, and the webhook said 5,000 kr. had been paid.) Stripe's fee in
    hundredths of a króna (145.30) is no whole number of krónur: not booked, said once."""
    lines = (InvoiceLine("Setup fee", Money(5000, "ISK"), LineKind.ONE_TIME),)
    intent = api.pay(page(gateway, currency="ISK", lines=lines))
    assert _sent_unit_amounts(api) == [500000]
    caplog.set_level(logging.WARNING, logger=LOGGER)
    (paid,) = delivered(api, gateway, emitted(api, "payment_intent.succeeded")).payments
    assert (paid.payment_id, paid.amount, paid.fee) == (intent, Money(5000, "ISK"), None)
    gateway.refund(intent, amount=Money(1000, "ISK"), idempotency_key="r-1")
    (refund,) = [r.params for r in api.requests if r.path == "/v1/refunds" and r.method == "POST"]
    assert refund["amount"] == "100000"
    (refunded,) = delivered(api, gateway, emitted(api, "charge.refunded")).payments
    assert [r.amount for r in refunded.refunds] == [Money(1000, "ISK")]
    assert warnings(caplog) == [
        f"stripe payment {intent}: its fee of 14530 ISK hundredths is no whole number of ISK: "
        "not booked"
    ]


def test_mga_is_counted_in_whole_ariary_as_stripe_counts_it(api, gateway):
    """Stripe's MGA has no decimals where ISO 4217 gives it two: 123.00 Ar is a
    ``unit_amount`` of 123, and its payment 123.00 Ar again; 123.45 Ar cannot be charged
    on Stripe, and is refused before anything is sent (read as ISO's, Stripe charged
    12,300 Ar for 123.00, or 12,345 Ar for 123.45)."""
    lines = (InvoiceLine("Setup fee", Money(12300, "MGA"), LineKind.ONE_TIME),)
    intent = api.pay(page(gateway, currency="MGA", lines=lines))
    assert _sent_unit_amounts(api) == [123]
    (paid,) = delivered(api, gateway, emitted(api, "payment_intent.succeeded")).payments
    assert (paid.payment_id, paid.amount) == (intent, Money(12300, "MGA"))
    asked = len(api.requests)
    odd = (InvoiceLine("Setup fee", Money(12345, "MGA"), LineKind.ONE_TIME),)
    with pytest.raises(GatewayRejectedError) as caught:
        page(gateway, currency="MGA", lines=odd, idempotency_key="k-2")
    assert caught.value.code == "amount_not_chargeable"
    assert api.requests[asked:] == []


def test_the_webhook_factory_writes_amounts_as_stripe_counts_them(api, gateway):
    """``StripeWebhooks.payment`` of 5,000 kr. is Stripe's 500000, which the gateway
    reads as 5,000 kr."""
    webhooks = StripeWebhooks(secret=SECRET, clock=api.clock, api=api)
    headers, body = webhooks.payment(event_id="evt_isk", payment_id="pi_isk", invoice_id="inv-1",
                                     contact_id="c-1", status=PaymentStatus.PROCESSING,
                                     method=PaymentMethodKind.CARD, amount=Money(5000, "ISK"),
                                     version=int(NOW.timestamp()))  # fmt: skip
    assert json.loads(body)["data"]["object"]["amount"] == 500000
    (payment,) = gateway.parse_webhook(headers, body).payments
    assert payment.amount == Money(5000, "ISK")
