"""Paid portal access end to end on the sandbox gateway (seed 000)."""

from __future__ import annotations

import pytest

from portal_access import (
    AccessDeniedError,
    AccessLevel,
    AccessReason,
    AchPolicy,
    ConflictError,
    GatewayRejectedError,
    InvoicePurpose,
    InvoiceStatus,
    LineKind,
    Money,
    PaymentMethodKind,
    WebhookVerificationError,
)
from portal_access.repositories import unit_of_work
from portal_access.testing.sandbox import SandboxError
from tests.service.harness import (
    ADMIN,
    CANCEL,
    CLERK,
    CLIENT,
    SUCCESS,
    Harness,
    build,
    paid_offer,
    register,
    sign_up,
)


def registered_client(harness: Harness, **offer: object) -> str:
    paid_offer(harness, **offer)
    sign_up(harness)
    return register(harness)


def pay(harness: Harness, contact_id: str, *, method=PaymentMethodKind.CARD, succeed=True) -> str:
    session = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    payment_id = harness.sandbox.pay(session.session_id, method=method, succeed=succeed)
    harness.deliver()
    return payment_id


def level(harness: Harness, contact_id: str) -> tuple[AccessLevel, AccessReason]:
    decision = harness.portal.check_access(contact_id)
    return decision.level, decision.reason


def test_card_payment_grants_access_and_onboards_once():
    """Seed 000_07c53b15302458c1.txt: once paid the Client has access and the onboarding flow starts."""
    harness = build()
    contact_id = registered_client(harness)
    pay(harness, contact_id)
    assert level(harness, contact_id) == (AccessLevel.FULL, AccessReason.PAID)
    (due,) = harness.topics("onboarding.due")
    assert due.payload == {"contact_id": contact_id, "flow": "welcome-flow"}
    assert len(harness.topics("invoice.paid")) == 1


def test_declined_card_leaves_the_invoice_to_pay():
    """Seed 000_07c53b15302458c1.txt: the Client cannot use the portal until the invoice is paid."""
    harness = build()
    contact_id = registered_client(harness)
    pay(harness, contact_id, succeed=False)
    assert level(harness, contact_id) == (AccessLevel.PAY_INVOICE_ONLY, AccessReason.PAYMENT_FAILED)
    assert harness.topics("onboarding.due") == []
    pay(harness, contact_id)  # a new checkout after the failure
    assert level(harness, contact_id)[0] is AccessLevel.FULL


@pytest.mark.parametrize(
    ("policy", "while_processing"),
    [
        (AchPolicy.GRANT_ON_INITIATION, (AccessLevel.FULL, AccessReason.ACH_PROCESSING)),
        (
            AchPolicy.GRANT_ON_CLEARING,
            (AccessLevel.PAY_INVOICE_ONLY, AccessReason.PAYMENT_PROCESSING),
        ),
    ],
)
def test_ach_that_clears(policy, while_processing):
    """Seed 000_07c53b15302458c1.txt: ACH grants on initiation or on clearing, per the setting."""
    harness = build(ach=policy)
    contact_id = registered_client(harness)
    payment_id = pay(harness, contact_id, method=PaymentMethodKind.BANK_ACCOUNT)
    assert level(harness, contact_id) == while_processing
    assert harness.topics("onboarding.due") == []  # onboarding waits for the money
    harness.sandbox.settle_ach(payment_id, cleared=True)
    harness.deliver()
    assert level(harness, contact_id) == (AccessLevel.FULL, AccessReason.PAID)
    assert len(harness.topics("onboarding.due")) == 1


@pytest.mark.parametrize("policy", list(AchPolicy))
def test_ach_that_fails_returns_to_pay_invoice_only(policy):
    """Seed 000_07c53b15302458c1.txt: if the ACH payment fails the Client has no access until resolved."""
    harness = build(ach=policy)
    contact_id = registered_client(harness)
    payment_id = pay(harness, contact_id, method=PaymentMethodKind.BANK_ACCOUNT)
    harness.sandbox.settle_ach(payment_id, cleared=False)
    harness.deliver()
    assert level(harness, contact_id) == (AccessLevel.PAY_INVOICE_ONLY, AccessReason.PAYMENT_FAILED)
    with unit_of_work(harness.store) as uow:
        invoice = uow.invoices.get(harness.portal.check_access(contact_id).required_invoice_id)
    assert invoice is not None
    assert invoice.status is InvoiceStatus.OPEN


