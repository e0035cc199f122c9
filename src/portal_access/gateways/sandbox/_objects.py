"""The sandbox vendor's own objects, as it keeps them in memory and renders them as JSON.

A real vendor keeps these on its servers; the sandbox keeps them in the gateway. Each is
a frozen value replaced (with a new ``version``) on every change. The ``*_object``
functions render the JSON objects of the vendor's events (see
:mod:`portal_access.gateways.sandbox._webhooks` for the shape).

>>> ids = SequentialIds()
>>> ids.new_id("py_sbx_"), ids.new_id("py_sbx_"), ids.new_id("sub_sbx_")
('py_sbx_0001', 'py_sbx_0002', 'sub_sbx_0001')
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import attrs

from portal_access._domain.billing import InvoiceStatus, Plan
from portal_access._domain.checkout import CheckoutRequest
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.gateways.sandbox._mapping import (
    invoice_status_text,
    method_text,
    payment_status_text,
    subscription_status_text,
)

__all__ = [
    "Invoice",
    "Payment",
    "SequentialIds",
    "Session",
    "Subscription",
    "invoice_object",
    "payment_object",
    "subscription_object",
]


class SequentialIds:
    """Deterministic ids: ``prefix`` followed by a per-prefix counter (``cs_sbx_0001``)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def new_id(self, prefix: str) -> str:
        """The next id with ``prefix``."""
        self._counts[prefix] += 1
        return f"{prefix}{self._counts[prefix]:04d}"


@attrs.frozen
class Session:
    """A hosted checkout page: ``status`` is ``open``, ``complete`` or ``expired``."""

    id: str
    request: CheckoutRequest
    customer_id: str | None
    expires_at: datetime
    status: str = "open"


@attrs.frozen
class Payment:
    """A charge. ``activates`` names the subscription it starts or restores once it succeeds."""

    id: str
    contact_id: str | None
    invoice_id: str | None  # our invoice, from the checkout's metadata
    method: PaymentMethodKind
    status: PaymentStatus
    amount: Money
    version: int
    amount_refunded: int = 0
    vendor_invoice_id: str | None = None  # the renewal invoice it pays
    session_id: str | None = None
    activates: str | None = None
    dispute_open: bool = False

    def to_json(self) -> dict[str, object]:
        """The payment as the vendor's events carry it."""
        return payment_object(
            payment_id=self.id,
            invoice_id=self.invoice_id,
            contact_id=self.contact_id,
            method=self.method,
            status=self.status,
            amount=self.amount,
            version=self.version,
            amount_refunded=self.amount_refunded,
            vendor_invoice_id=self.vendor_invoice_id,
            checkout_session_id=self.session_id,
        )


@attrs.frozen
class Subscription:
    """A subscription; ``created`` is the vendor's creation sequence (later is larger)."""

    id: str
    contact_id: str
    plan: Plan
    method: PaymentMethodKind
    status: SubscriptionStatus
    version: int
    created: int
    period_start: datetime
    period_end: datetime
    renewal_failed_at: datetime | None = None

    @property
    def in_arrears(self) -> bool:
        """A renewal failed and is unpaid (past due or unpaid)."""
        return self.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)

    def to_json(self) -> dict[str, object]:
        """The subscription as the vendor's events carry it."""
        return subscription_object(
            subscription_id=self.id,
            contact_id=self.contact_id,
            plan_id=self.plan.id,
            status=self.status,
            version=self.version,
            created=self.created,
            renewal_failed_at=self.renewal_failed_at,
            current_period_start=self.period_start,
            current_period_end=self.period_end,
        )


@attrs.frozen
class Invoice:
    """A renewal invoice the vendor raised for a subscription."""

    id: str
    subscription_id: str
    contact_id: str
    plan_id: str
    amount: Money
    status: InvoiceStatus
    version: int
    issued_on: date
    due_on: date

    def to_json(self) -> dict[str, object]:
        """The invoice as the vendor's events carry it."""
        return invoice_object(
            invoice_id=self.id,
            subscription_id=self.subscription_id,
            contact_id=self.contact_id,
            plan_id=self.plan_id,
            amount=self.amount,
            status=self.status,
            version=self.version,
            issued_on=self.issued_on,
            due_on=self.due_on,
        )


def _seconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def payment_object(
    *,
    payment_id: str,
    invoice_id: str | None,
    contact_id: str | None,
    method: PaymentMethodKind,
    status: PaymentStatus,
    amount: Money,
    version: int,
    amount_refunded: int = 0,
    vendor_invoice_id: str | None = None,
    checkout_session_id: str | None = None,
) -> dict[str, object]:
    """A vendor payment object (``invoice_id`` is our metadata; ``vendor_invoice_id`` is
    the vendor's renewal invoice the payment is for, if any)."""
    return {
        "object": "payment",
        "id": payment_id,
        "invoice_id": invoice_id,
        "vendor_invoice_id": vendor_invoice_id,
        "contact_id": contact_id,
        "checkout_session_id": checkout_session_id,
        "method": method_text(method),
        "status": payment_status_text(status),
        "amount": amount.amount,
        "currency": amount.currency,
        "amount_refunded": amount_refunded,
        "version": version,
    }


def subscription_object(
    *,
    subscription_id: str,
    contact_id: str | None,
    plan_id: str,
    status: SubscriptionStatus,
    version: int,
    created: int,
    renewal_failed_at: datetime | None,
    current_period_start: datetime | None = None,
    current_period_end: datetime | None = None,
) -> dict[str, object]:
    """A vendor subscription object (times in unix seconds)."""
    return {
        "object": "subscription",
        "id": subscription_id,
        "contact_id": contact_id,
        "plan_id": plan_id,
        "status": subscription_status_text(status),
        "version": version,
        "created": created,
        "renewal_failed_at": _seconds(renewal_failed_at),
        "current_period_start": _seconds(current_period_start),
        "current_period_end": _seconds(current_period_end),
    }


def invoice_object(
    *,
    invoice_id: str,
    subscription_id: str,
    contact_id: str | None,
    plan_id: str,
    amount: Money,
    status: InvoiceStatus,
    version: int,
    issued_on: date,
    due_on: date,
) -> dict[str, object]:
    """A vendor renewal invoice object (days as ``YYYY-MM-DD``)."""
    return {
        "object": "invoice",
        "id": invoice_id,
        "subscription_id": subscription_id,
        "contact_id": contact_id,
        "plan_id": plan_id,
        "amount": amount.amount,
        "currency": amount.currency,
        "status": invoice_status_text(status),
        "version": version,
        "issued_on": issued_on.isoformat(),
        "due_on": due_on.isoformat(),
    }
