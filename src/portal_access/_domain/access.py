"""The access decision: ``decide(state, policy, now) -> AccessDecision``, a pure function.

It never reads storage or the clock: everything it needs is in :class:`AccessState`
(one per contact, kept current by the service) and :class:`PortalPolicy` (the host's
settings), and the time comes in as ``now``.

>>> from datetime import datetime, timezone
>>> from portal_access._domain.accounts import AccountClass
>>> from portal_access._domain.contacts import ContactRole, SiteScope
>>> from portal_access._domain.money import Money
>>> state = AccessState(contact_id="c-1", account_id="acc-1", role=ContactRole.CLIENT,
...     registered=True, account_class=AccountClass(id="k", name="Commercial"),
...     sites=(Site(id="s-1", account_id="acc-1", name="Main"),),
...     scope=SiteScope.all_sites(),
...     requirement=RequiredPayment(invoice_id="inv-1", amount_due=Money(100, "USD"),
...                                 gateway="stripe"))
>>> decision = decide(state, PortalPolicy(), datetime(2026, 1, 1, tzinfo=timezone.utc))
>>> decision.level.value, decision.reason.value, decision.required_invoice_id
('pay_invoice_only', 'invoice_open', 'inv-1')
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from portal_access._domain.accounts import AccountClass, Site, SystemPortalOptions
from portal_access._domain.capabilities import (
    PAY_INVOICE_CAPABILITIES,
    RESUBSCRIBE_CAPABILITIES,
    Capability,
    full_capabilities,
)
from portal_access._domain.contacts import ContactPortalSettings, ContactRole, SiteScope
from portal_access._domain.errors import ValidationError
from portal_access._domain.payment_gateways import may_pay_through, payable_gateways
from portal_access._domain.payments import AchPolicy
from portal_access._domain.requirement import RequiredPayment, Settlement
from portal_access._domain.site_access import SiteAccess, resolve_sites
from portal_access._domain.validation import (
    ensure_aware,
    identifier,
    instance_of,
    optional,
    tuple_of,
)

__all__ = [
    "AccessDecision",
    "AccessLevel",
    "AccessReason",
    "AccessState",
    "PortalPolicy",
    "decide",
    "onboarding_due",
]


class AccessLevel(enum.Enum):
    """How much of the portal a contact may use."""

    FULL = "full"  # the portal, within the site scope and capabilities
    PAY_INVOICE_ONLY = "pay_invoice_only"  # only the view that pays the required invoice
    RESUBSCRIBE_ONLY = "resubscribe_only"  # only the re-subscribe path
    NONE = "none"


class AccessReason(enum.Enum):
    """Why the decision is what it is; stable values a host can show or log."""

    PORTAL_DISABLED = "portal_disabled"
    NOT_REGISTERED = "not_registered"
    NO_PAYMENT_REQUIRED = "no_payment_required"
    PAID = "paid"
    PAYMENT_WAIVED = "payment_waived"
    ACH_PROCESSING = "ach_processing"
    INVOICE_OPEN = "invoice_open"
    PAYMENT_PROCESSING = "payment_processing"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_REFUNDED = "payment_refunded"
    PAYMENT_DISPUTED = "payment_disputed"
    RENEWAL_GRACE = "renewal_grace"
    RENEWAL_FAILED = "renewal_failed"
    SUBSCRIPTION_ENDED = "subscription_ended"
    GATEWAY_NOT_ALLOWED = "gateway_not_allowed"  # the payment's gateway is off for the contact


def _grace(_instance: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValidationError("must be a non-negative timedelta", field=attribute.name, value=value)


def _gateway_set(value: object) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, frozenset | set | list | tuple):
        raise ValidationError("must be a collection of gateway names", field="gateways")
    if not all(isinstance(name, str) and name.strip() for name in value):
        raise ValidationError("must be a collection of gateway names", field="gateways")
    return frozenset(value)


@attrs.frozen
class PortalPolicy:
    """The host's access settings (the same for every contact).

    Args:
        ach: when a bank payment opens the portal (seed 000); default: on clearing.
        renewal_grace: how long after a failed renewal access stays full; default none.
        revoke_on_refund: a full refund of what paid for access takes access back.
        revoke_on_dispute: a dispute of what paid for access takes access back.
        gateways: the gateways the host configured; ``None`` restricts nothing.
        system: the system-wide portal options (seed 001).
        refund_duplicates: refund a second payment of an invoice (money beyond what it
            asks) and cancel a second live subscription through the gateway, after
            commit, instead of only reporting them for staff; off by default.
    """

    ach: AchPolicy = attrs.field(
        default=AchPolicy.GRANT_ON_CLEARING, validator=instance_of(AchPolicy)
    )
    renewal_grace: timedelta = attrs.field(default=timedelta(0), validator=_grace)
    revoke_on_refund: bool = attrs.field(default=True, validator=instance_of(bool))
    revoke_on_dispute: bool = attrs.field(default=True, validator=instance_of(bool))
    gateways: frozenset[str] | None = attrs.field(default=None, converter=_gateway_set)
    system: SystemPortalOptions = attrs.field(
        factory=SystemPortalOptions, validator=instance_of(SystemPortalOptions)
    )
    refund_duplicates: bool = attrs.field(default=False, validator=instance_of(bool))


@attrs.frozen
class AccessState:
    """Everything :func:`decide` needs about one contact, in one value.

    The service keeps one per contact, rewritten in the same unit of work as every
    change that affects it, so checking access is a single read.

    Args:
        contact_id: the contact.
        account_id: the contact's account.
        role: paid access applies to the Client role only (seed 000).
        registered: the contact accepted an invitation or self-registered and set a password.
        account_class: the account's class and its portal options (seed 001).
        sites: every site of the account, active or not.
        scope: account level or a set of sites (seed 001).
        portal: the contact's own portal settings (seeds 003, 004).
        requirement: the paid-access requirement, or ``None`` when the offer asks no payment.
        onboarding_flow: the host's onboarding flow for this contact, if any.
        onboarding_started: the onboarding event has been emitted (it is emitted once).
        version: the row version, bumped by every write (optimistic concurrency).
    """

    contact_id: str = attrs.field(validator=identifier)
    account_id: str = attrs.field(validator=identifier)
    role: ContactRole = attrs.field(validator=instance_of(ContactRole))
    registered: bool = attrs.field(validator=instance_of(bool))
    account_class: AccountClass = attrs.field(validator=instance_of(AccountClass))
    sites: tuple[Site, ...] = attrs.field(default=(), validator=tuple_of(Site))
    scope: SiteScope = attrs.field(factory=SiteScope.all_sites, validator=instance_of(SiteScope))
    portal: ContactPortalSettings = attrs.field(
        factory=ContactPortalSettings, validator=instance_of(ContactPortalSettings)
    )
    requirement: RequiredPayment | None = attrs.field(
        default=None, validator=optional(instance_of(RequiredPayment))
    )
    onboarding_flow: str | None = attrs.field(default=None)
    onboarding_started: bool = attrs.field(default=False, validator=instance_of(bool))
    version: int = attrs.field(default=0, validator=instance_of(int))

    @property
    def effective_requirement(self) -> RequiredPayment | None:
        """The requirement that applies: paid access is for the Client role only (seed 000)."""
        return self.requirement if self.role is ContactRole.CLIENT else None


@attrs.frozen
class AccessDecision:
    """What a contact may see and do now.

    Args:
        level: full, pay-invoice-only, re-subscribe-only or none.
        reason: why; stable values for display and logs.
        sites: the site scope (empty unless the level is FULL).
        capabilities: what the contact may do.
        gateways: the gateways the contact may pay with.
        required_invoice_id: the invoice to pay when the level is PAY_INVOICE_ONLY.
        valid_until: the instant this decision may change by time alone (the end of a
            grace period); ``None`` when only a new event can change it. Hosts may cache
            a decision until then, keyed by the state's version.
    """

    level: AccessLevel
    reason: AccessReason
    sites: SiteAccess = attrs.field(factory=SiteAccess)
    capabilities: frozenset[Capability] = frozenset()
    gateways: frozenset[str] = frozenset()
    required_invoice_id: str | None = None
    valid_until: datetime | None = None

    @property
    def full(self) -> bool:
        """Whether the contact has the run of the portal."""
        return self.level is AccessLevel.FULL

    def can(self, capability: Capability) -> bool:
        """Whether ``capability`` is granted."""
        return capability in self.capabilities


def _gateways(state: AccessState, policy: PortalPolicy) -> frozenset[str]:
    return payable_gateways(state.portal.allowed_gateways, policy.gateways)


_NOT_SETTLED = {
    Settlement.OPEN: AccessReason.INVOICE_OPEN,
    Settlement.PROCESSING: AccessReason.PAYMENT_PROCESSING,
    Settlement.ACH_PROCESSING: AccessReason.PAYMENT_PROCESSING,
    Settlement.FAILED: AccessReason.PAYMENT_FAILED,
}


def decide(state: AccessState, policy: PortalPolicy, now: datetime) -> AccessDecision:
    """Decide what ``state``'s contact may see at ``now`` under ``policy``.

    The rules, in order (each tested in ``tests/unit/test_access.py``):

    1. Portal switched off for the contact or its account class: NONE.
    2. Not registered: NONE (seed 000: registration comes before anything).
    3. No requirement (no paid access, or the role is not Client): FULL.
    4. Disputed / refunded in full: NONE when the policy revokes, else as paid.
    5. Paid, waived by staff ("cancel required payment", seed 000), or ACH processing
       under GRANT_ON_INITIATION: FULL, unless the tied subscription's renewal failed
       (RESUBSCRIBE_ONLY after any grace period) or it ended (RESUBSCRIBE_ONLY). A
       waiver settles the first invoice, not the subscription: once a subscription
       started anyway (a bank payment cleared after the waiver) its failed renewal
       restricts as well; only a subscription that ended without a failed renewal
       (never started, or cancelled on request) leaves a waived contact FULL.
    6. Otherwise (open, processing, failed): PAY_INVOICE_ONLY.

    The pay-invoice and re-subscribe decisions list the offer's gateway only when the
    contact may use it (seed 004); when it may not and a payment is needed, the reason
    is GATEWAY_NOT_ALLOWED and no gateway or payment capability is granted.

    Raises:
        ValidationError: ``now`` is naive.
    """
    if not isinstance(state, AccessState):
        raise ValidationError("must be an AccessState", field="state", value=state)
    if not isinstance(policy, PortalPolicy):
        raise ValidationError("must be a PortalPolicy", field="policy", value=policy)
    ensure_aware(now, field="now")
    if not (state.portal.enabled and state.account_class.portal_enabled):
        return AccessDecision(AccessLevel.NONE, AccessReason.PORTAL_DISABLED)
    if not state.registered:
        return AccessDecision(AccessLevel.NONE, AccessReason.NOT_REGISTERED)
    requirement = state.effective_requirement
    if requirement is None:
        return _full(state, policy, AccessReason.NO_PAYMENT_REQUIRED)
    settlement = requirement.settlement
    waived = settlement is Settlement.WAIVED
    if waived:
        reason = AccessReason.PAYMENT_WAIVED
    elif settlement is Settlement.DISPUTED and policy.revoke_on_dispute:
        return AccessDecision(AccessLevel.NONE, AccessReason.PAYMENT_DISPUTED)
    elif settlement is Settlement.REFUNDED and policy.revoke_on_refund:
        return AccessDecision(AccessLevel.NONE, AccessReason.PAYMENT_REFUNDED)
    elif settlement is Settlement.ACH_PROCESSING and policy.ach is AchPolicy.GRANT_ON_INITIATION:
        reason = AccessReason.ACH_PROCESSING
    elif settlement in _NOT_SETTLED:
        return _pay_invoice(state, policy, requirement, _NOT_SETTLED[settlement])
    else:
        reason = AccessReason.PAID
    subscription = requirement.subscription
    if subscription is not None and requirement.plan_id is not None:
        if subscription.in_arrears:
            failed_at = subscription.renewal_failed_at
            grace = policy.renewal_grace
            if grace and failed_at is not None and now < failed_at + grace:
                return attrs.evolve(
                    _full(state, policy, AccessReason.RENEWAL_GRACE),
                    valid_until=failed_at + grace,
                )
            return _resubscribe(state, policy, requirement, AccessReason.RENEWAL_FAILED)
        if subscription.ended and not (waived and subscription.renewal_failed_at is None):
            return _resubscribe(state, policy, requirement, AccessReason.SUBSCRIPTION_ENDED)
    return _full(state, policy, reason)


def _full(state: AccessState, policy: PortalPolicy, reason: AccessReason) -> AccessDecision:
    return AccessDecision(
        AccessLevel.FULL,
        reason,
        sites=resolve_sites(state.scope, state.sites, state.account_class, state.account_id),
        capabilities=full_capabilities(state.account_class, state.portal, policy.system),
        gateways=_gateways(state, policy),
    )


def _payment_gateway(
    state: AccessState, policy: PortalPolicy, requirement: RequiredPayment
) -> frozenset[str]:
    """The offer's gateway when the contact may pay through it, else nothing (seed 004)."""
    gateway = requirement.gateway
    if may_pay_through(gateway, state.portal.allowed_gateways, policy.gateways):
        return frozenset({gateway})
    return frozenset()


