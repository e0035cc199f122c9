"""The access decision, rule by rule (decide is pure: state, policy and time in)."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from portal_access._domain.access import AccessLevel, AccessReason, decide, onboarding_due
from portal_access._domain.accounts import InactiveSiteVisibility, SystemPortalOptions
from portal_access._domain.capabilities import Capability
from portal_access._domain.contacts import ContactPortalSettings, ContactRole, SiteScope
from portal_access._domain.errors import ValidationError
from portal_access._domain.money import Money
from portal_access._domain.payments import AchPolicy, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from tests.factories import (
    NOW,
    account_class,
    ach,
    paid_state,
    payment,
    policy,
    requirement,
    state,
    subscription,
)


def test_unregistered_contact_has_no_access():
    """Seed 000_07c53b15302458c1.txt: a contact must register (set a password) before anything."""
    decision = decide(paid_state(registered=False), policy(), NOW)
    assert (decision.level, decision.reason) == (AccessLevel.NONE, AccessReason.NOT_REGISTERED)
    assert not decision.capabilities
    assert not decision.sites.visible


def test_open_required_invoice_allows_only_the_pay_invoice_view():
    """Seed 000_07c53b15302458c1.txt: until the invoice is paid the Client sees only Pay Invoice."""
    decision = decide(state(), policy(), NOW)
    assert decision.level is AccessLevel.PAY_INVOICE_ONLY
    assert decision.reason is AccessReason.INVOICE_OPEN
    assert decision.capabilities == {Capability.PAY_REQUIRED_INVOICE}
    assert decision.required_invoice_id == "inv-1"
    assert decision.gateways == {"stripe"}
    assert not decision.sites.visible


def test_paid_required_invoice_grants_full_access():
    """Seed 000_07c53b15302458c1.txt: once payment has been completed the Client has access."""
    decision = decide(paid_state(), policy(), NOW)
    assert (decision.level, decision.reason) == (AccessLevel.FULL, AccessReason.PAID)
    assert decision.sites.full == {"s-1", "s-2"}
    assert decision.valid_until is None


def test_offer_without_payment_grants_access_on_registration():
    """Seed 000_07c53b15302458c1.txt: without a payment requirement, registration is enough."""
    decision = decide(state(requirement=None), policy(), NOW)
    assert (decision.level, decision.reason) == (
        AccessLevel.FULL,
        AccessReason.NO_PAYMENT_REQUIRED,
    )


def test_paid_access_applies_only_to_the_client_role():
    """Seed 000_07c53b15302458c1.txt: Paid Portal Access requires the Role to be Client."""
    decision = decide(state(role=ContactRole.SUPPLIER), policy(), NOW)
    assert decision.reason is AccessReason.NO_PAYMENT_REQUIRED


@pytest.mark.parametrize(
    ("ach_policy", "level", "reason"),
    [
        (AchPolicy.GRANT_ON_INITIATION, AccessLevel.FULL, AccessReason.ACH_PROCESSING),
        (
            AchPolicy.GRANT_ON_CLEARING,
            AccessLevel.PAY_INVOICE_ONLY,
            AccessReason.PAYMENT_PROCESSING,
        ),
    ],
)
def test_processing_ach_payment_follows_the_ach_policy(ach_policy, level, reason):
    """Seed 000_07c53b15302458c1.txt: ACH grants immediately or only once the payment clears."""
    processing = state(requirement=requirement().observe_payment(ach(PaymentStatus.PROCESSING)))
    decision = decide(processing, policy(ach=ach_policy), NOW)
    assert (decision.level, decision.reason) == (level, reason)


@pytest.mark.parametrize("ach_policy", list(AchPolicy))
def test_cleared_ach_payment_grants_access_under_either_policy(ach_policy):
    """Seed 000_07c53b15302458c1.txt: a cleared ACH payment opens the portal."""
    cleared = requirement().observe_payment(ach(PaymentStatus.PROCESSING))
    cleared = cleared.observe_payment(ach(PaymentStatus.SUCCEEDED, version=2))
    assert decide(state(requirement=cleared), policy(ach=ach_policy), NOW).level is AccessLevel.FULL


@pytest.mark.parametrize("ach_policy", list(AchPolicy))
def test_failed_ach_payment_returns_to_pay_invoice_only(ach_policy):
    """Seed 000_07c53b15302458c1.txt: if the payment fails the Client has no access until resolved."""
    failed = requirement().observe_payment(ach(PaymentStatus.PROCESSING))
    failed = failed.observe_payment(ach(PaymentStatus.FAILED, version=2))
    decision = decide(state(requirement=failed), policy(ach=ach_policy), NOW)
    assert (decision.level, decision.reason) == (
        AccessLevel.PAY_INVOICE_ONLY,
        AccessReason.PAYMENT_FAILED,
    )
    assert decision.required_invoice_id == "inv-1"


def test_processing_card_payment_does_not_grant_access():
    """docs/rules.md: only a bank (ACH) payment can grant on initiation; a pending card waits."""
    pending = state(requirement=requirement().observe_payment(payment(PaymentStatus.PROCESSING)))
    decision = decide(pending, policy(ach=AchPolicy.GRANT_ON_INITIATION), NOW)
    assert decision.reason is AccessReason.PAYMENT_PROCESSING


def test_partial_payment_keeps_the_invoice_open():
    """Seed 000_07c53b15302458c1.txt: access waits until the invoice is paid, all of it."""
    part = payment(PaymentStatus.SUCCEEDED, amount=Money(100, "USD"))
    decision = decide(state(requirement=requirement().observe_payment(part)), policy(), NOW)
    assert decision.level is AccessLevel.PAY_INVOICE_ONLY


def test_cancel_required_payment_grants_access():
    """Seed 000_07c53b15302458c1.txt: Cancel Required Payment voids the invoice and grants access."""
    decision = decide(state(requirement=requirement().waive()), policy(), NOW)
    assert (decision.level, decision.reason) == (AccessLevel.FULL, AccessReason.PAYMENT_WAIVED)


def test_failed_renewal_restricts_to_resubscribe():
    """Seed 000_07c53b15302458c1.txt: a failed subscription payment restricts access."""
    failed = paid_state().requirement.observe_subscription(  # type: ignore[union-attr]
        subscription(SubscriptionStatus.PAST_DUE, failed_at=NOW - timedelta(hours=1))
    )
    decision = decide(state(requirement=attrs.evolve(failed, plan_id="p-1")), policy(), NOW)
    assert (decision.level, decision.reason) == (
        AccessLevel.RESUBSCRIBE_ONLY,
        AccessReason.RENEWAL_FAILED,
    )
    assert decision.capabilities == {Capability.RESUBSCRIBE}


def test_resubscribe_restores_access():
    """Seed 000_07c53b15302458c1.txt: once the new payment is charged, access is restored."""
    tied = attrs.evolve(paid_state().requirement, plan_id="p-1")  # type: ignore[misc]
    tied = tied.observe_subscription(subscription(SubscriptionStatus.PAST_DUE, version=2))
    tied = tied.observe_subscription(subscription(SubscriptionStatus.ACTIVE, version=3))
    assert decide(state(requirement=tied), policy(), NOW).level is AccessLevel.FULL


def test_resubscribe_with_a_new_subscription_replaces_the_ended_one():
    """Seed 000_07c53b15302458c1.txt: re-subscribing makes access active again; old reports don't undo it."""
    tied = attrs.evolve(paid_state().requirement, plan_id="p-1")  # type: ignore[misc]
    ended = subscription(SubscriptionStatus.CANCELED, version=5)
    fresh = subscription(SubscriptionStatus.ACTIVE, subscription_id="sub_2", created=2, version=1)
    for order in ((ended, fresh), (fresh, ended)):
        merged = tied
        for report in order:
            merged = merged.observe_subscription(report)
        assert decide(state(requirement=merged), policy(), NOW).level is AccessLevel.FULL


