"""Repositories of offers, plans, account classes, accounts, sites and contacts.

These rows are written by staff actions and kickoff forms: a save inserts or replaces
(the last save wins). Lists come back as tuples, in the order each method documents.
"""

from __future__ import annotations

from portal_access._domain.accounts import Account, AccountClass, Site
from portal_access._domain.billing import Plan
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.offers import Offer
from portal_access.ports import Scalar
from portal_access.repositories._base import ById
from portal_access.repositories._tables import (
    ACCOUNT_CLASSES,
    ACCOUNTS,
    ACCOUNTS_BY_CLASS,
    CONTACTS,
    CONTACTS_BY_ACCOUNT,
    CONTACTS_BY_EMAIL,
    OFFERS,
    PLANS,
    SITES,
    SITES_BY_ACCOUNT,
)

__all__ = [
    "AccountClassRepository",
    "AccountRepository",
    "ContactRepository",
    "OfferRepository",
    "PlanRepository",
    "SiteRepository",
]


class OfferRepository(ById[Offer]):
    """Offers (kickoff forms) by id."""

    table, kind = OFFERS, Offer


class PlanRepository(ById[Plan]):
    """Subscription plans by id."""

    table, kind = PLANS, Plan


class AccountClassRepository(ById[AccountClass]):
    """Account classes by id."""

    table, kind = ACCOUNT_CLASSES, AccountClass


class AccountRepository(ById[Account]):
    """Accounts by id and by class (each holds a copy of its class, kept current by the
    service)."""

    table, kind = ACCOUNTS, Account

    def columns(self, value: Account) -> dict[str, Scalar]:
        """The account's class id."""
        return {"class_id": value.account_class.id}

    def ids_in_class(self, class_id: str) -> tuple[str, ...]:
        """Ids of the accounts whose class is ``class_id``, in id order."""
        return self._keys(ACCOUNTS_BY_CLASS, class_id)


class SiteRepository(ById[Site]):
    """Sites by id and by account."""

    table, kind = SITES, Site

    def columns(self, value: Site) -> dict[str, Scalar]:
        """The site's account id."""
        return {"account_id": value.account_id}

    def for_account(self, account_id: str) -> tuple[Site, ...]:
        """Every site of the account, active or not, in id order."""
        return self._find(SITES_BY_ACCOUNT, account_id, Site)


class ContactRepository(ById[Contact]):
    """Contacts by id, by account, by email."""

    table, kind = CONTACTS, Contact

    def columns(self, value: Contact) -> dict[str, Scalar]:
        """The contact's account id and case-folded email (``None`` without one)."""
        return {
            "account_id": value.account_id,
            "email_key": None if value.email is None else value.email.key,
        }

    def with_email(self, email: EmailAddress) -> tuple[Contact, ...]:
        """Contacts whose email equals ``email`` case-insensitively, in id order."""
        return self._find(CONTACTS_BY_EMAIL, email.key, Contact)

    def for_account(self, account_id: str) -> tuple[Contact, ...]:
        """Contacts of the account, in id order."""
        return self._find(CONTACTS_BY_ACCOUNT, account_id, Contact)
