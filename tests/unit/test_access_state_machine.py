"""A stateful model test: random payment stories, duplicated and reordered webhook
deliveries, checked against the reference model in ``access_model.py`` after every step.

Seed 000_07c53b15302458c1.txt (pay by card, ACH under both policies, failed renewal,
re-subscribe, cancel required payment, and a subscription that starts after the waiver),
seed 004_67d5e53a019b49ae.txt (the contact may not use the offer's gateway) and docs/rules.md
(refunds, disputes, duplicate and out-of-order webhooks).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from portal_access._domain.access import AccessState, PortalPolicy, decide
from portal_access._domain.accounts import AccountClass
from portal_access._domain.contacts import ContactPortalSettings, ContactRole
from portal_access._domain.money import Money
from portal_access._domain.payments import (
    AchPolicy,
    PaymentMethodKind,
    PaymentSnapshot,
    PaymentStatus,
)
from portal_access._domain.requirement import RequiredPayment
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus
from tests.unit.access_model import STATE_MACHINE_RUNS, expected_access

START = datetime(2026, 1, 1, tzinfo=UTC)
DUE = 29900


class AccessMachine(RuleBasedStateMachine):
    """The vendor's truth moves; reports pile up in flight and arrive in any order."""

    @initialize(
        ach=st.sampled_from(AchPolicy),
        grace_days=st.sampled_from([0, 3]),
        revoke_on_refund=st.booleans(),
        revoke_on_dispute=st.booleans(),
        plan_tied=st.booleans(),
        allowed=st.sampled_from([None, frozenset({"stripe"}), frozenset({"paypal"})]),
    )
    def setup(self, ach, grace_days, revoke_on_refund, revoke_on_dispute, plan_tied, allowed):
        STATE_MACHINE_RUNS["examples"] += 1
        self.policy = PortalPolicy(
            ach=ach,
            renewal_grace=timedelta(days=grace_days),
            revoke_on_refund=revoke_on_refund,
            revoke_on_dispute=revoke_on_dispute,
        )
        self.plan_tied = plan_tied
        self.portal = ContactPortalSettings(allowed_gateways=allowed)
        self.now = START
        self.version = 0
        self.registered = False
        self.waived = False
        self.requirement = RequiredPayment(
            invoice_id="inv-1",
            amount_due=Money(DUE, "USD"),
            gateway="stripe",
            plan_id="p-1" if plan_tied else None,
        )
        # the vendor's truth: payment id -> (is ACH, status); subscription id -> status
        self.payments: dict[str, tuple[bool, str]] = {}
        self.subscriptions: dict[str, str] = {}
        self.in_flight: list[PaymentSnapshot | SubscriptionSnapshot] = []
        self.delivered: list[PaymentSnapshot | SubscriptionSnapshot] = []

    # -- the vendor's side: each change emits one report, which goes in flight -------------

    def _tick(self, same_second: bool = False) -> int:
        self.version += 0 if same_second else 1
        return self.version

    def _report_payment(self, payment_id: str, status: PaymentStatus, *, same_second=False):
        ach, _old = self.payments.get(payment_id, (False, ""))
        self.payments[payment_id] = (ach, status.value)
        self.in_flight.append(
            PaymentSnapshot(
                payment_id=payment_id,
                invoice_id="inv-1",
                method=PaymentMethodKind.BANK_ACCOUNT if ach else PaymentMethodKind.CARD,
                status=status,
                amount=Money(DUE, "USD"),
                version=self._tick(same_second),
                gateway="stripe",
            )
        )

    def _report_subscription(
        self, subscription_id: str, status: SubscriptionStatus, *, failed: bool = True
    ):
        self.subscriptions[subscription_id] = status.value
        arrears = status is not SubscriptionStatus.ACTIVE and failed
        self.in_flight.append(
            SubscriptionSnapshot(
                subscription_id=subscription_id,
                plan_id="p-1",
                status=status,
                version=self._tick(),
                created=int(subscription_id.split("_")[1]),
                renewal_failed_at=self.failed_at if arrears else None,
                gateway="stripe",
            )
        )

    def _with_status(self, status: str, ach: bool | None = None) -> list[str]:
        return sorted(
            pid
            for pid, (is_ach, now) in self.payments.items()
            if now == status and (ach is None or is_ach == ach)
        )

    @rule()
    def register(self):
        self.registered = True

    @rule(succeeds=st.booleans(), same_second=st.booleans())
    def pay_by_card(self, succeeds, same_second):
        payment_id = f"card_{len(self.payments)}"
        self.payments[payment_id] = (False, "")
        status = PaymentStatus.SUCCEEDED if succeeds else PaymentStatus.FAILED
        self._report_payment(payment_id, status, same_second=same_second)

    @rule()
    def start_ach_payment(self):
        payment_id = f"ach_{len(self.payments)}"
        self.payments[payment_id] = (True, "")
        self._report_payment(payment_id, PaymentStatus.PROCESSING)

    @rule(data=st.data(), clears=st.booleans(), same_second=st.booleans())
    def ach_settles(self, data, clears, same_second):
        pending = self._with_status("processing", ach=True)
        if pending:
            payment_id = data.draw(st.sampled_from(pending))
            status = PaymentStatus.SUCCEEDED if clears else PaymentStatus.FAILED
            self._report_payment(payment_id, status, same_second=same_second)

    @rule(data=st.data(), dispute=st.booleans())
    def refund_or_dispute(self, data, dispute):
        paid = self._with_status("succeeded")
        if paid:
            payment_id = data.draw(st.sampled_from(paid))
            status = PaymentStatus.DISPUTED if dispute else PaymentStatus.REFUNDED
            self._report_payment(payment_id, status, same_second=True)

    @rule(data=st.data())
    def dispute_won(self, data):
        disputed = self._with_status("disputed")
        if disputed:
            self._report_payment(data.draw(st.sampled_from(disputed)), PaymentStatus.SUCCEEDED)

    @precondition(lambda self: self.plan_tied)
    @rule()
    def subscription_starts(self):
        if not self.subscriptions:
            self._report_subscription("sub_1", SubscriptionStatus.ACTIVE)

    @precondition(lambda self: self.plan_tied)
    @rule()
    def renewal_fails(self):
        current = self._current_subscription()
        if current is not None and self.subscriptions[current] == "active":
            self.failed_at = self.now
            self._report_subscription(current, SubscriptionStatus.PAST_DUE)

    @precondition(lambda self: self.plan_tied)
    @rule()
    def retries_exhausted(self):
        current = self._current_subscription()
        if current is not None and self.subscriptions[current] == "past_due":
            self._report_subscription(current, SubscriptionStatus.CANCELED)

    @precondition(lambda self: self.plan_tied)
    @rule()
    def cancelled_on_request(self):
        """The subscription ends without a failed renewal (cancelled, or its first
        payment never completed): no renewal failed, so a waiver still stands."""
        current = self._current_subscription()
        if current is not None and self.subscriptions[current] == "active":
            self._report_subscription(current, SubscriptionStatus.CANCELED, failed=False)

    @precondition(lambda self: self.plan_tied)
    @rule(new_subscription=st.booleans())
    def resubscribe(self, new_subscription):
        current = self._current_subscription()
        if current is None or self.subscriptions[current] == "active":
            return
        if new_subscription or self.subscriptions[current] == "canceled":
            current = f"sub_{len(self.subscriptions) + 1}"
        self._report_subscription(current, SubscriptionStatus.ACTIVE)

    def _current_subscription(self) -> str | None:
        if not self.subscriptions:
            return None
        return max(self.subscriptions, key=lambda sid: int(sid.split("_")[1]))

    @rule()
    def staff_cancel_required_payment(self):
        self.waived = True
        self.requirement = self.requirement.waive()

    @rule(hours=st.integers(1, 100))
    def time_passes(self, hours):
        self.now += timedelta(hours=hours)

    # -- the network: deliver any report in flight, or one already delivered, again -------

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def deliver(self, data):
        index = data.draw(st.integers(0, len(self.in_flight) - 1))
        self._apply(self.in_flight.pop(index))

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def deliver_again(self, data):
        self._apply(data.draw(st.sampled_from(self.delivered)))

    def _apply(self, report: PaymentSnapshot | SubscriptionSnapshot) -> None:
        self.delivered.append(report)
        if isinstance(report, PaymentSnapshot):
            self.requirement = self.requirement.observe_payment(report)
        else:
            self.requirement = self.requirement.observe_subscription(report)

    # -- after every step -------------------------------------------------------------------

    @invariant()
    def decision_matches_the_reference_model(self):
        STATE_MACHINE_RUNS["steps"] += 1
        state = AccessState(
            contact_id="c-1",
            account_id="a-1",
            role=ContactRole.CLIENT,
            registered=self.registered,
            account_class=AccountClass(id="k", name="K"),
            portal=self.portal,
            requirement=self.requirement,
        )
        decision = decide(state, self.policy, self.now)
        expected = expected_access(
            registered=self.registered,
            waived=self.waived,
            due=DUE,
            plan_tied=self.plan_tied,
            payment_reports=[
                {
                    "id": r.payment_id,
                    "version": r.version,
                    "status": r.status.value,
                    "amount": r.amount.amount,
                    "ach": r.method is PaymentMethodKind.BANK_ACCOUNT,
                }
                for r in self.delivered
                if isinstance(r, PaymentSnapshot)
            ],
            subscription_reports=[
                {
                    "id": r.subscription_id,
                    "created": r.created,
                    "version": r.version,
                    "status": r.status.value,
                    "failed_at": r.renewal_failed_at,
                }
                for r in self.delivered
                if isinstance(r, SubscriptionSnapshot)
            ],
            policy=self.policy,
            now=self.now,
            gateway_allowed=self.portal.allowed_gateways is None
            or "stripe" in self.portal.allowed_gateways,
        )
        assert (decision.level, decision.reason) == expected

    @invariant()
    def once_everything_arrived_the_state_is_the_vendors_truth(self):
        if self.in_flight:
            return
        seen = {p.payment_id: p.status.value for p in self.requirement.payments}
        delivered_ids = {r.payment_id for r in self.delivered if isinstance(r, PaymentSnapshot)}
        assert seen == {pid: self.payments[pid][1] for pid in delivered_ids}
        current = self.requirement.subscription
        if current is not None:
            assert current.subscription_id == self._current_subscription()
            assert current.status.value == self.subscriptions[current.subscription_id]


AccessMachine.TestCase.settings = settings(
    max_examples=500,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAccessMachine = AccessMachine.TestCase
