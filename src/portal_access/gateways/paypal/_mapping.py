"""PayPal objects -> snapshots: the one mapping webhooks and reconcile share.

**Which payment.** An order (the one-time charge, quick pay) is paid by its *capture*:
the payment id is the capture id, its invoice our id in ``custom_id``. A subscription's
first invoice is paid by its setup fee, every later one by a *sale* (PayPal's name for a
subscription payment, ``billing_agreement_id`` naming the subscription): a sale made
before the subscription's ``start_time`` is the setup fee and pays our invoice, any
other is a renewal (:func:`~portal_access._domain.gateway_events.renewal_invoice_id`).

**Which state.** The object's state decides, never the event's verb:

- ``CHECKOUT.ORDER.APPROVED`` / ``COMPLETED``: the order as it is now (the lookup
  captures an approved order first: PayPal takes no money until the merchant captures);
- ``PAYMENT.CAPTURE.*``: the capture's ``status``; a refund or reversal event carries a
  refund, so the capture it points at (``links`` ``up``) is looked up and its state used;
- ``PAYMENT.SALE.*``: the sale's ``state`` (its subscription is looked up for our ids);
  ``PAYMENT.SALE.REFUNDED`` carries a (v1) refund naming its sale (``sale_id``), so the
  sale is looked up (``GET /v1/payments/sale/{id}``) and its state used;
- ``BILLING.SUBSCRIPTION.*``: the subscription's ``status`` and failed payments;
- ``CUSTOMER.DISPUTE.*``: the dispute's status and outcome, against the capture it names.

**Ordering.** Versions are the objects' ``update_time`` in microseconds
(:func:`~portal_access.gateways.paypal._objects.version_of`). Ties go to the later
lifecycle stage, as the domain orders them.

**Money for the books** (seed 004). A capture's fee is its
``seller_receivable_breakdown.paypal_fee``, a sale's its ``transaction_fee``; a refund
event's refund (a capture's or a sale's) is itemized by its id, on its payment's
snapshot, versioned no earlier than the refund (so it supersedes the completion). A
dispute's fee and its return are its ``money_movements`` (the seller's fee debits and
credits); a dispute webhook need not carry them, so a resource without them is replaced
by the dispute as the Disputes API shows it now (one call; a dispute PayPal will not
show is read from the webhook, without fees). Money in another currency than its
payment's is not booked (no exchange rate is assumed) and warned about once per payment
(:class:`~portal_access.gateways._kit.ForeignMoney`); a fee returned beyond the fee is
capped at it. A ``custom_id`` no id of ours could be is another integration's payment,
not a body to refuse.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.errors import ValidationError, WebhookVerificationError
from portal_access._domain.gateway_events import (
    GatewayEvent,
    RenewalInvoiceReport,
    SavedMethodRemoval,
    SubscriptionReport,
    renewal_invoice_id,
)
from portal_access._domain.money import Money
from portal_access._domain.payments import (
    PaymentDispute,
    PaymentRefund,
    PaymentSnapshot,
    PaymentStatus,
)
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus
from portal_access.gateways._kit import Fields, ForeignMoney, lookup_id
from portal_access.gateways.paypal._objects import (
    CAPTURE_STATUS,
    SALE_STATUS,
    Fee,
    Ours,
    capture_method,
    dispute_of,
    dispute_status,
    foreign_fees,
    link,
    our_invoice,
    paypal_fee,
    refund_of,
    sale_fee,
    sale_method,
    sale_refund_of,
    saved_wallet,
    subscription_status,
    token_owner,
    version_of,
)

__all__ = [
    "MAPPED_EVENT_TYPES",
    "PAYMENT_TOKEN_CREATED",
    "PAYMENT_TOKEN_DELETED",
    "SALE_REFUNDED",
    "Lookups",
    "event_from_document",
    "order_payments",
]

log = logging.getLogger("portal_access.gateways.paypal")

GATEWAY_WORD = "paypal"
#: The vault's setup report: a payment token (a saved method) was made.
PAYMENT_TOKEN_CREATED = "VAULT.PAYMENT-TOKEN.CREATED"  # noqa: S105 - an event type
#: The vault's removal report: a payment token was deleted (by the payer, the merchant
#: or PayPal); a deleted token never comes back.
PAYMENT_TOKEN_DELETED = "VAULT.PAYMENT-TOKEN.DELETED"  # noqa: S105 - an event type

#: A sale (a subscription's payment) refunded: the resource is the (v1) refund, its sale
#: named by ``sale_id``.
SALE_REFUNDED = "PAYMENT.SALE.REFUNDED"

#: Event types whose resource is mapped; every other type is acknowledged and ignored.
MAPPED_EVENT_TYPES = frozenset(
    {
        "CHECKOUT.ORDER.APPROVED",
        "CHECKOUT.ORDER.COMPLETED",
        "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.PENDING",
        "PAYMENT.CAPTURE.DENIED",
        "PAYMENT.CAPTURE.DECLINED",
        "PAYMENT.CAPTURE.REFUNDED",
        "PAYMENT.CAPTURE.REVERSED",
        "PAYMENT.SALE.COMPLETED",
        "PAYMENT.SALE.PENDING",
        "PAYMENT.SALE.DENIED",
        SALE_REFUNDED,
        "BILLING.SUBSCRIPTION.CREATED",
        "BILLING.SUBSCRIPTION.ACTIVATED",
        "BILLING.SUBSCRIPTION.UPDATED",
        "BILLING.SUBSCRIPTION.RE-ACTIVATED",
        "BILLING.SUBSCRIPTION.PAYMENT.FAILED",
        "BILLING.SUBSCRIPTION.SUSPENDED",
        "BILLING.SUBSCRIPTION.CANCELLED",
        "BILLING.SUBSCRIPTION.EXPIRED",
        "CUSTOMER.DISPUTE.CREATED",
        "CUSTOMER.DISPUTE.UPDATED",
        "CUSTOMER.DISPUTE.RESOLVED",
        PAYMENT_TOKEN_CREATED,
        PAYMENT_TOKEN_DELETED,
    }
)


class Lookups(Protocol):
    """What the mapping asks PayPal (the gateway answers through the SDK).

    Each returns the object as a plain ``dict`` (``None``: PayPal knows no such object)
    and raises :class:`~portal_access.GatewayError` when PayPal cannot be asked.
    """

    def settled_order(self, order_id: str) -> Mapping[str, Any] | None:
        """The order now, captured first when it is approved and not closed."""

    def capture(self, capture_id: str) -> Mapping[str, Any] | None:
        """A captured payment."""

    def subscription(self, subscription_id: str) -> Mapping[str, Any] | None:
        """A subscription."""

    def sale(self, sale_id: str) -> Mapping[str, Any] | None:
        """A sale (a subscription's payment) as it is now."""

    def dispute(self, dispute_id: str) -> Mapping[str, Any] | None:
        """A dispute as PayPal shows it now (``None`` too where PayPal will not show it)."""


class _CheckedLookups:
    """``lookups`` asked only with ids that could be PayPal's (see
    :func:`~portal_access.gateways._kit.lookup_id`): the ids come from the body."""

    def __init__(self, gateway: str, lookups: Lookups) -> None:
        self.gateway, self._lookups = gateway, lookups

    def _id(self, value: str, what: str) -> str:
        return lookup_id(value, gateway=self.gateway, path=f"resource ({what})", vendor="PayPal")

    def check(self, value: str, what: str) -> None:
        """Refuse ``value`` now if it could not be a PayPal id (before any other call)."""
        self._id(value, what)

    def settled_order(self, order_id: str) -> Mapping[str, Any] | None:
        return self._lookups.settled_order(self._id(order_id, "order"))

    def capture(self, capture_id: str) -> Mapping[str, Any] | None:
        return self._lookups.capture(self._id(capture_id, "capture"))

    def subscription(self, subscription_id: str) -> Mapping[str, Any] | None:
        return self._lookups.subscription(self._id(subscription_id, "subscription"))

    def sale(self, sale_id: str) -> Mapping[str, Any] | None:
        return self._lookups.sale(self._id(sale_id, "sale"))

    def dispute(self, dispute_id: str) -> Mapping[str, Any] | None:
        return self._lookups.dispute(self._id(dispute_id, "dispute"))


class _Event:
    """One event being mapped: its envelope, resource, gateway name, lookups, and where
    money in another currency than its payment's is noted."""

    def __init__(
        self, gateway: str, document: Fields, lookups: Lookups, foreign: ForeignMoney
    ) -> None:
        self.gateway, self.lookups = gateway, _CheckedLookups(gateway, lookups)
        self.foreign = foreign
        self.event_id = document.text("id")
        self.event_type = document.text("event_type")
        self.occurred_at = document.instant("create_time")
        self.resource = document.object("resource")

    def fields(self, obj: Mapping[str, Any], path: str) -> Fields:
        return Fields(obj, gateway=GATEWAY_WORD, path=path)

    def build(
        self,
        payments: tuple[PaymentSnapshot, ...] = (),
        subscriptions: tuple[SubscriptionReport, ...] = (),
        renewals: tuple[RenewalInvoiceReport, ...] = (),
        checkout: str | None = None,
    ) -> GatewayEvent:
        return GatewayEvent(
            gateway=self.gateway,
            event_id=self.event_id,
            event_type=self.event_type,
            occurred_at=self.occurred_at,
            payments=payments,
            subscriptions=subscriptions,
            renewals=renewals,
            checkout_session_id=checkout,
        )


def _updated(obj: Fields) -> int:
    moment = obj.optional_instant("update_time") or obj.instant("create_time")
    return version_of(moment)


def _booked(foreign: ForeignMoney, payment_id: str, fee: Fee, currency: str) -> Money | None:
    """The fee a payment's entry can hold; one in another currency is warned about."""
    if fee.foreign is not None:
        foreign.warn("fee", payment_id, currency, (fee.foreign,))
    return fee.kept


def _capture_snapshot(
    gateway: str,
    capture: Fields,
    foreign: ForeignMoney,
    *,
    invoice_id: str | None = None,
    status: PaymentStatus | None = None,
    version: int | None = None,
    refund: Fields | None = None,
) -> PaymentSnapshot | None:
    """The snapshot of a capture of ours (``custom_id`` names our invoice): its fee
    (``seller_receivable_breakdown.paypal_fee``, in its currency), and the refund the
    event is about, by its own id (seed 004)."""
    ours = our_invoice(capture.optional_text("custom_id") or invoice_id)
    if ours is None:
        return None
    amount = capture.object("amount").decimal_money("value", "currency_code")
    payment_id = capture.text("id")
    return PaymentSnapshot(
        payment_id=payment_id,
        invoice_id=ours,
        method=capture_method(capture),
        status=status or capture.status("status", CAPTURE_STATUS),
        amount=amount,
        version=version if version is not None else _updated(capture),
        gateway=gateway,
        fee=_booked(foreign, payment_id, paypal_fee(capture, amount.currency), amount.currency),
        refunds=refund_of(refund, amount.currency) if refund is not None else (),
        itemized=True,
    )


def _order_captures(
    gateway: str, order: Fields, foreign: ForeignMoney
) -> Iterator[PaymentSnapshot]:
    for unit in order.objects("purchase_units"):
        payments = unit.optional_object("payments")
        if payments is None:
            continue
        for capture in payments.objects("captures"):
            invoice_id = unit.optional_text("custom_id")
            snapshot = _capture_snapshot(gateway, capture, foreign, invoice_id=invoice_id)
            if snapshot is not None:
                yield snapshot


def order_payments(
    gateway: str, order: Fields, *, foreign: ForeignMoney
) -> tuple[PaymentSnapshot, ...]:
    """The snapshots of an order's captures of ours (an autopay order's answer)."""
    return tuple(_order_captures(gateway, order, foreign))


def _payment_token(event: _Event) -> GatewayEvent:
    """A payment token saved for one of our contacts (its customer's
    ``merchant_customer_id``): that contact's saved method, versioned by the event's time
    (the service keeps it only where the contact may save one, seed 003)."""
    token = event.resource
    contact_id = token_owner(token)
    if not contact_id:
        return event.build()  # saved outside the portal
    method = saved_wallet(token, contact_id, version=version_of(event.occurred_at))
    return attrs.evolve(event.build(), saved_methods=(method,))


def _deleted_token(event: _Event) -> GatewayEvent:
    """A payment token deleted: no longer anyone's saved method. Its customer's
    ``merchant_customer_id`` names our contact where the resource carries it (PayPal may
    send only the token's ``id`` and links); versioned by the event's time."""
    token = event.resource
    removal = SavedMethodRemoval(gateway=event.gateway, method_id=token.text("id"),
                                 version=version_of(event.occurred_at),
                                 contact_id=token_owner(token) or None)  # fmt: skip
    return attrs.evolve(event.build(), removed_methods=(removal,))


def _order(event: _Event) -> GatewayEvent:
    order_id = event.resource.text("id")
    found = event.lookups.settled_order(order_id)
    if found is None:
        return event.build(checkout=order_id)
    order = event.fields(found, "order")
    captures = _order_captures(event.gateway, order, event.foreign)
    return event.build(payments=tuple(captures), checkout=order_id)


def _capture(event: _Event) -> GatewayEvent:
    resource = event.resource
    refund = None
    if event.event_type in ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"):
        href = link(resource, "up")  # a refund: its capture holds the state
        if href is None:
            raise resource.error("links", "has no link up to the refunded capture")
        found = event.lookups.capture(href.rstrip("/").rsplit("/", 1)[-1])
        if found is None:
            return event.build()
        refund, resource = resource, event.fields(found, "capture")
    snapshot = _capture_snapshot(event.gateway, resource, event.foreign, refund=refund)
    return event.build(payments=(snapshot,) if snapshot is not None else ())


def _current_dispute(event: _Event) -> Fields:
    """The dispute the event is about, with its money movements (its fees): the resource
    when it carries them; else the dispute as PayPal shows it now (a dispute webhook
    need not carry them; the Disputes API does), used whole, as the object's state
    decides; else, where PayPal knows or shows no such dispute, the resource."""
    resource = event.resource
    dispute_id = resource.optional_text("dispute_id")
    if dispute_id is None or resource.has("money_movements"):
        return resource
    for transaction in resource.objects("disputed_transactions"):  # a body of no ids: no call
        if (capture_id := transaction.optional_text("seller_transaction_id")) is not None:
            event.lookups.check(capture_id, "capture")
    found = event.lookups.dispute(dispute_id)
    return resource if found is None else event.fields(found, "dispute")


def _dispute_items(
    event: _Event, payment: PaymentSnapshot, dispute: Fields, *, first: bool
) -> tuple[PaymentDispute, ...]:
    """The dispute as an item of ``payment``: one in another currency than the payment's
    is not booked (warned about, the payment's status still applies); its fees go with
    the first payment of ours it names only (a dispute's fee is charged once)."""
    currency, items = payment.amount.currency, []
    for found in dispute_of(dispute):
        if found.amount.currency != currency:
            what = f"dispute {found.dispute_id}"
            event.foreign.warn(what, payment.payment_id, currency, (found.amount.currency,))
            continue
        if not first:
            items.append(attrs.evolve(found, fee=None, fee_returned=None))
            continue
        if others := foreign_fees(dispute, currency):
            event.foreign.warn("dispute fee", payment.payment_id, currency, others)
        items.append(found)
    return tuple(items)


def _dispute(event: _Event) -> GatewayEvent:
    dispute = _current_dispute(event)
    status, version = dispute_status(dispute), _updated(dispute)
    payments: list[PaymentSnapshot] = []
    for transaction in dispute.objects("disputed_transactions"):
        capture_id = transaction.optional_text("seller_transaction_id")
        found = event.lookups.capture(capture_id) if capture_id else None
        if found is None:
            continue  # not a capture of an order (a subscription's sale, another shop's)
        capture = event.fields(found, "capture")
        snapshot = _capture_snapshot(event.gateway, capture, event.foreign, status=status,
                                     version=version)  # fmt: skip
        if snapshot is not None:
            items = _dispute_items(event, snapshot, dispute, first=not payments)
            payments.append(attrs.evolve(snapshot, disputes=items))
    return event.build(payments=tuple(payments))


def _subscription_report(gateway: str, subscription: Fields) -> SubscriptionReport | None:
    ours = Ours.unpack(subscription.optional_text("custom_id"))
    if ours is None:
        return None
    status = subscription_status(subscription)
    billing = subscription.optional_object("billing_info")
    failed = billing.optional_object("last_failed_payment") if billing is not None else None
    failures = billing.optional_integer("failed_payments_count") if billing is not None else None
    in_arrears = status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID) or (
        status is SubscriptionStatus.CANCELED and bool(failures)
    )
    snapshot = SubscriptionSnapshot(
        subscription_id=subscription.text("id"),
        plan_id=ours.plan_id,
        status=status,
        version=_updated(subscription),
        created=int(subscription.instant("create_time").timestamp()),
        renewal_failed_at=failed.instant("time") if in_arrears and failed is not None else None,
        gateway=gateway,
    )
    return SubscriptionReport(ours.contact_id, snapshot)


