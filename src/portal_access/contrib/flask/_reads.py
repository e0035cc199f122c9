"""What the pages read: the facade's reads where it has them, the store's repositories
where it has none yet.

The facade answers "may this contact see the portal" (``check_access``), "what is on
their account" (``account_summary``, full access only), an invoice and a contact's
payments (``invoice``, ``contact_payments``, no access check). The kickoff form shows
its offer, the dashboard names the account and its sites, the re-subscribe request
needs the contact's email and the sandbox console the contact's subscriptions: those
the facade does not read, so they come from the library's repositories over the
store's public port (:func:`portal_access.repositories.unit_of_work`), read-only, one
unit of work per read. When the facade gains these reads, this module is what changes.
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
from portal_access.ports import Store
from portal_access.repositories import PaymentRecord, unit_of_work

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


def offer(store: Store, offer_id: str) -> Offer | None:
    """The offer, or ``None``."""
    with unit_of_work(store) as uow:
        return uow.offers.get(offer_id)


def contact(store: Store, contact_id: str) -> Contact | None:
    """The contact, or ``None``."""
    with unit_of_work(store) as uow:
        return uow.contacts.get(contact_id)


def account(store: Store, account_id: str) -> AccountView | None:
    """The account and its sites, or ``None``."""
    with unit_of_work(store) as uow:
        found = uow.accounts.get(account_id)
        return None if found is None else AccountView(found, uow.sites.for_account(account_id))


def subscriptions_of(store: Store, contact_id: str) -> tuple[SubscriptionReport, ...]:
    """The subscriptions the gateways reported for the contact."""
    with unit_of_work(store) as uow:
        return tuple(uow.subscriptions.for_contact(contact_id))
