"""The host's catalog and the purchase orders contacts place from it.

Seed 004_67d5e53a019b49ae.txt: "In case you have the Catalog gem activated, this is
where they will display the items for sale"; "Only contacts who have enabled the
Catalog option in their panel will be able to place purchase orders and view the
products for sale." A purchase order becomes an invoice the contact can pay.

>>> bolts = CatalogItem(id="bolts", name="Bolts (box)", unit_price=Money(1250, "KWD"))
>>> line = OrderLine.of(bolts, 3)
>>> line.amount, line.description
(Money(amount=3750, currency='KWD'), 'Bolts (box) x 3')
"""

from __future__ import annotations

from datetime import datetime

import attrs

from portal_access._domain.errors import CurrencyMismatchError, ValidationError
from portal_access._domain.money import Money
from portal_access._domain.validation import (
    aware_datetime,
    identifier,
    instance_of,
    non_blank,
    optional,
    tuple_of,
)

__all__ = ["MAX_QUANTITY", "CatalogItem", "OrderLine", "PurchaseOrder"]

#: The most of one item one order line may ask for.
MAX_QUANTITY = 1_000_000


def _price(_instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    instance_of(Money)(_instance, attribute, value)
    assert isinstance(value, Money)
    if not value:
        raise ValidationError("must be more than zero", field=attribute.name, value=value)


def _quantity(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or not 1 <= value <= MAX_QUANTITY:
        raise ValidationError(
            f"must be an int from 1 to {MAX_QUANTITY}", field=attribute.name, value=value
        )


@attrs.frozen
class CatalogItem:
    """An item the host sells through the portal's catalog (seed 004).

    Args:
        id: the host's id.
        name: shown to contacts and on the invoice line.
        unit_price: the price of one.
        for_sale: listed and orderable; ``False`` withdraws it.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_blank)
    unit_price: Money = attrs.field(validator=_price)
    for_sale: bool = attrs.field(default=True, validator=instance_of(bool))


@attrs.frozen
class OrderLine:
    """One line of a purchase order: an item, how many, at what price.

    Raises:
        ValidationError: a quantity that is not a whole number from 1 to
            :data:`MAX_QUANTITY`, or an amount that is not quantity times unit price.
    """

    item_id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_blank)
    quantity: int = attrs.field(validator=_quantity)
    unit_price: Money = attrs.field(validator=_price)
    amount: Money = attrs.field(validator=instance_of(Money))

    def __attrs_post_init__(self) -> None:
        if self.amount != Money(self.unit_price.amount * self.quantity, self.unit_price.currency):
            raise ValidationError("amount must be quantity times unit price", field="amount")

    @classmethod
    def of(cls, item: CatalogItem, quantity: int) -> OrderLine:
        """``quantity`` of ``item`` at its price (integer minor units, never a float).

        Raises:
            ValidationError: a bad quantity, or a total past what money may hold.
        """
        _quantity(None, attrs.fields(cls).quantity, quantity)
        total = Money(item.unit_price.amount * quantity, item.unit_price.currency)
        return cls(item.id, item.name, quantity, item.unit_price, total)

    @property
    def description(self) -> str:
        """The invoice line's text: the item's name and the quantity."""
        return f"{self.name} x {self.quantity}"


@attrs.frozen
class PurchaseOrder:
    """A purchase order a contact placed from the catalog, and the invoice it became.

    Raises:
        ValidationError: no lines.
        CurrencyMismatchError: lines in more than one currency.
    """

    id: str = attrs.field(validator=identifier)
    contact_id: str = attrs.field(validator=identifier)
    account_id: str = attrs.field(validator=identifier)
    lines: tuple[OrderLine, ...] = attrs.field(validator=tuple_of(OrderLine, non_empty=True))
    placed_at: datetime = attrs.field(validator=aware_datetime)
    invoice_id: str | None = attrs.field(default=None, validator=optional(identifier))

    def __attrs_post_init__(self) -> None:
        currencies = {line.unit_price.currency for line in self.lines}
        if len(currencies) > 1:
            raise CurrencyMismatchError(
                f"an order is in one currency; got {sorted(currencies)}", field="lines"
            )

    @property
    def currency(self) -> str:
        """The order's one currency."""
        return self.lines[0].unit_price.currency

    @property
    def total(self) -> Money:
        """The sum of the lines, in integer minor units."""
        return Money.total((line.amount for line in self.lines), self.currency)
