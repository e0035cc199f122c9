"""Aging buckets of an account's open invoices.

Seed 001_345994b3bb014aeb.txt has the system option "Display aging buckets"; seed
003_11ad6fb0c789d951.txt lets customers "View their invoices and outstanding balances".
The buckets are the usual current, 1-30, 31-60, 61-90 and over 90 days past due, each
summing the open balances of the invoices whose due date is that far behind.

>>> from portal_access._domain.billing import InvoiceLine
>>> invoice = Invoice(id="i-1", number="1001", account_id="a-1", title="May",
...                   currency="USD", lines=(InvoiceLine("Service", Money(7500, "USD")),),
...                   issued_on=date(2026, 5, 1), due_on=date(2026, 5, 31))
>>> buckets = age_invoices([invoice], as_of=date(2026, 7, 10), currency="USD")
>>> buckets.days_31_60, buckets.total
(Money(amount=7500, currency='USD'), Money(amount=7500, currency='USD'))
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import attrs

from portal_access._domain.billing import Invoice, InvoiceStatus
from portal_access._domain.errors import CurrencyMismatchError, ValidationError
from portal_access._domain.money import Money, currency_code

__all__ = ["AgingBucket", "AgingBuckets", "age_invoices", "aging_bucket"]


class AgingBucket(enum.Enum):
    """One aging column; the value is the :class:`AgingBuckets` attribute it sums into."""

    CURRENT = "current"  # not yet past due
    DAYS_1_30 = "days_1_30"
    DAYS_31_60 = "days_31_60"
    DAYS_61_90 = "days_61_90"
    OVER_90 = "over_90"  # 91 days or more past due


def _check_date(value: object, field: str) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError("must be a date", field=field, value=value)


def aging_bucket(due_on: date, *, as_of: date) -> AgingBucket:
    """The bucket of something due on ``due_on``, seen on ``as_of``.

    Days past due are ``(as_of - due_on).days``: zero or fewer is current, then 1-30,
    31-60, 61-90, and 91 or more.

    Raises:
        ValidationError: ``due_on`` or ``as_of`` is not a ``date`` (``datetime`` refused).

    >>> aging_bucket(date(2026, 1, 31), as_of=date(2026, 3, 2))
    <AgingBucket.DAYS_1_30: 'days_1_30'>
    >>> aging_bucket(date(2026, 1, 31), as_of=date(2026, 1, 31))
    <AgingBucket.CURRENT: 'current'>
    """
    _check_date(due_on, "due_on")
    _check_date(as_of, "as_of")
    days = (as_of - due_on).days
    if days <= 0:
        return AgingBucket.CURRENT
    if days <= 30:
        return AgingBucket.DAYS_1_30
    if days <= 60:
        return AgingBucket.DAYS_31_60
    if days <= 90:
        return AgingBucket.DAYS_61_90
    return AgingBucket.OVER_90


def _same_currency(instance: AgingBuckets, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Money):
        raise ValidationError("must be Money", field=attribute.name, value=value)
    if value.currency != instance.currency:
        raise CurrencyMismatchError(
            f"is {value.currency}, buckets are {instance.currency}",
            field=attribute.name,
            value=(value.currency, instance.currency),
        )


@attrs.frozen
class AgingBuckets:
    """An account's open balance split by how far past due it is.

    Args:
        currency: ISO 4217 code every bucket is in.
        current: not yet past due.
        days_1_30: 1 to 30 days past due.
        days_31_60: 31 to 60 days past due.
        days_61_90: 61 to 90 days past due.
        over_90: 91 days or more past due.

    Raises:
        UnknownCurrencyError: ``currency`` is not ISO 4217.
        CurrencyMismatchError: a bucket is in another currency.
    """

    currency: str = attrs.field(converter=currency_code)
    current: Money = attrs.field(validator=_same_currency)
    days_1_30: Money = attrs.field(validator=_same_currency)
    days_31_60: Money = attrs.field(validator=_same_currency)
    days_61_90: Money = attrs.field(validator=_same_currency)
    over_90: Money = attrs.field(validator=_same_currency)

    @classmethod
    def empty(cls, currency: str) -> AgingBuckets:
        """Zero in every bucket.

        >>> AgingBuckets.empty("jpy").total
        Money(amount=0, currency='JPY')
        """
        zero = Money.zero(currency_code(currency))
        return cls(currency, zero, zero, zero, zero, zero)

    @property
    def total(self) -> Money:
        """The sum of every bucket: the account's open balance."""
        return Money.total(
            (self.current, self.days_1_30, self.days_31_60, self.days_61_90, self.over_90),
            self.currency,
        )

    def amount(self, bucket: AgingBucket) -> Money:
        """The amount in ``bucket``."""
        amount: Money = getattr(self, bucket.value)
        return amount

    def adding(self, bucket: AgingBucket, amount: Money) -> AgingBuckets:
        """These buckets with ``amount`` added to ``bucket``.

        Raises:
            CurrencyMismatchError: ``amount`` is in another currency.
        """
        return attrs.evolve(self, **{bucket.value: self.amount(bucket) + amount})


def age_invoices(invoices: Iterable[Invoice], *, as_of: date, currency: str) -> AgingBuckets:
    """Sum the balances of the open invoices into aging buckets as of ``as_of``.

    Paid and void invoices are skipped; an open invoice counts by its
    :attr:`~portal_access._domain.billing.Invoice.balance` in the bucket
    :func:`aging_bucket` gives its due date.

    Raises:
        CurrencyMismatchError: an open invoice is not in ``currency`` (``field="currency"``).
        UnknownCurrencyError: ``currency`` is not ISO 4217.
        ValidationError: ``as_of`` is not a ``date``, or ``invoices`` not a collection
            of Invoice.

    >>> age_invoices([], as_of=date(2026, 1, 1), currency="EUR").total
    Money(amount=0, currency='EUR')
    """
    _check_date(as_of, "as_of")
    buckets = AgingBuckets.empty(currency)
    given: object = invoices  # anything a caller passes, checked before use
    if not isinstance(given, Iterable) or isinstance(given, str | bytes):
        raise ValidationError("must be a collection of Invoice", field="invoices")
    item: object
    for item in given:
        if not isinstance(item, Invoice):
            raise ValidationError("must hold only Invoice", field="invoices")
        invoice = item
        if invoice.status is not InvoiceStatus.OPEN:
            continue
        if invoice.currency != buckets.currency:
            raise CurrencyMismatchError(
                f"invoice {invoice.number} is {invoice.currency}, not {buckets.currency}",
                field="currency",
                value=(invoice.currency, buckets.currency),
            )
        bucket = aging_bucket(invoice.due_on, as_of=as_of)
        buckets = buckets.adding(bucket, invoice.balance)
    return buckets