def _pay_invoice(
    state: AccessState, policy: PortalPolicy, requirement: RequiredPayment, reason: AccessReason
) -> AccessDecision:
    gateways = _payment_gateway(state, policy, requirement)
    must_pay = reason in (AccessReason.INVOICE_OPEN, AccessReason.PAYMENT_FAILED)
    blocked = must_pay and not gateways
    return AccessDecision(
        AccessLevel.PAY_INVOICE_ONLY,
        AccessReason.GATEWAY_NOT_ALLOWED if blocked else reason,
        capabilities=frozenset() if blocked else PAY_INVOICE_CAPABILITIES,
        gateways=gateways,
        required_invoice_id=requirement.invoice_id,
    )


def _resubscribe(
    state: AccessState, policy: PortalPolicy, requirement: RequiredPayment, reason: AccessReason
) -> AccessDecision:
    gateways = _payment_gateway(state, policy, requirement)
    return AccessDecision(
        AccessLevel.RESUBSCRIBE_ONLY,
        reason if gateways else AccessReason.GATEWAY_NOT_ALLOWED,
        capabilities=RESUBSCRIBE_CAPABILITIES if gateways else frozenset(),
        gateways=gateways,
    )


def onboarding_due(state: AccessState) -> bool:
    """Whether the onboarding event should be emitted now (seed 000).

    "If the Client is assigned an On-Boarding FLOW it will not trigger until after the
    Invoice is paid." It fires once: never again after ``onboarding_started``. A pending
    ACH payment does not count, even where the policy grants access on initiation.
    Without a payment requirement it is due at once.

    Raises:
        ValidationError: ``state`` is not an :class:`AccessState`.
    """
    if not isinstance(state, AccessState):
        raise ValidationError("must be an AccessState", field="state", value=state)
    if state.onboarding_flow is None or state.onboarding_started:
        return False
    requirement = state.effective_requirement
    return requirement is None or requirement.settled
