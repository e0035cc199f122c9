"""Reading Stripe's JSON objects: fields, vocabularies, and whose payment an invoice is.

Plain ``dict`` in (a webhook body, or an SDK object's ``to_dict()``), domain values out.
Anything not shaped as Stripe documents it is a :class:`~portal_access.WebhookVerificationError`
with reason ``"body"``.

>>> subscription_status("incomplete_expired")
<SubscriptionStatus.CANCELED: 'canceled'>
>>> method_kind("us_bank_account")
<PaymentMethodKind.BANK_ACCOUNT: 'bank_account'>
>>> offered_method(["card", "us_bank_account"], delayed=True)
<PaymentMethodKind.BANK_ACCOUNT: 'bank_account'>
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.errors import WebhookVerificationError
from portal_access._domain.gateway_events import renewal_invoice_id
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus

__all__ = [
    "DISPUTE_SETTLED",
    "INVOICE_STATUS",
    "Obj",
    "PaymentOwner",
    "Resolver",
    "bad_body",
    "field",
    "invoice_owner",
    "metadata",
    "method_kind",
    "moment",
    "money",
    "offered_method",
    "section",
    "first_item",
    "subscription_details",
    "subscription_status",
]

_SUBSCRIPTION = {
    "incomplete": SubscriptionStatus.INCOMPLETE,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "trialing": SubscriptionStatus.ACTIVE,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.UNPAID,
    "paused": SubscriptionStatus.UNPAID,
    "canceled": SubscriptionStatus.CANCELED,
}
_BANK = {"us_bank_account", "acss_debit", "sepa_debit", "bacs_debit", "au_becs_debit"}
_WALLET = {"link", "cashapp", "paypal", "amazon_pay", "revolut_pay", "apple_pay", "google_pay"}
DISPUTE_SETTLED = {"won": PaymentStatus.SUCCEEDED, "warning_closed": PaymentStatus.SUCCEEDED}
INVOICE_STATUS = {
    "open": InvoiceStatus.OPEN,
    "uncollectible": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "void": InvoiceStatus.VOID,
}

Obj = Mapping[str, Any]


@attrs.frozen
class PaymentOwner:
    """Whose payment a payment intent is: our payment id, our invoice, its amount."""

    payment_id: str
    invoice_id: str
    amount: Money | None = None


#: Payment intent id -> its owner, asked of the API when an object lacks our metadata.
Resolver = Callable[[str], PaymentOwner | None]


def bad_body(message: str) -> WebhookVerificationError:
    """The error for a verified body that is not Stripe's shape."""
    return WebhookVerificationError(f"stripe event body: {message}", reason="body")


def field(obj: Obj, key: str, kind: type, *, required: bool = False) -> Any:
    """``obj[key]`` checked to be a ``kind`` (``None`` when absent and not required)."""
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
        raise bad_body(f"{key!r} must be {kind.__name__}")
    return value


def section(obj: Obj, key: str) -> Obj:
    """``obj[key]`` when it is an object, else an empty one (a signed body may still
    hold any shape: a missing or odd section reads as empty)."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def first_item(obj: Obj, key: str) -> Obj:
    """The first element of ``obj[key]["data"]`` when it is an object, else an empty one."""
    items = section(obj, key).get("data")
    first = items[0] if isinstance(items, list) and items else None
    return first if isinstance(first, dict) else {}


def metadata(obj: Obj, key: str = "metadata") -> dict[str, str]:
    """The string entries of ``obj``'s metadata (empty when there is none)."""
    value = obj.get(key)
    return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def moment(seconds: int) -> datetime:
    """A Stripe timestamp as an aware datetime."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise bad_body(f"time {seconds} is out of range") from None


def money(obj: Obj, key: str) -> Money:
    """``obj[key]`` minor units in ``obj["currency"]``."""
    return Money(field(obj, key, int, required=True), field(obj, "currency", str, required=True))


def method_kind(type_text: object) -> PaymentMethodKind:
    """Our kind for a Stripe payment method type (``us_bank_account`` is ACH); anything
    but a known string (a signed body of an odd shape) is ``OTHER``."""
    if not isinstance(type_text, str):
        return PaymentMethodKind.OTHER
    if type_text == "card":
        return PaymentMethodKind.CARD
    if type_text in _BANK:
        return PaymentMethodKind.BANK_ACCOUNT
    return PaymentMethodKind.WALLET if type_text in _WALLET else PaymentMethodKind.OTHER


def offered_method(types: object, *, delayed: bool) -> PaymentMethodKind:
    """The method of a payment from the types it offered: the only one; a bank for a
    delayed (processing) payment when a bank was offered; else a card if offered."""
    offered = [t for t in types if isinstance(t, str)] if isinstance(types, list) else []
    if len(offered) == 1:
        return method_kind(offered[0])
    if delayed:
        bank = next((t for t in offered if t in _BANK), None)
        return method_kind(bank) if bank else PaymentMethodKind.OTHER
    return PaymentMethodKind.CARD if "card" in offered else PaymentMethodKind.OTHER


def subscription_status(text: object) -> SubscriptionStatus:
    """Our status for a Stripe subscription status."""
    if not isinstance(text, str) or text not in _SUBSCRIPTION:
        raise bad_body(f"unknown subscription status {text!r}")
    return _SUBSCRIPTION[text]


def subscription_details(invoice: Obj) -> Obj:
    """An invoice's ``parent.subscription_details`` (its subscription and metadata)."""
    parent = invoice.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    return details if isinstance(details, dict) else {}


def invoice_owner(invoice: Obj, gateway: str) -> PaymentOwner | None:
    """Whose payment an invoice is: the first invoice of our subscription pays our
    invoice (``invoice_id`` in the subscription's metadata); any other subscription
    invoice is a renewal; an invoice without a subscription is not ours."""
    invoice_id = field(invoice, "id", str, required=True)
    details = subscription_details(invoice)
    ours = metadata(details).get("invoice_id")
    amount = money(invoice, "total")
    if invoice.get("billing_reason") == "subscription_create" and ours:
        return PaymentOwner(invoice_id, ours, amount)
    if isinstance(details.get("subscription"), str):
        return PaymentOwner(invoice_id, renewal_invoice_id(gateway, invoice_id), amount)
    return None
