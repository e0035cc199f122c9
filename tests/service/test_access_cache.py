"""The decision cache never serves a stale decision (docs/rules.md: check_access is the hot path)."""

from __future__ import annotations

from datetime import timedelta

from portal_access import AccessLevel, AccessReason, PaymentMethodKind
from tests.service.harness import CANCEL, SUCCESS, build, paid_offer, register, sign_up


def test_a_write_or_the_end_of_a_grace_period_changes_the_cached_decision():
    """docs/rules.md: a decision is reused only while the state's version and its valid_until hold."""
    harness = build(renewal_grace=timedelta(days=2))
    paid_offer(harness)
    sign_up(harness)
    contact_id = register(harness)
    assert harness.portal.check_access(contact_id).level is AccessLevel.PAY_INVOICE_ONLY
    session = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    harness.sandbox.pay(session.session_id, method=PaymentMethodKind.CARD)
    harness.deliver()
    assert harness.portal.check_access(contact_id).level is AccessLevel.FULL  # new version
    harness.advance(days=31)
    (subscription,) = harness.sandbox.subscription_ids(contact_id)
    harness.sandbox.renew(subscription, succeed=False)
    harness.deliver()
    decision = harness.portal.check_access(contact_id)
    assert decision.reason is AccessReason.RENEWAL_GRACE
    assert harness.portal.check_access(contact_id) is decision  # cached
    assert decision.valid_until is not None
    harness.clock.set(decision.valid_until)
    after = harness.portal.check_access(contact_id)
    assert (after.level, after.reason) == (
        AccessLevel.RESUBSCRIBE_ONLY,
        AccessReason.RENEWAL_FAILED,
    )
