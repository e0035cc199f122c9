"""Filters the portal's templates use: ``{% load portal_access %}``.

>>> from datetime import date
>>> from portal_access import Money
>>> portal_money(Money(123450, "USD")), portal_money(Money(1500, "JPY"))
('$1,234.50', '¥1,500')
>>> portal_money(Money(5, "KWD")), portal_date(date(2026, 3, 2))
('0.005 KWD', 'Mar 2, 2026')
"""

from __future__ import annotations

from datetime import date

from django import template

from portal_access import Money, Plan

__all__ = ["portal_date", "portal_money", "portal_per", "register"]

register = template.Library()

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}


@register.filter
def portal_money(value: Money) -> str:
    """An amount as people read it: ``{{ invoice.balance|portal_money }}``."""
    text = f"{value.major:,.{value.exponent}f}"
    symbol = _SYMBOLS.get(value.currency)
    return f"{symbol}{text}" if symbol else f"{text} {value.currency}"


@register.filter
def portal_date(value: date) -> str:
    """A date as people read it: ``{{ invoice.due_on|portal_date }}``."""
    return f"{value:%b} {value.day}, {value.year}"


@register.filter
def portal_per(plan: Plan) -> str:
    """A plan's price and interval: ``$30.00 per month``, ``$80.00 every 3 months``."""
    count, unit = plan.interval.count, plan.interval.unit.value
    return f"{portal_money(plan.amount)} " + (
        f"per {unit}" if count == 1 else f"every {count} {unit}s"
    )
