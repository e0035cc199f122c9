"""Accounting entries from the real vendors' SDKs against their local, vendor-shaped
APIs: fees, each partial refund, disputes and a dispute won back, under duplicated and
shuffled webhooks and reconcile, on the memory store and SQLite.

Seed 004_67d5e53a019b49ae.txt: "match the payment methods that you have integrated with
the accounts that you have created at Banks. This will allow the accounting entries of
the generated payments to be automatically assigned to the corresponding bank account."
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from portal_access import LedgerAccount, Money, PaymentMethodKind, PaymentStatus
from portal_access.adapters import ManualClock
from portal_access.gateways.stripe import StripeGateway
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from portal_access.testing.paypal import DISPUTE_FEE, LocalPayPalApi, PayPalWebhooks
from portal_access.testing.square import FakeSquareApi, SquareWebhooks
from portal_access.testing.stripe import FakeStripeApi
from tests.paypal_shapes import assert_paypal_shaped
from tests.paypal_world import make_gateway as make_paypal_gateway
from tests.service.harness import ADMIN, CANCEL, CLIENT, START, SUCCESS
from tests.service.ledger_world import CONTACT, TODAY, LedgerWorld, ledger_world
from tests.sql_databases import sqlite_url
from tests.square_shapes import assert_square_shaped
from tests.square_world import KEY, URL, VARIATIONS, make_gateway
from tests.stripe_shapes import assert_stripe_shaped

STRIPE_SECRET = "whsec_ledger"
PAYPAL_HOOK = "WH1LEDGER"
Entry = tuple[str, str, str, int]


def _store(store_kind: str, tmp_path):
    return MemoryStore() if store_kind == "memory" else SqlStore(sqlite_url(tmp_path), create=True)


def _entries(w: LedgerWorld) -> list[Entry]:
    return [
        (e.payment_id, e.kind.value, e.reference, e.signed_amount)
        for e in w.portal.accounting_entries(TODAY, TODAY)
    ]


def _page(w: LedgerWorld, amount: int, gateway: str) -> str:
    invoice = w.invoice(amount, gateway=gateway)
    assert invoice.quick_pay_code is not None
    result = w.portal.quick_pay(invoice.number, invoice.quick_pay_code, success_url=SUCCESS,
                                cancel_url=CANCEL, client_key=CLIENT)  # fmt: skip
    assert result.checkout is not None
    return result.checkout.session_id


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("seed", range(4))
def test_stripe_fees_refunds_and_disputes_are_entries_exactly_once(store_kind, seed, tmp_path):
    """Seed 004_67d5e53a019b49ae.txt: on Stripe, each payment's fee (its balance transaction's), each partial refund (by its refund id, for its own amount), a dispute and its reversal once won, and each dispute's fee (and its return once won) are entries once, whatever the order and number of deliveries, and reconcile adds none."""
    clock = ManualClock(START)
    with FakeStripeApi(clock=clock, webhook_secret=STRIPE_SECRET) as api:
        gateway = StripeGateway(api_key="sk_test_ledger", webhook_secret=STRIPE_SECRET,
                                clock=clock, api_base=api.url, max_network_retries=0)  # fmt: skip
        w = ledger_world(_store(store_kind, tmp_path), gateways=(gateway,), clock=clock)
        account = LedgerAccount(gateway="stripe", method=PaymentMethodKind.CARD, code="1020")
        w.portal.map_ledger_account(account, staff=ADMIN)
        refunded, won, lost = (api.pay(_page(w, 10000 + n, "stripe")) for n in range(3))
        refunds = [
            gateway.refund(refunded, amount=Money(3000, "USD"), idempotency_key=f"r-{n}")
            for n in range(2)
        ]
        assert refunds == [None, None]
        gateway.refund(refunded, amount=None, idempotency_key="r-rest")
        api.dispute(won)
        api.close_dispute(won, won=True)
        api.dispute(lost)
        api.close_dispute(lost, won=False)
        handler = lambda headers, body: w.portal.handle_webhook("stripe", headers, body)  # noqa: E731
        api.deliver(handler, duplicate=3, rng=random.Random(seed))
        entries = _entries(w)
        reconciled = w.portal.reconcile("stripe", since=START - timedelta(days=1))
        assert reconciled.seen > 0
        assert sorted(_entries(w)) == sorted(entries)
        assert_stripe_shaped(api)
        re_ids = sorted(o["id"] for o in api.objects.values() if o["object"] == "refund")
        dp = {
            o["payment_intent"]: o["id"] for o in api.objects.values() if o["object"] == "dispute"
        }
    fee = {n: -((10000 + n) * 290 // 10000 + 30) for n in range(3)}
    expected = {
        (refunded, "payment", "", 10000), (refunded, "fee", "", fee[0]),
        (won, "payment", "", 10001), (won, "fee", "", fee[1]),
        (lost, "payment", "", 10002), (lost, "fee", "", fee[2]),
        (won, "dispute", dp[won], -10001), (won, "dispute_won", dp[won], 10001),
        (lost, "dispute", dp[lost], -10002),
        (won, "dispute_fee", dp[won], -1500), (won, "dispute_fee_returned", dp[won], 1500),
        (lost, "dispute_fee", dp[lost], -1500),
    }  # fmt: skip
    refund_entries = {e for e in entries if e[1] == "refund"}
    assert sorted(e[3] for e in refund_entries) == [-4000, -3000, -3000]
    assert sorted(e[2] for e in refund_entries) == re_ids
    assert len(entries) == len(set(entries))
    assert set(entries) - refund_entries == expected
    assert {e.ledger_account for e in w.portal.accounting_entries(TODAY, TODAY)} == {"1020"}


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("seed", range(4))
def test_square_fees_refunds_and_disputes_are_entries_exactly_once(store_kind, seed, tmp_path):
    """Seed 004_67d5e53a019b49ae.txt: on Square, each payment's fee (its processing_fee), each partial refund (its refund events, pending then completed, by refund id), a dispute and its reversal once won are entries once, whatever the order and number of deliveries."""
    clock = ManualClock(START)
    with FakeSquareApi(clock=clock) as api:
        gateway = make_gateway(api, clock)
        w = ledger_world(_store(store_kind, tmp_path), gateways=(gateway,), clock=clock)
        account = LedgerAccount(gateway="square", method=PaymentMethodKind.CARD, code="1030")
        w.portal.map_ledger_account(account, staff=ADMIN)
        refunded, won, lost = (api.pay_link(_page(w, 10000 + n, "square")) for n in range(3))
        for n, part in enumerate((3000, 3000, 4000)):
            gateway.refund(refunded, amount=Money(part, "USD"), idempotency_key=f"r-{n}")
        won_dispute = api.dispute(won)
        api.dispute(won, state="WON")
        lost_dispute = api.dispute(lost)
        api.dispute(lost, state="LOST")
        signed = SquareWebhooks(secret=KEY, notification_url=URL, api=api,
                                plan_variations=VARIATIONS)  # fmt: skip
        deliveries = signed.deliveries() * 3
        random.Random(seed).shuffle(deliveries)
        for headers, body in deliveries:
            w.portal.handle_webhook("square", headers, body)
        entries = _entries(w)
        re_ids = sorted(api.objects["refund"])
    assert_square_shaped(api)
    fee = {n: -((10000 + n) * 290 // 10000 + 30) for n in range(3)}
    expected = {
        (refunded, "payment", "", 10000), (refunded, "fee", "", fee[0]),
        (won, "payment", "", 10001), (won, "fee", "", fee[1]),
        (lost, "payment", "", 10002), (lost, "fee", "", fee[2]),
        (won, "dispute", won_dispute, -10001), (won, "dispute_won", won_dispute, 10001),
        (lost, "dispute", lost_dispute, -10002),
    }  # fmt: skip
    refund_entries = {e for e in entries if e[1] == "refund"}
    assert sorted(e[3] for e in refund_entries) == [-4000, -3000, -3000]
    assert sorted(e[2] for e in refund_entries) == re_ids
    assert len(entries) == len(set(entries))
    assert set(entries) - refund_entries == expected


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("seed", range(4))
def test_paypal_fees_refunds_and_disputes_are_entries_exactly_once(store_kind, seed, tmp_path):
    """Seed 004_67d5e53a019b49ae.txt: on PayPal, a capture's fee (seller_receivable_breakdown.paypal_fee), its refund (by the refund's id) and a dispute (by its id) are entries once, whatever the order and number of deliveries."""
    clock = ManualClock(START)
    with LocalPayPalApi(now=clock.now) as api:
        gateway = make_paypal_gateway(api, clock, webhook_id=PAYPAL_HOOK)
        w = ledger_world(_store(store_kind, tmp_path), gateways=(gateway,), clock=clock)
        webhooks = PayPalWebhooks(webhook_id=PAYPAL_HOOK, clock=clock, api=api)
        refunded, disputed = "3C679366HH908993F", "7K012345AB678901C"
        deliveries = []
        for n, (capture, later) in enumerate(
            ((refunded, PaymentStatus.REFUNDED), (disputed, PaymentStatus.DISPUTED))
        ):
            invoice = w.invoice(10000 + n, gateway="paypal")
            for step, status in enumerate((PaymentStatus.SUCCEEDED, later)):
                deliveries.append(webhooks.payment(
                    event_id=f"WH-{n}-{step}", payment_id=capture, invoice_id=invoice.id,
                    contact_id=CONTACT, status=status, method=PaymentMethodKind.CARD,
                    amount=Money(10000 + n, "USD"),
                    version=int(START.timestamp()) + step))  # fmt: skip
        deliveries *= 3
        random.Random(seed).shuffle(deliveries)
        for headers, body in deliveries:
            w.portal.handle_webhook("paypal", headers, body)
        entries = _entries(w)
    assert_paypal_shaped(api)
    fee = {n: -((10000 + n) * 349 // 10000 + 49) for n in range(2)}
    assert len(entries) == len(set(entries))
    assert set(entries) == {
        (refunded, "payment", "", 10000), (refunded, "fee", "", fee[0]),
        (refunded, "refund", f"R{refunded[1:]}", -10000),
        (disputed, "payment", "", 10001), (disputed, "fee", "", fee[1]),
        (disputed, "dispute", f"PP-D-{disputed[-10:]}", -10001),
    }  # fmt: skip


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("seed", range(3))
def test_paypal_dispute_fees_are_entries_exactly_once(store_kind, seed, tmp_path):
    """Seed 004_67d5e53a019b49ae.txt: on PayPal, a dispute's fee (the seller's fee debit
    among its money movements, read from the Disputes API: the webhooks do not carry
    them) and, once won, the fee returned are entries once, with the dispute and its
    reversal, whatever the order and number of deliveries, and reconcile adds none."""
    clock = ManualClock(START)
    with LocalPayPalApi(now=clock.now) as api:
        gateway = make_paypal_gateway(api, clock, webhook_id=PAYPAL_HOOK)
        w = ledger_world(_store(store_kind, tmp_path), gateways=(gateway,), clock=clock)
        webhooks = PayPalWebhooks(webhook_id=PAYPAL_HOOK, clock=clock, api=api)
        approvals = []
        for n in range(2):
            order = api.approve_order(_page(w, 10000 + n, "paypal"), method="card")
            resource = {k: v for k, v in order.items() if not k.startswith("_")}
            approvals.append(webhooks.event("CHECKOUT.ORDER.APPROVED", resource,
                                            resource_type="checkout-order"))  # fmt: skip
            w.portal.handle_webhook("paypal", *approvals[-1])
        won, lost = sorted(api.captures, key=lambda c: api.captures[c]["amount"]["value"])
        fee = Money(DISPUTE_FEE, "USD")
        clock.advance(timedelta(hours=1))
        disputes = {capture: api.open_dispute(capture, fee=fee) for capture in (won, lost)}
        deliveries = [webhooks.dispute(d) for d in disputes.values()]
        clock.advance(timedelta(hours=1))
        api.resolve_dispute(disputes[won]["dispute_id"], won=True, fee_returned=fee)
        api.resolve_dispute(disputes[lost]["dispute_id"], won=False)
        deliveries += [webhooks.dispute(d) for d in disputes.values()] + approvals
        deliveries *= 3
        random.Random(seed).shuffle(deliveries)
        for _headers, body in deliveries:
            w.portal.handle_webhook("paypal", webhooks.sign(body), body)
        entries = _entries(w)
        reconciled = w.portal.reconcile("paypal", since=START - timedelta(days=1))
        assert reconciled.seen > 0
        assert sorted(_entries(w)) == sorted(entries)
    assert_paypal_shaped(api)
    kept = {n: -((10000 + n) * 349 // 10000 + 49) for n in range(2)}
    dp = {capture: d["dispute_id"] for capture, d in disputes.items()}
    assert len(entries) == len(set(entries))
    assert set(entries) == {
        (won, "payment", "", 10000), (won, "fee", "", kept[0]),
        (won, "dispute", dp[won], -10000), (won, "dispute_won", dp[won], 10000),
        (won, "dispute_fee", dp[won], -1500), (won, "dispute_fee_returned", dp[won], 1500),
        (lost, "payment", "", 10001), (lost, "fee", "", kept[1]),
        (lost, "dispute", dp[lost], -10001), (lost, "dispute_fee", dp[lost], -1500),
    }  # fmt: skip