def _subscription_id(harness: Harness, contact_id: str) -> str:
    with unit_of_work(harness.store) as uow:
        (report,) = [
            r
            for r in uow.subscriptions.for_contact(contact_id)
            if r.snapshot.status.value == "active"
        ]
    return report.snapshot.subscription_id


def test_failed_renewal_then_resubscribe_restores_access():
    """Seed 000_07c53b15302458c1.txt: a failed renewal restricts access; Having Trouble? > Re-Subscribe restores it."""
    harness = build()
    contact_id = registered_client(harness)
    pay(harness, contact_id)
    subscription_id = _subscription_id(harness, contact_id)
    harness.advance(days=31)
    harness.sandbox.renew(subscription_id, succeed=False)
    harness.deliver()
    assert level(harness, contact_id) == (AccessLevel.RESUBSCRIBE_ONLY, AccessReason.RENEWAL_FAILED)
    harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
    token = harness.link("ann@example.com", "/portal/resubscribe")
    assert harness.portal.view_resubscribe(token).contact_id == contact_id  # GET consumes nothing
    session = harness.portal.resubscribe(token, success_url=SUCCESS, cancel_url=CANCEL)
    harness.sandbox.pay(session.session_id)
    harness.deliver()
    assert level(harness, contact_id) == (AccessLevel.FULL, AccessReason.PAID)
    assert _subscription_id(harness, contact_id) == subscription_id  # reactivated, not a second one
    assert len(harness.topics("onboarding.due")) == 1
    with pytest.raises(ConflictError):  # the link was single-use (consumed on POST)
        harness.portal.resubscribe(token, success_url=SUCCESS, cancel_url=CANCEL)


def test_resubscribe_after_the_subscription_ended_makes_a_new_one():
    """Seed 000_07c53b15302458c1.txt: an Inactive Subscription can be re-subscribed with new payment details."""
    harness = build()
    contact_id = registered_client(harness)
    pay(harness, contact_id)
    old = _subscription_id(harness, contact_id)
    harness.sandbox.renew(old, succeed=False)
    harness.sandbox.exhaust_retries(old)
    harness.deliver(seed=7)  # out of order, too
    assert level(harness, contact_id) == (
        AccessLevel.RESUBSCRIBE_ONLY,
        AccessReason.SUBSCRIPTION_ENDED,
    )
    harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
    token = harness.link("ann@example.com", "/portal/resubscribe")
    session = harness.portal.resubscribe(token, success_url=SUCCESS, cancel_url=CANCEL)
    harness.sandbox.pay(session.session_id)
    harness.deliver(duplicate=2, seed=3)
    assert level(harness, contact_id)[0] is AccessLevel.FULL
    assert _subscription_id(harness, contact_id) != old


def test_renewal_invoices_carry_only_the_subscription():
    """Seed 000_07c53b15302458c1.txt: each subsequent invoice only contains the subscription charge."""
    harness = build()
    contact_id = registered_client(harness)
    pay(harness, contact_id)
    harness.sandbox.renew(_subscription_id(harness, contact_id), succeed=True)
    harness.deliver(duplicate=2)
    with unit_of_work(harness.store) as uow:
        renewals = [
            i
            for i in uow.invoices.for_account(uow.contacts.get(contact_id).account_id)  # type: ignore[union-attr]
            if i.purpose is InvoicePurpose.RENEWAL
        ]
    (renewal,) = renewals
    assert [line.kind for line in renewal.lines] == [LineKind.SUBSCRIPTION]
    assert renewal.total == Money(4900, "USD")
    assert renewal.status is InvoiceStatus.PAID
    assert level(harness, contact_id)[0] is AccessLevel.FULL


