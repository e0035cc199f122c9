"""Plans, charges and invoices: what a contact is billed for paid portal access.

Seed 000_07c53b15302458c1.txt: an offer may require a one-time payment, a subscription
payment, or both; "the first generated Invoice will include both charges and each
subsequent Invoice will only contain the Subscription charge".

>>> setup = Charge("Setup fee", Money(25000, "USD"))
>>> monthly = Plan(id="p-1", name="Portal monthly", amount=Money(4900, "USD"))
>>> [line.description for line in first_invoice_lines(setup, monthly)]
['Setup fee', 'Portal monthly']
>>> [line.description for line in renewal_invoice_lines(monthly)]
['Portal monthly']
"""

from __future__ import annotations

import calendar
import enum
from datetime import date, datetime, timedelta

import attrs

from portal_access._domain.errors import ConflictError, CurrencyMismatchError, ValidationError
from portal_access._domain.money import Money, currency_code
from portal_access._domain.validation import (
    calendar_date,
    identifier,
    instance_of,
    non_blank,
    optional,
    tuple_of,
)

__all__ = [
    "BillingInterval",
    "Charge",
    "IntervalUnit",
    "Invoice",
    "InvoiceLine",
    "InvoicePurpose",
    "InvoiceStatus",
    "LineKind",
    "Plan",
    "first_invoice_lines",
    "renewal_invoice_lines",
]


class IntervalUnit(enum.Enum):
    """The unit of a billing interval."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def _positive_count(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or not 1 <= value <= 365:
        raise ValidationError("must be an int from 1 to 365", field=attribute.name, value=value)


@attrs.frozen
class BillingInterval:
    """How often a plan bills: every ``count`` ``unit`` s (default: every month).

    >>> BillingInterval(IntervalUnit.MONTH).advance(datetime(2026, 1, 31))
    datetime.datetime(2026, 2, 28, 0, 0)
    """

    unit: IntervalUnit = attrs.field(
        default=IntervalUnit.MONTH, validator=instance_of(IntervalUnit)
    )
    count: int = attrs.field(default=1, validator=_positive_count)

    def advance(self, start: datetime) -> datetime:
        """The start of the next period; month ends clamp (Jan 31 + 1 month = Feb 28/29)."""
        if self.unit is IntervalUnit.DAY:
            return start + timedelta(days=self.count)
        if self.unit is IntervalUnit.WEEK:
            return start + timedelta(weeks=self.count)
        months = self.count if self.unit is IntervalUnit.MONTH else 12 * self.count
        month_index = start.month - 1 + months
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return start.replace(year=year, month=month, day=day)


def _positive_money(_instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    instance_of(Money)(_instance, attribute, value)
    assert isinstance(value, Money)
    if not value:
        raise ValidationError("must be more than zero", field=attribute.name, value=value)


@attrs.frozen
class Plan:
    """A subscription plan: an amount billed every interval (seed 000's Subscription Plans)."""

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_blank)
    amount: Money = attrs.field(validator=_positive_money)
    interval: BillingInterval = attrs.field(
        factory=BillingInterval, validator=instance_of(BillingInterval)
    )

    @property
    def currency(self) -> str:
        """The plan's currency."""
        return self.amount.currency


@attrs.frozen
class Charge:
    """A one-time item: its invoice line title and amount (seed 000's One-Time Payment)."""

    description: str = attrs.field(validator=non_blank)
    amount: Money = attrs.field(validator=_positive_money)


class LineKind(enum.Enum):
    """Why a line is on an invoice."""

    ONE_TIME = "one_time"
    SUBSCRIPTION = "subscription"
    OTHER = "other"


@attrs.frozen
class InvoiceLine:
    """One line of an invoice."""

    description: str = attrs.field(validator=non_blank)
    amount: Money = attrs.field(validator=instance_of(Money))
    kind: LineKind = attrs.field(default=LineKind.OTHER, validator=instance_of(LineKind))
    plan_id: str | None = attrs.field(default=None, validator=optional(identifier))


def first_invoice_lines(one_time: Charge | None, plan: Plan | None) -> tuple[InvoiceLine, ...]:
    """The first paid-access invoice: the one-time charge and the first period (seed 000).

    Raises:
        ValidationError: neither a charge nor a plan.
        CurrencyMismatchError: the charge and the plan are in different currencies.
    """
    if one_time is None and plan is None:
        raise ValidationError("needs a one-time charge, a plan, or both", field="lines")
    if one_time is not None and plan is not None and one_time.amount.currency != plan.currency:
        raise CurrencyMismatchError(
            f"one-time charge is {one_time.amount.currency} but plan is {plan.currency}",
            field="plan.currency",
        )
    lines: list[InvoiceLine] = []
    if one_time is not None:
        lines.append(InvoiceLine(one_time.description, one_time.amount, LineKind.ONE_TIME))
    if plan is not None:
        lines.extend(renewal_invoice_lines(plan))
    return tuple(lines)


