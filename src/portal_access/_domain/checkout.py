"""Hosted checkout: what the service asks a gateway for, and what it gets back.

Seed 000_07c53b15302458c1.txt: the registered Client is sent to pay the generated
invoice; seed 003_11ad6fb0c789d951.txt: customers pay online and may save a payment
method when staff allow it; seed 001_345994b3bb014aeb.txt: guests may pay an invoice
("Invoice Quick Pay") when the system option is on.

>>> from portal_access._domain.billing import Plan
>>> from portal_access._domain.money import Money
>>> request = CheckoutRequest(purpose=CheckoutPurpose.REQUIRED_PAYMENT, currency="USD",
...     success_url="https://portal.example/paid", cancel_url="https://portal.example/pay",
...     idempotency_key="checkout:inv-1:1", contact_id="c-1", invoice_id="inv-1",
...     plan=Plan(id="p-1", name="Monthly", amount=Money(4900, "USD")))
>>> request.amount_due_now
Money(amount=4900, currency='USD')
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TypedDict

import attrs

from portal_access._domain.billing import InvoiceLine, Plan
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ValidationError
from portal_access._domain.money import Money, currency_code
from portal_access._domain.payments import PaymentMethodKind
from portal_access._domain.validation import (
    aware_datetime,
    identifier,
    instance_of,
    non_blank,
    optional,
    text,
    tuple_of,
)

__all__ = ["CheckoutPurpose", "CheckoutRequest", "CheckoutSession", "PayerFields", "payer_fields"]


class CheckoutPurpose(enum.Enum):
    """Why the payer is sent to the gateway's hosted page."""

    REQUIRED_PAYMENT = "required_payment"  # the paid-access invoice (seed 000)
    RESUBSCRIBE = "resubscribe"  # new payment details after a failed renewal (seed 000)
    QUICK_PAY = "quick_pay"  # a guest paying an invoice (seed 001)
    SAVE_PAYMENT_METHOD = "save_payment_method"  # no charge, keep a method (seed 003)


def _methods(value: object) -> frozenset[PaymentMethodKind]:
    if not isinstance(value, frozenset | set | list | tuple) or not all(
        isinstance(item, PaymentMethodKind) for item in value
    ):
        raise ValidationError("must be a set of PaymentMethodKind", field="payment_methods")
    return frozenset(value)


def _url(_i: object, attribute: attrs.Attribute[str], value: object) -> None:
    non_blank(_i, attribute, value)
    assert isinstance(value, str)
    if not value.startswith(("https://", "http://")) or any(c in value for c in "\r\n "):
        raise ValidationError("must be an absolute http(s) URL", field=attribute.name, value=value)


class PayerFields(TypedDict):
    """The fields of a :class:`CheckoutRequest` that say who pays: :func:`payer_fields`."""

    contact_id: str
    customer_email: EmailAddress | None
    customer_name: str


def payer_fields(contact: Contact) -> PayerFields:
    """The :class:`CheckoutRequest` fields of a page ``contact`` pays on (every page but a
    guest's quick pay), the one place they are made: ``CheckoutRequest(...,
    **payer_fields(contact))``.

    >>> from portal_access._domain.email_address import EmailAddress
    >>> ann = Contact(id="c-1", account_id="a-1", first_name="Ann ", last_name="Lee",
    ...               email=EmailAddress.parse("ann@example.com"))
    >>> fields = payer_fields(ann)
    >>> fields["contact_id"], str(fields["customer_email"]), fields["customer_name"]
    ('c-1', 'ann@example.com', 'Ann Lee')
    """
    return {
        "contact_id": contact.id,
        "customer_email": contact.email,
        "customer_name": contact.full_name,
    }


@attrs.frozen
class CheckoutRequest:
    """Everything a gateway needs to open a hosted payment page.

    Args:
        purpose: see :class:`CheckoutPurpose`.
        currency: ISO 4217 code of every amount.
        success_url: where the gateway sends the payer after paying.
        cancel_url: where the gateway sends the payer who gives up.
        idempotency_key: the same key for a retried request; gateways pass it on so a
            retry never opens a second page or a second customer.
        contact_id: the paying contact; ``None`` for a guest (quick pay).
        customer_email: prefilled on the page and used to find or make the customer.
        customer_name: shown to the vendor.
        invoice_id: our invoice being paid; gateways echo it back in their reports
            (metadata), which is how payments find their invoice.
        invoice_number: the invoice's number, for the page and the vendor's records.
        lines: one-time lines to charge now (the one-time fee, or a quick-pay balance).
        plan: a subscription to start now; its first period is charged with the lines
            (seed 000: the first invoice carries both charges).
        payment_methods: what the payer may use; ``BANK_ACCOUNT`` is ACH.
        save_payment_method: keep the method for later (only where the contact may).
        replaces_subscription_id: the vendor subscription a re-subscribe replaces.
    """

    purpose: CheckoutPurpose = attrs.field(validator=instance_of(CheckoutPurpose))
    currency: str = attrs.field(converter=currency_code)
    success_url: str = attrs.field(validator=_url)
    cancel_url: str = attrs.field(validator=_url)
    idempotency_key: str = attrs.field(validator=identifier)
    contact_id: str | None = attrs.field(default=None, validator=optional(identifier))
    customer_email: EmailAddress | None = attrs.field(
        default=None, validator=optional(instance_of(EmailAddress))
    )
    customer_name: str = attrs.field(default="", validator=text)
    invoice_id: str | None = attrs.field(default=None, validator=optional(identifier))
    invoice_number: str | None = attrs.field(default=None, validator=optional(non_blank))
    lines: tuple[InvoiceLine, ...] = attrs.field(default=(), validator=tuple_of(InvoiceLine))
    plan: Plan | None = attrs.field(default=None, validator=optional(instance_of(Plan)))
    payment_methods: frozenset[PaymentMethodKind] = attrs.field(
        default=frozenset({PaymentMethodKind.CARD}), converter=_methods
    )
    save_payment_method: bool = attrs.field(default=False, validator=instance_of(bool))
    replaces_subscription_id: str | None = attrs.field(default=None, validator=optional(identifier))

    def __attrs_post_init__(self) -> None:
        for line in self.lines:
            if line.amount.currency != self.currency:
                raise ValidationError(
                    f"line is {line.amount.currency}, checkout is {self.currency}", field="lines"
                )
        if self.plan is not None and self.plan.currency != self.currency:
            raise ValidationError(
                f"plan is {self.plan.currency}, checkout is {self.currency}", field="plan"
            )
        charges = bool(self.lines) or self.plan is not None
        if self.purpose is CheckoutPurpose.SAVE_PAYMENT_METHOD:
            if charges:
                raise ValidationError("saving a method charges nothing", field="lines")
        elif not charges:
            raise ValidationError("nothing to charge", field="lines")

    @property
    def amount_due_now(self) -> Money:
        """What the payer is charged on the page: the lines plus the plan's first period."""
        total = Money.total((line.amount for line in self.lines), self.currency)
        return total + self.plan.amount if self.plan is not None else total


@attrs.frozen
class CheckoutSession:
    """A hosted payment page the gateway opened.

    Args:
        gateway: the gateway's name.
        session_id: the vendor's id for the page (Stripe ``cs_...``).
        url: where to send the payer.
        expires_at: when the page stops working, if the vendor says.
    """

    gateway: str = attrs.field(validator=identifier)
    session_id: str = attrs.field(validator=identifier)
    url: str = attrs.field(validator=_url)
    expires_at: datetime | None = attrs.field(default=None, validator=optional(aware_datetime))
