"""Domain events: what happened, written to the outbox in the same unit of work.

Hosts subscribe to them (onboarding is the host's flow, started by ``OnboardingDue``);
the mailer is fed from them too. Every event reaches subscribers at least once with a
stable ``id``, so a host can deduplicate.

>>> event = OnboardingDue(contact_id="c-1", flow="welcome")
>>> event.topic
'onboarding.due'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attrs

from portal_access._domain.audit import AuditRecord
from portal_access._domain.validation import aware_datetime, identifier, instance_of, int64

__all__ = [
    "TOPICS",
    "AccessChanged",
    "AuditRecorded",
    "ContactCreated",
    "ContactRegistered",
    "DocumentCommented",
    "DomainEvent",
    "EmailRequested",
    "InvitationSent",
    "InvoiceCreated",
    "InvoicePaid",
    "InvoiceVoided",
    "OnboardingDue",
    "OutboxMessage",
    "PaymentDuplicated",
    "PaymentRecorded",
    "PurchaseOrderPlaced",
    "SavedPaymentMethodRemoved",
    "SubscriptionChanged",
    "SubscriptionDuplicated",
    "WebhookProcessed",
]


@attrs.frozen
class DomainEvent:
    """Base of every event; ``topic`` is its stable name."""

    topic: ClassVar[str] = "event"


@attrs.frozen
class ContactCreated(DomainEvent):
    """A contact was created (by a kickoff form, staff, or self-registration)."""

    topic: ClassVar[str] = "contact.created"
    contact_id: str
    account_id: str


@attrs.frozen
class InvitationSent(DomainEvent):
    """A portal invitation (a set-password link) was issued and mailed."""

    topic: ClassVar[str] = "invitation.sent"
    contact_id: str
    email: str
    source: str
    expires_at: str


@attrs.frozen
class ContactRegistered(DomainEvent):
    """The contact set a password of their own (seed 000: registration)."""

    topic: ClassVar[str] = "contact.registered"
    contact_id: str


@attrs.frozen
class DocumentCommented(DomainEvent):
    """A comment was posted on a document (seed 004). Staff watch for ``author_kind``
    ``"contact"``; a staff comment also mails the contacts who see the document."""

    topic: ClassVar[str] = "document.commented"
    comment_id: str
    document_kind: str
    document_id: str
    account_id: str
    author_kind: str
    author_id: str
    number: int


@attrs.frozen
class InvoiceCreated(DomainEvent):
    """An invoice was created; ``total`` in minor units of ``currency``."""

    topic: ClassVar[str] = "invoice.created"
    invoice_id: str
    number: str
    contact_id: str | None
    total: int
    currency: str


@attrs.frozen
class PurchaseOrderPlaced(DomainEvent):
    """A contact placed a purchase order from the catalog (seed 004); it became the
    invoice ``invoice_id``; ``total`` in minor units of ``currency``."""

    topic: ClassVar[str] = "purchase_order.placed"
    order_id: str
    contact_id: str
    invoice_id: str
    total: int
    currency: str


@attrs.frozen
class InvoicePaid(DomainEvent):
    """An invoice was paid in full (for ACH: once the payment cleared)."""

    topic: ClassVar[str] = "invoice.paid"
    invoice_id: str
    contact_id: str | None


@attrs.frozen
class InvoiceVoided(DomainEvent):
    """An invoice was voided (seed 000: staff "cancel required payment")."""

    topic: ClassVar[str] = "invoice.voided"
    invoice_id: str
    contact_id: str | None
    staff_id: str | None


@attrs.frozen
class PaymentRecorded(DomainEvent):
    """A payment's state changed at the gateway (processing, succeeded, failed...)."""

    topic: ClassVar[str] = "payment.recorded"
    gateway: str
    payment_id: str
    invoice_id: str
    status: str
    amount: int
    currency: str