def renewal_invoice_lines(plan: Plan) -> tuple[InvoiceLine, ...]:
    """Every later invoice: only the subscription charge (seed 000)."""
    return (InvoiceLine(plan.name, plan.amount, LineKind.SUBSCRIPTION, plan.id),)


class InvoiceStatus(enum.Enum):
    """An invoice is open until paid, or void (staff "cancel required payment")."""

    OPEN = "open"
    PAID = "paid"
    VOID = "void"


class InvoicePurpose(enum.Enum):
    """What an invoice is for: the paid-access requirement, a renewal, or anything else."""

    REQUIRED_PAYMENT = "required_payment"
    RENEWAL = "renewal"
    STANDARD = "standard"


@attrs.frozen
class Invoice:
    """An invoice of an account, optionally addressed to one contact and of one site
    (``site_id``: only contacts whose site scope covers the site see it, seed 001).

    Raises:
        CurrencyMismatchError: a line is not in the invoice's currency (offer, plan and
            invoice currency must agree, seed 000).
        ValidationError: due before issued, no lines, or a blank field.

    >>> inv = Invoice(id="inv-1", number="1001", account_id="acc-1", title="Welcome",
    ...               currency="USD", lines=first_invoice_lines(None, Plan(
    ...                   id="p", name="Monthly", amount=Money(4900, "USD"))),
    ...               issued_on=date(2026, 1, 1), due_on=date(2026, 1, 31))
    >>> inv.total, inv.void().status
    (Money(amount=4900, currency='USD'), <InvoiceStatus.VOID: 'void'>)
    """

    id: str = attrs.field(validator=identifier)
    number: str = attrs.field(validator=non_blank)
    account_id: str = attrs.field(validator=identifier)
    title: str = attrs.field(validator=non_blank)
    currency: str = attrs.field(converter=currency_code)
    lines: tuple[InvoiceLine, ...] = attrs.field(validator=tuple_of(InvoiceLine, non_empty=True))
    issued_on: date = attrs.field(validator=calendar_date)
    due_on: date = attrs.field(validator=calendar_date)
    contact_id: str | None = attrs.field(default=None, validator=optional(identifier))
    status: InvoiceStatus = attrs.field(
        default=InvoiceStatus.OPEN, validator=instance_of(InvoiceStatus)
    )
    purpose: InvoicePurpose = attrs.field(
        default=InvoicePurpose.STANDARD, validator=instance_of(InvoicePurpose)
    )
    gateway: str | None = attrs.field(default=None, validator=optional(non_blank))
    # a per-invoice secret (it opens the payment page): never in a repr or a log
    quick_pay_code: str | None = attrs.field(
        default=None, validator=optional(non_blank), repr=False
    )
    amount_paid: Money | None = attrs.field(default=None, validator=optional(instance_of(Money)))
    site_id: str | None = attrs.field(default=None, validator=optional(identifier))

    def __attrs_post_init__(self) -> None:
        for line in self.lines:
            if line.amount.currency != self.currency:
                raise CurrencyMismatchError(
                    f"line {line.description!r} is {line.amount.currency}, "
                    f"invoice is {self.currency}",
                    field="lines",
                )
        if self.due_on < self.issued_on:
            raise ValidationError("due before issued", field="due_on", value=self.due_on)

    @property
    def total(self) -> Money:
        """The sum of the lines."""
        return Money.total((line.amount for line in self.lines), self.currency)

    @property
    def balance(self) -> Money:
        """What is still owed: nothing when paid or void."""
        if self.status is not InvoiceStatus.OPEN:
            return Money.zero(self.currency)
        return self.total.shortfall(self.amount_paid or Money.zero(self.currency))

    def void(self) -> Invoice:
        """The invoice marked void; a paid invoice cannot be voided.

        Raises:
            ConflictError: the invoice is already paid.
        """
        if self.status is InvoiceStatus.PAID:
            raise ConflictError(f"invoice {self.number} is paid; refund it instead of voiding")
        return attrs.evolve(self, status=InvoiceStatus.VOID)

    def mark_paid(self, amount: Money) -> Invoice:
        """The invoice marked paid with ``amount`` (idempotent on a paid invoice).

        Raises:
            ConflictError: the invoice is void.
            CurrencyMismatchError: ``amount`` is in another currency.
        """
        if self.status is InvoiceStatus.VOID:
            raise ConflictError(f"invoice {self.number} is void")
        self.total.shortfall(amount)  # currency check
        return attrs.evolve(self, status=InvoiceStatus.PAID, amount_paid=amount)