def test_ended_subscription_offers_resubscribe():
    """Seed 000_07c53b15302458c1.txt: an inactive subscription tied to paid access offers Re-Subscribe."""
    tied = attrs.evolve(paid_state().requirement, plan_id="p-1")  # type: ignore[misc]
    tied = tied.observe_subscription(subscription(SubscriptionStatus.CANCELED))
    decision = decide(state(requirement=tied), policy(), NOW)
    assert decision.reason is AccessReason.SUBSCRIPTION_ENDED


def test_grace_period_keeps_access_until_it_ends():
    """docs/rules.md: a grace period after a failed renewal is a policy setting (default none)."""
    failed_at = NOW - timedelta(days=1)
    tied = attrs.evolve(paid_state().requirement, plan_id="p-1")  # type: ignore[misc]
    tied = tied.observe_subscription(subscription(SubscriptionStatus.PAST_DUE, failed_at=failed_at))
    grace = policy(renewal_grace=timedelta(days=3))
    during = decide(state(requirement=tied), grace, NOW)
    assert (during.level, during.reason) == (AccessLevel.FULL, AccessReason.RENEWAL_GRACE)
    assert during.valid_until == failed_at + timedelta(days=3)
    after = decide(state(requirement=tied), grace, failed_at + timedelta(days=3))
    assert after.level is AccessLevel.RESUBSCRIBE_ONLY
    assert decide(state(requirement=tied), policy(), NOW).level is AccessLevel.RESUBSCRIBE_ONLY


