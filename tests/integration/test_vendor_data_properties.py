"""Properties: a verified Stripe or Square delivery whose object stays within what the
vendor documents is never refused (``parse_webhook`` raises no
``WebhookVerificationError``), whatever the amounts, signs, states and texts in it; and
what it books holds together (refunds within the payment, fees not negative).

The objects are drawn within each vendor's own constraints, not from the whole of its
schema: Stripe's documented ranges and enums (the SDK's literals; refunds within what
was captured; a dispute's amount, fees and an invoice's total of either sign; metadata
any text of up to 500 characters) and Square's OpenAPI description (signed
``processing_fee`` amounts, nullable ones; refunds up to ``total_money``, the tip
included; every dispute state; a customer's ``reference_id`` any text, of a length
Square does not bound).
Fields Square marks nullable but always sends (a payment's ``amount_money``, a dispute's
``state``) are sent: without them there is nothing to book, and refusing such a body is
right. Each vendor's local API answers the gateway's lookups; deliveries are signed as
the vendor signs them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal_access import GatewayEvent, Money
from portal_access.adapters import ManualClock
from portal_access.gateways.square import SquareGateway
from portal_access.gateways.stripe import StripeGateway
from portal_access.testing._stripe_objects import event_object
from portal_access.testing.square import FakeSquareApi, SquareWebhooks
from portal_access.testing.stripe import FakeStripeApi
from tests.square_shapes import assert_square_shaped
from tests.square_world import KEY, URL, VARIATIONS, make_gateway
from tests.stripe_shapes import assert_stripe_shaped

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "whsec_properties"
IDS = itertools.count()
PROPERTY = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)

#: Our invoices' currencies (a payment of ours is in its invoice's), with odd exponents,
#: and the two Stripe counts otherwise than ISO 4217 (ISK in hundredths, MGA whole).
OURS = ["usd", "eur", "jpy", "kwd", "isk", "mga"]
#: What one unit of Stripe's count steps by: it takes ISK amounts in whole krónur only.
STEP = {"isk": 100}
#: What Stripe may settle a fee in (an account's currency need not be the payment's).
SETTLED = ["usd", "eur", "cad", "gbp", "jpy"]
METADATA = st.dictionaries(
    st.sampled_from(["invoice_id", "contact_id", "plan_id", "purpose", "note"]),
    st.one_of(st.sampled_from(["inv-1", "c-1", "plan-monthly", " "]), st.text(max_size=500)),
    max_size=4,
)


def _count(draw: st.DrawFn, currency: str, low: int, high: int) -> int:
    """An amount Stripe could state in ``currency``, from ``low`` to ``high``."""
    step = STEP.get(currency, 1)
    return draw(st.integers(-(-low // step), high // step)) * step


def _parts(draw: st.DrawFn, currency: str, total: int, most: int = 4) -> list[int]:
    """Up to ``most`` positive amounts summing to at most ``total``."""
    parts, left = [], total
    for _ in range(draw(st.integers(0, most))):
        if left < STEP.get(currency, 1):
            break
        parts.append(_count(draw, currency, 1, left))
        left -= parts[-1]
    return parts


# -- Stripe ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stripe_world() -> Iterator[tuple[FakeStripeApi, StripeGateway]]:
    clock = ManualClock(NOW)
    with FakeStripeApi(clock=clock, webhook_secret=SECRET) as api:
        yield api, StripeGateway(api_key="sk_test_properties", webhook_secret=SECRET,
                                 clock=clock, api_base=api.url, max_network_retries=0)  # fmt: skip
    assert_stripe_shaped(api)


def _intent(api: FakeStripeApi, amount: int, currency: str, metadata: dict[str, str]) -> str:
    """A payment intent the local API answers for (whose payment a charge is)."""
    intent = {"id": f"pi_prop_{next(IDS)}", "object": "payment_intent", "amount": amount,
              "currency": currency, "status": "succeeded", "metadata": metadata,
              "created": api.now(), "livemode": False}  # fmt: skip
    return str(api.add(intent)["id"])


@st.composite
def refunded_charges(draw: st.DrawFn, api: FakeStripeApi) -> dict[str, Any]:
    """A ``charge.refunded`` charge: refunds of any status, those that count within what
    was captured (Stripe refunds no more), carried whole."""
    currency = draw(st.sampled_from(OURS))
    amount = _count(draw, currency, 0, 99_999_999)
    captured = _count(draw, currency, 0, amount)
    refunds = [(part, draw(st.sampled_from(["succeeded", "pending", "requires_action"])))
               for part in _parts(draw, currency, captured)]  # fmt: skip
    if captured:
        refunds += [(_count(draw, currency, 1, captured),
                     draw(st.sampled_from(["failed", "canceled"])))
                    for _ in range(draw(st.integers(0, 2)))]  # fmt: skip
    counted = sum(part for part, status in refunds if status not in ("failed", "canceled"))
    intent = _intent(api, amount, currency, draw(METADATA))
    return {
        "id": f"ch_prop_{next(IDS)}", "object": "charge", "amount": amount,
        "amount_captured": captured, "amount_refunded": counted, "captured": True,
        "currency": currency, "metadata": draw(METADATA), "payment_intent": intent,
        "payment_method_details": {"type": draw(st.sampled_from(["card", "us_bank_account"]))},
        "refunded": counted == captured, "status": "succeeded", "created": api.now(),
        "livemode": False,
        "refunds": {"object": "list", "has_more": False, "url": "/v1/refunds", "data": [
            {"id": f"re_prop_{next(IDS)}", "object": "refund", "amount": part,
             "currency": currency, "status": status, "created": api.now(), "metadata": {}}
            for part, status in refunds
        ]},
    }  # fmt: skip


DISPUTE_STATUS = ["appeal_needs_response", "appeal_under_review", "lost", "needs_response",
                  "prevented", "under_review", "warning_closed", "warning_needs_response",
                  "warning_under_review", "won"]  # fmt: skip


@st.composite
def disputes(draw: st.DrawFn, api: FakeStripeApi) -> dict[str, Any]:
    """A dispute in any status, for any amount (more than the charge: Stripe converts it
    back at the day's rate, and an issuer may bundle charges), with balance transactions
    whose fees have either sign, in its currency or one Stripe settled in."""
    currency = draw(st.sampled_from(OURS))
    charged = _count(draw, currency, 0, 99_999_999)
    transactions = [
        {"id": f"txn_prop_{next(IDS)}", "object": "balance_transaction",
         "amount": draw(st.integers(-(10**9), 10**9)),
         "currency": draw(st.sampled_from([currency, *SETTLED])),
         "fee": draw(st.integers(-(10**6), 10**6)), "type": "adjustment"}
        for _ in range(draw(st.integers(0, 3)))
    ]  # fmt: skip
    return {
        "id": f"dp_prop_{next(IDS)}", "object": "dispute",
        "amount": _count(draw, currency, 0, 10**9), "currency": currency,
        "status": draw(st.sampled_from(DISPUTE_STATUS)), "balance_transactions": transactions,
        "payment_intent": _intent(api, charged, currency, draw(METADATA)), "metadata": {},
        "payment_method_details": {"type": "card"}, "created": api.now(), "livemode": False,
    }  # fmt: skip


@st.composite
def invoices(draw: st.DrawFn, api: FakeStripeApi) -> dict[str, Any]:
    """A subscription's invoice of any total, negative ones included (a credit to the
    customer's balance), for a subscription of ours or not."""
    currency = draw(st.sampled_from(OURS))
    total = _count(draw, currency, -(10**7), 10**7)
    subscription = draw(st.sampled_from([None, "sub_prop"]))
    return {
        "id": f"in_prop_{next(IDS)}", "object": "invoice", "total": total, "subtotal": total,
        "amount_paid": _count(draw, currency, 0, max(total, 0)), "currency": currency,
        "status": draw(st.sampled_from(["draft", "open", "paid", "uncollectible", "void"])),
        "billing_reason": draw(st.sampled_from(["subscription_create", "subscription_cycle",
                                                "subscription_update", "manual"])),
        "created": api.now(), "due_date": None, "livemode": False,
        "payment_settings": {"payment_method_types": ["card"]},
        "parent": {"type": "subscription_details", "quote_details": None,
                   "subscription_details": {"subscription": subscription,
                                            "metadata": draw(METADATA)}},
    }  # fmt: skip


@st.composite
def stripe_events(draw: st.DrawFn, api: FakeStripeApi) -> dict[str, Any]:
    kind = draw(st.sampled_from(["refund", "dispute", "invoice", "intent", "subscription",
                                 "session", "setup", "detached"]))  # fmt: skip
    currency = draw(st.sampled_from(OURS))
    if kind == "session":
        event_type = draw(
            st.sampled_from(
                [
                    "checkout.session.completed",
                    "checkout.session.async_payment_succeeded",
                    "checkout.session.async_payment_failed",
                ]
            )
        )
        obj = {
            "id": f"cs_prop_{next(IDS)}",
            "object": "checkout.session",
            "mode": draw(st.sampled_from(["payment", "subscription", "setup"])),
            "status": draw(st.sampled_from(["open", "complete", "expired"])),
            "payment_status": draw(st.sampled_from(["paid", "unpaid", "no_payment_required"])),
            "payment_intent": f"pi_prop_{next(IDS)}",
            "invoice": f"in_prop_{next(IDS)}",
            "amount_total": _count(draw, currency, 0, 99_999_999),
            "currency": currency,
            "metadata": draw(METADATA),
            "payment_method_types": ["card", "us_bank_account"],
            "livemode": False,
        }
    elif kind == "setup":
        event_type = "setup_intent.succeeded"
        obj = {
            "id": f"seti_prop_{next(IDS)}",
            "object": "setup_intent",
            "status": draw(st.sampled_from(["succeeded", "canceled"])),
            "payment_method": f"pm_prop_{next(IDS)}",
            "metadata": draw(METADATA),
            "payment_method_types": ["card"],
            "created": api.now(),
            "livemode": False,
        }
    elif kind == "detached":
        event_type = "payment_method.detached"
        obj = {"id": f"pm_prop_{next(IDS)}", "object": "payment_method", "type": "card",
               "customer": None, "metadata": draw(METADATA), "created": api.now(),
               "livemode": False}  # fmt: skip
    elif kind == "refund":
        event_type, obj = "charge.refunded", draw(refunded_charges(api))
    elif kind == "dispute":
        event_type = draw(st.sampled_from(["charge.dispute.created", "charge.dispute.closed",
                                           "charge.dispute.funds_withdrawn",
                                           "charge.dispute.funds_reinstated"]))  # fmt: skip
        obj = draw(disputes(api))
    elif kind == "invoice":
        event_type = draw(st.sampled_from(["invoice.paid", "invoice.payment_failed"]))
        obj = draw(invoices(api))
    elif kind == "intent":
        event_type = draw(st.sampled_from(["payment_intent.succeeded",
                                           "payment_intent.processing"]))  # fmt: skip
        obj = {"id": f"pi_prop_{next(IDS)}", "object": "payment_intent",
               "amount": _count(draw, currency, 0, 99_999_999), "currency": currency,
               "status": draw(st.sampled_from(["succeeded", "processing", "canceled",
                                               "requires_payment_method"])),
               "metadata": draw(METADATA), "payment_method_types": ["card"],
               "latest_charge": None, "created": api.now(), "livemode": False}  # fmt: skip
    else:
        event_type = "customer.subscription.updated"
        obj = {"id": f"sub_prop_{next(IDS)}", "object": "subscription",
               "status": draw(st.sampled_from(["incomplete", "incomplete_expired", "trialing",
                                               "active", "past_due", "canceled", "unpaid",
                                               "paused"])),
               "metadata": draw(METADATA), "created": api.now(), "livemode": False}  # fmt: skip
    return event_object(event_id=f"evt_prop_{next(IDS)}", event_type=event_type, obj=obj,
                        created=api.now())  # fmt: skip


def _holds_together(event: GatewayEvent) -> None:
    for payment in event.payments:
        assert payment.refunded <= payment.amount
        assert payment.fee is None or payment.fee.amount > 0
        for dispute in payment.disputes:
            assert dispute.fee_returned is None or (
                dispute.fee and dispute.fee_returned <= dispute.fee
            )


@PROPERTY
@given(data=st.data())
def test_a_verified_stripe_delivery_within_stripes_documented_shapes_is_never_refused(
    stripe_world, data
):
    """Any such event, signed with ``Stripe-Signature``, is parsed into an event whose
    bookings hold together (each failed case refused the delivery for days before)."""
    api, gateway = stripe_world
    event = data.draw(stripe_events(api))
    api.record_event(event)
    parsed = api.redeliver(event["id"], gateway.parse_webhook)
    assert isinstance(parsed, GatewayEvent)
    _holds_together(parsed)


# -- Square ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def square_world() -> Iterator[tuple[FakeSquareApi, SquareGateway, SquareWebhooks]]:
    clock = ManualClock(NOW)
    with FakeSquareApi(clock=clock) as api:
        webhooks = SquareWebhooks(secret=KEY, notification_url=URL, api=api,
                                  plan_variations=VARIATIONS)  # fmt: skip
        yield api, make_gateway(api, clock), webhooks
    assert_square_shaped(api)


def _square_money(amount: int, currency: str = "USD") -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


FEE_LINE = st.fixed_dictionaries({
    "effective_at": st.just("2026-03-02T09:00:00Z"),
    "type": st.sampled_from(["INITIAL", "ADJUSTMENT"]),
    "amount_money": st.one_of(st.none(), st.builds(
        _square_money, st.integers(-(10**6), 10**6),
        st.sampled_from(["USD", "USD", "CAD", "JPY", "BTC", "XUS"]))),
})  # fmt: skip
DISPUTE_STATES = ["INQUIRY_EVIDENCE_REQUIRED", "INQUIRY_PROCESSING", "INQUIRY_CLOSED",
                  "EVIDENCE_REQUIRED", "PROCESSING", "WON", "LOST", "ACCEPTED"]  # fmt: skip


@st.composite
def square_deliveries(
    draw: st.DrawFn, api: FakeSquareApi, webhooks: SquareWebhooks
) -> tuple[dict[str, str], bytes]:
    """A payment on an order (ours, or with any metadata ids), with a tip, signed fee
    lines and some of it refunded, reported by its own event, a refund's or a dispute's;
    or a card saved for a customer whose ``reference_id`` is any text."""
    n = next(IDS)
    if draw(st.booleans()):  # a card on file of a customer whose reference is the seller's
        reference = draw(st.one_of(st.just("c-1"), st.text(max_size=300)))
        customer = api.customer_from({"reference_id": reference, "given_name": "Ann"})
        card = {"id": f"ccof:PROP{n}", "customer_id": customer["id"], "enabled": True,
                "card_brand": "VISA", "last_4": "1111", "version": 1}  # fmt: skip
        return webhooks.event("card.created", "card", card, event_id=f"e-card-{n}")
    amount, tip = draw(st.integers(0, 10**8)), draw(st.integers(0, 10**6))
    metadata = {"invoice_id": draw(st.one_of(st.just("inv-1"), st.text(max_size=255))),
                "contact_id": "c-1", "purpose": "required_payment"}  # fmt: skip
    order = api.order_for(metadata, Money(amount, "USD"), order_id=f"ORDERPROP{n}")
    status = draw(st.sampled_from(["APPROVED", "PENDING", "COMPLETED", "CANCELED", "FAILED"]))
    payment = api.payment_for(order, Money(amount, "USD"), source_type="CARD", status=status,
                              payment_id=f"PAYPROP{n}")  # fmt: skip
    total = amount + tip
    refunded = draw(st.integers(0, total))
    payment.update(tip_money=_square_money(tip), total_money=_square_money(total),
                   refunded_money=_square_money(refunded),
                   processing_fee=draw(st.lists(FEE_LINE, max_size=4)))  # fmt: skip
    kind = draw(st.sampled_from(["payment", "refund", "dispute"]))
    if kind == "refund" and total:
        refund = api.refund_for(payment, Money(draw(st.integers(1, total)), "USD"))
        refund["status"] = draw(st.sampled_from(["PENDING", "COMPLETED", "REJECTED", "FAILED"]))
        return webhooks.event("refund.updated", "refund", refund, event_id=f"e-refund-{n}")
    if kind == "dispute":
        dispute = api.dispute_for(payment, state=draw(st.sampled_from(DISPUTE_STATES)))
        dispute["amount_money"] = _square_money(draw(st.integers(0, 10**9)))
        return webhooks.event("dispute.created", "dispute", dispute, event_id=f"e-dispute-{n}")
    return webhooks.event("payment.updated", "payment", payment, event_id=f"e-payment-{n}")


@PROPERTY
@given(data=st.data())
def test_a_verified_square_delivery_within_squares_description_is_never_refused(square_world, data):
    """Any such delivery, signed over the notification URL and body, is parsed into an
    event whose bookings hold together (each failed case refused it for 72 hours)."""
    api, gateway, webhooks = square_world
    parsed = gateway.parse_webhook(*data.draw(square_deliveries(api, webhooks)))
    _holds_together(parsed)
