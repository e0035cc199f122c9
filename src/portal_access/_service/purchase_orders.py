"""The catalog and purchase orders (seed 004_67d5e53a019b49ae.txt).

"In case you have the Catalog gem activated, this is where they will display the items
for sale"; "Only contacts who have enabled the Catalog option in their panel will be
able to place purchase orders and view the products for sale." The host keeps its
catalog with :func:`save_catalog_item`; a contact with the catalog capability lists it
(:func:`catalog_for`) and places an order (:func:`place_purchase_order`), which becomes
an open invoice of the contact, payable through a gateway the contact may use. Anyone
else is refused with :class:`~portal_access.AccessDeniedError`, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping

from portal_access._domain.access import AccessDecision, decide
from portal_access._domain.billing import Invoice, InvoiceLine
from portal_access._domain.capabilities import Capability
from portal_access._domain.errors import AccessDeniedError, NotFoundError, ValidationError
from portal_access._domain.events import InvoiceCreated, PurchaseOrderPlaced
from portal_access._domain.payment_gateways import ensure_payable
from portal_access._domain.purchase_orders import CatalogItem, OrderLine, PurchaseOrder
from portal_access._domain.validation import ensure_identifier, ensure_instance
from portal_access._service.access_states import require_access_state
from portal_access._service.context import Work
from portal_access._service.lookups import require_contact
from portal_access._service.signup import new_quick_pay_code

__all__ = [
    "MAX_ORDER_LINES",
    "catalog_for",
    "place_purchase_order",
    "purchase_orders_of",
    "save_catalog_item",
]

#: The most lines one purchase order may have.
MAX_ORDER_LINES = 200


def save_catalog_item(work: Work, item: CatalogItem) -> CatalogItem:
    """Add or change an item of the host's catalog (``for_sale=False`` withdraws it)."""
    item = ensure_instance(item, CatalogItem, field="item")
    work.uow.catalog_items.save(item)
    return item


def _catalog_decision(work: Work, contact_id: str) -> AccessDecision:
    state = require_access_state(work, contact_id)
    decision = decide(state, work.context.policy, work.context.clock.now())
    if not decision.can(Capability.CATALOG):
        raise AccessDeniedError("this contact may not use the catalog")
    return decision


def catalog_for(work: Work, contact_id: str) -> tuple[CatalogItem, ...]:
    """The items for sale, by name, for a contact with the catalog capability.

    Raises:
        NotFoundError: no such contact.
        AccessDeniedError: the contact may not use the catalog (seed 004).
    """
    _catalog_decision(work, contact_id)
    return work.uow.catalog_items.for_sale()


def _quantities(value: object) -> list[tuple[str, int]]:
    if not isinstance(value, Mapping) or not value:
        raise ValidationError(
            "give each item's id and its quantity", field="quantities", value=value
        )
    if len(value) > MAX_ORDER_LINES:
        raise ValidationError(
            f"at most {MAX_ORDER_LINES} lines per order", field="quantities", value=None
        )
    return [(ensure_identifier(key, field="quantities"), qty) for key, qty in value.items()]


def place_purchase_order(
    work: Work, contact_id: str, quantities: Mapping[str, int], *, gateway: str | None = None
) -> PurchaseOrder:
    """Place an order for ``quantities`` (item id -> how many) and make it an open
    invoice of the contact, due today, payable through ``gateway`` (default: the one
    gateway the contact may use).

    Raises:
        NotFoundError: no such contact, or an item that is not in the catalog or not for
            sale (``kind="catalog item"``).
        AccessDeniedError: the contact may not use the catalog (seed 004).
        GatewayNotAllowedError: the contact may not pay through ``gateway``.
        ValidationError: no lines, a quantity that is not a whole number from 1 up, no
            gateway given while the contact may use several (or none).
        CurrencyMismatchError: items in more than one currency.
    """
    decision = _catalog_decision(work, contact_id)
    lines = []
    for item_id, quantity in _quantities(quantities):
        item = work.uow.catalog_items.get(item_id)
        if item is None or not item.for_sale:
            raise NotFoundError("catalog item", item_id)
        lines.append(OrderLine.of(item, quantity))
    state = require_access_state(work, contact_id)
    policy = work.context.policy
    if gateway is None:
        if len(decision.gateways) != 1:
            raise ValidationError("choose the gateway to pay through", field="gateway", value=None)
        (gateway,) = decision.gateways
    ensure_payable(gateway, state.portal.allowed_gateways, policy.gateways)
    contact = require_contact(work, contact_id)
    now = work.context.clock.now()
    order = PurchaseOrder(
        id=work.context.ids.new_id("po_"),
        contact_id=contact.id,
        account_id=contact.account_id,
        lines=tuple(lines),
        placed_at=now,
    )
    invoice = Invoice(
        id=work.context.ids.new_id("inv_"),
        number=work.uow.invoices.next_number(),
        account_id=contact.account_id,
        contact_id=contact.id,
        title=f"Purchase order {order.id}",
        currency=order.currency,
        lines=tuple(InvoiceLine(line.description, line.amount) for line in order.lines),
        issued_on=now.date(),
        due_on=now.date(),
        gateway=gateway,
        quick_pay_code=new_quick_pay_code(work),
    )
    work.uow.invoices.save(invoice)
    order = PurchaseOrder(
        id=order.id,
        contact_id=order.contact_id,
        account_id=order.account_id,
        lines=order.lines,
        placed_at=order.placed_at,
        invoice_id=invoice.id,
    )
    work.uow.purchase_orders.save(order)
    total = order.total
    work.emit(
        InvoiceCreated(invoice_id=invoice.id, number=invoice.number, contact_id=contact.id,
                       total=total.amount, currency=total.currency)
    )  # fmt: skip
    work.emit(
        PurchaseOrderPlaced(order_id=order.id, contact_id=contact.id, invoice_id=invoice.id,
                            total=total.amount, currency=total.currency)
    )  # fmt: skip
    return order


def purchase_orders_of(work: Work, contact_id: str) -> tuple[PurchaseOrder, ...]:
    """The contact's orders, oldest first.

    Raises:
        NotFoundError: no such contact.
    """
    require_contact(work, contact_id)
    return work.uow.purchase_orders.for_contact(contact_id)
