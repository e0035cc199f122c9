"""What the pages show that ``PortalAccess`` has no read for yet, read through the store.

The facade answers "may this contact see the portal" (``check_access``) and "what is
on their account" (``account_summary``, full access only). The pay-invoice view must
show the required invoice to a contact who has no full access, the kickoff form shows
its offer, the dashboard names the account and its sites, and the re-subscribe request
needs the contact's email: those come from the library's repositories over the store's
public port (:func:`portal_access.repositories.unit_of_work`), read-only, one unit of
work per page. When the facade gains these reads, this module is what changes.
"""

from __future__ import annotations

import attrs

from portal_access import Account, Contact, Invoice, Offer, Site, SubscriptionReport
from portal_access.ports import Store
from portal_access.repositories import PaymentRecord, unit_of_work

__all__ = [
    "AccountView",
    "account",
    "contact",
    "invoice",
    "offer",
    "payments_of",
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


def invoice(store: Store, invoice_id: str) -> Invoice | None:
    """The invoice, or ``None``."""
    with unit_of_work(store) as uow:
        return uow.invoices.get(invoice_id)


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


def payments_of(store: Store, contact_id: str) -> tuple[PaymentRecord, ...]:
    """The payments recorded against the contact's account, in store order."""
    with unit_of_work(store) as uow:
        found = uow.contacts.get(contact_id)
        if found is None:
            return ()
        return tuple(uow.payments.for_account(found.account_id))


def subscriptions_of(store: Store, contact_id: str) -> tuple[SubscriptionReport, ...]:
    """The subscriptions the gateways reported for the contact."""
    with unit_of_work(store) as uow:
        return tuple(uow.subscriptions.for_contact(contact_id))