@attrs.frozen
class PaymentDuplicated(DomainEvent):
    """A payment brought more than its invoice asked (a second payment of one invoice):
    ``surplus`` (minor units of ``currency``) is to be refunded. Emitted once when the
    payment becomes surplus; the account summary lists it until it is refunded.
    ``refund_automatically``: the ``refund_duplicates`` policy refunds it after commit."""

    topic: ClassVar[str] = "payment.duplicate"
    gateway: str
    payment_id: str
    invoice_id: str
    contact_id: str | None
    amount: int
    surplus: int
    currency: str
    refund_automatically: bool


@attrs.frozen
class SubscriptionDuplicated(DomainEvent):
    """A second live subscription of the contact's tied plan: access follows the newest
    (``kept_subscription_id``); this one bills twice and is to be cancelled.
    ``cancel_automatically``: the ``refund_duplicates`` policy cancels it after commit."""

    topic: ClassVar[str] = "subscription.duplicate"
    gateway: str
    subscription_id: str
    contact_id: str
    plan_id: str
    kept_subscription_id: str
    cancel_automatically: bool


@attrs.frozen
class AuditRecorded(DomainEvent):
    """A staff action or an access change, as an audit trail entry (``record``)."""

    topic: ClassVar[str] = "audit.recorded"
    record: AuditRecord


@attrs.frozen
class SubscriptionChanged(DomainEvent):
    """A subscription tied to paid access changed state."""

    topic: ClassVar[str] = "subscription.changed"
    gateway: str
    subscription_id: str
    contact_id: str
    status: str


@attrs.frozen
class SavedPaymentMethodRemoved(DomainEvent):
    """The contact's saved payment method was removed at its gateway (the payer deleted
    it there, or the vendor disabled it): autopay no longer charges it, and the contact
    has no method on file until they save another (seed 003)."""

    topic: ClassVar[str] = "saved_method.removed"
    contact_id: str
    gateway: str
    method_id: str


@attrs.frozen
class AccessChanged(DomainEvent):
    """A contact's access level changed (granted, restricted, revoked)."""

    topic: ClassVar[str] = "access.changed"
    contact_id: str
    previous_level: str
    level: str
    reason: str


@attrs.frozen
class OnboardingDue(DomainEvent):
    """Start the host's onboarding flow: fired once, after the invoice is paid or waived."""

    topic: ClassVar[str] = "onboarding.due"
    contact_id: str
    flow: str


@attrs.frozen
class EmailRequested(DomainEvent):
    """An email to send; the mailer receives it from the outbox after commit.

    The body holds single-use links; the outbox clears it once delivered, and it is
    never in a repr (nor, so, in a log line that prints the event).
    """

    topic: ClassVar[str] = "email.requested"
    kind: str
    to: tuple[str, ...]
    subject: str
    text: str = attrs.field(repr=False)
    html: str = attrs.field(repr=False)
    contact_id: str | None = None


@attrs.frozen
class WebhookProcessed(DomainEvent):
    """A verified gateway event was applied (or acknowledged and ignored, with why)."""

    topic: ClassVar[str] = "webhook.processed"
    gateway: str
    event_id: str
    event_type: str
    outcome: str


@attrs.frozen
class OutboxMessage:
    """An event as stored in the outbox: a stable id, when, the topic and the payload.

    Args:
        id: stable id; subscribers deduplicate on it.
        occurred_at: when the unit of work that wrote it ran.
        topic: the event's topic.
        payload: the event's fields, JSON-ready (not in the repr: an email's payload
            holds single-use links).
        delivered: delivered to every subscriber.
        attempts: how many delivery attempts failed so far.
    """

    id: str = attrs.field(validator=identifier)
    occurred_at: datetime = attrs.field(validator=aware_datetime)
    topic: str = attrs.field(validator=identifier)
    payload: dict[str, Any] = attrs.field(validator=instance_of(dict), repr=False)
    delivered: bool = attrs.field(default=False, validator=instance_of(bool))
    attempts: int = attrs.field(default=0, validator=int64)


#: Every event's topic: what :class:`~portal_access.PortalAccess`'s ``topics`` may name.
TOPICS: frozenset[str] = frozenset(
    event.topic for event in DomainEvent.__subclasses__() if event.topic != DomainEvent.topic
)
