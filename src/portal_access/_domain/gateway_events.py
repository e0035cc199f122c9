"""What a gateway reports: one verified webhook (or reconciled event), normalised.

A gateway adapter verifies the vendor's signature, then maps the vendor object in the
event to *snapshots* of the objects we care about. The service applies the snapshots'
state, never the event's verb, so the same report twice, or an older one after a newer
one, changes nothing (docs/rules.md "Webhooks").

>>> from datetime import datetime, timezone
>>> event = GatewayEvent(gateway="stripe", event_id="evt_1", event_type="ping",
...                      occurred_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
>>> event.actionable
False
"""

from __future__ import annotations

from datetime import date, datetime

import attrs

from portal_access._domain.autopay import SavedPaymentMethod
from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentSnapshot
from portal_access._domain.subscriptions import SubscriptionSnapshot
from portal_access._domain.validation import (
    aware_datetime,
    calendar_date,
    identifier,
    instance_of,
    int64,
    optional,
    text,
    tuple_of,
)

#: The prefix of :func:`renewal_invoice_id` ids (never drawn by the id port).
RENEWAL_PREFIX = "rnw_"
#: The prefix of :func:`resubscribe_invoice_id` ids (never drawn by the id port).
RESUBSCRIBE_PREFIX = "rsb_"

__all__ = [
    "RENEWAL_PREFIX",
    "RESUBSCRIBE_PREFIX",
    "GatewayEvent",
    "RenewalInvoiceReport",
    "SavedMethodRemoval",
    "SubscriptionReport",
    "renewal_invoice_id",
    "resubscribe_invoice_id",
    "resubscribed_invoice_id",
]


def renewal_invoice_id(gateway: str, vendor_invoice_id: str) -> str:
    """Our id for an invoice the gateway raised for a subscription renewal.

    It is derived, not drawn, so a renewal reported twice maps to one invoice row and
    its payments can name it before we have seen the invoice itself.

    >>> renewal_invoice_id("stripe", "in_123")
    'rnw_stripe_in_123'
    """
    return f"{RENEWAL_PREFIX}{gateway}_{vendor_invoice_id}"


def resubscribe_invoice_id(invoice_id: str) -> str:
    """What a re-subscribe page names as its invoice: the required invoice, marked.

    Gateways echo it like any invoice id (it tells them the page is ours), and the
    payment it brings is the subscription's, never a second payment of the required
    invoice (seed 000: that invoice is paid once).

    >>> resubscribe_invoice_id("inv_1"), resubscribed_invoice_id("rsb_inv_1")
    ('rsb_inv_1', 'inv_1')
    >>> resubscribed_invoice_id("inv_1") is None
    True
    """
    return f"{RESUBSCRIBE_PREFIX}{invoice_id}"


def resubscribed_invoice_id(invoice_id: str) -> str | None:
    """The required invoice a :func:`resubscribe_invoice_id` id marks, else ``None``."""
    if invoice_id.startswith(RESUBSCRIBE_PREFIX):
        return invoice_id.removeprefix(RESUBSCRIBE_PREFIX)
    return None


@attrs.frozen
class SubscriptionReport:
    """A subscription snapshot with the contact it belongs to (from the vendor's metadata)."""

    contact_id: str = attrs.field(validator=identifier)
    snapshot: SubscriptionSnapshot = attrs.field(validator=instance_of(SubscriptionSnapshot))


