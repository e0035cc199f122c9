"""Saved payment methods and autopay: the pure rules.

- Seed 003_11ad6fb0c789d951.txt: "Can Save Payment Method" lets a customer "store a
  payment method through the portal for future AutoPay or online payments".
- Seed 001_345994b3bb014aeb.txt: "Enable auto pay max amount": autopay never charges
  more than the maximum. The account class may set its own maximum
  (:attr:`~portal_access.AccountClass.autopay_max_amount`); otherwise the system's
  applies.

Autopay charges an open invoice on (or after) its due date with the contact's saved
method, for the invoice's balance, when that balance is at most the maximum; an invoice
above it is left for the contact to pay, and the contact is told.

>>> from datetime import date
>>> from portal_access._domain.billing import Invoice, InvoiceLine
>>> invoice = Invoice(id="inv-1", number="1001", account_id="a-1", title="March",
...                   currency="USD", lines=(InvoiceLine("Service", Money(12000, "USD")),),
...                   issued_on=date(2026, 3, 1), due_on=date(2026, 3, 20))
>>> autopay_verdict(invoice, date(2026, 3, 19), Money(50000, "USD"))
<AutopayVerdict.NOT_DUE: 'not_due'>
>>> autopay_verdict(invoice, date(2026, 3, 20), Money(50000, "USD"))
<AutopayVerdict.CHARGE: 'charge'>
>>> autopay_verdict(invoice, date(2026, 3, 20), Money(10000, "USD"))
<AutopayVerdict.OVER_MAXIMUM: 'over_maximum'>
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import attrs

from portal_access._domain.accounts import AccountClass, SystemPortalOptions
from portal_access._domain.billing import Invoice, InvoiceStatus
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind
from portal_access._domain.validation import (
    aware_datetime,
    calendar_date,
    identifier,
    instance_of,
    int64,
    optional,
    text,
)

__all__ = [
    "AutopayAttempt",
    "AutopayOutcome",
    "AutopayVerdict",
    "SavedMethodCharge",
    "SavedMethodSetup",
    "SavedPaymentMethod",
    "autopay_key",
    "autopay_maximum",
    "autopay_verdict",
]


@attrs.frozen
class SavedPaymentMethod:
    """A payment method a contact saved at a gateway (seed 003), for autopay.

    Args:
        contact_id: whose it is.
        gateway: the gateway that keeps it.
        method_id: the gateway's id for it (what a charge names).
        kind: card, bank account (ACH)...
        version: the gateway's ordering; a newer saved method replaces an older one.
        saved_at: when the gateway reported it.
        label: what to show the contact ("card"; the gateway's brand and last digits
            when it reports them).
        removed_at: when the gateway reported the method removed (deleted by the payer
            at the vendor, or disabled by it). A removed method is never charged and
            never shown: the store keeps it only so that an older report of a saved
            method, delivered late, does not bring back what the contact had replaced.
    """

    contact_id: str = attrs.field(validator=identifier)
    gateway: str = attrs.field(validator=identifier)
    method_id: str = attrs.field(validator=identifier)
    kind: PaymentMethodKind = attrs.field(validator=instance_of(PaymentMethodKind))
    version: int = attrs.field(validator=int64)
    saved_at: datetime | None = attrs.field(default=None, validator=optional(aware_datetime))
    label: str = attrs.field(default="", validator=text)
    removed_at: datetime | None = attrs.field(default=None, validator=optional(aware_datetime))

    @property
    def removed(self) -> bool:
        """Whether the gateway reported the method removed (see ``removed_at``)."""
        return self.removed_at is not None


@attrs.frozen
class SavedMethodCharge:
    """What a gateway charges off-session with a saved method.

    Args:
        contact_id: the contact whose method it is.
        method_id: the gateway's id of the saved method.
        invoice_id: our invoice (reported back as metadata, like a checkout payment).
        amount: what to charge.
        idempotency_key: the same key charges once, however often it is sent.
    """

    contact_id: str = attrs.field(validator=identifier)
    method_id: str = attrs.field(validator=identifier)
    invoice_id: str = attrs.field(validator=identifier)
    amount: Money = attrs.field(validator=instance_of(Money))
    idempotency_key: str = attrs.field(validator=identifier)


@attrs.frozen
class SavedMethodSetup:
    """What a gateway turns into a saved method: a token the payer's browser got from
    the vendor's own script (Square's Web Payments SDK card nonce, PayPal's approved
    vault setup token), for a contact who may save one (seed 003).

    Args:
        contact_id: whose method it becomes.
        token: the vendor's one-time token.
        idempotency_key: the same key saves once, however often it is sent.
        customer_email: the contact's address (a vendor customer profile may need it).
        customer_name: the contact's name, likewise.
    """

    contact_id: str = attrs.field(validator=identifier)
    token: str = attrs.field(validator=identifier)
    idempotency_key: str = attrs.field(validator=identifier)
    customer_email: EmailAddress | None = attrs.field(
        default=None, validator=optional(instance_of(EmailAddress))
    )
    customer_name: str = attrs.field(default="", validator=text)


class AutopayVerdict(enum.Enum):
    """What autopay does with one invoice on one day."""

    CHARGE = "charge"
    NOT_DUE = "not_due"
    NOT_OPEN = "not_open"
    OVER_MAXIMUM = "over_maximum"


class AutopayOutcome(enum.Enum):
    """How an autopay attempt of one invoice with one saved method ended.

    ``CHARGING`` (the gateway was asked, no answer recorded yet) and ``UNREACHABLE``
    are retried by the next run with the same idempotency key, so the gateway charges
    once; the others are final for that invoice and method. ``NO_METHOD``: the method
    was removed between planning the charge and making it, so the gateway was never
    asked (seed 003).
    """

    CHARGING = "charging"
    SUCCEEDED = "succeeded"
    PROCESSING = "processing"
    DECLINED = "declined"
    OVER_MAXIMUM = "over_maximum"
    UNREACHABLE = "unreachable"
    NO_METHOD = "no_method"

    @property
    def final(self) -> bool:
        """Whether a later run leaves this invoice and method alone."""
        return self not in (AutopayOutcome.CHARGING, AutopayOutcome.UNREACHABLE)


@attrs.frozen
class AutopayAttempt:
    """One invoice, one saved method: what autopay did.

    Args:
        invoice_id: the invoice.
        contact_id: whose saved method.
        gateway: the method's gateway.
        method_id: the gateway's id of the method.
        amount: the balance charged (or found above the maximum).
        attempted_on: the day of the run that decided it.
        outcome: see :class:`AutopayOutcome`.
        payment_id: the gateway's payment, once it answered.
        reason: the gateway's decline code, or why nothing was charged.
    """

    invoice_id: str = attrs.field(validator=identifier)
    contact_id: str = attrs.field(validator=identifier)
    gateway: str = attrs.field(validator=identifier)
    method_id: str = attrs.field(validator=identifier)
    amount: Money = attrs.field(validator=instance_of(Money))
    attempted_on: date = attrs.field(validator=calendar_date)
    outcome: AutopayOutcome = attrs.field(validator=instance_of(AutopayOutcome))
    payment_id: str | None = attrs.field(default=None, validator=optional(identifier))
    reason: str = attrs.field(default="", validator=text)

    @property
    def idempotency_key(self) -> str:
        """The gateway key of this attempt (see :func:`autopay_key`)."""
        return autopay_key(self.invoice_id, self.method_id)


def autopay_key(invoice_id: str, method_id: str) -> str:
    """The idempotency key of charging ``invoice_id`` with ``method_id``: one charge per
    invoice and saved method, whatever the number of runs.

    >>> autopay_key("inv-1", "pm_1")
    'autopay:inv-1:pm_1'
    """
    return f"autopay:{invoice_id}:{method_id}"


def autopay_maximum(klass: AccountClass, system: SystemPortalOptions) -> Money | None:
    """The most autopay may charge one invoice of an account of ``klass``: the class's
    maximum, else the system's "auto pay max amount" (seed 001); ``None``: no maximum.

    >>> system = SystemPortalOptions(autopay_max_amount=Money(50000, "USD"))
    >>> autopay_maximum(AccountClass(id="k", name="K"), system)
    Money(amount=50000, currency='USD')
    >>> autopay_maximum(AccountClass(id="k", name="K", autopay_max_amount=Money(100, "USD")),
    ...                 system)
    Money(amount=100, currency='USD')
    """
    if klass.autopay_max_amount is not None:
        return klass.autopay_max_amount
    return system.autopay_max_amount


def autopay_verdict(invoice: Invoice, today: date, maximum: Money | None) -> AutopayVerdict:
    """Whether autopay charges ``invoice`` ``today`` under ``maximum``.

    Charged: open, with a balance, due on or before ``today``, and a balance at most the
    maximum. A maximum in another currency cannot be compared, so the invoice is left
    for the contact (never charged above a maximum it cannot prove it is under).
    """
    if invoice.status is not InvoiceStatus.OPEN or not invoice.balance:
        return AutopayVerdict.NOT_OPEN
    if invoice.due_on > today:
        return AutopayVerdict.NOT_DUE
    if maximum is None:
        return AutopayVerdict.CHARGE
    if maximum.currency != invoice.currency or invoice.balance > maximum:
        return AutopayVerdict.OVER_MAXIMUM
    return AutopayVerdict.CHARGE
