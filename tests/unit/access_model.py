"""A small reference model of the access rules, written apart from the domain code.

It answers from the raw list of delivered gateway reports, with a decision table, so
the state machine can check that the domain's incremental merging (and its handling of
duplicates and reordering) agrees with the rules of docs/rules.md and seed 000.
"""

from __future__ import annotations

from datetime import datetime

from portal_access._domain.access import AccessLevel, AccessReason, PortalPolicy
from portal_access._domain.payments import AchPolicy

#: Examples and steps the state machine ran in this process; conftest prints them.
STATE_MACHINE_RUNS = {"examples": 0, "steps": 0}

# Lifecycle stage of a status name, for reports of the same version.
PAYMENT_STAGE = {"processing": 0, "failed": 1, "succeeded": 2, "refunded": 3, "disputed": 4}
SUBSCRIPTION_STAGE = {"incomplete": 0, "active": 1, "past_due": 2, "unpaid": 3, "canceled": 4}


def newest_payments(reports: list[dict]) -> dict[str, dict]:
    """The report with the highest (version, stage) per payment id."""
    newest: dict[str, dict] = {}
    for report in reports:
        key = (report["version"], PAYMENT_STAGE[report["status"]])
        kept = newest.get(report["id"])
        if kept is None or key > (kept["version"], PAYMENT_STAGE[kept["status"]]):
            newest[report["id"]] = report
    return newest


def current_subscription(reports: list[dict]) -> dict | None:
    """The newest report of the most recently created subscription."""
    if not reports:
        return None
    return max(
        reports,
        key=lambda r: (r["created"], r["id"], r["version"], SUBSCRIPTION_STAGE[r["status"]]),
    )


def expected_access(
    *,
    registered: bool,
    waived: bool,
    due: int,
    plan_tied: bool,
    payment_reports: list[dict],
    subscription_reports: list[dict],
    policy: PortalPolicy,
    now: datetime,
    gateway_allowed: bool = True,
) -> tuple[AccessLevel, AccessReason]:
    """What the rules say the contact may do, from the reports delivered so far.

    ``gateway_allowed``: whether the contact may use the offer's gateway (seed 004).
    """

    def pay_only(reason: AccessReason) -> tuple[AccessLevel, AccessReason]:
        needs_payment = reason in (AccessReason.INVOICE_OPEN, AccessReason.PAYMENT_FAILED)
        if needs_payment and not gateway_allowed:
            return AccessLevel.PAY_INVOICE_ONLY, AccessReason.GATEWAY_NOT_ALLOWED
        return AccessLevel.PAY_INVOICE_ONLY, reason

    def resubscribe_only(reason: AccessReason) -> tuple[AccessLevel, AccessReason]:
        return AccessLevel.RESUBSCRIBE_ONLY, (
            reason if gateway_allowed else AccessReason.GATEWAY_NOT_ALLOWED
        )

    if not registered:
        return AccessLevel.NONE, AccessReason.NOT_REGISTERED
    payments = list(newest_payments(payment_reports).values())
    statuses = [p["status"] for p in payments]
    succeeded = sum(p["amount"] for p in payments if p["status"] == "succeeded")
    ach_pending = any(p["status"] == "processing" and p["ach"] for p in payments)
    if waived:
        granted = AccessReason.PAYMENT_WAIVED
    elif succeeded >= due:
        granted = AccessReason.PAID
    elif "disputed" in statuses:
        if policy.revoke_on_dispute:
            return AccessLevel.NONE, AccessReason.PAYMENT_DISPUTED
        granted = AccessReason.PAID
    elif "refunded" in statuses:
        if policy.revoke_on_refund:
            return AccessLevel.NONE, AccessReason.PAYMENT_REFUNDED
        granted = AccessReason.PAID
    elif ach_pending and policy.ach is AchPolicy.GRANT_ON_INITIATION:
        granted = AccessReason.ACH_PROCESSING
    elif "processing" in statuses:
        return pay_only(AccessReason.PAYMENT_PROCESSING)
    elif "failed" in statuses:
        return pay_only(AccessReason.PAYMENT_FAILED)
    else:
        return pay_only(AccessReason.INVOICE_OPEN)
    subscription = current_subscription(subscription_reports) if plan_tied else None
    if subscription is not None:
        failed_at = subscription["failed_at"]
        if subscription["status"] in ("past_due", "unpaid"):
            if (
                policy.renewal_grace
                and failed_at is not None
                and now < failed_at + policy.renewal_grace
            ):
                return AccessLevel.FULL, AccessReason.RENEWAL_GRACE
            return resubscribe_only(AccessReason.RENEWAL_FAILED)
        # seed 000: a waiver settles the first invoice, not a subscription that started
        # anyway; only one that ended without a failed renewal leaves the waiver standing
        if subscription["status"] == "canceled" and not (waived and failed_at is None):
            return resubscribe_only(AccessReason.SUBSCRIPTION_ENDED)
    return AccessLevel.FULL, granted