@attrs.frozen
class RenewalInvoiceReport:
    """An invoice the gateway raised for a renewal (seed 000: later invoices carry only the
    subscription charge).

    Args:
        contact_id: whose subscription it renews.
        vendor_invoice_id: the vendor's invoice id.
        subscription_id: the vendor's subscription id.
        plan_id: our plan.
        amount: the invoice total.
        status: open, paid or void, as the vendor says now.
        version: the vendor's ordering for this invoice; higher is newer.
        issued_on: the day the vendor raised it.
        due_on: the day it is due.
        gateway: the reporting gateway.
    """

    contact_id: str = attrs.field(validator=identifier)
    vendor_invoice_id: str = attrs.field(validator=identifier)
    subscription_id: str = attrs.field(validator=identifier)
    plan_id: str = attrs.field(validator=identifier)
    amount: Money = attrs.field(validator=instance_of(Money))
    status: InvoiceStatus = attrs.field(validator=instance_of(InvoiceStatus))
    version: int = attrs.field(validator=int64)
    issued_on: date = attrs.field(validator=calendar_date)
    due_on: date = attrs.field(validator=calendar_date)
    gateway: str = attrs.field(validator=identifier)

    @property
    def invoice_id(self) -> str:
        """Our id for this invoice (see :func:`renewal_invoice_id`)."""
        return renewal_invoice_id(self.gateway, self.vendor_invoice_id)


@attrs.frozen
class SavedMethodRemoval:
    """A payment method the gateway no longer keeps: the payer deleted it at the vendor,
    or the vendor disabled or forgot it (Stripe ``payment_method.detached``, Square
    ``card.disabled`` / ``card.forgotten``, PayPal ``VAULT.PAYMENT-TOKEN.DELETED``).

    A removal is final: no vendor revives a detached, disabled or deleted method, so it
    wins over any report of that method saved, older or newer; it never touches another
    method (the contact may have saved a new one since).

    Args:
        gateway: the reporting gateway.
        method_id: the gateway's id of the method (what a saved method names).
        version: the vendor's ordering (the event's time), for logs and hosts.
        contact_id: whose it was, where the payload says (else the service finds the
            contact holding the method).

    >>> SavedMethodRemoval(gateway="stripe", method_id="pm_1", version=1).contact_id is None
    True
    """

    gateway: str = attrs.field(validator=identifier)
    method_id: str = attrs.field(validator=identifier)
    version: int = attrs.field(validator=int64)
    contact_id: str | None = attrs.field(default=None, validator=optional(identifier))


@attrs.frozen
class GatewayEvent:
    """One verified vendor event, reduced to the snapshots we act on.

    Args:
        gateway: the gateway's name.
        event_id: the vendor's event id; processed exactly once.
        event_type: the vendor's type, for logs (never used to decide what to do).
        occurred_at: when the vendor says it happened.
        payments: payment snapshots (against our invoices, by metadata).
        subscriptions: subscription snapshots with their contacts.
        renewals: renewal invoices the vendor raised.
        saved_methods: payment methods a contact saved (a setup page completed).
        removed_methods: payment methods the gateway no longer keeps.
        checkout_session_id: the hosted page the event completes, if any.
    """

    gateway: str = attrs.field(validator=identifier)
    event_id: str = attrs.field(validator=identifier)
    event_type: str = attrs.field(validator=text)
    occurred_at: datetime = attrs.field(validator=aware_datetime)
    payments: tuple[PaymentSnapshot, ...] = attrs.field(
        default=(), validator=tuple_of(PaymentSnapshot)
    )
    subscriptions: tuple[SubscriptionReport, ...] = attrs.field(
        default=(), validator=tuple_of(SubscriptionReport)
    )
    renewals: tuple[RenewalInvoiceReport, ...] = attrs.field(
        default=(), validator=tuple_of(RenewalInvoiceReport)
    )
    checkout_session_id: str | None = attrs.field(default=None, validator=optional(identifier))
    saved_methods: tuple[SavedPaymentMethod, ...] = attrs.field(
        default=(), validator=tuple_of(SavedPaymentMethod)
    )
    removed_methods: tuple[SavedMethodRemoval, ...] = attrs.field(
        default=(), validator=tuple_of(SavedMethodRemoval)
    )

    @property
    def actionable(self) -> bool:
        """Whether it reports anything we act on (other types are acknowledged, ignored)."""
        return bool(
            self.payments
            or self.subscriptions
            or self.renewals
            or self.saved_methods
            or self.removed_methods
        )
