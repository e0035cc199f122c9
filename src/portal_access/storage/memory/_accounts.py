"""Memory repositories for offers, plans, account classes, accounts, sites and contacts.

Each implements the matching repository of :mod:`portal_access.ports`; lists come back
as tuples in the order the port documents.
"""

from __future__ import annotations

from portal_access._domain.accounts import Account, AccountClass, Site
from portal_access._domain.billing import Plan
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.offers import Offer
from portal_access.storage.memory._tables import Repository, Transaction

__all__ = [
    "MemoryAccountClassRepository",
    "MemoryAccountRepository",
    "MemoryContactRepository",
    "MemoryOfferRepository",
    "MemoryPlanRepository",
    "MemorySiteRepository",
]


class MemoryOfferRepository(Repository):
    """Offers by id (:class:`portal_access.ports.OfferRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "offers")

    def get(self, offer_id: str) -> Offer | None:
        """The offer, or ``None``."""
        found: Offer | None = self._rows().get(offer_id)
        return found

    def save(self, offer: Offer) -> None:
        """Insert or replace the offer under its id."""
        self._writable()[offer.id] = offer


class MemoryPlanRepository(Repository):
    """Plans by id (:class:`portal_access.ports.PlanRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "plans")

    def get(self, plan_id: str) -> Plan | None:
        """The plan, or ``None``."""
        found: Plan | None = self._rows().get(plan_id)
        return found

    def save(self, plan: Plan) -> None:
        """Insert or replace the plan under its id."""
        self._writable()[plan.id] = plan


class MemoryAccountClassRepository(Repository):
    """Account classes by id (:class:`portal_access.ports.AccountClassRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "account_classes")

    def get(self, class_id: str) -> AccountClass | None:
        """The class, or ``None``."""
        found: AccountClass | None = self._rows().get(class_id)
        return found

    def save(self, account_class: AccountClass) -> None:
        """Insert or replace the class under its id."""
        self._writable()[account_class.id] = account_class


class MemoryAccountRepository(Repository):
    """Accounts by id and by class (:class:`portal_access.ports.AccountRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "accounts")

    def get(self, account_id: str) -> Account | None:
        """The account, or ``None``."""
        found: Account | None = self._rows().get(account_id)
        return found

    def save(self, account: Account) -> None:
        """Insert or replace the account under its id."""
        self._writable()[account.id] = account

    def ids_in_class(self, class_id: str) -> tuple[str, ...]:
        """Ids of the accounts whose class is ``class_id``, in id order."""
        accounts: list[Account] = list(self._rows().values())
        return tuple(sorted(a.id for a in accounts if a.account_class.id == class_id))


class MemorySiteRepository(Repository):
    """Sites by account (:class:`portal_access.ports.SiteRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "sites")

    def for_account(self, account_id: str) -> tuple[Site, ...]:
        """Every site of the account, active or not, in id order."""
        sites: list[Site] = list(self._rows().values())
        return tuple(sorted((s for s in sites if s.account_id == account_id), key=_by_id))

    def save(self, site: Site) -> None:
        """Insert or replace the site under its id."""
        self._writable()[site.id] = site


class MemoryContactRepository(Repository):
    """Contacts by id, account and email (:class:`portal_access.ports.ContactRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "contacts")

    def get(self, contact_id: str) -> Contact | None:
        """The contact, or ``None``."""
        found: Contact | None = self._rows().get(contact_id)
        return found

    def save(self, contact: Contact) -> None:
        """Insert or replace the contact under its id."""
        self._writable()[contact.id] = contact

    def with_email(self, email: EmailAddress) -> tuple[Contact, ...]:
        """Contacts whose email equals ``email`` case-insensitively, in id order."""
        contacts: list[Contact] = list(self._rows().values())
        key = email.key
        found = (c for c in contacts if c.email is not None and c.email.key == key)
        return tuple(sorted(found, key=_by_id))

    def for_account(self, account_id: str) -> tuple[Contact, ...]:
        """Contacts of the account, in id order."""
        contacts: list[Contact] = list(self._rows().values())
        return tuple(sorted((c for c in contacts if c.account_id == account_id), key=_by_id))


def _by_id(value: Site | Contact) -> str:
    return value.id
