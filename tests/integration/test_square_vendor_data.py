"""Square data our values cannot hold as it is, shaped as Square's OpenAPI description says
and signed as Square signs it (``x-square-hmacsha256-signature``), to the real gateway on
the local Square API: what the books can hold is booked, the rest is said once on the
gateway's logger, and the verified webhook is never refused for it (Square retries a
refused delivery for 72 hours with the same body, and whatever else it carried would
never be booked). Seed 004_67d5e53a019b49ae.txt: the payments, fees and refunds the
books are built from."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from portal_access import GatewayEvent, Money, PaymentMethodKind, PaymentStatus
from portal_access.gateways.square import SquareGateway
from portal_access.testing.square import SquareWebhooks
from tests.square_world import api, clock, gateway, webhooks

__all__ = ["api", "clock", "gateway", "webhooks"]  # the fixtures this module uses

LOGGER = "portal_access.gateways.square"
PAID_AT = 1_772_442_000  # seconds: 2026-03-02T09:00:00Z
AMOUNT = Money(30000, "USD")
FEE = Money(30000 * 290 // 10_000 + 30, "USD")  # the local API's: 2.9 % + 30 cents


def _paid(webhooks: SquareWebhooks) -> tuple[dict[str, str], bytes]:
    """Ann's card payment PAY1 of 300.00 on an order of ours, completed (with its fee)."""
    return webhooks.payment(event_id="e-paid", payment_id="PAY1", invoice_id="inv-1",
                            contact_id="c-1", status=PaymentStatus.SUCCEEDED,
                            method=PaymentMethodKind.CARD, amount=AMOUNT,
                            version=PAID_AT)  # fmt: skip


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


def delivered(gateway: SquareGateway, delivery: tuple[dict[str, str], bytes]) -> GatewayEvent:
    """``delivery`` handed to the gateway three times: each time the same event."""
    found = [gateway.parse_webhook(*delivery) for _ in range(3)]
    assert found[0] == found[1] == found[2]
    return found[0]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


@pytest.mark.parametrize(
    ("line", "said"),
    [
        # Square gives fee back: a negative ADJUSTMENT (the spec: "might be negative")
        ({"type": "ADJUSTMENT", "amount_money": _money(-300)}, "-3.00 USD"),
        # a line with no amount (amount_money is nullable): nothing to book
        ({"type": "ADJUSTMENT", "amount_money": None}, None),
    ],
)
def test_a_fee_line_that_gives_fee_back_is_not_taken_off_the_fee(
    gateway, api, webhooks, caplog, line, said
):
    """``processing_fee`` lines are signed: the fee booked is what Square charged (the
    INITIAL line), a line giving fee back is said once and not booked, a line with no
    amount holds nothing; neither is a refused webhook (each failed the money check)."""
    _paid(webhooks)
    payment = api.objects["payment"]["PAY1"]
    payment["processing_fee"].append({"effective_at": payment["updated_at"], **line})
    caplog.set_level(logging.WARNING, logger=LOGGER)
    update = webhooks.event("payment.updated", "payment", payment, event_id="e-fee")
    (snapshot,) = delivered(gateway, update).payments
    assert (snapshot.status, snapshot.amount, snapshot.fee) == (
        PaymentStatus.SUCCEEDED, AMOUNT, FEE
    )  # fmt: skip
    assert warnings(caplog) == (
        [f"square payment PAY1: its processing fee lines of {said} (fee given back, or in "
         "another currency than the payment's USD) are not booked"] if said else []
    )  # fmt: skip


def test_a_refund_of_a_tip_books_the_refund_up_to_the_payment(gateway, api, webhooks, caplog):
    """Square refunds up to ``total_money``, the amount and its tip: a refund in full
    (``refund`` refunds what is left of the total) of a 300.00 payment with a 5.00 tip is
    305.00. The books hold the payment's 300.00 and not its tip, so the refund is booked
    as 300.00 and the tip given back is said once (the snapshot's check refused refunds
    above the payment, so the refund was never booked)."""
    _paid(webhooks)
    payment = api.objects["payment"]["PAY1"]
    payment.update(tip_money=_money(500), total_money=_money(30500))
    gateway.refund("PAY1", amount=None, idempotency_key="r-1")
    caplog.set_level(logging.WARNING, logger=LOGGER)
    events = [delivered(gateway, delivery) for delivery in webhooks.deliveries()]
    assert [e.event_type for e in events] == ["refund.created", "payment.updated", "refund.updated"]
    (refund_id,) = api.objects["refund"]
    refunded = {(p.status, r.refund_id, r.amount) for e in events for p in e.payments
                for r in p.refunds}  # fmt: skip
    assert refunded == {(PaymentStatus.REFUNDED, refund_id, AMOUNT)}  # pending, then completed
    assert warnings(caplog) == [
        f"square refund {refund_id} of payment PAY1: 5.00 USD of its 305.00 USD is beyond the "
        "payment's 300.00 USD (a tip given back; tips are not booked): not booked"
    ]


def test_a_customer_reference_that_could_be_no_id_of_ours_is_no_contact(
    gateway, api, webhooks, caplog
):
    """A customer's ``reference_id`` is the seller's text, of any length: one that
    could be no contact id of ours (blank) names no contact; the card saved for it is no
    one's saved method, said once, not a refused webhook."""
    customer = api.customer_for("c-1")
    customer["reference_id"] = "   "
    api.add_card(customer["id"])
    caplog.set_level(logging.WARNING, logger=LOGGER)
    (created,) = webhooks.deliveries()
    assert delivered(gateway, created).saved_methods == ()
    assert warnings(caplog) == [
        f"square customer {customer['id']}: its reference_id '   ' could be no id of ours: "
        "not our contact"
    ]


def test_an_order_id_that_could_be_no_id_of_ours_is_not_ours(gateway, api, webhooks, caplog):
    """An order whose metadata ``invoice_id`` could be no invoice id of ours (a control
    character) is not ours: its payment is not booked, said once."""
    _paid(webhooks)
    payment = api.objects["payment"]["PAY1"]
    order = api.objects["order"][payment["order_id"]]
    order["metadata"]["invoice_id"] = "inv-1\n"
    caplog.set_level(logging.WARNING, logger=LOGGER)
    update = webhooks.event("payment.updated", "payment", payment, event_id="e-order")
    assert delivered(gateway, update).payments == ()
    assert warnings(caplog) == [
        f"square {order['id']}: its metadata invoice_id (6 characters: 'inv-1\\n') could be "
        "no id of ours: read as absent, not ours"
    ]
