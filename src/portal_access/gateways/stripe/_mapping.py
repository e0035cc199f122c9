"""Stripe objects -> snapshots: the one mapping webhooks and reconcile share.

Shapes follow the API version the installed SDK pins (``stripe.api_version``): an
invoice names its subscription in ``parent.subscription_details`` (with the
subscription's metadata), not at its top; payment intents and charges no longer name
an invoice.

**Which payment.** A hosted page in ``payment`` mode pays with a PaymentIntent: the
payment id is ``pi_...`` (the session's ``payment_intent``, the intent itself, a
charge's or dispute's ``payment_intent``). In ``subscription`` mode the first invoice
is the payment: the id is ``in_...`` (the session's ``invoice``, the invoice itself).
Renewal invoices are paid as ``in_...`` against :func:`renewal_invoice_id`. A charge
or dispute without our metadata is resolved through ``resolve`` (the gateway asks the
API whose payment intent it is).

**Which state.** The object's state decides: a session's ``payment_status``, an
intent's ``status``, an invoice's ``status``, a charge's ``refunded``, a dispute's
``status``, a subscription's ``status``. Stripe says two things only through the
type, and only there is the type read: a session's *failed* delayed payment
(``checkout.session.async_payment_failed``: the session stays ``unpaid``) and an
invoice's failed attempt (``invoice.payment_failed``: the invoice stays ``open``).

**Ordering.** A snapshot's version is the event's ``created`` (seconds) times
:data:`VERSION_SCALE`. Stripe's clock has one-second steps, so events of one second
tie and the domain's lifecycle order breaks the tie (processing < failed <
succeeded < refunded < disputed): a duplicate or an older report never wins, and
same-second reports converge whatever their arrival order.

>>> import json
>>> body = json.loads('''{"id": "evt_1", "type": "customer.created", "created": 1,
...                       "data": {"object": {"object": "customer", "id": "cus_1"}}}''')
>>> event_from_document("stripe", body).actionable
False
"""

from __future__ import annotations

import attrs

from portal_access._domain.errors import ValidationError
from portal_access._domain.gateway_events import (
    GatewayEvent,
    RenewalInvoiceReport,
    SubscriptionReport,
    renewal_invoice_id,
)
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentSnapshot, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus
from portal_access.gateways.stripe._objects import (
    DISPUTE_SETTLED,
    INVOICE_STATUS,
    Obj,
    PaymentOwner,
    Resolver,
    bad_body,
    field,
    first_item,
    invoice_owner,
    metadata,
    method_kind,
    moment,
    money,
    offered_method,
    section,
    subscription_details,
    subscription_status,
)

__all__ = ["MAPPED_EVENT_TYPES", "VERSION_SCALE", "event_from_document"]

VERSION_SCALE = 1_000_000  # event seconds -> microseconds (the domain's version unit)

#: Event types whose object is mapped; every other type is acknowledged and ignored.
MAPPED_EVENT_TYPES = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "payment_intent.processing",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "invoice.paid",
        "invoice.payment_failed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
    }
)


def _snapshot(
    gateway: str,
    owner: PaymentOwner | None,
    status: PaymentStatus | None,
    *,
    method: PaymentMethodKind,
    amount: Money,
    version: int,
) -> tuple[PaymentSnapshot, ...]:
    if owner is None or status is None:
        return ()
    amount = owner.amount if owner.amount is not None else amount
    return (
        PaymentSnapshot(
            owner.payment_id, owner.invoice_id, method, status, amount, version, gateway
        ),
    )