@pytest.mark.parametrize("dispute", [False, True])
def test_refund_or_dispute_takes_access_back(dispute):
    """docs/rules.md: refunds and disputes of the payment that bought access take access back."""
    harness = build()
    contact_id = registered_client(harness)
    payment_id = pay(harness, contact_id)
    if dispute:
        harness.sandbox.dispute(payment_id)
    else:
        harness.gateway.refund(payment_id, amount=None, idempotency_key="refund-1")
    harness.deliver()
    expected = AccessReason.PAYMENT_DISPUTED if dispute else AccessReason.PAYMENT_REFUNDED
    assert level(harness, contact_id) == (AccessLevel.NONE, expected)
    if dispute:
        harness.sandbox.close_dispute(payment_id, won=True)
        harness.deliver()
        assert level(harness, contact_id)[0] is AccessLevel.FULL
    assert len(harness.topics("onboarding.due")) == 1


def test_staff_cancel_required_payment_voids_and_grants():
    """Seed 000_07c53b15302458c1.txt: Cancel Required Payment marks the invoice Void and grants access."""
    harness = build()
    contact_id = registered_client(harness)
    session = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    with pytest.raises(AccessDeniedError):
        harness.portal.cancel_required_payment(contact_id, staff=CLERK)
    invoice_id = harness.portal.cancel_required_payment(contact_id, staff=ADMIN)
    assert level(harness, contact_id) == (AccessLevel.FULL, AccessReason.PAYMENT_WAIVED)
    with unit_of_work(harness.store) as uow:
        assert uow.invoices.get(invoice_id).status is InvoiceStatus.VOID  # type: ignore[union-attr]
    assert len(harness.topics("onboarding.due")) == 1
    with pytest.raises(SandboxError):  # the open page can no longer take money
        harness.sandbox.pay(session.session_id)
    assert harness.portal.cancel_required_payment(contact_id, staff=ADMIN) == invoice_id


def test_cancel_after_payment_is_refused():
    """Seed 000_07c53b15302458c1.txt: only a required (unpaid) payment can be cancelled."""
    harness = build()
    contact_id = registered_client(harness)
    pay(harness, contact_id)
    with pytest.raises(ConflictError):
        harness.portal.cancel_required_payment(contact_id, staff=ADMIN)


def test_checkout_is_idempotent_and_refused_when_nothing_is_owed():
    """docs/rules.md: two clicks open one page; a paid contact has nothing to check out."""
    harness = build()
    contact_id = registered_client(harness)
    first = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    second = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    assert first == second
    harness.sandbox.pay(first.session_id)
    harness.deliver()
    with pytest.raises(ConflictError):
        harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)


def test_webhook_duplicates_are_recorded_once():
    """docs/rules.md: processed exactly once by event id; a redelivery is a duplicate."""
    harness = build()
    contact_id = registered_client(harness)
    session = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    harness.sandbox.pay(session.session_id)
    (delivery, *_rest) = harness.sandbox.pending_deliveries()
    first = harness.webhook(*delivery)
    again = harness.webhook(*delivery)
    assert first.outcome == "applied"
    assert again.outcome == "duplicate"


def test_bad_signature_is_refused_before_anything_is_stored():
    """docs/rules.md: webhooks are verified with the vendor's scheme before anything is parsed."""
    harness = build()
    contact_id = registered_client(harness)
    session = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    harness.sandbox.pay(session.session_id)
    headers, body = harness.sandbox.pending_deliveries()[0]
    before = harness.store.snapshot()
    with pytest.raises(WebhookVerificationError) as caught:
        harness.portal.handle_webhook("sandbox", headers, body.replace(b"succeeded", b"refunded"))
    assert caught.value.reason == "signature"
    with pytest.raises(WebhookVerificationError) as caught:
        harness.portal.handle_webhook("sandbox", {}, b"{not json")
    assert caught.value.reason == "header"
    with pytest.raises(WebhookVerificationError) as caught:
        harness.portal.handle_webhook("stripe", headers, body)
    assert caught.value.reason == "gateway"
    assert harness.store.snapshot() == before


def test_cancel_survives_a_gateway_that_cannot_close_the_page(monkeypatch):
    """Seed 000_07c53b15302458c1.txt: the waiver stands even if the vendor cannot close the page."""
    harness = build()
    contact_id = registered_client(harness)
    harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)

    def refuse(session_id):
        raise GatewayRejectedError("no such page", gateway="sandbox")

    monkeypatch.setattr(harness.gateway, "expire_checkout", refuse)
    harness.portal.cancel_required_payment(contact_id, staff=ADMIN)
    assert level(harness, contact_id) == (AccessLevel.FULL, AccessReason.PAYMENT_WAIVED)