def test_without_grace_a_future_failure_time_still_restricts():
    """docs/rules.md: the default grace is none, even when the vendor's renewal time is ahead of our clock."""
    ahead = NOW + timedelta(days=2)
    tied = attrs.evolve(paid_state().requirement, plan_id="p-1")  # type: ignore[misc]
    tied = tied.observe_subscription(subscription(SubscriptionStatus.PAST_DUE, failed_at=ahead))
    assert decide(state(requirement=tied), policy(), NOW).level is AccessLevel.RESUBSCRIBE_ONLY


@pytest.mark.parametrize(
    ("status", "flag", "reason"),
    [
        (PaymentStatus.REFUNDED, "revoke_on_refund", AccessReason.PAYMENT_REFUNDED),
        (PaymentStatus.DISPUTED, "revoke_on_dispute", AccessReason.PAYMENT_DISPUTED),
    ],
)
def test_refund_or_dispute_takes_access_back_by_policy(status, flag, reason):
    """docs/rules.md: refunds and disputes of the payment that bought access take access back."""
    taken = paid_state().requirement.observe_payment(  # type: ignore[union-attr]
        payment(status, version=2)
    )
    revoked = decide(state(requirement=taken), policy(), NOW)
    assert (revoked.level, revoked.reason) == (AccessLevel.NONE, reason)
    kept = decide(state(requirement=taken), policy(**{flag: False}), NOW)
    assert kept.level is AccessLevel.FULL


def test_dispute_won_restores_access():
    """docs/rules.md: a newer report that the payment stands again (dispute won) restores access."""
    req = paid_state().requirement.observe_payment(  # type: ignore[union-attr]
        payment(PaymentStatus.DISPUTED, version=2)
    )
    req = req.observe_payment(payment(PaymentStatus.SUCCEEDED, version=3))
    assert decide(state(requirement=req), policy(), NOW).level is AccessLevel.FULL


@pytest.mark.parametrize(
    "changes",
    [
        {"portal": ContactPortalSettings(enabled=False)},
        {"account_class": account_class(portal_enabled=False)},
    ],
)
def test_portal_disabled_means_no_access(changes):
    """Seed 001_345994b3bb014aeb.txt: "Enable portal access" on the class and "Portal user" on the contact."""
    decision = decide(paid_state(**changes), policy(), NOW)
    assert (decision.level, decision.reason) == (AccessLevel.NONE, AccessReason.PORTAL_DISABLED)


def test_account_level_contact_sees_every_active_site():
    """Seed 001_345994b3bb014aeb.txt: Account (All Sites) grants access to all sites of the account."""
    decision = decide(paid_state(), policy(), NOW)
    assert decision.sites.account_level
    assert decision.sites.full == {"s-1", "s-2"}


