"""The directory and catalog a host reads for its pages: an offer (the kickoff form),
a contact, an account and its sites (the dashboard), a contact's subscriptions.

Like the invoice reads (:mod:`portal_access._service.history`) they check no access
decision: the host shows a contact only what ``check_access`` allows. A missing id is
:class:`~portal_access.NotFoundError`, a value that is not an id
:class:`~portal_access.ValidationError`.
"""

from __future__ import annotations

from portal_access._domain.accounts import Account, Site
from portal_access._domain.contacts import Contact
from portal_access._domain.gateway_events import SubscriptionReport
from portal_access._domain.offers import Offer
from portal_access._service.context import Work
from portal_access._service.lookups import require_account, require_contact, require_offer

__all__ = ["account", "account_sites", "contact", "contact_subscriptions", "offer"]


def offer(work: Work, offer_id: str) -> Offer:
    """The offer (active or not).

    Raises:
        NotFoundError: no such offer.
    """
    return require_offer(work, offer_id)


def contact(work: Work, contact_id: str) -> Contact:
    """The contact.

    Raises:
        NotFoundError: no such contact.
    """
    return require_contact(work, contact_id)


def account(work: Work, account_id: str) -> Account:
    """The account.

    Raises:
        NotFoundError: no such account.
    """
    return require_account(work, account_id)


def account_sites(work: Work, account_id: str) -> tuple[Site, ...]:
    """Every site of the account, active or not, in id order.

    Raises:
        NotFoundError: no such account.
    """
    return work.uow.sites.for_account(require_account(work, account_id).id)


def contact_subscriptions(work: Work, contact_id: str) -> tuple[SubscriptionReport, ...]:
    """The subscriptions the gateways reported for the contact, whatever their status,
    in ``(gateway, subscription id)`` order.

    Raises:
        NotFoundError: no such contact.
    """
    return tuple(work.uow.subscriptions.for_contact(require_contact(work, contact_id).id))
