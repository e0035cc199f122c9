"""SQL repositories for offers, plans, account classes, accounts, sites and contacts.

Saves are upserts under the primary key ("insert or replace", as the ports say): these
rows are written by staff actions and kickoff forms, where the last save wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import sqlalchemy as sa

from portal_access.domain.accounts import Account, AccountClass, Site
from portal_access.domain.billing import Plan
from portal_access.domain.contacts import Contact
from portal_access.domain.email_address import EmailAddress
from portal_access.domain.offers import Offer
from portal_access.domain.serialization import to_json
from portal_access.storage.sql import schema
from portal_access.storage.sql.transaction import SqlRepository, SqlTransaction, load

__all__ = [
    "SqlAccountClassRepository",
    "SqlAccountRepository",
    "SqlContactRepository",
    "SqlOfferRepository",
    "SqlPlanRepository",
    "SqlSiteRepository",
]

T = TypeVar("T")


def _get(tx: SqlTransaction, table: sa.Table, key: str, cls: type[T]) -> T | None:
    row = tx.first(sa.select(table.c.doc).where(table.c.id == key))
    return None if row is None else load(row.doc, cls, key)


class SqlOfferRepository(SqlRepository):
    """Offers by id (:class:`portal_access.ports.OfferRepository`)."""

    def get(self, offer_id: str) -> Offer | None:
        """The offer, or ``None``."""
        return _get(self._tx, schema.offers, offer_id, Offer)

    def save(self, offer: Offer) -> None:
        """Insert or replace the offer under its id."""
        self._tx.upsert(schema.offers, {"id": offer.id, "doc": to_json(offer)})


class SqlPlanRepository(SqlRepository):
    """Plans by id (:class:`portal_access.ports.PlanRepository`)."""

    def get(self, plan_id: str) -> Plan | None:
        """The plan, or ``None``."""
        return _get(self._tx, schema.plans, plan_id, Plan)

    def save(self, plan: Plan) -> None:
        """Insert or replace the plan under its id."""
        self._tx.upsert(schema.plans, {"id": plan.id, "doc": to_json(plan)})


class SqlAccountClassRepository(SqlRepository):
    """Account classes by id (:class:`portal_access.ports.AccountClassRepository`)."""

    def get(self, class_id: str) -> AccountClass | None:
        """The class, or ``None``."""
        return _get(self._tx, schema.account_classes, class_id, AccountClass)

    def save(self, account_class: AccountClass) -> None:
        """Insert or replace the class under its id."""
        values = {"id": account_class.id, "doc": to_json(account_class)}
        self._tx.upsert(schema.account_classes, values)


class SqlAccountRepository(SqlRepository):
    """Accounts by id and by class (:class:`portal_access.ports.AccountRepository`)."""

    def get(self, account_id: str) -> Account | None:
        """The account, or ``None``."""
        return _get(self._tx, schema.accounts, account_id, Account)

    def save(self, account: Account) -> None:
        """Insert or replace the account under its id."""
        values = {"id": account.id, "class_id": account.account_class.id, "doc": to_json(account)}
        self._tx.upsert(schema.accounts, values)

    def ids_in_class(self, class_id: str) -> tuple[str, ...]:
        """Ids of the accounts whose class is ``class_id``, in id order."""
        table = schema.accounts
        rows = self._tx.all(
            sa.select(table.c.id).where(table.c.class_id == class_id).order_by(table.c.id)
        )
        return tuple(row.id for row in rows)


class SqlSiteRepository(SqlRepository):
    """Sites by account (:class:`portal_access.ports.SiteRepository`)."""

    def for_account(self, account_id: str) -> tuple[Site, ...]:
        """Every site of the account, active or not, in id order."""
        table = schema.sites
        rows = self._tx.all(
            sa.select(table.c.id, table.c.doc)
            .where(table.c.account_id == account_id)
            .order_by(table.c.id)
        )
        return tuple(load(row.doc, Site, row.id) for row in rows)

    def save(self, site: Site) -> None:
        """Insert or replace the site under its id."""
        values = {"id": site.id, "account_id": site.account_id, "doc": to_json(site)}
        self._tx.upsert(schema.sites, values)


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
            "doc": to_json(contact),
        }
        self._tx.upsert(schema.contacts, values)

    def with_email(self, email: EmailAddress) -> Sequence[Contact]:
        """Contacts whose email equals ``email`` case-insensitively, in id order."""
        return self._where(schema.contacts.c.email_key == email.key)

    def for_account(self, account_id: str) -> Sequence[Contact]:
        """Contacts of the account, in id order."""
        return self._where(schema.contacts.c.account_id == account_id)

    def _where(self, condition: sa.ColumnElement[bool]) -> tuple[Contact, ...]:
        table = schema.contacts
        rows = self._tx.all(
            sa.select(table.c.id, table.c.doc).where(condition).order_by(table.c.id)
        )
        return tuple(load(row.doc, Contact, row.id) for row in rows)