def _subscription(event: _Event) -> GatewayEvent:
    report = _subscription_report(event.gateway, event.resource)
    return event.build(subscriptions=(report,) if report is not None else ())


def _sale_refund(event: _Event) -> GatewayEvent:
    """A sale's refund: the sale as it is now (looked up: the refund names it by
    ``sale_id``, or by its ``sale`` link), with this refund by its id."""
    refund = event.resource
    sale_id = refund.optional_text("sale_id")
    if sale_id is None and (href := link(refund, "sale")) is not None:
        sale_id = href.rstrip("/").rsplit("/", 1)[-1]
    if sale_id is None:
        raise refund.error("sale_id", "is missing: the refund names no sale")
    found = event.lookups.sale(sale_id)
    if found is None:
        return event.build()  # PayPal knows no such sale: nothing of ours to book
    return _sale(event, event.fields(found, "sale"), refund=refund)


def _refund_item(
    event: _Event, sale_id: str, amount: Money, refund: Fields
) -> tuple[PaymentRefund, ...]:
    """The refund as an item of the sale: none when it gives nothing back; one in
    another currency than the sale's is warned about (once), one beyond the sale logged:
    neither is booked, and the webhook is not refused for them."""
    found = sale_refund_of(refund)
    if found is None:
        return ()
    if found.amount.currency != amount.currency:
        what = f"refund {found.refund_id}"
        event.foreign.warn(what, sale_id, amount.currency, (found.amount.currency,))
        return ()
    if found.amount > amount:
        log.warning("paypal payment %s: its refund %s of %s exceeds the payment of %s: "
                    "not booked", sale_id, found.refund_id, found.amount, amount)  # fmt: skip
        return ()
    return (found,)


