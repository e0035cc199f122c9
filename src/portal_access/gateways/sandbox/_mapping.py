"""The sandbox vendor's JSON objects <-> domain values, both directions.

The vendor's status words are looked up in explicit tables (in the sandbox they happen
to equal the enum values; a real vendor's do not). Decisions come from the object's
``status``, never from the event's type (DESIGN.md: apply the object's state).

>>> payment_status("refunded")
<PaymentStatus.REFUNDED: 'refunded'>
>>> subscription_status_text(SubscriptionStatus.PAST_DUE)
'past_due'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TypeVar

import attrs

from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.errors import ValidationError, WebhookVerificationError
from portal_access._domain.gateway_events import (
    GatewayEvent,
    RenewalInvoiceReport,
    SubscriptionReport,
    renewal_invoice_id,
)
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentSnapshot, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus

__all__ = [
    "MAPPED_EVENT_TYPES",
    "event_from_document",
    "invoice_status",
    "invoice_status_text",
    "method_kind",
    "method_text",
    "payment_status",
    "payment_status_text",
    "subscription_status",
    "subscription_status_text",
]

#: Event types whose object is mapped; every other type is acknowledged and ignored.
MAPPED_EVENT_TYPES = frozenset(
    {
        "payment.processing",
        "payment.succeeded",
        "payment.failed",
        "payment.refunded",
        "payment.disputed",
        "subscription.updated",
        "invoice.updated",
    }
)

_PAYMENT_STATUS = {
    "processing": PaymentStatus.PROCESSING,
    "succeeded": PaymentStatus.SUCCEEDED,
    "failed": PaymentStatus.FAILED,
    "refunded": PaymentStatus.REFUNDED,
    "disputed": PaymentStatus.DISPUTED,
}
_METHOD = {
    "card": PaymentMethodKind.CARD,
    "bank_account": PaymentMethodKind.BANK_ACCOUNT,
    "wallet": PaymentMethodKind.WALLET,
    "other": PaymentMethodKind.OTHER,
}
_SUBSCRIPTION_STATUS = {
    "incomplete": SubscriptionStatus.INCOMPLETE,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.UNPAID,
    "canceled": SubscriptionStatus.CANCELED,
}
_INVOICE_STATUS = {
    "open": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "void": InvoiceStatus.VOID,
}

_E = TypeVar("_E")


def _bad(message: str) -> WebhookVerificationError:
    return WebhookVerificationError(f"sandbox webhook body: {message}", reason="body")


def _lookup(table: Mapping[str, _E], text: object, what: str) -> _E:
    if not isinstance(text, str) or text not in table:
        raise _bad(f"unknown {what} {text!r}")
    return table[text]


def _text(table: Mapping[str, _E], value: _E) -> str:
    return next(text for text, member in table.items() if member == value)


def payment_status(text: object) -> PaymentStatus:
    """The domain status for a vendor payment status (``WebhookVerificationError`` if unknown)."""
    return _lookup(_PAYMENT_STATUS, text, "payment status")


def payment_status_text(status: PaymentStatus) -> str:
    """The vendor's word for a payment status."""
    return _text(_PAYMENT_STATUS, status)


def method_kind(text: object) -> PaymentMethodKind:
    """The domain kind for a vendor payment method."""
    return _lookup(_METHOD, text, "payment method")


def method_text(kind: PaymentMethodKind) -> str:
    """The vendor's word for a payment method kind."""
    return _text(_METHOD, kind)


def subscription_status(text: object) -> SubscriptionStatus:
    """The domain status for a vendor subscription status."""
    return _lookup(_SUBSCRIPTION_STATUS, text, "subscription status")


def subscription_status_text(status: SubscriptionStatus) -> str:
    """The vendor's word for a subscription status."""
    return _text(_SUBSCRIPTION_STATUS, status)


def invoice_status(text: object) -> InvoiceStatus:
    """The domain status for a vendor invoice status."""
    return _lookup(_INVOICE_STATUS, text, "invoice status")


def invoice_status_text(status: InvoiceStatus) -> str:
    """The vendor's word for an invoice status."""
    return _text(_INVOICE_STATUS, status)


# -- vendor JSON -> domain values (what we receive) ---------------------------------------


