"""The sandbox vendor's own objects, as it keeps them and renders them as JSON.

Each is a frozen value replaced (with a new ``version``) on every change; ``to_json``
renders the object as the vendor's events and API replies carry it (the wire format is
documented in :mod:`portal_access.gateways.sandbox._webhooks`). The vendor's words for
statuses and methods are the domain enums' values.

>>> error = SandboxError("invalid_request", "no_such_payment", "no payment 'py_1'")
>>> error.reply()
{'error': {'type': 'invalid_request', 'code': 'no_such_payment', 'message': "no payment 'py_1'"}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime

import attrs

from portal_access._domain.billing import InvoiceStatus, Plan
from portal_access._domain.errors import GatewayRejectedError
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus

__all__ = [
    "Checkout",
    "Invoice",
    "Payment",
    "SandboxError",
    "Subscription",
    "event_body",
    "payment_object",
    "subscription_object",
]


class SandboxError(GatewayRejectedError):
    """The sandbox vendor refused: its API answers it as an error reply; the payer's
    and the vendor's own actions raise it (a :class:`~portal_access.GatewayRejectedError`,
    as any vendor's refusal is).

    Args:
        type: ``invalid_request`` (fix the request), ``api_error`` or ``rate_limited``
            (try again).
        code: what was wrong (``no_such_payment``, ``session_expired``...).
        message: for people.
    """

    def __init__(self, type: str, code: str, message: str) -> None:
        super().__init__(message, gateway="sandbox", code=code)
        self.type, self.message = type, message

    def reply(self) -> dict[str, object]:
        """The error as the API answers it."""
        return {"error": {"type": self.type, "code": self.code, "message": self.message}}


def _seconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


@attrs.frozen
class Checkout:
    """A hosted checkout page: ``status`` is ``open``, ``complete`` or ``expired``.

    ``amount`` is what paying it charges: the one-time lines plus the plan's first period.
    """

    id: str
    url: str
    mode: str  # payment, subscription or setup
    amount: Money | None
    plan: Plan | None
    methods: frozenset[PaymentMethodKind]
    contact_id: str | None
    invoice_id: str | None
    replaces: str | None
    customer_id: str | None
    expires_at: datetime
    status: str = "open"

    def to_json(self) -> dict[str, object]:
        """The page as the API answers it."""
        return {"object": "checkout_session", "id": self.id, "url": self.url,
                "status": self.status, "expires_at": _seconds(self.expires_at)}  # fmt: skip


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
    fee: int | None = None,
    refunds: tuple[tuple[str, int, int], ...] = (),
    dispute: tuple[str, str] | None = None,
) -> dict[str, object]:
    """A payment object (``invoice_id`` is our metadata; ``vendor_invoice_id`` the
    vendor's renewal invoice the payment is for, if any; ``refunds``: ``(id, amount,
    created)`` of each refund; ``dispute``: ``(id, status)`` of its dispute)."""
    return {"object": "payment", "id": payment_id, "invoice_id": invoice_id,
            "vendor_invoice_id": vendor_invoice_id, "contact_id": contact_id,
            "checkout_session_id": checkout_session_id, "method": method.value,
            "status": status.value, "amount": amount.amount, "currency": amount.currency,
            "amount_refunded": amount_refunded, "version": version, "fee": fee,
            "refunds": [{"id": refund_id, "amount": value, "created": created}
                        for refund_id, value, created in refunds],
            "disputes": [] if dispute is None else [
                {"id": dispute[0], "amount": amount.amount, "status": dispute[1]}]}  # fmt: skip


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
    """A subscription object (times in unix seconds)."""
    return {"object": "subscription", "id": subscription_id, "contact_id": contact_id,
            "plan_id": plan_id, "status": status.value, "version": version, "created": created,
            "renewal_failed_at": _seconds(renewal_failed_at),
            "current_period_start": _seconds(current_period_start),
            "current_period_end": _seconds(current_period_end)}  # fmt: skip


def event_body(*, event_id: str, event_type: str, created: int, obj: Mapping[str, object]) -> bytes:
    """The JSON body of one event, as the vendor sends it."""
    document = {"id": event_id, "type": event_type, "created": created, "data": {"object": obj}}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


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
    fee: int | None = None  # what the vendor keeps, in minor units, once it succeeded
    refunds: tuple[tuple[str, int, int], ...] = ()  # (id, amount, created) of each refund
    dispute: tuple[str, str] | None = None  # (id, "open"|"won"|"lost") of its dispute

    def to_json(self) -> dict[str, object]:
        """The payment as the vendor's events carry it."""
        return payment_object(
            payment_id=self.id, invoice_id=self.invoice_id, contact_id=self.contact_id,
            method=self.method, status=self.status, amount=self.amount, version=self.version,
            amount_refunded=self.amount_refunded, vendor_invoice_id=self.vendor_invoice_id,
            checkout_session_id=self.session_id, fee=self.fee, refunds=self.refunds,
            dispute=self.dispute,
        )  # fmt: skip


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
            subscription_id=self.id, contact_id=self.contact_id, plan_id=self.plan.id,
            status=self.status, version=self.version, created=self.created,
            renewal_failed_at=self.renewal_failed_at, current_period_start=self.period_start,
            current_period_end=self.period_end,
        )  # fmt: skip


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
        """The invoice as the vendor's events carry it (days as ``YYYY-MM-DD``)."""
        return {"object": "invoice", "id": self.id, "subscription_id": self.subscription_id,
                "contact_id": self.contact_id, "plan_id": self.plan_id,
                "amount": self.amount.amount, "currency": self.amount.currency,
                "status": self.status.value, "version": self.version,
                "issued_on": self.issued_on.isoformat(),
                "due_on": self.due_on.isoformat()}  # fmt: skip
