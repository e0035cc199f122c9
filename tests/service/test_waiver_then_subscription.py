"""Seed 000_07c53b15302458c1.txt: a waiver settles the first invoice, not a subscription
that starts anyway.

"If you choose to tie a Subscription Plan to the Paid Portal Access then the Contact's
access to the portal will be restricted if their payment fails." Each story runs on the
sandbox and on Stripe, on the memory store and on SQLite.
"""

from __future__ import annotations

from portal_access import AccessLevel, AccessReason, InvoiceStatus, Money
from tests.service.harness import ADMIN, CANCEL, CLIENT, SUCCESS
from tests.service.money_world import FIRST_INVOICE, world


def test_a_failed_renewal_restricts_after_a_waiver_once_the_subscription_started(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: staff cancel the required payment while the ACH payment processes; it clears and starts the subscription; its failed renewal restricts to re-subscribe, and the money on the void invoice is reported as a duplicate."""
    with world(*kind, tmp_path) as w:
        bank = w.pay(w.open_page(), bank=True)
        w.deliver()
        invoice_id = w.portal.cancel_required_payment(w.contact_id, staff=ADMIN, reason="partner")
        assert w.level() == (AccessLevel.FULL, AccessReason.PAYMENT_WAIVED)
        w.harness.advance(days=3)
        w.settle(bank, cleared=True)
        w.deliver()
        assert w.level() == (AccessLevel.FULL, AccessReason.PAYMENT_WAIVED)
        assert w.portal.invoice(invoice_id).status is InvoiceStatus.VOID
        (duplicate,) = w.portal.account_summary(w.contact_id).duplicate_payments
        assert (duplicate.payment_id, duplicate.surplus) == (bank, Money(FIRST_INVOICE, "USD"))
        w.harness.advance(days=31)
        w.fail_renewal()
        w.deliver()
        assert w.level() == (AccessLevel.RESUBSCRIBE_ONLY, AccessReason.RENEWAL_FAILED)
        w.portal.having_trouble("ann@example.com", client_key=CLIENT)
        token = w.harness.link("ann@example.com", "/portal/resubscribe")
        w.harness.advance(hours=1)
        w.pay(w.portal.resubscribe(token, success_url=SUCCESS, cancel_url=CANCEL))
        w.deliver()
        assert w.level() == (AccessLevel.FULL, AccessReason.PAYMENT_WAIVED)
        assert len(w.topics("onboarding.due")) == 1
        summary = w.portal.account_summary(w.contact_id)  # the re-subscribe is no duplicate
        assert [d.payment_id for d in summary.duplicate_payments] == [bank]


def test_a_waiver_stands_when_the_bank_payment_fails_and_nothing_started(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: cancel required payment grants access; a bank payment that then fails starts nothing and leaves the waiver standing."""
    with world(*kind, tmp_path) as w:
        bank = w.pay(w.open_page(), bank=True)
        w.deliver()
        w.portal.cancel_required_payment(w.contact_id, staff=ADMIN)
        w.settle(bank, cleared=False)
        w.deliver()
        assert w.level() == (AccessLevel.FULL, AccessReason.PAYMENT_WAIVED)
        assert w.portal.account_summary(w.contact_id).duplicate_payments == ()
