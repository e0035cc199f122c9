"""SQL repositories for offers, plans, account classes, accounts, sites and contacts.

Saves are upserts under the primary key ("insert or replace", as the ports say): these
rows are written by staff actions and kickoff forms, where the last save wins. Every
statement is built once, here (:mod:`~portal_access.storage.sql._statements`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import sqlalchemy as sa

from portal_access._domain.accounts import Account, AccountClass, Site
from portal_access._domain.billing import Plan
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.offers import Offer
from portal_access.storage.sql import _schema as schema
from portal_access.storage.sql._statements import Statement, Upsert
from portal_access.storage.sql._transaction import SqlRepository, SqlTransaction

__all__ = [
    "SqlAccountClassRepository",
    "SqlAccountRepository",
    "SqlContactRepository",
    "SqlOfferRepository",
    "SqlPlanRepository",
    "SqlSiteRepository",
]

T = TypeVar("T")

_BY_ID = {
    table.name: Statement(sa.select(table.c.doc).where(table.c.id == sa.bindparam("id")))
    for table in (
        schema.offers,
        schema.plans,
        schema.account_classes,
        schema.accounts,
        schema.contacts,
    )
}
_UPSERT = {
    table.name: Upsert(table)
    for table in (
        schema.offers,
        schema.plans,
        schema.account_classes,
        schema.accounts,
        schema.sites,
        schema.contacts,
    )
}
_ACCOUNTS = schema.accounts
_ACCOUNT_IDS_IN_CLASS = Statement(
    sa.select(_ACCOUNTS.c.id)
    .where(_ACCOUNTS.c.class_id == sa.bindparam("class_id"))
    .order_by(_ACCOUNTS.c.id)
)
_SITES = schema.sites
_SITES_OF_ACCOUNT = Statement(
    sa.select(_SITES.c.id, _SITES.c.doc)
    .where(_SITES.c.account_id == sa.bindparam("account_id"))
    .order_by(_SITES.c.id)
)
_CONTACTS = schema.contacts
_CONTACTS_WITH_EMAIL = Statement(
    sa.select(_CONTACTS.c.id, _CONTACTS.c.doc)
    .where(_CONTACTS.c.email_key == sa.bindparam("email_key"))
    .order_by(_CONTACTS.c.id)
)
_CONTACTS_OF_ACCOUNT = Statement(
    sa.select(_CONTACTS.c.id, _CONTACTS.c.doc)
    .where(_CONTACTS.c.account_id == sa.bindparam("account_id"))
    .order_by(_CONTACTS.c.id)
)


def _get(tx: SqlTransaction, table: sa.Table, key: str, cls: type[T]) -> T | None:
    row = tx.first(_BY_ID[table.name], {"id": key})
    return None if row is None else tx.decode(row[0], cls, key)


def _save(tx: SqlTransaction, table: sa.Table, values: Mapping[str, object]) -> None:
    tx.upsert(_UPSERT[table.name], values)


class SqlOfferRepository(SqlRepository):
    """Offers by id (:class:`portal_access.ports.OfferRepository`)."""

    def get(self, offer_id: str) -> Offer | None:
        """The offer, or ``None``."""
        return _get(self._tx, schema.offers, offer_id, Offer)

    def save(self, offer: Offer) -> None:
        """Insert or replace the offer under its id."""
        _save(self._tx, schema.offers, {"id": offer.id, "doc": self._tx.encode(offer)})


class SqlPlanRepository(SqlRepository):
    """Plans by id (:class:`portal_access.ports.PlanRepository`)."""

    def get(self, plan_id: str) -> Plan | None:
        """The plan, or ``None``."""
        return _get(self._tx, schema.plans, plan_id, Plan)

    def save(self, plan: Plan) -> None:
        """Insert or replace the plan under its id."""
        _save(self._tx, schema.plans, {"id": plan.id, "doc": self._tx.encode(plan)})


class SqlAccountClassRepository(SqlRepository):
    """Account classes by id (:class:`portal_access.ports.AccountClassRepository`)."""

    def get(self, class_id: str) -> AccountClass | None:
        """The class, or ``None``."""
        return _get(self._tx, schema.account_classes, class_id, AccountClass)

    def save(self, account_class: AccountClass) -> None:
        """Insert or replace the class under its id."""
        values = {"id": account_class.id, "doc": self._tx.encode(account_class)}
        _save(self._tx, schema.account_classes, values)


class SqlAccountRepository(SqlRepository):
    """Accounts by id and by class (:class:`portal_access.ports.AccountRepository`)."""

    def get(self, account_id: str) -> Account | None:
        """The account, or ``None``."""
        return _get(self._tx, schema.accounts, account_id, Account)

    def save(self, account: Account) -> None:
        """Insert or replace the account under its id."""
        values = {
            "id": account.id,
            "class_id": account.account_class.id,
            "doc": self._tx.encode(account),
        }
        _save(self._tx, schema.accounts, values)

    def ids_in_class(self, class_id: str) -> tuple[str, ...]:
        """Ids of the accounts whose class is ``class_id``, in id order."""
        rows = self._tx.all(_ACCOUNT_IDS_IN_CLASS, {"class_id": class_id})
        return tuple(account_id for (account_id,) in rows)


class SqlSiteRepository(SqlRepository):
    """Sites by account (:class:`portal_access.ports.SiteRepository`)."""

    def for_account(self, account_id: str) -> tuple[Site, ...]:
        """Every site of the account, active or not, in id order."""
        rows = self._tx.all(_SITES_OF_ACCOUNT, {"account_id": account_id})
        return tuple(self._tx.decode(doc, Site, site_id) for site_id, doc in rows)

    def save(self, site: Site) -> None:
        """Insert or replace the site under its id."""
        values = {"id": site.id, "account_id": site.account_id, "doc": self._tx.encode(site)}
        _save(self._tx, schema.sites, values)


class SqlContactRepository(SqlRepository):
    """Contacts by id, account and email (:class:`portal_access.ports.ContactRepository`)."""

    def get(self, contact_id: str) -> Contact | None:
        """The contact, or ``None``."""
        return _get(self._tx, schema.contacts, contact_id, Contact)

    def save(self, contact: Contact) -> None:
        """Insert or replace the contact under its id."""
        values = {
            "id": contact.id,
            "account_id": contact.account_id,
            "email_key": None if contact.email is None else contact.email.key,
            "doc": self._tx.encode(contact),
        }
        _save(self._tx, schema.contacts, values)

    def with_email(self, email: EmailAddress) -> Sequence[Contact]:
        """Contacts whose email equals ``email`` case-insensitively, in id order."""
        return self._where(_CONTACTS_WITH_EMAIL, {"email_key": email.key})

    def for_account(self, account_id: str) -> Sequence[Contact]:
        """Contacts of the account, in id order."""
        return self._where(_CONTACTS_OF_ACCOUNT, {"account_id": account_id})

    def _where(self, statement: Statement, values: dict[str, str]) -> tuple[Contact, ...]:
        rows = self._tx.all(statement, values)
        return tuple(self._tx.decode(doc, Contact, contact_id) for contact_id, doc in rows)
