"""The sandbox vendor's JSON -> domain values: the one mapping webhooks and reconcile share.

The vendor's words are looked up in explicit tables (in the sandbox they happen to
equal our enums' values; a real vendor's do not), and what is applied is the object's
``status``, never the event's type: duplicated or reordered events converge on the
newest ``version``. Every field is read with :class:`~portal_access.gateways._kit.Fields`,
so a body of another shape is a ``"body"`` failure naming the field.

>>> from portal_access.gateways._kit import Fields, gateway_event
>>> event = Fields({"id": "evt_1", "type": "customer.updated", "created": 0,
...                 "data": {"object": {"object": "customer"}}}, gateway="sandbox")
>>> event_from(event).actionable
False
"""

from __future__ import annotations

from typing import Any

from portal_access._domain.autopay import SavedPaymentMethod
from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.errors import ValidationError
from portal_access._domain.gateway_events import (
    GatewayEvent,
    RenewalInvoiceReport,
    SavedMethodRemoval,
    SubscriptionReport,
    renewal_invoice_id,
)
from portal_access._domain.money import Money
from portal_access._domain.payments import (
    DisputeOutcome,
    PaymentDispute,
    PaymentMethodKind,
    PaymentRefund,
    PaymentSnapshot,
    PaymentStatus,
)
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus
from portal_access.gateways._kit import Fields, gateway_event

__all__ = ["DISPUTE_OUTCOME", "INVOICE_STATUS", "MAPPED_EVENT_TYPES", "METHOD", "PAYMENT_STATUS",
           "SUBSCRIPTION_STATUS", "event_from", "payment_from"]  # fmt: skip

#: Event types whose object is mapped; every other type is acknowledged and ignored.
MAPPED_EVENT_TYPES = frozenset({
    "payment.processing", "payment.succeeded", "payment.failed", "payment.refunded",
    "payment.disputed", "subscription.updated", "invoice.updated", "setup.succeeded",
    "setup.removed",
})  # fmt: skip

PAYMENT_STATUS = {
    "processing": PaymentStatus.PROCESSING,
    "succeeded": PaymentStatus.SUCCEEDED,
    "failed": PaymentStatus.FAILED,
    "refunded": PaymentStatus.REFUNDED,
    "disputed": PaymentStatus.DISPUTED,
}
METHOD = {
    "card": PaymentMethodKind.CARD,
    "bank_account": PaymentMethodKind.BANK_ACCOUNT,
    "wallet": PaymentMethodKind.WALLET,
    "other": PaymentMethodKind.OTHER,
}
SUBSCRIPTION_STATUS = {
    "incomplete": SubscriptionStatus.INCOMPLETE,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.UNPAID,
    "canceled": SubscriptionStatus.CANCELED,
}
DISPUTE_OUTCOME = {
    "open": DisputeOutcome.OPEN,
    "won": DisputeOutcome.WON,
    "lost": DisputeOutcome.LOST,
}
INVOICE_STATUS = {
    "open": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "void": InvoiceStatus.VOID,
}


def event_from(event: Fields) -> GatewayEvent:
    """One vendor event (a verified webhook body, or an event the API listed) as ours.

    Raises:
        WebhookVerificationError: ``reason="body"``: not the vendor's event shape.
    """
    kind, occurred_at = event.text("type"), event.moment("created")
    obj = event.object("data").object("object")
    try:  # an unmapped type is acknowledged, ignored
        reports = _reports(obj, kind) if kind in MAPPED_EVENT_TYPES else {}
        return gateway_event(event, occurred_at=occurred_at, **reports)
    except ValidationError as exc:  # a value the domain refuses (a blank id...)
        raise event.error("", str(exc)) from exc


def _reports(obj: Fields, kind: str) -> dict[str, Any]:
    """What the event's object reports, by the object's own kind."""
    what = obj.text("object")
    if what == "payment":
        session = obj.optional_text("checkout_session_id")
        return {"payments": _payment(obj), "checkout_session_id": session}
    if what == "subscription":
        return {"subscriptions": _subscription(obj)}
    if what == "invoice":
        return {"renewals": _invoice(obj)}
    if what == "setup" and obj.text("status") == "removed":
        return {"removed_methods": _removed_method(obj)}
    if what == "setup":
        session = obj.optional_text("checkout_session_id")
        return {"saved_methods": _saved_method(obj), "checkout_session_id": session}
    raise obj.error("object", f"unknown object {what!r} in a {kind} event")


