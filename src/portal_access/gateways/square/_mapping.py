"""Square events -> snapshots: the one mapping webhooks and reconcile share.

A webhook body and an event listed by the Events API have the same shape::

    {"merchant_id": ..., "type": "payment.updated", "event_id": "<uuid>",
     "created_at": "2026-03-02T09:00:00Z",
     "data": {"type": "payment", "id": "<payment id>", "object": {"payment": {...}}}}

**Which payment, whose invoice.** A payment made on one of our pages names its order;
the order's metadata names our invoice (:func:`~._objects.owner_of`), so a payment, a
refund (through its payment) and a dispute (through its payment) each ask the API for
what they lack. A subscription's invoice (a renewal, which has ``subscription_id``) is
paid as one payment keyed by the Square invoice's id, against
:func:`~portal_access._domain.gateway_events.renewal_invoice_id`.

**Which state.** The object's state decides, never the event's type: a payment's
``status`` and ``refunded_money``, a dispute's ``state``, an invoice's ``status``, a
subscription's ``status`` together with its newest invoice (Square keeps a subscription
``ACTIVE`` while its invoices go unpaid, so arrears are read off the invoice:
:func:`~._objects.arrears_since`). Square says one thing only through the type, and only
there is it read: ``invoice.scheduled_charge_failed`` (the card on file was declined;
the invoice stays ``UNPAID``).

**Ordering.** A snapshot's version is the object's own ``updated_at`` in microseconds:
the payment's (or, for a refund, the payment's as looked up now), the dispute's, the
invoice's. A Square subscription has no ``updated_at`` and its ``version`` counts only
edits of the subscription itself, so a report made from a subscription event is
versioned by the event's ``created_at``; one made from an invoice event by the invoice's
``updated_at``: all of them instants on Square's clock, so they order one another.

**Subscriptions we start.** A first invoice of ours that is paid (``PAID``) and whose
order names a plan has bought the plan's first period; the gateway then makes sure the
subscription for the following periods exists (``vendor.subscribe``: looked for first,
created once under an idempotency key) and reports it. The payer's money is never
taken for a subscription that has not been paid for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import Protocol

import attrs

from portal_access._domain.errors import ValidationError
from portal_access._domain.gateway_events import (
    GatewayEvent,
    RenewalInvoiceReport,
    SavedMethodRemoval,
    SubscriptionReport,
)
from portal_access._domain.payments import PaymentSnapshot, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus
from portal_access.gateways._kit import Fields, Unbooked, could_be_id, lookup_id
from portal_access.gateways.square._objects import (
    DISPUTE_STATUS,
    RENEWAL_INVOICE_STATUS,
    RENEWAL_PAYMENT_STATUS,
    SUBSCRIPTION_STATUS,
    Obj,
    Owner,
    arrears_since,
    dispute_of,
    invoice_amount,
    invoice_due,
    invoice_method,
    method_kind,
    micros,
    owner_of,
    payment_status,
    processing_fee,
    refund_of,
    saved_card,
    start_of,
)

__all__ = [
    "CARD_CREATED",
    "CARD_REMOVED",
    "CHARGE_FAILED",
    "MAPPED_EVENT_TYPES",
    "Mapper",
    "Vendor",
]

log = logging.getLogger("portal_access.gateways.square")

CHARGE_FAILED = "invoice.scheduled_charge_failed"
#: A card saved on file (on an invoice page, or from a nonce): the vault's setup report.
CARD_CREATED = "card.created"
#: A card on file disabled (``DisableCard``: by the seller, or the buyer through the
#: seller's app) or forgotten (GDPR): Square never enables it again.
CARD_REMOVED = frozenset({"card.disabled", "card.forgotten"})

#: Event types whose object is mapped; every other type is acknowledged and ignored.
MAPPED_EVENT_TYPES = frozenset(
    {
        "payment.created",
        "payment.updated",
        "refund.created",
        "refund.updated",
        "dispute.created",
        "dispute.state.updated",
        "invoice.payment_made",
        CHARGE_FAILED,
        "invoice.updated",
        "invoice.canceled",
        "subscription.created",
        "subscription.updated",
        CARD_CREATED,
        *CARD_REMOVED,
    }
)


class Vendor(Protocol):
    """What the mapping asks of Square's API (``None``: no such object)."""

    def order(self, order_id: str) -> Obj | None:
        """The order (its metadata says whose it is)."""

    def payment(self, payment_id: str) -> Obj | None:
        """The payment as it is now."""

    def invoice(self, invoice_id: str) -> Obj | None:
        """The invoice as it is now."""

    def subscription(self, subscription_id: str) -> Obj | None:
        """The subscription as it is now."""

    def contact_of(self, customer_id: str) -> str | None:
        """Our contact id: the customer's ``reference_id``."""

    def subscribe(self, invoice: Obj, owner: Owner) -> Obj:
        """The subscription a paid first invoice bought, made if it does not exist yet."""


