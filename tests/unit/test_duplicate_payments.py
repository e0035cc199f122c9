"""Seed 000_07c53b15302458c1.txt: an invoice is paid once; what stops a second checkout,
and which money is surplus when a second payment lands anyway."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from portal_access._domain.duplicate_payments import (
    checkout_refusal,
    duplicate_payments,
    duplicate_subscriptions,
    live_subscription_refusal,
)
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from tests.factories import DUE, ach, payment, subscription

STATUSES = st.sampled_from(PaymentStatus)


def test_a_pending_bank_payment_is_named_before_anything_else():
    """Seed 000_07c53b15302458c1.txt: the payer is told "your bank payment is processing" first."""
    card = payment(PaymentStatus.SUCCEEDED, payment_id="pi_a")
    bank = attrs.evolve(ach(PaymentStatus.PROCESSING), payment_id="pi_z")
    refusal = checkout_refusal("inv-1", [card, bank])
    assert refusal is not None
    assert (refusal.reason, refusal.payment_id, refusal.invoice_id) == (
        "bank_payment_processing",
        "pi_z",
        "inv-1",
    )
    pending_card = payment(PaymentStatus.PROCESSING, payment_id="pi_b")
    assert checkout_refusal("inv-1", [pending_card]).reason == "payment_processing"  # type: ignore[union-attr]
    assert checkout_refusal("inv-1", [card]).reason == "paid"  # type: ignore[union-attr]


@given(st.lists(STATUSES, max_size=5))
def test_only_pending_or_succeeded_money_stops_a_checkout(statuses):
    """Seed 000_07c53b15302458c1.txt: failed, refunded and disputed payments leave the invoice payable."""
    payments = [payment(s, payment_id=f"pi_{n}") for n, s in enumerate(statuses)]
    held = {PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED} & set(statuses)
    assert (checkout_refusal("inv-1", payments) is not None) == bool(held)


@given(
    st.lists(st.tuples(STATUSES, st.integers(1, 40000)), max_size=6),
    st.integers(0, 60000),
)
def test_the_surplus_is_exactly_what_succeeded_beyond_what_is_owed(reports, owed):
    """Seed 000_07c53b15302458c1.txt: every cent beyond what the invoice asks is reported, and nothing else."""
    payments = [
        payment(status, payment_id=f"pi_{n}", amount=Money(amount, "USD"))
        for n, (status, amount) in enumerate(reports)
    ]
    found = duplicate_payments(Money(owed, "USD"), payments)
    succeeded = sum(p.amount.amount for p in payments if p.status is PaymentStatus.SUCCEEDED)
    assert sum(d.surplus.amount for d in found) == max(0, succeeded - owed)
    assert all(0 < d.surplus.amount <= d.amount.amount for d in found)


@given(st.lists(st.integers(1, 40000), min_size=1, max_size=5), st.integers(1, 40000))
def test_a_payment_found_surplus_stays_surplus_when_more_arrive(amounts, later):
    """Seed 000_07c53b15302458c1.txt: payments are credited in the order first recorded, so a later payment never turns an earlier duplicate into credit."""
    payments = [
        payment(PaymentStatus.SUCCEEDED, payment_id=f"pi_{n}", amount=Money(a, "USD"))
        for n, a in enumerate(amounts)
    ]
    before = {d.payment_id: d.surplus for d in duplicate_payments(DUE, payments)}
    extra = payment(PaymentStatus.SUCCEEDED, payment_id="pi_late", amount=Money(later, "USD"))
    after = {d.payment_id: d.surplus for d in duplicate_payments(DUE, [*payments, extra])}
    assert all(after[pid] == surplus for pid, surplus in before.items())


def test_a_void_invoice_asks_nothing():
    """Seed 000_07c53b15302458c1.txt: money that lands on a voided (waived) invoice is all surplus."""
    bank = ach(PaymentStatus.SUCCEEDED)
    (duplicate,) = duplicate_payments(Money.zero("USD"), [bank])
    assert duplicate.whole
    assert duplicate.surplus == bank.amount


def test_a_second_live_subscription_is_a_duplicate_once_the_newest_is_live():
    """Seed 000_07c53b15302458c1.txt: access follows the newest subscription; an older live one bills twice."""
    old = subscription(SubscriptionStatus.ACTIVE, subscription_id="sub_1", created=1)
    new = subscription(SubscriptionStatus.INCOMPLETE, subscription_id="sub_2", created=2)
    assert duplicate_subscriptions("p-1", new, [old, new]) == ()  # the new one may fail yet
    live = attrs.evolve(new, status=SubscriptionStatus.ACTIVE)
    assert duplicate_subscriptions("p-1", live, [old, live]) == (old,)
    assert duplicate_subscriptions("p-2", live, [old, live]) == ()


def test_re_subscribing_while_a_subscription_is_active_or_starting_is_refused():
    """Seed 000_07c53b15302458c1.txt: re-subscribe is for an inactive subscription only."""
    past_due = subscription(SubscriptionStatus.PAST_DUE)
    assert live_subscription_refusal("p-1", [past_due]) is None
    starting = subscription(SubscriptionStatus.INCOMPLETE, subscription_id="sub_2", created=2)
    refusal = live_subscription_refusal("p-1", [past_due, starting])
    assert refusal is not None
    assert (refusal.reason, refusal.subscription_id) == ("subscription_live", "sub_2")
