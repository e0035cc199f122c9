"""Plans and offers (seed 000_07c53b15302458c1.txt: kickoff forms with paid access)."""

from __future__ import annotations

from portal_access._domain.billing import Charge, Plan
from portal_access._domain.contacts import ContactRole
from portal_access._domain.errors import ConfigurationError
from portal_access._domain.offers import InviteTiming, Offer, PaidAccess
from portal_access._domain.validation import ensure_instance
from portal_access._service.context import Work

__all__ = ["create_offer", "save_offer", "save_plan"]


def save_plan(work: Work, plan: Plan) -> Plan:
    """Create or change a plan. Offers keep the plan they were saved with: a price change
    applies to offers saved again, never silently to existing subscriptions."""
    work.uow.plans.save(ensure_instance(plan, Plan, field="plan"))
    return plan


def save_offer(work: Work, offer: Offer) -> Offer:
    """Create or change an offer.

    Raises:
        ConfigurationError: the offer's gateway is not configured in this portal, or its
            account class does not exist.
        ValidationError: ``offer`` is not an Offer.
    """
    ensure_instance(offer, Offer, field="offer")
    if offer.paid_access is not None:
        work.context.gateway(offer.paid_access.gateway)
        if offer.paid_access.plan is not None:
            work.uow.plans.save(offer.paid_access.plan)
    if (
        offer.account_class_id is not None
        and work.uow.account_classes.get(offer.account_class_id) is None
    ):
        raise ConfigurationError(
            "no such account class", field="account_class_id", value=offer.account_class_id
        )
    work.uow.offers.save(offer)
    return offer


def create_offer(
    work: Work,
    name: str,
    *,
    gateway: str | None,
    currency: str | None,
    invoice_title: str,
    one_time: Charge | None,
    plan: Plan | None,
    invite: InviteTiming | str,
    role: ContactRole,
    onboarding_flow: str | None,
    account_class_id: str | None,
    offer_id: str | None,
) -> Offer:
    """Build an offer from its parts and save it; paid access when ``one_time`` or
    ``plan`` is given.

    Raises:
        ConfigurationError: paid access without a gateway or a currency, and what
            :func:`save_offer` refuses.
    """
    paid = None
    if one_time is not None or plan is not None:
        if gateway is None or currency is None:
            raise ConfigurationError("paid access needs a gateway and a currency", field="gateway")
        paid = PaidAccess(
            gateway=gateway,
            currency=currency,
            invoice_title=invoice_title,
            one_time=one_time,
            plan=plan,
        )
    offer = Offer(
        id=offer_id or work.context.ids.new_id("o_"),
        name=name,
        role=role,
        paid_access=paid,
        invite=invite,  # the converter takes its text too
        onboarding_flow=onboarding_flow,
        account_class_id=account_class_id,
    )
    return save_offer(work, offer)