def _required(doc: Mapping[str, object], key: str, kind: type[_E]) -> _E:
    value = doc.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _bad(f"{key!r} must be {kind.__name__}")
    return value


def _optional(doc: Mapping[str, object], key: str, kind: type[_E]) -> _E | None:
    return None if doc.get(key) is None else _required(doc, key, kind)


def _moment(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise _bad(f"time {seconds} is out of range") from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _bad(f"{text!r} is not a YYYY-MM-DD day") from None


def _money(obj: Mapping[str, object]) -> Money:
    return Money(_required(obj, "amount", int), _required(obj, "currency", str))


def _payment(obj: Mapping[str, object], gateway: str) -> PaymentSnapshot | None:
    vendor_invoice = _optional(obj, "vendor_invoice_id", str)
    invoice_id = (
        renewal_invoice_id(gateway, vendor_invoice)
        if vendor_invoice is not None
        else _optional(obj, "invoice_id", str)
    )
    payment_id = _required(obj, "id", str)
    method = method_kind(obj.get("method"))
    status = payment_status(obj.get("status"))
    amount = _money(obj)
    version = _required(obj, "version", int)
    if invoice_id is None:  # not for one of our invoices: nothing to apply
        return None
    return PaymentSnapshot(payment_id, invoice_id, method, status, amount, version, gateway)


def _subscription(obj: Mapping[str, object], gateway: str) -> SubscriptionReport | None:
    contact_id = _optional(obj, "contact_id", str)
    failed_at = _optional(obj, "renewal_failed_at", int)
    snapshot = SubscriptionSnapshot(
        subscription_id=_required(obj, "id", str),
        plan_id=_required(obj, "plan_id", str),
        status=subscription_status(obj.get("status")),
        version=_required(obj, "version", int),
        created=_required(obj, "created", int),
        renewal_failed_at=None if failed_at is None else _moment(failed_at),
        gateway=gateway,
    )
    return None if contact_id is None else SubscriptionReport(contact_id, snapshot)


def _invoice(obj: Mapping[str, object], gateway: str) -> RenewalInvoiceReport | None:
    contact_id = _optional(obj, "contact_id", str)
    vendor_invoice_id = _required(obj, "id", str)
    subscription_id = _required(obj, "subscription_id", str)
    plan_id = _required(obj, "plan_id", str)
    amount = _money(obj)
    status = invoice_status(obj.get("status"))
    version = _required(obj, "version", int)
    issued_on = _day(_required(obj, "issued_on", str))
    due_on = _day(_required(obj, "due_on", str))
    if contact_id is None:
        return None
    return RenewalInvoiceReport(
        contact_id,
        vendor_invoice_id,
        subscription_id,
        plan_id,
        amount,
        status,
        version,
        issued_on,
        due_on,
        gateway,
    )


def event_from_document(gateway: str, document: object) -> GatewayEvent:
    """Normalise a decoded (already verified) sandbox event.

    Raises:
        WebhookVerificationError: ``reason="body"``: not the sandbox's event shape.
    """
    try:
        return _event(gateway, document)
    except ValidationError as exc:  # a field the domain refuses (blank id, bad currency...)
        raise _bad(str(exc)) from exc


def _event(gateway: str, document: object) -> GatewayEvent:
    if not isinstance(document, dict):
        raise _bad("not a JSON object")
    obj: dict[str, object] = _required(_required(document, "data", dict), "object", dict)
    event = GatewayEvent(
        gateway=gateway,
        event_id=_required(document, "id", str),
        event_type=_required(document, "type", str),
        occurred_at=_moment(_required(document, "created", int)),
    )
    if event.event_type not in MAPPED_EVENT_TYPES:
        return event  # acknowledged, ignored
    kind = obj.get("object")
    if kind == "payment":
        payment = _payment(obj, gateway)
        return attrs.evolve(
            event,
            payments=() if payment is None else (payment,),
            checkout_session_id=_optional(obj, "checkout_session_id", str),
        )
    if kind == "subscription":
        report = _subscription(obj, gateway)
        return attrs.evolve(event, subscriptions=() if report is None else (report,))
    if kind == "invoice":
        renewal = _invoice(obj, gateway)
        return attrs.evolve(event, renewals=() if renewal is None else (renewal,))
    raise _bad(f"unknown object {kind!r} in a {event.event_type} event")
