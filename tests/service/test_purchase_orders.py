"""The catalog and purchase orders, on the memory store, SQLite (and PostgreSQL when
configured).

Seed 004_67d5e53a019b49ae.txt: "Only contacts who have enabled the Catalog option in
their panel will be able to place purchase orders and view the products for sale."
"""

from __future__ import annotations

import pytest

from portal_access import (
    AccessDeniedError,
    CatalogItem,
    ContactPortalSettings,
    CurrencyMismatchError,
    GatewayNotAllowedError,
    InvoiceStatus,
    Money,
    NotFoundError,
    PurchaseOrderPlaced,
    ValidationError,
)
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from tests.service.ledger_world import CONTACT, LedgerWorld, ledger_world
from tests.service.stores import store

__all__ = ["store"]

BOLTS = CatalogItem(id="bolts", name="Bolts (box)", unit_price=Money(1250, "KWD"))
NUTS = CatalogItem(id="nuts", name="Nuts (box)", unit_price=Money(333, "KWD"))
GLOVES = CatalogItem(id="gloves", name="Gloves", unit_price=Money(1500, "JPY"))
RETIRED = CatalogItem(id="old", name="Anvil", unit_price=Money(99, "KWD"), for_sale=False)


def _stock(w: LedgerWorld) -> None:
    for item in (NUTS, BOLTS, GLOVES, RETIRED):
        w.portal.save_catalog_item(item)


def _invoice_numbers(w: LedgerWorld) -> int:
    with unit_of_work(w.harness.store) as uow:
        return len(uow.invoices.for_account("acc-1"))


def test_a_contact_with_catalog_access_lists_the_items_for_sale(store):
    """Seed 004_67d5e53a019b49ae.txt: the catalog shows the items for sale, by name."""
    w = ledger_world(store)
    _stock(w)
    assert [item.id for item in w.portal.catalog(CONTACT)] == ["bolts", "gloves", "nuts"]


def test_a_contact_without_catalog_access_is_refused_and_nothing_is_stored(store):
    """Seed 004_67d5e53a019b49ae.txt: without the Catalog option, no catalog and no purchase order."""
    w = ledger_world(store, portal=ContactPortalSettings())
    _stock(w)
    with pytest.raises(AccessDeniedError):
        w.portal.catalog(CONTACT)
    with pytest.raises(AccessDeniedError):
        w.portal.place_purchase_order(CONTACT, {"bolts": 1})
    assert w.portal.purchase_orders(CONTACT) == ()
    assert _invoice_numbers(w) == 0


def test_a_purchase_order_becomes_an_invoice_the_contact_can_pay(store):
    """Seed 004_67d5e53a019b49ae.txt: the order's lines and total in integer minor units (KWD has three digits), an open invoice of the contact through their gateway, paid like any other."""
    w = ledger_world(store)
    _stock(w)
    order = w.portal.place_purchase_order(CONTACT, {"bolts": 3, "nuts": 7})
    assert [(line.item_id, line.quantity, line.amount) for line in order.lines] == [
        ("bolts", 3, Money(3750, "KWD")),
        ("nuts", 7, Money(2331, "KWD")),
    ]
    assert order.total == Money(6081, "KWD")
    assert order.invoice_id is not None
    invoice = w.portal.invoice(order.invoice_id)
    assert (invoice.contact_id, invoice.gateway, invoice.status) == (
        CONTACT,
        "sandbox",
        InvoiceStatus.OPEN,
    )
    assert invoice.total == Money(6081, "KWD")
    assert [line.description for line in invoice.lines] == ["Bolts (box) x 3", "Nuts (box) x 7"]
    assert str(invoice.total) == "6.081 KWD"
    assert w.portal.purchase_orders(CONTACT) == (order,)
    placed = w.harness.topics(PurchaseOrderPlaced.topic)
    assert [m.payload["invoice_id"] for m in placed] == [invoice.id]
    w.quick_pay(invoice)
    w.deliver()
    assert w.portal.invoice(invoice.id).status is InvoiceStatus.PAID


def test_a_yen_order_has_no_minor_digits(store):
    """Seed 004_67d5e53a019b49ae.txt: JPY amounts are whole yen."""
    w = ledger_world(store)
    _stock(w)
    order = w.portal.place_purchase_order(CONTACT, {"gloves": 4})
    assert order.total == Money(6000, "JPY")
    assert order.invoice_id is not None
    assert str(w.portal.invoice(order.invoice_id).total) == "6000 JPY"


@pytest.mark.parametrize(
    ("quantities", "error"),
    [
        ({"bolts": 1, "gloves": 1}, CurrencyMismatchError),
        ({"old": 1}, NotFoundError),
        ({"missing": 1}, NotFoundError),
        ({"bolts": 0}, ValidationError),
        ({"bolts": -2}, ValidationError),
        ({"bolts": 1.5}, ValidationError),
        ({"bolts": "2"}, ValidationError),
        ({}, ValidationError),
        ([("bolts", 1)], ValidationError),
    ],
)
def test_a_bad_order_is_a_typed_error_and_changes_nothing(quantities, error):
    """Bad input is a typed error and leaves the store as it was: one currency per order, items for sale only, whole positive quantities."""
    w = ledger_world(MemoryStore())
    _stock(w)
    with pytest.raises(error):
        w.portal.place_purchase_order(CONTACT, quantities)
    assert w.portal.purchase_orders(CONTACT) == ()
    assert _invoice_numbers(w) == 0


def test_an_order_through_a_gateway_the_contact_may_not_use_is_refused(store):
    """Seed 004_67d5e53a019b49ae.txt: the order's invoice is payable only through the contact's gateways."""
    w = ledger_world(store)
    _stock(w)
    with pytest.raises(GatewayNotAllowedError):
        w.portal.place_purchase_order(CONTACT, {"bolts": 1}, gateway="stripe")
    assert _invoice_numbers(w) == 0