def _sale(
    event: _Event, sale: Fields | None = None, *, refund: Fields | None = None
) -> GatewayEvent:
    """A sale's payment (the resource, or ``sale`` as looked up for ``refund``)."""
    sale = sale if sale is not None else event.resource
    subscription_id = sale.optional_text("billing_agreement_id")
    found = event.lookups.subscription(subscription_id) if subscription_id else None
    if found is None:
        return event.build()  # not a subscription's payment
    subscription = event.fields(found, "subscription")
    ours = Ours.unpack(subscription.optional_text("custom_id"))
    if ours is None:
        return event.build()
    state = sale.text("state").lower()
    status = SALE_STATUS.get(state)
    if status is None:
        raise sale.error("state", f"unknown status {state[:40]!r}")
    made = sale.instant("create_time")
    amount = sale.object("amount").decimal_money("total", "currency")
    version, sale_id = _updated(sale), sale.text("id")
    if refund is not None:  # the sale now is no older than its refund
        version = max(version, _updated(refund))
    starts = subscription.optional_instant("start_time")
    if starts is not None and made < starts and ours.invoice_id:
        invoice_id = ours.invoice_id  # the setup fee: our first invoice
        renewals: tuple[RenewalInvoiceReport, ...] = ()
    elif status is PaymentStatus.FAILED:
        return event.build()  # a failed renewal raises no invoice; the subscription says it
    else:
        invoice_id = renewal_invoice_id(event.gateway, sale_id)
        paid = InvoiceStatus.PAID if status is not PaymentStatus.PROCESSING else InvoiceStatus.OPEN
        renewals = (
            RenewalInvoiceReport(
                contact_id=ours.contact_id,
                vendor_invoice_id=sale_id,
                subscription_id=subscription.text("id"),
                plan_id=ours.plan_id,
                amount=amount,
                status=paid,
                version=version,
                issued_on=made.date(),
                due_on=made.date(),
                gateway=event.gateway,
            ),
        )
    payment = PaymentSnapshot(
        payment_id=sale_id,
        invoice_id=invoice_id,
        method=sale_method(sale),
        status=status,
        amount=amount,
        version=version,
        gateway=event.gateway,
        fee=_booked(event.foreign, sale_id, sale_fee(sale, amount.currency), amount.currency),
        refunds=_refund_item(event, sale_id, amount, refund) if refund is not None else (),
        itemized=True,
    )
    return event.build(payments=(payment,), renewals=renewals)


