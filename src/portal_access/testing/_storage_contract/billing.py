"""The storage contract for invoices, payments, subscriptions and checkout pages."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from portal_access._domain.errors import ConflictError
from portal_access._domain.payments import PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.ports import Store
from portal_access.repositories import unit_of_work
from portal_access.testing._storage_contract import values
from portal_access.testing._storage_contract.transactions import roll_back

__all__ = ["BillingContract"]


class BillingContract:
    """What every store's invoice, payment, subscription and checkout repositories guarantee."""

    def test_invoices_get_unknown_is_none(self, store: Store) -> None:
        """invoices.get of an unknown id is None."""
        with unit_of_work(store) as uow:
            assert uow.invoices.get("inv-unknown") is None

    def test_invoices_save_inserts_then_replaces(self, store: Store) -> None:
        """invoices.save inserts under the id, and a second save (same number) replaces it."""
        with unit_of_work(store) as uow:
            uow.invoices.save(values.invoice())
        with unit_of_work(store) as uow:
            assert uow.invoices.get("inv-1") == values.invoice()
            uow.invoices.save(values.invoice().void())
        with unit_of_work(store) as uow:
            assert uow.invoices.get("inv-1") == values.invoice().void()

    def test_invoices_with_number_exact_after_trimming(self, store: Store) -> None:
        """invoices.with_number matches the whole number, ignoring surrounding spaces."""
        with unit_of_work(store) as uow:
            uow.invoices.save(values.invoice(number="1001"))
        with unit_of_work(store) as uow:
            assert uow.invoices.with_number("1001") == values.invoice(number="1001")
            assert uow.invoices.with_number("  1001 ") == values.invoice(number="1001")
            assert uow.invoices.with_number("100") is None
            assert uow.invoices.with_number("10011") is None

    def test_invoices_number_unique(self, store: Store) -> None:
        """invoices.save of another invoice with a number in use raises ConflictError."""
        with unit_of_work(store) as uow:
            uow.invoices.save(values.invoice("inv-1", number="1001"))
        with pytest.raises(ConflictError), unit_of_work(store) as uow:
            uow.invoices.save(values.invoice("inv-2", number="1001"))
        with unit_of_work(store) as uow:
            assert uow.invoices.get("inv-2") is None
            assert uow.invoices.with_number("1001") == values.invoice("inv-1", number="1001")

    def test_invoices_for_account_by_issue_date_then_id(self, store: Store) -> None:
        """invoices.for_account lists the account's invoices oldest issue date first, then by id."""
        yesterday = values.TODAY - timedelta(days=1)
        with unit_of_work(store) as uow:
            uow.invoices.save(values.invoice("inv-a", number="1"))
            uow.invoices.save(values.invoice("inv-c", number="2", issued_on=yesterday))
            uow.invoices.save(values.invoice("inv-b", number="3"))
            uow.invoices.save(values.invoice("inv-0", number="4", account_id="a-2"))
        with unit_of_work(store) as uow:
            assert [i.id for i in uow.invoices.for_account("a-1")] == ["inv-c", "inv-a", "inv-b"]
            assert list(uow.invoices.for_account("a-none")) == []

    def test_invoices_follow_a_number_and_account_change(self, store: Store) -> None:
        """An invoice saved again with another number and account is found by the new
        number, under the new account, and not by the old ones."""
        moved = attrs.evolve(values.invoice(number="1001"), number="2001", account_id="a-2")
        with unit_of_work(store) as uow:
            uow.invoices.save(values.invoice(number="1001"))
        with unit_of_work(store) as uow:
            uow.invoices.save(moved)
        with unit_of_work(store) as uow:
            assert uow.invoices.with_number("1001") is None
            assert uow.invoices.with_number("2001") == moved
            assert list(uow.invoices.for_account("a-1")) == []
            assert list(uow.invoices.for_account("a-2")) == [moved]

    def test_invoices_next_number_increases_from_1001(self, store: Store) -> None:
        """invoices.next_number gives "1001", "1002", "1003" across committed units of work."""
        numbers = []
        for _ in range(3):
            with unit_of_work(store) as uow:
                numbers.append(uow.invoices.next_number())
        assert numbers == ["1001", "1002", "1003"]

    def test_invoices_next_number_unique_within_a_unit_of_work(self, store: Store) -> None:
        """invoices.next_number called again in one unit of work gives a new, larger number."""
        with unit_of_work(store) as uow:
            numbers = [uow.invoices.next_number() for _ in range(5)]
        assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})
        assert len(numbers) == 5

    def test_invoices_next_number_rolls_back(self, store: Store) -> None:
        """A number taken by a rolled-back unit of work is handed out again."""
        taken = roll_back(store, lambda uow: uow.invoices.next_number())
        with unit_of_work(store) as uow:
            assert uow.invoices.next_number() == taken

    def test_payments_get_unknown_is_none(self, store: Store) -> None:
        """payments.get of an unknown (gateway, payment_id) is None."""
        with unit_of_work(store) as uow:
            assert uow.payments.get("stripe", "pi_unknown") is None

    def test_payments_save_replaces_under_gateway_and_id(self, store: Store) -> None:
        """payments.save upserts one row per (gateway, payment_id): a newer snapshot replaces."""
        newer = values.payment(status=PaymentStatus.SUCCEEDED, version=2)
        with unit_of_work(store) as uow:
            uow.payments.save(values.payment())
        with unit_of_work(store) as uow:
            uow.payments.save(newer)
        with unit_of_work(store) as uow:
            assert uow.payments.get("stripe", "pi_1") == newer
            assert list(uow.payments.for_account("a-1")) == [newer]

    def test_payments_keyed_by_gateway_too(self, store: Store) -> None:
        """The same vendor payment id at two gateways is two payments."""
        with unit_of_work(store) as uow:
            uow.payments.save(values.payment("pi_1", gateway="stripe"))
            uow.payments.save(values.payment("pi_1", gateway="square"))
        with unit_of_work(store) as uow:
            assert uow.payments.get("stripe", "pi_1") == values.payment("pi_1", gateway="stripe")
            assert uow.payments.get("square", "pi_1") == values.payment("pi_1", gateway="square")

    def test_payments_for_account_in_key_order(self, store: Store) -> None:
        """payments.for_account lists the account's payments in (gateway, payment_id) order."""
        with unit_of_work(store) as uow:
            for gateway, payment_id in [("stripe", "pi_b"), ("square", "pi_z"), ("stripe", "pi_a")]:
                uow.payments.save(values.payment(payment_id, gateway=gateway))
            uow.payments.save(values.payment("pi_0", account_id="a-2"))
        with unit_of_work(store) as uow:
            keys = [
                (p.snapshot.gateway, p.snapshot.payment_id) for p in uow.payments.for_account("a-1")
            ]
            assert keys == [("square", "pi_z"), ("stripe", "pi_a"), ("stripe", "pi_b")]

    def test_payments_for_account_follow_an_account_change(self, store: Store) -> None:
        """A payment saved again under another account is listed under the new one only."""
        with unit_of_work(store) as uow:
            uow.payments.save(values.payment(account_id="a-1"))
        with unit_of_work(store) as uow:
            uow.payments.save(values.payment(account_id="a-2", version=2))
        with unit_of_work(store) as uow:
            assert list(uow.payments.for_account("a-1")) == []
            assert list(uow.payments.for_account("a-2")) == [
                values.payment("pi_1", account_id="a-2", version=2)
            ]

    def test_subscriptions_get_unknown_is_none(self, store: Store) -> None:
        """subscriptions.get of an unknown (gateway, subscription_id) is None."""
        with unit_of_work(store) as uow:
            assert uow.subscriptions.get("stripe", "sub_unknown") is None

    def test_subscriptions_save_replaces_under_gateway_and_id(self, store: Store) -> None:
        """subscriptions.save upserts one row per (gateway, subscription_id)."""
        newer = values.subscription(status=SubscriptionStatus.PAST_DUE, version=2)
        with unit_of_work(store) as uow:
            uow.subscriptions.save(values.subscription())
        with unit_of_work(store) as uow:
            uow.subscriptions.save(newer)
        with unit_of_work(store) as uow:
            assert uow.subscriptions.get("stripe", "sub_1") == newer
            assert list(uow.subscriptions.for_contact("c-1")) == [newer]

    def test_subscriptions_keyed_by_gateway_too(self, store: Store) -> None:
        """The same vendor subscription id at two gateways is two subscriptions."""
        with unit_of_work(store) as uow:
            uow.subscriptions.save(values.subscription("sub_1", gateway="stripe"))
            uow.subscriptions.save(values.subscription("sub_1", gateway="paypal"))
        with unit_of_work(store) as uow:
            assert uow.subscriptions.get("paypal", "sub_1") == values.subscription(
                "sub_1", gateway="paypal"
            )
            assert uow.subscriptions.get("stripe", "sub_1") == values.subscription("sub_1")

    def test_subscriptions_for_contact_in_key_order(self, store: Store) -> None:
        """subscriptions.for_contact lists the contact's subscriptions by (gateway, id)."""
        with unit_of_work(store) as uow:
            for gateway, sub_id in [("stripe", "sub_b"), ("paypal", "sub_z"), ("stripe", "sub_a")]:
                uow.subscriptions.save(values.subscription(sub_id, gateway=gateway))
            uow.subscriptions.save(values.subscription("sub_0", contact_id="c-2"))
        with unit_of_work(store) as uow:
            keys = [
                (s.snapshot.gateway, s.snapshot.subscription_id)
                for s in uow.subscriptions.for_contact("c-1")
            ]
            assert keys == [("paypal", "sub_z"), ("stripe", "sub_a"), ("stripe", "sub_b")]
            assert list(uow.subscriptions.for_contact("c-none")) == []

    def test_subscriptions_for_contact_follow_a_contact_change(self, store: Store) -> None:
        """A subscription saved again for another contact is listed under the new one only."""
        with unit_of_work(store) as uow:
            uow.subscriptions.save(values.subscription(contact_id="c-1"))
        with unit_of_work(store) as uow:
            uow.subscriptions.save(values.subscription(contact_id="c-2", version=2))
        with unit_of_work(store) as uow:
            assert list(uow.subscriptions.for_contact("c-1")) == []
            assert list(uow.subscriptions.for_contact("c-2")) == [
                values.subscription(contact_id="c-2", version=2)
            ]

    def test_saved_methods_hide_a_removed_one_but_keep_it_for_ordering(self, store: Store) -> None:
        """A removed saved method is the contact's latest, never their method: get,
        for_gateway and holding skip it; a newer method saved replaces it."""
        ann, bob = values.saved_method("c-1", "pm_1"), values.saved_method("c-2", "pm_2")
        with unit_of_work(store) as uow:
            uow.saved_methods.save(ann)
            uow.saved_methods.save(bob)
        with unit_of_work(store) as uow:
            assert uow.saved_methods.holding("stripe", "pm_1") == ann
            assert uow.saved_methods.holding("square", "pm_1") is None
            uow.saved_methods.save(attrs.evolve(ann, removed_at=values.NOW))
        with unit_of_work(store) as uow:
            assert uow.saved_methods.get("c-1") is None
            assert uow.saved_methods.latest("c-1") == attrs.evolve(ann, removed_at=values.NOW)
            assert uow.saved_methods.for_gateway("stripe") == (bob,)
            assert uow.saved_methods.holding("stripe", "pm_1") is None
            newer = values.saved_method("c-1", "pm_3", version=2)
            uow.saved_methods.save(newer)
        with unit_of_work(store) as uow:
            assert uow.saved_methods.get("c-1") == newer == uow.saved_methods.latest("c-1")

    def test_saved_methods_holding_finds_the_method_by_its_id(self, store: Store) -> None:
        """holding finds the contact holding a method id among many at the gateway (of
        that gateway only); once the contact saved another method, the old id is
        nobody's; of two contacts holding one id, the first by contact id not removed."""
        many = [values.saved_method(f"c-{n:02}", f"pm_{n:02}") for n in range(12)]
        elsewhere = values.saved_method("c-sq", "pm_05", gateway="square")
        with unit_of_work(store) as uow:
            for method in [*many, elsewhere]:
                uow.saved_methods.save(method)
        with unit_of_work(store) as uow:
            assert uow.saved_methods.holding("stripe", "pm_07") == many[7]
            assert uow.saved_methods.holding("square", "pm_05") == elsewhere
            assert uow.saved_methods.holding("stripe", "pm_99") is None
            assert uow.saved_methods.holding("paypal", "pm_07") is None
            newer = values.saved_method("c-07", "pm_new", version=2)
            uow.saved_methods.save(newer)
        with unit_of_work(store) as uow:
            assert uow.saved_methods.holding("stripe", "pm_07") is None
            assert uow.saved_methods.holding("stripe", "pm_new") == newer
            uow.saved_methods.save(values.saved_method("c-b", "pm_twice"))
            uow.saved_methods.save(values.saved_method("c-a", "pm_twice"))
        with unit_of_work(store) as uow:
            first = values.saved_method("c-a", "pm_twice")
            assert uow.saved_methods.holding("stripe", "pm_twice") == first
            uow.saved_methods.save(attrs.evolve(first, removed_at=values.NOW))
        with unit_of_work(store) as uow:
            second = values.saved_method("c-b", "pm_twice")
            assert uow.saved_methods.holding("stripe", "pm_twice") == second
            uow.saved_methods.save(attrs.evolve(second, removed_at=values.NOW))
        with unit_of_work(store) as uow:
            assert uow.saved_methods.holding("stripe", "pm_twice") is None

    def test_checkouts_with_key(self, store: Store) -> None:
        """checkouts.with_key finds the page opened under the key, and None for another key."""
        with unit_of_work(store) as uow:
            uow.checkouts.save(values.checkout(key="checkout:inv-1:1"))
        with unit_of_work(store) as uow:
            assert uow.checkouts.with_key("checkout:inv-1:1") == values.checkout()
            assert uow.checkouts.with_key("checkout:inv-1:2") is None

    def test_checkouts_for_invoice_in_gateway_and_session_order(self, store: Store) -> None:
        """checkouts.for_invoice lists the invoice's pages by (gateway, session_id) only."""
        with unit_of_work(store) as uow:
            uow.checkouts.save(values.checkout("cs_2", key="k2"))
            uow.checkouts.save(values.checkout("cs_1", gateway="square", key="k3"))
            uow.checkouts.save(values.checkout("cs_1", key="k1"))
            other = attrs.evolve(values.checkout("cs_9", key="k9"), invoice_id="inv-2")
            uow.checkouts.save(other)
        with unit_of_work(store) as uow:
            pages = [
                (r.session.gateway, r.session.session_id)
                for r in uow.checkouts.for_invoice("inv-1")
            ]
            assert pages == [("square", "cs_1"), ("stripe", "cs_1"), ("stripe", "cs_2")]
            assert list(uow.checkouts.for_invoice("inv-none")) == []

    def test_checkouts_save_replaces_under_gateway_and_session(self, store: Store) -> None:
        """checkouts.save upserts one row per (gateway, session_id)."""
        with unit_of_work(store) as uow:
            uow.checkouts.save(values.checkout("cs_1", key="key-old"))
        with unit_of_work(store) as uow:
            uow.checkouts.save(values.checkout("cs_1", key="key-new"))
        with unit_of_work(store) as uow:
            assert uow.checkouts.with_key("key-old") is None
            assert uow.checkouts.with_key("key-new") == values.checkout("cs_1", key="key-new")
