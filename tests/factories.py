"""Small builders of valid domain values for the project's own tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from portal_access._domain.access import AccessState, PortalPolicy
from portal_access._domain.accounts import AccountClass, InactiveSiteVisibility, Site
from portal_access._domain.contacts import ContactPortalSettings, ContactRole, SiteScope
from portal_access._domain.money import Money
from portal_access._domain.payments import (
    AchPolicy,
    PaymentMethodKind,
    PaymentSnapshot,
    PaymentStatus,
)
from portal_access._domain.requirement import RequiredPayment
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DUE = Money(29900, "USD")


def account_class(**changes: object) -> AccountClass:
    return attrs.evolve(AccountClass(id="k-1", name="Commercial"), **changes)


def sites() -> tuple[Site, ...]:
    return (
        Site(id="s-1", account_id="a-1", name="Main"),
        Site(id="s-2", account_id="a-1", name="Annex"),
        Site(id="s-3", account_id="a-1", name="Closed", active=False),
    )


def requirement(**changes: object) -> RequiredPayment:
    base = RequiredPayment(invoice_id="inv-1", amount_due=DUE, gateway="stripe")
    return attrs.evolve(base, **changes)


def state(**changes: object) -> AccessState:
    base = AccessState(
        contact_id="c-1",
        account_id="a-1",
        role=ContactRole.CLIENT,
        registered=True,
        account_class=account_class(),
        sites=sites(),
        scope=SiteScope.all_sites(),
        portal=ContactPortalSettings(),
        requirement=requirement(),
    )
    return attrs.evolve(base, **changes)


def payment(
    status: PaymentStatus,
    *,
    method: PaymentMethodKind = PaymentMethodKind.CARD,
    version: int = 1,
    payment_id: str = "pi_1",
    amount: Money = DUE,
) -> PaymentSnapshot:
    return PaymentSnapshot(
        payment_id=payment_id,
        invoice_id="inv-1",
        method=method,
        status=status,
        amount=amount,
        version=version,
        gateway="stripe",
    )


def ach(status: PaymentStatus, *, version: int = 1) -> PaymentSnapshot:
    return payment(status, method=PaymentMethodKind.BANK_ACCOUNT, version=version)


def subscription(
    status: SubscriptionStatus,
    *,
    version: int = 1,
    subscription_id: str = "sub_1",
    created: int = 1,
    failed_at: datetime | None = None,
) -> SubscriptionSnapshot:
    return SubscriptionSnapshot(
        subscription_id=subscription_id,
        plan_id="p-1",
        status=status,
        version=version,
        created=created,
        renewal_failed_at=failed_at,
        gateway="stripe",
    )


def paid_state(**changes: object) -> AccessState:
    return state(
        requirement=requirement().observe_payment(payment(PaymentStatus.SUCCEEDED)), **changes
    )


def policy(**changes: object) -> PortalPolicy:
    return attrs.evolve(PortalPolicy(), **changes)


__all__ = [
    "DUE",
    "NOW",
    "AchPolicy",
    "InactiveSiteVisibility",
    "account_class",
    "ach",
    "paid_state",
    "payment",
    "policy",
    "requirement",
    "sites",
    "state",
    "subscription",
    "timedelta",
]