def payment_from(obj: Fields) -> tuple[PaymentSnapshot, ...]:
    """A payment object (an event's, or an API answer) as our snapshot; none when it
    names no invoice of ours."""
    return _payment(obj)


def _payment(obj: Fields) -> tuple[PaymentSnapshot, ...]:
    renewal = obj.optional_text("vendor_invoice_id")  # a renewal invoice's, or our metadata
    invoice_id = (
        renewal_invoice_id(obj.gateway, renewal) if renewal else obj.optional_text("invoice_id")
    )
    if invoice_id is None:  # not for one of our invoices: nothing to apply
        return ()
    method, status = obj.status("method", METHOD), obj.status("status", PAYMENT_STATUS)
    amount, version = obj.money("amount", "currency"), obj.integer("version")
    fee = obj.optional_integer("fee")
    return (
        PaymentSnapshot(
            obj.text("id"), invoice_id, method, status, amount, version, obj.gateway,
            fee=None if fee is None else Money(fee, amount.currency),
            refunds=_refunds(obj, amount.currency), disputes=_disputes(obj, amount.currency),
            itemized=obj.has("refunds"),
        ),
    )  # fmt: skip


def _refunds(obj: Fields, currency: str) -> tuple[PaymentRefund, ...]:
    """Each refund of the payment (absent from older bodies: none)."""
    return tuple(
        PaymentRefund(r.text("id"), Money(r.integer("amount"), currency), r.moment("created"))
        for r in obj.objects("refunds")
    )


def _disputes(obj: Fields, currency: str) -> tuple[PaymentDispute, ...]:
    """The payment's disputes with their outcome (absent from older bodies: none)."""
    return tuple(
        PaymentDispute(d.text("id"), Money(d.integer("amount"), currency),
                       d.status("status", DISPUTE_OUTCOME))
        for d in obj.objects("disputes")
    )  # fmt: skip


def _saved_method(obj: Fields) -> tuple[SavedPaymentMethod, ...]:
    """A completed setup: the method the contact saved (its id is the setup's)."""
    contact_id = obj.optional_text("contact_id")
    if contact_id is None or obj.text("status") != "succeeded":
        return ()
    kind = obj.status("method", METHOD)
    return (
        SavedPaymentMethod(contact_id=contact_id, gateway=obj.gateway, method_id=obj.text("id"),
                           kind=kind, version=obj.integer("version"), label=kind.value),
    )  # fmt: skip


def _removed_method(obj: Fields) -> tuple[SavedMethodRemoval, ...]:
    """A saved method the payer removed at the vendor (``status`` ``removed``)."""
    return (
        SavedMethodRemoval(gateway=obj.gateway, method_id=obj.text("id"),
                           version=obj.integer("version"),
                           contact_id=obj.optional_text("contact_id")),
    )  # fmt: skip


def _subscription(obj: Fields) -> tuple[SubscriptionReport, ...]:
    contact_id = obj.optional_text("contact_id")
    if contact_id is None:  # not one of our contacts'
        return ()
    snapshot = SubscriptionSnapshot(
        subscription_id=obj.text("id"),
        plan_id=obj.text("plan_id"),
        status=obj.status("status", SUBSCRIPTION_STATUS),
        version=obj.integer("version"),
        created=obj.integer("created"),
        renewal_failed_at=obj.optional_moment("renewal_failed_at"),
        gateway=obj.gateway,
    )
    return (SubscriptionReport(contact_id, snapshot),)


def _invoice(obj: Fields) -> tuple[RenewalInvoiceReport, ...]:
    contact_id = obj.optional_text("contact_id")
    if contact_id is None:
        return ()
    report = RenewalInvoiceReport(
        contact_id=contact_id,
        vendor_invoice_id=obj.text("id"),
        subscription_id=obj.text("subscription_id"),
        plan_id=obj.text("plan_id"),
        amount=obj.money("amount", "currency"),
        status=obj.status("status", INVOICE_STATUS),
        version=obj.integer("version"),
        issued_on=obj.day("issued_on"),
        due_on=obj.day("due_on"),
        gateway=obj.gateway,
    )
    return (report,)