def test_site_level_contact_sees_only_their_sites():
    """Seed 001_345994b3bb014aeb.txt: a site-level contact sees only the sites checked for them."""
    decision = decide(paid_state(scope=SiteScope.only("s-2", "elsewhere")), policy(), NOW)
    assert decision.sites.full == {"s-2"}
    assert not decision.sites.allows("elsewhere")


@pytest.mark.parametrize(
    ("visibility", "history"),
    [
        (InactiveSiteVisibility.HIDDEN, set()),
        (InactiveSiteVisibility.SERVICE_HISTORY_ONLY, {"s-3"}),
    ],
)
def test_inactive_sites_follow_the_account_class(visibility, history):
    """Seed 001_345994b3bb014aeb.txt: "Enable viewing inactive site": No, or Service History Only."""
    decided = paid_state(account_class=account_class(inactive_sites=visibility))
    decision = decide(decided, policy(), NOW)
    assert decision.sites.history_only == history
    assert "s-3" not in decision.sites.full


def test_capabilities_follow_class_system_and_contact_options():
    """Seeds 001_345994b3bb014aeb.txt, 003_11ad6fb0c789d951.txt, 004_67d5e53a019b49ae.txt: options switch features."""
    decided = paid_state(
        account_class=account_class(reports=True, on_call_orders=True),
        portal=ContactPortalSettings(can_save_payment_method=True, catalog_access=True),
    )
    system = SystemPortalOptions(display_aging_buckets=False)
    decision = decide(decided, policy(system=system), NOW)
    for granted in (
        Capability.REPORTS,
        Capability.ON_CALL_ORDERS,
        Capability.SAVE_PAYMENT_METHOD,
        Capability.CATALOG,
        Capability.VIEW_INVOICES,
        Capability.VIEW_PAYMENT_HISTORY,
    ):
        assert decision.can(granted), granted
    assert not decision.can(Capability.AGING_BUCKETS)
    assert not decision.can(Capability.ADD_SITES)
    plain = decide(paid_state(), policy(), NOW)
    assert not plain.can(Capability.SAVE_PAYMENT_METHOD)
    assert not plain.can(Capability.CATALOG)


def test_gateways_are_the_contacts_allowed_ones_among_the_configured():
    """Seed 004_67d5e53a019b49ae.txt: per contact, PayPal, Stripe or Square selectors enable gateways."""
    contact = ContactPortalSettings(allowed_gateways={"paypal", "stripe"})
    decision = decide(paid_state(portal=contact), policy(gateways={"stripe", "square"}), NOW)
    assert decision.gateways == {"stripe"}
    everything = decide(paid_state(), policy(gateways={"stripe", "square"}), NOW)
    assert everything.gateways == {"stripe", "square"}


def test_onboarding_waits_for_payment_and_fires_once():
    """Seed 000_07c53b15302458c1.txt: an onboarding flow does not trigger until the invoice is paid."""
    assert not onboarding_due(state(onboarding_flow="welcome"))
    assert onboarding_due(paid_state(onboarding_flow="welcome"))
    assert not onboarding_due(paid_state(onboarding_flow="welcome", onboarding_started=True))
    assert not onboarding_due(paid_state(onboarding_flow=None))
    waived = state(requirement=requirement().waive(), onboarding_flow="welcome")
    assert onboarding_due(waived)


def test_onboarding_waits_for_ach_to_clear_even_when_access_is_granted():
    """Seed 000_07c53b15302458c1.txt: onboarding waits until the invoice is paid, not merely initiated."""
    processing = state(
        requirement=requirement().observe_payment(ach(PaymentStatus.PROCESSING)),
        onboarding_flow="welcome",
    )
    assert decide(processing, policy(ach=AchPolicy.GRANT_ON_INITIATION), NOW).full
    assert not onboarding_due(processing)


def test_decide_refuses_a_naive_time():
    """docs/rules.md: time comes in as an argument and must say its zone."""
    with pytest.raises(ValidationError) as caught:
        decide(state(), policy(), datetime(2026, 1, 1))
    assert caught.value.field == "now"


def test_policy_refuses_a_negative_grace_period():
    """docs/rules.md: the grace period is a non-negative duration."""
    with pytest.raises(ValidationError) as caught:
        policy(renewal_grace=timedelta(days=-1))
    assert caught.value.field == "renewal_grace"


