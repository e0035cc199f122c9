"""What PayPal keeps, read for the books (seed 004_67d5e53a019b49ae.txt): a dispute's fee
and its return (its ``money_movements``, asked of the Disputes API when the webhook does
not carry them), a subscription sale's ``transaction_fee``, and money in another
currency than its payment's (not booked, warned about once per payment), through the
real SDK and PayPal's webhook signature scheme against the local PayPal API.

Also the PayPal shapes a verified webhook may carry that the domain's checks used to
refuse (the delivery answered 4xx and redelivered for days, nothing booked): each is
now booked as far as the books can hold it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal_access import (
    DisputeOutcome,
    GatewayUnavailableError,
    Money,
    PaymentDispute,
    PaymentMethodKind,
    PaymentRefund,
    PaymentSnapshot,
    PaymentStatus,
    SubscriptionStatus,
)
from portal_access.adapters import ManualClock
from portal_access.gateways.paypal import PayPalGateway
from portal_access.gateways.paypal._objects import Ours
from portal_access.testing.paypal import (
    DISPUTE_FEE,
    LocalPayPalApi,
    PayPalWebhooks,
    subscription_object,
)
from tests.paypal_world import api, make_gateway

__all__ = ["api"]  # the fixture this module uses

WEBHOOK_ID = "WH1FEES"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOGGER = "portal_access.gateways.paypal"
FEE = Money(DISPUTE_FEE, "USD")
DISPUTES_PATH = "/v1/customer/disputes/"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def webhooks(api: LocalPayPalApi, clock: ManualClock) -> PayPalWebhooks:
    return PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock, api=api)


@pytest.fixture
def gateway(api: LocalPayPalApi, clock: ManualClock) -> PayPalGateway:
    return make_gateway(api, clock, webhook_id=WEBHOOK_ID)


def captured(webhooks: PayPalWebhooks, capture_id: str, amount: int = 25000) -> str:
    """A completed card capture of our invoice ``inv-<capture>``, kept by the local API."""
    webhooks.payment(event_id=f"WH-{capture_id}", payment_id=capture_id,
                     invoice_id=f"inv-{capture_id}", contact_id="c-1",
                     status=PaymentStatus.SUCCEEDED, method=PaymentMethodKind.CARD,
                     amount=Money(amount, "USD"), version=int(NOW.timestamp()))  # fmt: skip
    return capture_id


def payments(
    gateway: PayPalGateway, webhooks: PayPalWebhooks, delivery: tuple[dict[str, str], bytes]
) -> list[Any]:
    """The payments of a delivery, handed to the gateway signed now (PayPal signs each
    try anew)."""
    body = delivery[1]
    return list(gateway.parse_webhook(webhooks.sign(body), body).payments)


def dispute_calls(api: LocalPayPalApi) -> list[str]:
    return [e.path for e in api.exchanges if e.path.startswith(DISPUTES_PATH)]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_a_dispute_fee_and_its_return_are_read_from_the_disputes_api(api, webhooks, gateway, clock):
    """Seed 004_67d5e53a019b49ae.txt: PayPal's dispute webhooks need not carry the
    dispute's money movements, so the gateway reads the dispute from the Disputes API
    (``GET /v1/customer/disputes/{id}``; the SDK has no disputes controller): the
    seller's fee debit is the dispute's fee, its credit once won the fee returned."""
    capture = captured(webhooks, "3C679366HH908993F")
    opened = api.open_dispute(capture, fee=FEE)
    created = webhooks.dispute(opened)
    assert "money_movements" not in created[1].decode()
    clock.advance(timedelta(days=20))
    api.resolve_dispute(opened["dispute_id"], won=True, fee_returned=FEE)
    resolved = webhooks.dispute(opened)
    (won,) = payments(gateway, webhooks, resolved)
    assert won.status is PaymentStatus.SUCCEEDED
    assert won.disputes == (
        PaymentDispute(opened["dispute_id"], Money(25000, "USD"), DisputeOutcome.WON, fee=FEE,
                       fee_returned=FEE),
    )  # fmt: skip
    (late,) = payments(
        gateway, webhooks, created
    )  # the creation, delivered late: the dispute as now
    assert late == won
    assert dispute_calls(api) == [DISPUTES_PATH + opened["dispute_id"]] * 2


def test_a_dispute_lost_keeps_its_fee(api, webhooks, gateway, clock):
    """Lost, the fee stays charged and nothing of it comes back."""
    capture = captured(webhooks, "3C679366HH908993F")
    opened = api.open_dispute(capture, fee=FEE, fee_reason="CHARGEBACK_FEE")
    (open_,) = payments(gateway, webhooks, webhooks.dispute(opened))
    assert [(d.outcome, d.fee, d.fee_returned) for d in open_.disputes] == [
        (DisputeOutcome.OPEN, FEE, None)
    ]
    clock.advance(timedelta(days=20))
    api.resolve_dispute(opened["dispute_id"], won=False)
    (lost,) = payments(gateway, webhooks, webhooks.dispute(opened))
    assert lost.status is PaymentStatus.DISPUTED
    assert [(d.outcome, d.fee, d.fee_returned) for d in lost.disputes] == [
        (DisputeOutcome.LOST, FEE, None)
    ]


def test_a_webhook_carrying_the_money_movements_is_read_without_a_call(api, webhooks, gateway):
    """A dispute resource that carries its ``money_movements`` is read as it is."""
    opened = api.open_dispute(captured(webhooks, "3C679366HH908993F"), fee=FEE)
    (payment,) = payments(gateway, webhooks, webhooks.dispute(opened, money_movements=True))
    assert [d.fee for d in payment.disputes] == [FEE]
    assert dispute_calls(api) == []


def _movement(
    party: str, kind: str, reason: str, value: str, currency: str = "USD"
) -> dict[str, Any]:
    return {"affected_party": party, "type": kind, "reason": reason,
            "amount": {"currency_code": currency, "value": value}}  # fmt: skip


@pytest.mark.parametrize(
    ("movements", "fee", "returned"),
    [
        pytest.param([("SELLER", "DEBIT", "DISPUTE_FEE", "15.00"),
                      ("SELLER", "DEBIT", "DISPUTE_SETTLEMENT_FEE", "2.50")], 1750, None,
                     id="every fee reason counts"),
        pytest.param([("SELLER", "DEBIT", "DISPUTE_SETTLEMENT", "250.00"),
                      ("BUYER", "CREDIT", "DISPUTE_SETTLEMENT", "250.00"),
                      ("PAYMENT_PROCESSOR", "DEBIT", "CHARGEBACK_FEE", "20.00"),
                      ("SELLER", "DEBIT", "CHARGEBACK_FEE", "20.00")], 2000, None,
                     id="the settlement and other parties' fees are no fee of ours"),
        pytest.param([("SELLER", "DEBIT", "CHARGEBACK_FEE", "20.00"),
                      ("SELLER", "CREDIT", "CHARGEBACK_FEE", "25.00")], 2000, 2000,
                     id="no more comes back than was charged"),
    ],
)  # fmt: skip
def test_the_sellers_fee_movements_are_the_disputes_fee(
    api, webhooks, gateway, movements, fee, returned
):
    """Seed 004_67d5e53a019b49ae.txt: the seller's debits of a fee reason (DISPUTE_FEE,
    CHARGEBACK_FEE, DISPUTE_SETTLEMENT_FEE) are the dispute's fee, its credits of those
    reasons the fee returned, capped at the fee (a return beyond it failed the domain's
    check: the verified webhook was refused, redelivered for days, the dispute never
    booked)."""
    opened = api.open_dispute(captured(webhooks, "3C679366HH908993F"))
    opened["money_movements"] = [_movement(*m) for m in movements]
    (payment,) = payments(gateway, webhooks, webhooks.dispute(opened, money_movements=True))
    (dispute,) = payment.disputes
    assert dispute.fee == (Money(fee, "USD") if fee else None)
    assert dispute.fee_returned == (Money(returned, "USD") if returned else None)


def test_a_dispute_fee_in_another_currency_is_not_booked_and_warned_once(
    api, webhooks, gateway, caplog
):
    """A fee movement in another currency than the dispute's is not its fee (no exchange
    rate is assumed): one warning naming the payment and both currencies, however often
    the event is delivered."""
    capture = captured(webhooks, "3C679366HH908993F")
    opened = api.open_dispute(capture)
    opened["money_movements"].append(_movement("SELLER", "DEBIT", "DISPUTE_FEE", "14.00", "EUR"))
    delivery = webhooks.dispute(opened)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    found = [payments(gateway, webhooks, delivery) for _ in range(3)]
    assert {d.fee for (payment,) in found for d in payment.disputes} == {None}
    assert warnings(caplog) == [
        f"paypal payment {capture}: its dispute fee is in EUR, not the payment's USD: "
        "not booked (no exchange rate is assumed)"
    ]


def test_a_dispute_the_api_will_not_show_is_booked_without_its_fees(api, webhooks, gateway, caplog):
    """A REST app without access to disputes (PayPal answers 403): the dispute is booked
    as its webhook says, without its fees, and the refusal is logged; PayPal out of
    reach is a retryable error (PayPal redelivers)."""
    opened = api.open_dispute(captured(webhooks, "3C679366HH908993F"), fee=FEE)
    delivery = webhooks.dispute(opened)
    api.fail_next(503, "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE")
    with pytest.raises(GatewayUnavailableError):
        gateway.parse_webhook(*delivery)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    api.fail_next(403, "NOT_AUTHORIZED", "PERMISSION_DENIED")
    (payment,) = payments(gateway, webhooks, delivery)
    assert [(d.amount, d.fee) for d in payment.disputes] == [(Money(25000, "USD"), None)]
    (warned,) = warnings(caplog)
    assert warned.startswith(f"PayPal refused to show dispute {opened['dispute_id']} (")
    assert warned.endswith("): its fees are not booked")


def test_a_dispute_of_two_captures_charges_its_fee_once(api, webhooks, gateway):
    """A dispute naming two captures of ours has one fee: on the first capture only."""
    first, second = captured(webhooks, "3C679366HH908993F"), captured(webhooks, "7K0123456")
    opened = api.open_dispute(first, fee=FEE)
    opened["disputed_transactions"].append({"seller_transaction_id": second})
    found = payments(gateway, webhooks, webhooks.dispute(opened))
    assert [(p.payment_id, [d.fee for d in p.disputes]) for p in found] == [
        (first, [FEE]),
        (second, [None]),
    ]


def test_a_dispute_in_another_currency_than_its_capture_is_applied_without_its_entry(
    api, webhooks, gateway, caplog
):
    """A dispute whose amount is in another currency than the capture's failed the
    domain's check (the verified webhook refused for days, the capture never marked
    disputed): now the capture is disputed, the dispute not itemized, and that warned
    about once."""
    capture = captured(webhooks, "3C679366HH908993F")
    opened = api.open_dispute(capture, fee=FEE)
    opened["dispute_amount"] = {"currency_code": "EUR", "value": "230.00"}
    delivery = webhooks.dispute(opened)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    for _ in range(2):
        (payment,) = payments(gateway, webhooks, delivery)
        assert (payment.status, payment.disputes) == (PaymentStatus.DISPUTED, ())
    assert warnings(caplog) == [
        f"paypal payment {capture}: its dispute {opened['dispute_id']} is in EUR, not the "
        "payment's USD: not booked (no exchange rate is assumed)"
    ]


def test_a_dispute_id_outside_ascii_is_asked_for_encoded(api, webhooks, gateway):
    """An id no PayPal dispute has, but printable, goes into the Disputes API's path
    percent-encoded (PayPal knows no such dispute: the webhook's dispute is used), never
    an encoding error of no type of ours."""
    capture = captured(webhooks, "3C679366HH908993F")
    resource = {"dispute_id": "PP-D-\u00e9", "status": "OPEN",
                "create_time": "2026-03-02T09:00:00Z",
                "dispute_amount": {"currency_code": "USD", "value": "250.00"},
                "disputed_transactions": [{"seller_transaction_id": capture}]}  # fmt: skip
    signer = PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=ManualClock(NOW))  # not kept: no spec
    (payment,) = payments(gateway, webhooks, signer.event("CUSTOMER.DISPUTE.CREATED", resource,
                                                 resource_type="dispute"))  # fmt: skip
    assert [d.dispute_id for d in payment.disputes] == ["PP-D-\u00e9"]
    assert dispute_calls(api) == [DISPUTES_PATH + "PP-D-%C3%A9"]


def test_a_capture_fee_in_another_currency_is_not_booked_and_warned_once(
    api, webhooks, gateway, caplog
):
    """A capture's ``paypal_fee`` in another currency than the capture's is not its fee:
    one warning naming the payment and both currencies, however often delivered."""
    capture = captured(webhooks, "3C679366HH908993F")
    resource = dict(api.captures[capture])
    resource["seller_receivable_breakdown"] = {
        "gross_amount": resource["amount"],
        "paypal_fee": {"currency_code": "EUR", "value": "8.10"},
    }
    caplog.set_level(logging.WARNING, logger=LOGGER)
    for _ in range(3):
        delivery = webhooks.event("PAYMENT.CAPTURE.COMPLETED", resource, resource_type="capture")
        (payment,) = payments(gateway, webhooks, delivery)
        assert payment.fee is None
    assert warnings(caplog) == [
        f"paypal payment {capture}: its fee is in EUR, not the payment's USD: "
        "not booked (no exchange rate is assumed)"
    ]


@pytest.mark.parametrize("custom_id", ["   ", "Order 12\tgift", "line one\nline two"])
def test_a_capture_whose_custom_id_no_id_of_ours_could_be_is_not_ours(
    api, webhooks, gateway, custom_id
):
    """A capture's ``custom_id`` is free text at PayPal (127 characters, no pattern):
    another integration's blanks or tabs failed the domain's id check and the verified
    webhook was refused; it is simply not a payment of ours."""
    capture = captured(webhooks, "3C679366HH908993F")
    resource = dict(api.captures[capture], custom_id=custom_id)
    delivery = webhooks.event("PAYMENT.CAPTURE.COMPLETED", resource, resource_type="capture")
    assert payments(gateway, webhooks, delivery) == []


def _subscription(api: LocalPayPalApi, *, start: datetime) -> str:
    subscription_id = "I-FEES0000TEST"
    ours = Ours(contact_id="c-1", plan_id="plan-monthly", invoice_id="inv-1").pack()
    created = int(start.timestamp())
    api.subscriptions[subscription_id] = subscription_object(
        subscription_id=subscription_id, status=SubscriptionStatus.ACTIVE, custom_id=ours,
        created=created, version=created, failed_at=None)  # fmt: skip
    return subscription_id


def _sale(subscription_id: str, fee: dict[str, str] | None) -> dict[str, Any]:
    sale: dict[str, Any] = {
        "id": "9T603134Y7297431C",
        "state": "completed",
        "amount": {"total": "49.00", "currency": "USD", "details": {"subtotal": "49.00"}},
        "payment_mode": "INSTANT_TRANSFER",
        "billing_agreement_id": subscription_id,
        "create_time": "2026-03-02T09:00:00Z",
        "update_time": "2026-03-02T09:00:00Z",
    }
    if fee is not None:
        sale["transaction_fee"] = fee
    return sale


@pytest.mark.parametrize("setup_fee", [True, False], ids=["setup fee", "renewal"])
def test_a_subscription_sales_transaction_fee_is_its_fee(api, webhooks, gateway, setup_fee):
    """Seed 004_67d5e53a019b49ae.txt: a subscription's payment is a sale; what PayPal
    kept of it (its ``transaction_fee``) is the payment's fee, as a capture's
    ``paypal_fee`` is, for the setup fee and for each renewal."""
    start = NOW + timedelta(days=30) if setup_fee else NOW - timedelta(days=30)
    subscription_id = _subscription(api, start=start)
    sale = _sale(subscription_id, {"currency": "USD", "value": "2.20"})
    delivery = webhooks.event("PAYMENT.SALE.COMPLETED", sale, resource_type="sale")
    (payment,) = payments(gateway, webhooks, delivery)
    assert isinstance(payment, PaymentSnapshot)
    assert payment.invoice_id == ("inv-1" if setup_fee else "rnw_paypal_9T603134Y7297431C")
    assert (payment.amount, payment.fee) == (Money(4900, "USD"), Money(220, "USD"))


def test_a_sale_fee_in_another_currency_is_not_booked_and_warned_once(
    api, webhooks, gateway, caplog
):
    """The same currency rule as a capture's: no fee, one warning."""
    subscription_id = _subscription(api, start=NOW - timedelta(days=30))
    sale = _sale(subscription_id, {"currency": "CAD", "value": "3.02"})
    caplog.set_level(logging.WARNING, logger=LOGGER)
    for _ in range(2):
        delivery = webhooks.event("PAYMENT.SALE.COMPLETED", sale, resource_type="sale")
        (payment,) = payments(gateway, webhooks, delivery)
        assert payment.fee is None
    assert warnings(caplog) == [
        "paypal payment 9T603134Y7297431C: its fee is in CAD, not the payment's USD: "
        "not booked (no exchange rate is assumed)"
    ]


def sale_calls(api: LocalPayPalApi) -> list[str]:
    return [e.path for e in api.exchanges if e.path.startswith("/v1/payments/sale/")]


@pytest.mark.parametrize("part", [None, Money(1900, "USD")], ids=["full", "partial"])
def test_a_renewal_sale_refunded_from_paypal_is_booked(api, webhooks, gateway, clock, part):
    """Seed 004_67d5e53a019b49ae.txt: a renewal (a sale) refunded from PayPal's dashboard
    was never booked (``PAYMENT.SALE.REFUNDED`` was not mapped: no refund entry, the
    payment succeeded in full). Its resource is the v1 refund, naming its sale by
    ``sale_id`` only, so the gateway looks the sale up (``GET /v1/payments/sale/{id}``;
    the SDK has no v1 sales controller): the same payment and renewal invoice as the
    completed sale, refunded in full or still succeeded, the refund by its own id, and a
    later version than the completion's."""
    subscription_id = _subscription(api, start=NOW - timedelta(days=30))
    sale = _sale(subscription_id, {"currency": "USD", "value": "2.20"})
    api.sales[sale["id"]] = sale
    completed_event = webhooks.event("PAYMENT.SALE.COMPLETED", dict(sale), resource_type="sale")
    (completed,) = payments(gateway, webhooks, completed_event)
    clock.advance(timedelta(days=3))
    delivery = webhooks.refund_sale(sale["id"], amount=part)
    refund = json.loads(delivery[1])["resource"]
    assert refund["sale_id"] == sale["id"]
    assert "billing_agreement_id" not in refund
    (refunded,) = payments(gateway, webhooks, delivery)
    assert (refunded.payment_id, refunded.invoice_id) == (completed.payment_id,
                                                          completed.invoice_id)  # fmt: skip
    assert refunded.invoice_id == f"rnw_paypal_{sale['id']}"
    assert refunded.status is (PaymentStatus.REFUNDED if part is None else PaymentStatus.SUCCEEDED)
    given = part or Money(4900, "USD")
    assert refunded.refunds == (PaymentRefund(refund["id"], given, NOW + timedelta(days=3)),)
    assert (refunded.amount, refunded.fee, refunded.itemized) == (Money(4900, "USD"),
                                                                  Money(220, "USD"), True)  # fmt: skip
    assert refunded.order_key > completed.order_key
    assert sale_calls(api) == ["/v1/payments/sale/" + sale["id"]]
