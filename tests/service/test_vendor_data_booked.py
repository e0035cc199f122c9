"""Vendor data our values cannot hold as it is, through the host's endpoint
(``portal.handle_webhook``) on the real SDKs and their local, vendor-shaped APIs: the
webhook is answered (never refused, never left waiting for an object that will not
come) and the books hold what they can. Seed 004_67d5e53a019b49ae.txt: the accounting
entries of each payment."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from portal_access import WebhookResult
from portal_access.adapters import ManualClock
from portal_access.storage.memory import MemoryStore
from portal_access.testing.square import FakeSquareApi, SquareWebhooks
from portal_access.testing.stripe import FakeStripeApi
from tests.service.harness import ADMIN, CANCEL, CLIENT, START, SUCCESS
from tests.service.ledger_world import TODAY, LedgerWorld, ledger_world
from tests.service.test_stripe_host_story import SECRET, Host
from tests.square_shapes import assert_square_shaped
from tests.square_world import KEY, URL, VARIATIONS, make_gateway
from tests.stripe_shapes import assert_stripe_shaped


def _entries(w: LedgerWorld) -> set[tuple[str, str, str, int]]:
    return {(e.payment_id, e.kind.value, e.reference, e.signed_amount)
            for e in w.portal.accounting_entries(TODAY, TODAY)}  # fmt: skip


def test_square_a_tip_refunded_and_a_fee_given_back_are_booked_as_far_as_they_can_be():
    """A guest pays 300.00 on a payment link and adds a 5.00 tip; Square gives 1.00 of its
    fee back; staff refund the payment in full (305.00, the tip with it). Every delivery is
    answered, and the books hold the payment, the fee Square charged and a refund of
    the 300.00 they hold (the tip was never booked in, so its return is not booked out)."""
    clock = ManualClock(START)
    with FakeSquareApi(clock=clock) as api:
        gateway = make_gateway(api, clock)
        w = ledger_world(MemoryStore(), gateways=(gateway,), clock=clock)
        invoice = w.invoice(30000, gateway="square")
        assert invoice.quick_pay_code is not None
        page = w.portal.quick_pay(invoice.number, invoice.quick_pay_code, success_url=SUCCESS,
                                  cancel_url=CANCEL, client_key=CLIENT).checkout  # fmt: skip
        assert page is not None
        paid = api.pay_link(page.session_id)
        payment = api.objects["payment"][paid]
        payment.update(tip_money={"amount": 500, "currency": "USD"},
                       total_money={"amount": 30500, "currency": "USD"})  # fmt: skip
        payment["processing_fee"].append({"effective_at": payment["updated_at"],
                                          "type": "ADJUSTMENT",
                                          "amount_money": {"amount": -100, "currency": "USD"}})  # fmt: skip
        signed = SquareWebhooks(secret=KEY, notification_url=URL, api=api,
                                plan_variations=VARIATIONS)  # fmt: skip
        results: list[WebhookResult] = []
        handle = lambda headers, body: results.append(  # noqa: E731
            w.portal.handle_webhook("square", headers, body)
        )
        signed.deliver(handle)
        w.portal.refund_payment("square", paid, staff=ADMIN)
        signed.deliver(handle)
        (refund_id,) = api.objects["refund"]
    assert_square_shaped(api)
    answered = ("applied", "ignored: stale snapshot")  # never refused, never left waiting
    assert [r for r in results if not r.outcome.startswith(answered)] == []
    assert {r.event_type for r in results if r.applied} >= {"payment.created", "refund.created"}
    assert _entries(w) == {
        (paid, "payment", "", 30000),
        (paid, "fee", "", -(30000 * 290 // 10_000 + 30)),
        (paid, "refund", refund_id, -30000),
    }


def _another(event: dict[str, Any], suffix: str) -> dict[str, Any]:
    """``event`` as a new event about a new invoice (its own ids)."""
    other = copy.deepcopy(event)
    other["id"] = f"{event['id']}_{suffix}"
    other["data"]["object"]["id"] = f"{event['data']['object']['id']}_{suffix}"
    return other


def _credit(event: dict[str, Any]) -> None:
    """``event``'s invoice made a credit: a downgrade's proration invoiced at once (a
    negative total), paid by the customer's balance (nothing due)."""
    invoice = event["data"]["object"]
    invoice["lines"]["data"][0]["amount"] = -2500
    invoice.update(subtotal=-2500, total=-2500, amount_due=0, amount_paid=0,
                   amount_remaining=0, billing_reason="subscription_update")  # fmt: skip


def _another_apps(event: dict[str, Any]) -> None:
    """``event``'s invoice made one of a subscription another app on the account made:
    its metadata names no contact or plan of ours."""
    details = event["data"]["object"]["parent"]["subscription_details"]
    details.update(subscription="sub_other", metadata={})


@pytest.mark.parametrize(("made", "why"), [
    (_another_apps, "no longer waits, as long as Stripe retries, for a renewal invoice of "
                    "ours that no report will ever raise"),
    (_credit, "is no longer a refused body"),
], ids=["another_apps_subscription", "credit"])  # fmt: skip
def test_stripe_an_invoice_not_ours_or_a_credit_is_answered(made, why):
    """On Ann's Stripe account, a paid invoice of another app's subscription, or a credit
    invoice of Ann's (her subscription downgraded, the credit invoiced at once): its
    ``invoice.paid`` is recorded as not acted on (see ``why``), and Ann's own renewal is
    booked as before."""
    with FakeStripeApi(clock=ManualClock(START), webhook_secret=SECRET) as stripe:
        host = Host(stripe)
        host.pays()
        (subscription,) = [o for o in stripe.objects.values() if o["object"] == "subscription"]
        host.later(days=31)
        stripe.renew(subscription["id"], succeed=True)
        renewal = [e for e in stripe.events if e["type"] == "invoice.paid"][-1]
        event = _another(renewal, "x")
        made(event)
        stripe.events.append(event)
        handle = lambda headers, body: host.portal.handle_webhook("stripe", headers, body)  # noqa: E731
        result = stripe.redeliver(event["id"], handle)
        assert_stripe_shaped(stripe)
        booked = {(e.payment_id, e.kind.value, e.signed_amount)
                  for e in host.portal.accounting_entries(START.date(), host.clock.now().date())}  # fmt: skip
    assert isinstance(result, WebhookResult)
    assert result.outcome == "ignored: invoice.paid is not acted on"
    assert (renewal["data"]["object"]["id"], "payment", 5000) in booked
    assert event["data"]["object"]["id"] not in {payment for payment, _, _ in booked}