@pytest.mark.parametrize(
    ("allowed", "configured", "expected"),
    [
        (None, None, AccessReason.INVOICE_OPEN),
        ({"stripe"}, {"stripe", "paypal"}, AccessReason.INVOICE_OPEN),
        ({"paypal"}, None, AccessReason.GATEWAY_NOT_ALLOWED),
        ({"paypal", "stripe"}, {"paypal"}, AccessReason.GATEWAY_NOT_ALLOWED),
    ],
)
def test_the_pay_invoice_view_lists_only_a_gateway_the_contact_may_use(
    allowed, configured, expected
):
    """Seed 004_67d5e53a019b49ae.txt: the offer's gateway (stripe) is listed only when the contact may use it; otherwise the decision says so and grants no payment."""
    portal = ContactPortalSettings(allowed_gateways=allowed)
    decision = decide(state(portal=portal), policy(gateways=configured), NOW)
    assert (decision.level, decision.reason) == (AccessLevel.PAY_INVOICE_ONLY, expected)
    if expected is AccessReason.GATEWAY_NOT_ALLOWED:
        assert (decision.gateways, decision.capabilities) == (frozenset(), frozenset())
    else:
        assert decision.gateways == {"stripe"}
        assert decision.can(Capability.PAY_REQUIRED_INVOICE)


def test_a_pending_payment_is_reported_even_when_the_gateway_is_off():
    """Seed 004_67d5e53a019b49ae.txt: with a bank payment processing nothing is to pay, so the reason stays payment_processing."""
    pending = requirement().observe_payment(ach(PaymentStatus.PROCESSING))
    portal = ContactPortalSettings(allowed_gateways={"paypal"})
    decision = decide(state(requirement=pending, portal=portal), policy(), NOW)
    assert decision.reason is AccessReason.PAYMENT_PROCESSING


def test_the_resubscribe_path_says_when_the_gateway_is_off():
    """Seed 004_67d5e53a019b49ae.txt: re-subscribing through a gateway the contact may not use is refused in the decision."""
    tied = attrs.evolve(paid_state().requirement, plan_id="p-1")  # type: ignore[misc]
    tied = tied.observe_subscription(subscription(SubscriptionStatus.PAST_DUE, failed_at=NOW))
    portal = ContactPortalSettings(allowed_gateways={"square"})
    decision = decide(state(requirement=tied, portal=portal), policy(), NOW)
    assert (decision.level, decision.reason) == (
        AccessLevel.RESUBSCRIBE_ONLY,
        AccessReason.GATEWAY_NOT_ALLOWED,
    )
    assert decision.capabilities == frozenset()


@pytest.mark.parametrize(
    ("status", "failed", "expected"),
    [
        (SubscriptionStatus.ACTIVE, False, AccessReason.PAYMENT_WAIVED),
        (SubscriptionStatus.INCOMPLETE, False, AccessReason.PAYMENT_WAIVED),
        (SubscriptionStatus.PAST_DUE, True, AccessReason.RENEWAL_FAILED),
        (SubscriptionStatus.UNPAID, True, AccessReason.RENEWAL_FAILED),
        (SubscriptionStatus.CANCELED, True, AccessReason.SUBSCRIPTION_ENDED),
        (SubscriptionStatus.CANCELED, False, AccessReason.PAYMENT_WAIVED),
    ],
)
def test_a_waiver_does_not_outlive_a_subscription_that_started(status, failed, expected):
    """Seed 000_07c53b15302458c1.txt: once the tied subscription started, its failed renewal restricts even after staff cancelled the required payment; one that never started (or was cancelled on request) leaves the waiver standing."""
    waived = requirement(plan_id="p-1").waive()
    waived = waived.observe_subscription(
        subscription(status, failed_at=NOW - timedelta(days=1) if failed else None)
    )
    decision = decide(state(requirement=waived), policy(), NOW)
    assert decision.reason is expected
    full = expected is AccessReason.PAYMENT_WAIVED
    assert decision.level is (AccessLevel.FULL if full else AccessLevel.RESUBSCRIBE_ONLY)
