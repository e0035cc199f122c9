"""Duplicated (x3) and shuffled webhook deliveries converge (docs/rules.md "Webhooks";
seed 000_07c53b15302458c1.txt's stories), as a hypothesis property."""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_access import AchPolicy, PaymentMethodKind
from portal_access.repositories import read_access_state, unit_of_work
from tests.service.harness import CANCEL, SUCCESS, Harness, build, paid_offer, register, sign_up

STORIES = st.fixed_dictionaries(
    {
        "policy": st.sampled_from(AchPolicy),
        "first": st.sampled_from(["card", "card-declined", "ach-cleared", "ach-failed"]),
        "retry_by_card": st.booleans(),
        "renewal": st.sampled_from(["none", "paid", "failed", "failed-then-ended"]),
        "refund": st.booleans(),
    }
)


def play(story: dict, *, deliver) -> Harness:
    """Run a story, handing the sandbox's webhooks to ``deliver`` at the end."""
    harness = build(ach=story["policy"])
    paid_offer(harness)
    sign_up(harness)
    contact_id = register(harness)
    portal, sandbox = harness.portal, harness.sandbox

    def checkout() -> str:
        return portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL).session_id

    first = story["first"]
    if first.startswith("card"):
        payment = sandbox.pay(checkout(), succeed=first == "card")
    else:
        payment = sandbox.pay(checkout(), method=PaymentMethodKind.BANK_ACCOUNT)
        harness.deliver()  # the processing state reaches us, so the next checkout is new
        sandbox.settle_ach(payment, cleared=first == "ach-cleared")
    paid = first in ("card", "ach-cleared")
    if not paid and story["retry_by_card"]:
        harness.deliver()
        payment = sandbox.pay(checkout())
        paid = True
    if paid and story["renewal"] != "none":
        subscription = sandbox.subscription_ids(contact_id)[-1]  # a failed first try may leave one
        harness.advance(days=31)
        sandbox.renew(subscription, succeed=story["renewal"] == "paid")
        if story["renewal"] == "failed-then-ended":
            sandbox.exhaust_retries(subscription)
    if paid and story["refund"]:
        harness.gateway.refund(payment, amount=None, idempotency_key="refund")
    deliver(harness)
    return harness


def final_state(harness: Harness) -> tuple:
    state = read_access_state(harness.store, harness.contact_id)
    assert state is not None
    with unit_of_work(harness.store) as uow:
        payments = [record.snapshot for record in uow.payments.for_account(state.account_id)]
        invoices = [
            (i.id, i.status, i.amount_paid) for i in uow.invoices.for_account(state.account_id)
        ]
    return (
        attrs.evolve(state, version=0),
        harness.portal.check_access(harness.contact_id),
        payments,
        invoices,
    )


@settings(max_examples=60, deadline=None)
@given(STORIES, st.integers(0, 2**32 - 1))
def test_three_shuffled_copies_of_every_webhook_give_the_same_state_and_one_onboarding(story, seed):
    """Each webhook delivered three times in a shuffled order ends where in-order delivery ends, with one onboarding event."""
    in_order = play(story, deliver=lambda h: h.deliver())
    shuffled = play(story, deliver=lambda h: h.deliver(duplicate=3, seed=seed))
    assert final_state(shuffled) == final_state(in_order)
    onboarding = len(shuffled.topics("onboarding.due"))
    assert onboarding == len(in_order.topics("onboarding.due"))
    assert onboarding <= 1
    paid = story["first"] in ("card", "ach-cleared") or story["retry_by_card"]
    assert onboarding == (1 if paid else 0)