def event_from_document(
    gateway: str, document: object, *, lookups: Lookups, foreign: ForeignMoney | None = None
) -> GatewayEvent:
    """Normalise a decoded, already verified PayPal event (a webhook body, or one event of
    the webhook events list). ``foreign`` notes fees in another currency than their
    payment's (not booked; default: a new one, so each call warns again).

    Raises:
        WebhookVerificationError: ``reason="body"``: not a PayPal event's shape.
        GatewayError: a lookup could not ask PayPal (the delivery should be retried).
    """
    if not isinstance(document, dict):
        raise WebhookVerificationError(
            f"{GATEWAY_WORD} webhook body: is not an event", reason="body"
        )
    noted = foreign if foreign is not None else ForeignMoney(GATEWAY_WORD, log)
    event = _Event(gateway, Fields(document, gateway=GATEWAY_WORD), lookups, noted)
    kind = event.event_type
    try:
        if kind not in MAPPED_EVENT_TYPES:
            return event.build()  # acknowledged, ignored
        if kind.startswith("CHECKOUT.ORDER."):
            return _order(event)
        if kind.startswith("PAYMENT.CAPTURE."):
            return _capture(event)
        if kind == SALE_REFUNDED:
            return _sale_refund(event)
        if kind.startswith("PAYMENT.SALE."):
            return _sale(event)
        if kind.startswith("BILLING.SUBSCRIPTION."):
            return _subscription(event)
        if kind == PAYMENT_TOKEN_CREATED:
            return _payment_token(event)
        if kind == PAYMENT_TOKEN_DELETED:
            return _deleted_token(event)
        return _dispute(event)  # CUSTOMER.DISPUTE.*
    except ValidationError as exc:  # a value the domain refuses (blank id, bad currency...)
        raise WebhookVerificationError(
            f"{GATEWAY_WORD} webhook body: {exc}", reason="body"
        ) from exc


def occurred(document: Mapping[str, Any]) -> datetime | None:
    """When a listed event happened (for ordering a page of the events list)."""
    try:
        return Fields(document, gateway=GATEWAY_WORD).instant("create_time")
    except WebhookVerificationError:
        return None
