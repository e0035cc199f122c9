"""What the pages read, through the facade only (no repositories, no store).

``check_access`` answers "may this contact see the portal", ``account_summary`` "what
is on their account" (full access only); the rest are the facade's host reads, which
check no access decision: an invoice and a contact's payments, the kickoff form's
offer, the dashboard's account and sites, the contact (for the re-subscribe request's
email), the sandbox console's subscriptions. Each answers ``None`` (or nothing) for an
id that is missing or not an id, which a page turns into its own 404 or redirect.
"""

from __future__ import annotations

import attrs

from portal_access import (
    Account,
    Contact,
    Invoice,
    NotFoundError,
    Offer,
    PortalAccess,
    Site,
    SubscriptionReport,
    ValidationError,
)
from portal_access.repositories import PaymentRecord

__all__ = [
    "AccountView",
    "account",
    "contact",
    "invoice",
    "offer",
    "pending_payments",
    "subscriptions_of",
]


@attrs.frozen
class AccountView:
    """An account with its sites, for the dashboard."""

    account: Account
    sites: tuple[Site, ...]

    def site_names(self, ids: frozenset[str]) -> list[str]:
        """The names of the sites among ``ids``, sorted."""
        return sorted(site.name for site in self.sites if site.id in ids)


def invoice(portal: PortalAccess, invoice_id: str) -> Invoice | None:
    """The invoice, or ``None`` (no such invoice, or not an id)."""
    try:
        return portal.invoice(invoice_id)
    except (NotFoundError, ValidationError):
        return None


def pending_payments(portal: PortalAccess, contact_id: str) -> tuple[PaymentRecord, ...]:
    """The contact's payments still processing (a bank payment clearing), newest first;
    none for an unknown contact."""
    try:
        return portal.contact_payments(contact_id).pending
    except (NotFoundError, ValidationError):
        return ()


def offer(portal: PortalAccess, offer_id: str) -> Offer | None:
    """The offer, or ``None``."""
    try:
        return portal.offer(offer_id)
    except (NotFoundError, ValidationError):
        return None


def contact(portal: PortalAccess, contact_id: str) -> Contact | None:
    """The contact, or ``None``."""
    try:
        return portal.contact(contact_id)
    except (NotFoundError, ValidationError):
        return None


def account(portal: PortalAccess, account_id: str) -> AccountView | None:
    """The account and its sites, or ``None``."""
    try:
        return AccountView(portal.account(account_id), portal.account_sites(account_id))
    except (NotFoundError, ValidationError):
        return None


def subscriptions_of(portal: PortalAccess, contact_id: str) -> tuple[SubscriptionReport, ...]:
    """The subscriptions the gateways reported for the contact (none for an unknown one)."""
    try:
        return portal.contact_subscriptions(contact_id)
    except (NotFoundError, ValidationError):
        return ()