@attrs.frozen
class Mapper:
    """Maps Square events for one gateway.

    Args:
        gateway: the gateway's name.
        vendor: the API, for what an event's object does not say.
        plans: our plan id for each Square subscription plan variation id.
        unbooked: where it warns, once, about what of an event it leaves out of the
            books (see :class:`~portal_access.gateways._kit.Unbooked`).
    """

    gateway: str
    vendor: Vendor
    plans: Mapping[str, str]
    unbooked: Unbooked = attrs.field(factory=lambda: Unbooked(log), eq=False)

    def event(self, document: Obj) -> GatewayEvent:
        """Normalise one decoded, verified event.

        Raises:
            WebhookVerificationError: ``reason="body"``: not a Square event's shape.
            GatewayError: the API could not be asked about an object.
        """
        doc = Fields(document, gateway=self.gateway)
        base = GatewayEvent(
            gateway=self.gateway,
            event_id=doc.text("event_id"),
            event_type=doc.text("type"),
            occurred_at=doc.instant("created_at"),
        )
        data = doc.object("data")
        found = data.optional_object("object")  # absent when the object was deleted
        if base.event_type not in MAPPED_EVENT_TYPES or found is None:
            return base
        try:
            return self._mapped(base, found)
        except ValidationError as exc:  # a value the domain refuses (blank id, bad currency)
            raise doc.error("data", str(exc)) from exc

    def _mapped(self, base: GatewayEvent, found: Fields) -> GatewayEvent:
        kind = base.event_type
        if kind.startswith("payment."):
            return attrs.evolve(base, payments=self._payment(found.object("payment")))
        if kind.startswith("refund."):
            refund = found.object("refund")
            current = self._look(self.vendor.payment, refund.text("payment_id"), "payment")
            payments = self._payment(current, refund=refund) if current is not None else ()
            return attrs.evolve(base, payments=payments)
        if kind.startswith("dispute."):
            return attrs.evolve(base, payments=self._dispute(found.object("object")))
        if kind.startswith("invoice."):
            return self._invoice(base, found.object("invoice"))
        if kind == CARD_CREATED:
            return self._saved_card(base, found.object("card"))
        if kind in CARD_REMOVED:
            return self._removed_card(base, found.object("card"))
        return self._subscription_event(base, found.object("subscription"))

    def _look(self, lookup: Callable[[str], Obj | None], key: str, path: str) -> Fields | None:
        found = lookup(self._id(key, path))
        return None if found is None else Fields(found, gateway=self.gateway, path=path)

    def _contact_of(self, customer_id: str) -> str | None:
        """Our contact: the customer's ``reference_id``, which the seller may have set to
        any text, of any length; one that could be no id of ours is no contact."""
        contact_id = self.vendor.contact_of(self._id(customer_id, "customer"))
        if contact_id is None or could_be_id(contact_id):
            return contact_id
        self.unbooked.warn(
            ("reference", customer_id),
            "square customer %s: its reference_id %r could be no id of ours: not our contact",
            customer_id, contact_id[:40],
        )  # fmt: skip
        return None

    def _id(self, key: str, path: str) -> str:
        """``key`` as the id of a Square object to look up (see
        :func:`~portal_access.gateways._kit.lookup_id`: the SDK puts ids into the
        request's path as they are)."""
        return lookup_id(key, gateway=self.gateway, path=path, vendor="Square")

    def _owner(self, order_id: str | None) -> Owner | None:
        order = self._look(self.vendor.order, order_id, "order") if order_id else None
        return owner_of(order, self.unbooked) if order is not None else None

    # -- payments ------------------------------------------------------------------------

    def _payment(
        self,
        payment: Fields,
        *,
        status: PaymentStatus | None = None,
        version: int | None = None,
        refund: Fields | None = None,
        dispute: Fields | None = None,
    ) -> tuple[PaymentSnapshot, ...]:
        """The payment as ours; its fee (``processing_fee``), and the refund or dispute
        the event is about, each by its own id (seed 004)."""
        owner = self._owner(payment.optional_text("order_id"))
        if owner is None:  # a renewal's payment (reported by its invoice), or not ours
            return ()
        amount = payment.object("amount_money").money("amount", "currency")
        snapshot = PaymentSnapshot(
            payment_id=payment.text("id"),
            invoice_id=owner.invoice_id,
            method=method_kind(payment.optional_text("source_type")),
            status=status or payment_status(payment),
            amount=amount,
            version=version if version is not None else micros(payment.instant("updated_at")),
            gateway=self.gateway,
            fee=processing_fee(payment, amount.currency, self.unbooked),
            refunds=refund_of(refund, amount, self.unbooked) if refund is not None else (),
            disputes=dispute_of(dispute) if dispute is not None else (),
            itemized=True,
        )
        return (snapshot,)

    def _dispute(self, dispute: Fields) -> tuple[PaymentSnapshot, ...]:
        payment_id = dispute.object("disputed_payment").text("payment_id")
        current = self._look(self.vendor.payment, payment_id, "payment")
        if current is None:
            return ()
        status = dispute.status("state", DISPUTE_STATUS)
        version = micros(dispute.instant("updated_at"))
        return self._payment(current, status=status, version=version, dispute=dispute)

    # -- invoices ------------------------------------------------------------------------

    def _invoice(self, base: GatewayEvent, invoice: Fields) -> GatewayEvent:
        subscription_id = invoice.optional_text("subscription_id")
        if subscription_id is not None:
            return self._renewal(base, invoice, subscription_id)
        owner = self._owner(invoice.optional_text("order_id"))
        if owner is None or owner.plan_id is None or invoice.text("status") != "PAID":
            return base  # payments of our invoices are reported by their payment events
        if owner.contact_id is None:
            return base
        started = Fields(
            self.vendor.subscribe(invoice.raw, owner), gateway=self.gateway, path="subscription"
        )
        version = micros(invoice.instant("updated_at"))
        report = self._report(started, owner.contact_id, owner.plan_id, None, version)
        return attrs.evolve(base, subscriptions=(report,))

    def _renewal(self, base: GatewayEvent, invoice: Fields, subscription_id: str) -> GatewayEvent:
        subscription = self._look(self.vendor.subscription, subscription_id, "subscription")
        ours = self._ours(subscription) if subscription is not None else None
        if subscription is None or ours is None:
            return base
        contact_id, plan_id = ours
        charge_failed = base.event_type == CHARGE_FAILED
        version = micros(invoice.instant("updated_at"))
        amount = invoice_amount(invoice)
        renewal = RenewalInvoiceReport(
            contact_id=contact_id,
            vendor_invoice_id=invoice.text("id"),
            subscription_id=subscription_id,
            plan_id=plan_id,
            amount=amount,
            status=invoice.status("status", RENEWAL_INVOICE_STATUS),
            version=version,
            issued_on=invoice.instant("created_at").date(),
            due_on=invoice_due(invoice),
            gateway=self.gateway,
        )
        arrears = arrears_since(invoice, charge_failed=charge_failed)
        paid = RENEWAL_PAYMENT_STATUS.get(invoice.text("status"))
        status = PaymentStatus.FAILED if arrears is not None and charge_failed else paid
        payments: tuple[PaymentSnapshot, ...] = ()
        if status is not None:
            payments = (
                PaymentSnapshot(
                    renewal.vendor_invoice_id,
                    renewal.invoice_id,
                    invoice_method(invoice),
                    status,
                    amount,
                    version,
                    self.gateway,
                ),
            )
        reports: tuple[SubscriptionReport, ...] = ()
        if arrears is not None or paid is not None:  # a pending charge says nothing yet
            reports = (self._report(subscription, contact_id, plan_id, arrears, version),)
        return attrs.evolve(base, renewals=(renewal,), payments=payments, subscriptions=reports)

    # -- saved cards ---------------------------------------------------------------------

    def _saved_card(self, base: GatewayEvent, card: Fields) -> GatewayEvent:
        """A card on file of one of our contacts' customer profiles (its ``reference_id``
        our contact id), enabled: that contact's saved method, versioned by the event's
        time (the service keeps it only where the contact may save one, seed 003)."""
        customer_id = card.optional_text("customer_id")
        contact_id = self._contact_of(customer_id) if customer_id else None
        if not contact_id or not card.flag("enabled", default=True):
            return base
        method = saved_card(card, contact_id, version=micros(base.occurred_at))
        return attrs.evolve(base, saved_methods=(method,))

    def _removed_card(self, base: GatewayEvent, card: Fields) -> GatewayEvent:
        """A card on file disabled or forgotten: no longer anyone's saved method, whoever's
        it was. Its customer's ``reference_id`` names our contact, when the customer is
        still there to ask (a forgotten card's customer may be gone too)."""
        if card.flag("enabled", default=False):
            return base  # still usable: not a removal
        customer_id = card.optional_text("customer_id")
        contact_id = self._contact_of(customer_id) if customer_id else None
        version = micros(base.occurred_at)
        removal = SavedMethodRemoval(gateway=self.gateway, method_id=card.text("id"),
                                     version=version, contact_id=contact_id)  # fmt: skip
        return attrs.evolve(base, removed_methods=(removal,))

    # -- subscriptions -------------------------------------------------------------------

    def _ours(self, subscription: Fields) -> tuple[str, str] | None:
        """The contact and plan of one of our subscriptions, else ``None``."""
        plan_id = self.plans.get(subscription.optional_text("plan_variation_id") or "")
        if plan_id is None:
            return None
        contact_id = self._contact_of(subscription.text("customer_id"))
        return (contact_id, plan_id) if contact_id else None

    def _subscription_event(self, base: GatewayEvent, subscription: Fields) -> GatewayEvent:
        ours = self._ours(subscription)
        if ours is None:
            return base
        newest = next(iter(subscription.texts("invoice_ids")), None)  # newest first
        invoice = self._look(self.vendor.invoice, newest, "invoice") if newest else None
        arrears = arrears_since(invoice) if invoice is not None else None
        report = self._report(subscription, *ours, arrears, micros(base.occurred_at))
        return attrs.evolve(base, subscriptions=(report,))

    def _report(
        self,
        subscription: Fields,
        contact_id: str,
        plan_id: str,
        arrears: date | None,
        version: int,
    ) -> SubscriptionReport:
        status = subscription.status("status", SUBSCRIPTION_STATUS)
        if status is SubscriptionStatus.ACTIVE and arrears is not None:
            status = SubscriptionStatus.PAST_DUE
        snapshot = SubscriptionSnapshot(
            subscription_id=subscription.text("id"),
            plan_id=plan_id,
            status=status,
            version=version,
            created=int(subscription.instant("created_at").timestamp()),
            renewal_failed_at=start_of(arrears) if arrears is not None else None,
            gateway=self.gateway,
        )
        return SubscriptionReport(contact_id, snapshot)
