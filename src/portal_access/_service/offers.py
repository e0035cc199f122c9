"""Plans and offers (seed 000_07c53b15302458c1.txt: kickoff forms with paid access)."""

from __future__ import annotations

from portal_access._domain.billing import Plan
from portal_access._domain.errors import ConfigurationError
from portal_access._domain.offers import Offer
from portal_access._domain.validation import ensure_instance
from portal_access._service.context import Work

__all__ = ["save_offer", "save_plan"]


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
