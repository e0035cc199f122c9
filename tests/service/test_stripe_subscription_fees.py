"""Seed 004_67d5e53a019b49ae.txt on a Stripe subscription: the first invoice's and each
renewal's fee are accounting entries of their own, once, like a one-time payment's; a
dispute of a renewal books its dispute fee. The host's portal on StripeGateway, the
real SDK against the local Stripe API sending its signed webhooks (seed 000's 250 +
50/month offer)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest

from portal_access import LedgerAccount, PaymentMethodKind
from portal_access.adapters import ManualClock
from portal_access.testing.stripe import FakeStripeApi
from tests.service.harness import ADMIN, START
from tests.service.test_stripe_host_story import SECRET, Host
from tests.stripe_shapes import assert_stripe_shaped


@pytest.fixture
def stripe() -> Iterator[FakeStripeApi]:
    with FakeStripeApi(clock=ManualClock(START), webhook_secret=SECRET) as api:
        yield api
    assert_stripe_shaped(api)


def card_fee(amount: int) -> int:
    """The local API's card fee, as Stripe's US list price: 2.9 % + 30 cents."""
    return amount * 290 // 10_000 + 30


@pytest.mark.parametrize("seed", range(3))
def test_each_subscription_invoice_books_its_fee_once(stripe, seed):
    """The first invoice (250 + 50) and two renewals (50 each): a payment and a fee
    entry each, keyed by the invoice; the same webhooks again, shuffled and tripled,
    and reconcile add nothing."""
    host = Host(stripe)
    card = LedgerAccount(gateway="stripe", method=PaymentMethodKind.CARD, code="1020")
    host.portal.map_ledger_account(card, staff=ADMIN)
    host.pays()
    (subscription,) = [o for o in stripe.objects.values() if o["object"] == "subscription"]
    for _ in range(2):
        host.later(days=31)
        stripe.renew(subscription["id"], succeed=True)
    first, *renewals = [o["id"] for o in stripe.objects.values() if o["object"] == "invoice"]
    start, end = START.date(), host.clock.now().date()
    entries = [(e.payment_id, e.kind.value, e.signed_amount, e.ledger_account)
               for e in host.portal.accounting_entries(start, end)]  # fmt: skip
    assert sorted(entries) == sorted(
        [(first, "payment", 30000, "1020"), (first, "fee", -card_fee(30000), "1020")]
        + [(r, kind, amount, "1020") for r in renewals
           for kind, amount in (("payment", 5000), ("fee", -card_fee(5000)))]
    )  # fmt: skip
    handler = lambda headers, body: host.portal.handle_webhook("stripe", headers, body)  # noqa: E731
    for event in random.Random(seed).sample(stripe.events, len(stripe.events)) * 3:
        stripe.redeliver(event["id"], handler)
    host.portal.reconcile("stripe", since=START - timedelta(days=1))
    assert len(host.portal.accounting_entries(start, end)) == len(entries)


def test_a_disputed_renewal_books_the_dispute_fee(stripe):
    """A renewal's charge disputed and lost: the disputed amount and Stripe's 15.00
    dispute fee, keyed by the dispute, on the invoice's payment."""
    host = Host(stripe)
    host.pays()
    (subscription,) = [o for o in stripe.objects.values() if o["object"] == "subscription"]
    host.later(days=31)
    stripe.renew(subscription["id"], succeed=True)
    renewal = subscription["latest_invoice"]
    dispute = stripe.dispute(renewal)
    host.later(days=20)
    stripe.close_dispute(renewal, won=False)
    found = {
        (e.kind.value, e.reference, e.signed_amount)
        for e in host.portal.accounting_entries(START.date(), host.clock.now().date())
        if e.payment_id == renewal
    }
    assert found == {
        ("payment", "", 5000),
        ("fee", "", -card_fee(5000)),
        ("dispute", dispute, -5000),
        ("dispute_fee", dispute, -1500),
    }
