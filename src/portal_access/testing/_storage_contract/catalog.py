"""The storage contract for offers, plans, account classes, accounts, sites and contacts."""

from __future__ import annotations

from portal_access.ports import Store
from portal_access.repositories import unit_of_work
from portal_access.testing._storage_contract import values

__all__ = ["CatalogContract"]


class CatalogContract:
    """What every store's catalog and contact repositories guarantee."""

    def test_offers_get_unknown_is_none(self, store: Store) -> None:
        """offers.get of an unknown id is None."""
        with unit_of_work(store) as uow:
            assert uow.offers.get("o-unknown") is None

    def test_offers_save_inserts_then_replaces(self, store: Store) -> None:
        """offers.save inserts under the offer's id, and a second save replaces it."""
        with unit_of_work(store) as uow:
            uow.offers.save(values.offer(name="First"))
        with unit_of_work(store) as uow:
            assert uow.offers.get("o-1") == values.offer(name="First")
            uow.offers.save(values.offer(name="Second"))
        with unit_of_work(store) as uow:
            assert uow.offers.get("o-1") == values.offer(name="Second")

    def test_plans_get_unknown_is_none(self, store: Store) -> None:
        """plans.get of an unknown id is None."""
        with unit_of_work(store) as uow:
            assert uow.plans.get("p-unknown") is None

    def test_plans_save_inserts_then_replaces(self, store: Store) -> None:
        """plans.save inserts under the plan's id, and a second save replaces it."""
        with unit_of_work(store) as uow:
            uow.plans.save(values.plan(name="Monthly"))
        with unit_of_work(store) as uow:
            assert uow.plans.get("p-1") == values.plan(name="Monthly")
            uow.plans.save(values.plan(name="Renamed"))
        with unit_of_work(store) as uow:
            assert uow.plans.get("p-1") == values.plan(name="Renamed")

    def test_account_classes_get_unknown_is_none(self, store: Store) -> None:
        """account_classes.get of an unknown id is None."""
        with unit_of_work(store) as uow:
            assert uow.account_classes.get("k-unknown") is None

    def test_account_classes_save_inserts_then_replaces(self, store: Store) -> None:
        """account_classes.save inserts under the class's id, and a second save replaces it."""
        with unit_of_work(store) as uow:
            uow.account_classes.save(values.account_class(name="Commercial"))
        with unit_of_work(store) as uow:
            assert uow.account_classes.get("k-1") == values.account_class(name="Commercial")
            uow.account_classes.save(values.account_class(name="Residential"))
        with unit_of_work(store) as uow:
            assert uow.account_classes.get("k-1") == values.account_class(name="Residential")

    def test_accounts_get_unknown_is_none(self, store: Store) -> None:
        """accounts.get of an unknown id is None."""
        with unit_of_work(store) as uow:
            assert uow.accounts.get("a-unknown") is None

    def test_accounts_save_inserts_then_replaces(self, store: Store) -> None:
        """accounts.save inserts under the account's id, and a second save replaces it."""
        with unit_of_work(store) as uow:
            uow.accounts.save(values.account(class_id="k-1"))
        with unit_of_work(store) as uow:
            assert uow.accounts.get("a-1") == values.account(class_id="k-1")
            uow.accounts.save(values.account(class_id="k-2"))
        with unit_of_work(store) as uow:
            assert uow.accounts.get("a-1") == values.account(class_id="k-2")

    def test_accounts_ids_in_class_in_id_order(self, store: Store) -> None:
        """accounts.ids_in_class lists only that class's accounts, in id order."""
        with unit_of_work(store) as uow:
            for account_id, class_id in [("a-c", "k-1"), ("a-a", "k-1"), ("a-b", "k-2")]:
                uow.accounts.save(values.account(account_id, class_id=class_id))
            uow.accounts.save(values.account("a-0", class_id="k-1"))
        with unit_of_work(store) as uow:
            assert list(uow.accounts.ids_in_class("k-1")) == ["a-0", "a-a", "a-c"]
            assert list(uow.accounts.ids_in_class("k-2")) == ["a-b"]
            assert list(uow.accounts.ids_in_class("k-none")) == []

    def test_accounts_ids_in_class_follow_a_class_change(self, store: Store) -> None:
        """An account saved again with another class moves to that class's ids."""
        with unit_of_work(store) as uow:
            uow.accounts.save(values.account("a-1", class_id="k-1"))
        with unit_of_work(store) as uow:
            uow.accounts.save(values.account("a-1", class_id="k-2"))
        with unit_of_work(store) as uow:
            assert list(uow.accounts.ids_in_class("k-1")) == []
            assert list(uow.accounts.ids_in_class("k-2")) == ["a-1"]

    def test_sites_for_account_in_id_order(self, store: Store) -> None:
        """sites.for_account is a tuple of every site of the account, active or not, by id."""
        with unit_of_work(store) as uow:
            uow.sites.save(values.site("s-b"))
            uow.sites.save(values.site("s-c", active=False))
            uow.sites.save(values.site("s-a"))
            uow.sites.save(values.site("s-0", account_id="a-2"))
        with unit_of_work(store) as uow:
            expected = (values.site("s-a"), values.site("s-b"), values.site("s-c", active=False))
            assert uow.sites.for_account("a-1") == expected
            assert uow.sites.for_account("a-none") == ()

    def test_sites_save_replaces(self, store: Store) -> None:
        """sites.save of an existing id replaces the site."""
        with unit_of_work(store) as uow:
            uow.sites.save(values.site("s-1"))
        with unit_of_work(store) as uow:
            uow.sites.save(values.site("s-1", active=False))
        with unit_of_work(store) as uow:
            assert uow.sites.for_account("a-1") == (values.site("s-1", active=False),)

    def test_contacts_get_unknown_is_none(self, store: Store) -> None:
        """contacts.get of an unknown id is None."""
        with unit_of_work(store) as uow:
            assert uow.contacts.get("c-unknown") is None

    def test_contacts_save_inserts_then_replaces(self, store: Store) -> None:
        """contacts.save inserts under the contact's id, and a second save replaces it."""
        with unit_of_work(store) as uow:
            uow.contacts.save(values.contact(address=None))
        with unit_of_work(store) as uow:
            assert uow.contacts.get("c-1") == values.contact(address=None)
            uow.contacts.save(values.contact(address="ann@example.com"))
        with unit_of_work(store) as uow:
            assert uow.contacts.get("c-1") == values.contact(address="ann@example.com")

    def test_contacts_with_email_case_insensitive_in_id_order(self, store: Store) -> None:
        """contacts.with_email matches the email in any case and lists matches in id order."""
        with unit_of_work(store) as uow:
            uow.contacts.save(values.contact("c-b", address="Ann@Example.com"))
            uow.contacts.save(values.contact("c-a", address="ann@example.com"))
            uow.contacts.save(values.contact("c-c", address="ANN@EXAMPLE.COM"))
            uow.contacts.save(values.contact("c-d", address="bob@example.com"))
            uow.contacts.save(values.contact("c-e", address=None))
        with unit_of_work(store) as uow:
            found = uow.contacts.with_email(values.email("aNN@example.COM"))
            assert [c.id for c in found] == ["c-a", "c-b", "c-c"]
            assert list(uow.contacts.with_email(values.email("eve@example.com"))) == []

    def test_contacts_with_email_follows_an_email_change(self, store: Store) -> None:
        """A contact saved with a new email is found by the new one and not the old one."""
        with unit_of_work(store) as uow:
            uow.contacts.save(values.contact("c-1", address="ann@example.com"))
        with unit_of_work(store) as uow:
            uow.contacts.save(values.contact("c-1", address="ann@new.example"))
        with unit_of_work(store) as uow:
            assert list(uow.contacts.with_email(values.email("ann@example.com"))) == []
            assert [c.id for c in uow.contacts.with_email(values.email("ann@new.example"))] == [
                "c-1"
            ]

    def test_contacts_for_account_in_id_order(self, store: Store) -> None:
        """contacts.for_account lists only that account's contacts, in id order."""
        with unit_of_work(store) as uow:
            uow.contacts.save(values.contact("c-b"))
            uow.contacts.save(values.contact("c-a"))
            uow.contacts.save(values.contact("c-0", account_id="a-2"))
        with unit_of_work(store) as uow:
            assert [c.id for c in uow.contacts.for_account("a-1")] == ["c-a", "c-b"]
            assert list(uow.contacts.for_account("a-none")) == []
