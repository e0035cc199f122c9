"""Seed 000_07c53b15302458c1.txt: the required invoice is charged once.

Each story runs on the sandbox and on Stripe (the real SDK against the local Stripe
API), on the memory store and on SQLite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from portal_access import (
    AccessLevel,
    AchPolicy,
    ConflictError,
    GatewayRejectedError,
    InvoiceStatus,
    Money,
    PaymentInProgressError,
)
from tests.service.harness import CANCEL, CLIENT, SUCCESS
from tests.service.money_world import FIRST_INVOICE, SandboxWorld, World, world


def _required_invoice(w: World) -> str:
    invoice_id = w.portal.check_access(w.contact_id).required_invoice_id
    assert invoice_id is not None
    return invoice_id


def _pages_opened(w: World) -> int:
    if w.gateway == "sandbox":
        return len(w.harness.sandbox._checkouts)
    objects = w.api.objects.values()  # type: ignore[attr-defined]
    return sum(o.get("object") == "checkout.session" for o in objects)


@pytest.mark.parametrize("policy", list(AchPolicy))
def test_no_second_page_while_the_bank_payment_is_processing(kind, policy, tmp_path: Path):
    """Seed 000_07c53b15302458c1.txt: while an ACH payment of the required invoice is processing, start_checkout answers "your bank payment is processing" under either ACH policy."""
    with world(*kind, tmp_path, ach=policy) as w:
        invoice_id = _required_invoice(w)
        payment = w.pay(w.open_page(), bank=True)
        w.deliver()
        with pytest.raises(PaymentInProgressError) as caught:
            w.open_page()
        assert caught.value.reason == "bank_payment_processing"
        assert (caught.value.invoice_id, caught.value.payment_id) == (invoice_id, payment)
        assert "bank payment is processing" in str(caught.value)
        assert _pages_opened(w) == 1
        w.settle(payment, cleared=True)
        w.deliver()
        with pytest.raises(ConflictError):
            w.open_page()
        invoice = w.portal.invoice(invoice_id)
        assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, invoice.total)


def test_two_clicks_get_one_page_and_a_failure_a_new_one_that_closes_the_old(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: one page per invoice; after a failed payment the new page closes the earlier one, so only one can take money."""
    with world(*kind, tmp_path) as w:
        first = w.open_page()
        assert w.open_page() == first
        if w.gateway == "stripe":  # a failed card never completes a Stripe page: no report
            return
        w.harness.sandbox.pay(first.session_id, succeed=False)
        w.deliver()
        second = w.open_page()
        assert second != first
        with pytest.raises(GatewayRejectedError):  # closed when the new one opened
            w.pay(first)
        w.pay(second)
        w.deliver()
        assert w.level()[0] is AccessLevel.FULL