def _session(event: Obj, obj: Obj, gateway: str, version: int) -> tuple[PaymentSnapshot, ...]:
    invoice_id = metadata(obj).get("invoice_id")
    payment_id = obj.get("payment_intent" if obj.get("mode") == "payment" else "invoice")
    paid = obj.get("payment_status") in ("paid", "no_payment_required")
    if not invoice_id or not isinstance(payment_id, str) or obj.get("status") != "complete":
        return ()
    status = PaymentStatus.SUCCEEDED if paid else PaymentStatus.PROCESSING
    if not paid and event["type"] == "checkout.session.async_payment_failed":
        status = PaymentStatus.FAILED
    method = offered_method(
        obj.get("payment_method_types"), delayed=not paid or "async" in event["type"]
    )
    owner = PaymentOwner(payment_id, invoice_id)
    amount = money(obj, "amount_total")
    return _snapshot(gateway, owner, status, method=method, amount=amount, version=version)


def _intent(obj: Obj, gateway: str, version: int) -> tuple[PaymentSnapshot, ...]:
    invoice_id = metadata(obj).get("invoice_id")
    state = field(obj, "status", str, required=True)
    error = obj.get("last_payment_error")
    failed_with = error.get("payment_method") if isinstance(error, dict) else None
    status = {"succeeded": PaymentStatus.SUCCEEDED, "processing": PaymentStatus.PROCESSING}.get(
        state, PaymentStatus.FAILED if error else None
    )
    if isinstance(failed_with, dict) and isinstance(failed_with.get("type"), str):
        method = method_kind(failed_with["type"])
    else:
        method = offered_method(obj.get("payment_method_types"), delayed=state == "processing")
    owner = PaymentOwner(field(obj, "id", str, required=True), invoice_id) if invoice_id else None
    amount = money(obj, "amount")
    return _snapshot(gateway, owner, status, method=method, amount=amount, version=version)


def _charge_like(
    obj: Obj, gateway: str, version: int, resolve: Resolver | None, status: PaymentStatus
) -> tuple[PaymentSnapshot, ...]:
    intent = obj.get("payment_intent")
    invoice_id = metadata(obj).get("invoice_id")
    details = obj.get("payment_method_details")
    method = method_kind(details.get("type") if isinstance(details, dict) else None)
    amount = money(obj, "amount")
    if not isinstance(intent, str):
        return ()
    if invoice_id:
        owner: PaymentOwner | None = PaymentOwner(intent, invoice_id)
    else:
        owner = resolve(intent) if resolve is not None else None
    return _snapshot(gateway, owner, status, method=method, amount=amount, version=version)


def _invoice(event: Obj, obj: Obj, gateway: str, version: int) -> GatewayEvent | None:
    owner = invoice_owner(obj, gateway)
    state = field(obj, "status", str)
    if owner is None:
        return None
    status = PaymentStatus.SUCCEEDED if state == "paid" else None
    if state in ("open", "uncollectible") and event["type"] == "invoice.payment_failed":
        status = PaymentStatus.FAILED
    types = section(obj, "payment_settings").get("payment_method_types")
    method = offered_method(types, delayed=False)
    amount = money(obj, "total")
    payments = _snapshot(gateway, owner, status, method=method, amount=amount, version=version)
    details = subscription_details(obj)
    renewals: tuple[RenewalInvoiceReport, ...] = ()
    meta = metadata(details)
    renewal = owner.invoice_id == renewal_invoice_id(gateway, owner.payment_id)
    if renewal and state in INVOICE_STATUS and meta.get("plan_id") and meta.get("contact_id"):
        issued = moment(field(obj, "created", int, required=True)).date()
        due = obj.get("due_date")
        renewals = (
            RenewalInvoiceReport(
                contact_id=meta["contact_id"],
                vendor_invoice_id=owner.payment_id,
                subscription_id=details["subscription"],
                plan_id=meta["plan_id"],
                amount=amount,
                status=INVOICE_STATUS[state],
                version=version,
                issued_on=issued,
                due_on=moment(due).date() if isinstance(due, int) else issued,
                gateway=gateway,
            ),
        )
    return _base(event, gateway, payments=payments, renewals=renewals)