def test_a_second_payment_that_lands_anyway_is_credited_once_and_reported(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: a page opened before and paid after is recorded, never credited twice, raised as payment.duplicate and listed in the summary for staff."""
    with world(*kind, tmp_path) as w:
        invoice_id = _required_invoice(w)
        bank = w.pay(w.open_page(), bank=True)  # its webhooks are late
        w.harness.advance(hours=25)  # the page expired; the portal has heard nothing
        card = w.pay(w.open_page())
        w.deliver()
        w.settle(bank, cleared=True)
        w.deliver()
        invoice = w.portal.invoice(invoice_id)
        assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, invoice.total)
        (duplicate,) = w.portal.account_summary(w.contact_id).duplicate_payments
        assert (duplicate.payment_id, duplicate.surplus) == (card, Money(FIRST_INVOICE, "USD"))
        (event,) = w.topics("payment.duplicate")
        assert event.payload["payment_id"] == card
        assert event.payload["surplus"] == FIRST_INVOICE
        assert event.payload["refund_automatically"] is False
        (second,) = w.topics("subscription.duplicate")  # two live subscriptions at the vendor
        assert second.payload["cancel_automatically"] is False
        history = w.portal.contact_payments(w.contact_id)
        assert sorted(r.snapshot.payment_id for r in history.settled) == sorted([bank, card])
        assert history.duplicates == (duplicate,)
        assert w.refunds() == []  # the policy is off: staff decide
        assert len(w.topics("onboarding.due")) == 1


def test_the_refund_policy_refunds_the_duplicate_once_after_commit(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: with refund_duplicates the surplus is refunded through the gateway once, and the second subscription cancelled."""
    with world(*kind, tmp_path, refund_duplicates=True) as w:
        bank = w.pay(w.open_page(), bank=True)
        w.harness.advance(hours=25)
        card = w.pay(w.open_page())
        w.deliver()
        w.settle(bank, cleared=True)
        w.deliver()
        w.portal.deliver_outbox()  # a retry of the outbox asks nothing twice
        ((refunded, amount),) = w.refunds()
        assert amount is None  # all of it
        (event,) = w.topics("payment.duplicate")
        assert event.payload["refund_automatically"] is True
        assert (refunded == card) if w.gateway == "sandbox" else refunded.startswith("pi_")
        w.report_refunds()
        w.deliver()
        summary = w.portal.account_summary(w.contact_id)
        assert summary.duplicate_payments == ()
        assert w.level()[0] is AccessLevel.FULL
        audit = [m.payload["record"] for m in w.topics("audit.recorded")]
        policy = ("refund_payment", "cancel_subscription")
        assert [(a["action"], a["actor"]["kind"]) for a in audit if a["action"] in policy] == [
            ("refund_payment", "system"),
            ("cancel_subscription", "system"),
        ]
        if w.gateway == "sandbox":
            first, _second = w.harness.sandbox.subscription_ids(w.contact_id)
            w.deliver()
            with pytest.raises(GatewayRejectedError):  # cancelled: nothing left to renew
                w.harness.sandbox.renew(first, succeed=True)
        else:
            cancelled = [r for r in w.api.requests if r.method == "DELETE"]  # type: ignore[attr-defined]
            assert len(cancelled) == 1


def test_quick_pay_is_refused_while_the_bank_payment_is_processing(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt and seed 001_345994b3bb014aeb.txt: quick pay of the same invoice opens no second page while its bank payment processes."""
    with world(*kind, tmp_path, pay_as_guest=True) as w:
        invoice = w.portal.invoice(_required_invoice(w))
        assert invoice.quick_pay_code is not None
        w.pay(w.open_page(), bank=True)
        w.deliver()
        with pytest.raises(PaymentInProgressError) as caught:
            w.quick_pay(invoice)
        assert caught.value.reason == "bank_payment_processing"
        assert _pages_opened(w) == 1


def test_resubscribe_is_refused_while_a_subscription_is_live(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: two re-subscribe links give one live subscription; the second is refused once the first re-subscribed."""
    with world(*kind, tmp_path) as w:
        w.pay(w.open_page())
        w.deliver()
        w.harness.advance(days=31)
        w.fail_renewal()
        w.deliver()
        w.portal.having_trouble("ann@example.com", client_key=CLIENT)
        first = w.harness.link("ann@example.com", "/portal/resubscribe")
        w.portal.having_trouble("ann@example.com", client_key=CLIENT)
        second = w.harness.link("ann@example.com", "/portal/resubscribe")
        assert first != second
        w.harness.advance(hours=1)
        page = w.portal.resubscribe(first, success_url=SUCCESS, cancel_url=CANCEL)
        w.pay(page)
        w.deliver()
        assert w.level()[0] is AccessLevel.FULL
        with pytest.raises(PaymentInProgressError) as caught:
            w.portal.resubscribe(second, success_url=SUCCESS, cancel_url=CANCEL)
        assert caught.value.reason == "subscription_live"
        assert w.topics("payment.duplicate") == []  # a re-subscribe is not a second payment
        history = w.portal.contact_payments(w.contact_id)
        assert len(history.settled) == 2  # the first invoice's payment and the re-subscribe
        assert history.duplicates == ()


def test_two_links_opened_before_paying_leave_one_payable_page(tmp_path):
    """Seed 000_07c53b15302458c1.txt: the second re-subscribe page closes the first, so the payer cannot start two subscriptions."""
    with world("sandbox", "memory", tmp_path) as w:
        w.pay(w.open_page())
        w.deliver()
        w.fail_renewal()
        w.deliver()
        links = []
        for _ in range(2):
            w.portal.having_trouble("ann@example.com", client_key=CLIENT)
            links.append(w.harness.link("ann@example.com", "/portal/resubscribe"))
        first, second = (
            w.portal.resubscribe(link, success_url=SUCCESS, cancel_url=CANCEL) for link in links
        )
        with pytest.raises(GatewayRejectedError):
            w.pay(first)
        w.pay(second)
        w.deliver()
        assert len(w.harness.sandbox.subscription_ids(w.contact_id)) == 1
        assert w.level()[0] is AccessLevel.FULL


def test_a_refund_whose_answer_was_lost_is_asked_again_and_made_once(tmp_path):
    """Seed 000_07c53b15302458c1.txt: the automatic refund is retried from the outbox with the same idempotency key, so the vendor refunds once."""
    with world("sandbox", "memory", tmp_path, refund_duplicates=True) as w:
        assert isinstance(w, SandboxWorld)
        w.lose_refund_answers = 1
        bank = w.pay(w.open_page(), bank=True)
        w.harness.advance(hours=25)
        card = w.pay(w.open_page())
        w.deliver()
        w.settle(bank, cleared=True)
        w.deliver()  # the refund is made, its answer lost: the message stays pending...
        w.harness.advance(seconds=30)  # ...due again after OutboxSettings.first_retry...
        w.portal.deliver_outbox()  # ...and is delivered again (by the next use case, or here)
        assert w.refunds() == [(card, None), (card, None)]
        w.deliver()
        refunded = [r for r in w.portal.contact_payments(w.contact_id).settled
                    if r.snapshot.status.value == "refunded"]  # fmt: skip
        assert [r.snapshot.payment_id for r in refunded] == [card]
        assert len(w.harness.sandbox.pending_deliveries()) == 0