def _subscription(obj: Obj, gateway: str, version: int) -> tuple[SubscriptionReport, ...]:
    meta = metadata(obj)
    status = subscription_status(obj.get("status"))
    reason = section(obj, "cancellation_details").get("reason")
    failed = status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID) or (
        obj.get("status") == "canceled" and reason == "payment_failed"
    )
    start = first_item(obj, "items").get("current_period_start")
    if not meta.get("contact_id") or not meta.get("plan_id"):
        return ()
    snapshot = SubscriptionSnapshot(
        subscription_id=field(obj, "id", str, required=True),
        plan_id=meta["plan_id"],
        status=status,
        version=version,
        created=field(obj, "created", int, required=True),
        renewal_failed_at=moment(start) if failed and isinstance(start, int) else None,
        gateway=gateway,
    )
    return (SubscriptionReport(meta["contact_id"], snapshot),)


def _dispute_status(obj: Obj) -> PaymentStatus:
    return DISPUTE_SETTLED.get(str(obj.get("status")), PaymentStatus.DISPUTED)


def _base(
    event: Obj,
    gateway: str,
    *,
    payments: tuple[PaymentSnapshot, ...] = (),
    subscriptions: tuple[SubscriptionReport, ...] = (),
    renewals: tuple[RenewalInvoiceReport, ...] = (),
) -> GatewayEvent:
    return GatewayEvent(
        gateway=gateway,
        event_id=event["id"],
        event_type=event["type"],
        occurred_at=moment(event["created"]),
        payments=payments,
        subscriptions=subscriptions,
        renewals=renewals,
    )


def event_from_document(
    gateway: str, document: object, *, resolve: Resolver | None = None
) -> GatewayEvent:
    """Normalise a decoded, already verified Stripe event (a webhook body or a listed
    event as a plain dict).

    Raises:
        WebhookVerificationError: ``reason="body"``: not a Stripe event's shape (any
            other shape a signed body may have included).
        GatewayError: ``resolve`` could not ask the API.
    """
    if not isinstance(document, dict):
        raise bad_body("not a JSON object")
    for key, kind in (("id", str), ("type", str), ("created", int)):
        field(document, key, kind, required=True)
    data = field(document, "data", dict, required=True)
    obj: Obj = field(data, "object", dict, required=True)
    try:
        return _event(gateway, document, obj, resolve)
    except ValidationError as exc:  # a field the domain refuses (blank id, bad currency...)
        raise bad_body(str(exc)) from exc
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        # signed, but not a shape Stripe documents (a list where an object belongs...):
        # the signature proves who sent it, not that it is well formed
        raise bad_body(f"unexpected shape ({type(exc).__name__})") from exc


def _event(gateway: str, event: Obj, obj: Obj, resolve: Resolver | None) -> GatewayEvent:
    kind = event["type"]
    version = event["created"] * VERSION_SCALE
    if kind not in MAPPED_EVENT_TYPES:
        return _base(event, gateway)  # acknowledged, ignored
    if kind.startswith("checkout.session."):
        session = _base(event, gateway, payments=_session(event, obj, gateway, version))
        return attrs.evolve(session, checkout_session_id=field(obj, "id", str, required=True))
    if kind.startswith("payment_intent."):
        return _base(event, gateway, payments=_intent(obj, gateway, version))
    if kind.startswith("invoice."):
        return _invoice(event, obj, gateway, version) or _base(event, gateway)
    if kind.startswith("customer.subscription."):
        return _base(event, gateway, subscriptions=_subscription(obj, gateway, version))
    if kind == "charge.refunded":
        status = PaymentStatus.REFUNDED if obj.get("refunded") is True else PaymentStatus.SUCCEEDED
        return _base(event, gateway, payments=_charge_like(obj, gateway, version, resolve, status))
    status = _dispute_status(obj)  # charge.dispute.*
    return _base(event, gateway, payments=_charge_like(obj, gateway, version, resolve, status))
