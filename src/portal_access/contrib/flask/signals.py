"""The portal's domain events as blinker signals, in one namespace.

Each signal is named after the event's topic and sent after the unit of work that
emitted the event commits, with the app as sender and the stored event as
``message`` (:class:`~portal_access.OutboxMessage`: ``id``, ``occurred_at``, ``topic``,
``payload``). Delivery is at least once: deduplicate on ``message.id``.

An event is written to the outbox only while something receives it, so a signal
costs nothing until a receiver connects; connect receivers before the requests (or
the ``flask portal-access deliver-outbox`` worker) that should see them.
Email requests are not signalled (their bodies carry single-use links).

>>> from portal_access.contrib.flask import signals
>>> @signals.onboarding_due.connect
... def start_onboarding(app, message):
...     print("onboard", message.payload["contact_id"])
>>> signals.by_topic["onboarding.due"] is signals.onboarding_due
True
>>> _ = signals.onboarding_due.disconnect(start_onboarding)
"""

from __future__ import annotations

from blinker import NamedSignal, Namespace

__all__ = [
    "access_changed",
    "by_topic",
    "contact_created",
    "contact_registered",
    "invitation_sent",
    "invoice_created",
    "invoice_paid",
    "invoice_voided",
    "namespace",
    "onboarding_due",
    "payment_recorded",
    "portal_signals",
    "subscription_changed",
    "webhook_processed",
]

#: The namespace every portal-access signal lives in.
namespace = Namespace()

contact_created = namespace.signal("contact.created", "A contact was created.")
invitation_sent = namespace.signal("invitation.sent", "A portal invitation was mailed.")
contact_registered = namespace.signal("contact.registered", "A contact set their password.")
invoice_created = namespace.signal("invoice.created", "An invoice was created.")
invoice_paid = namespace.signal("invoice.paid", "An invoice was paid (ACH: once cleared).")
invoice_voided = namespace.signal("invoice.voided", "Staff cancelled a required payment.")
payment_recorded = namespace.signal("payment.recorded", "A payment changed at the gateway.")
subscription_changed = namespace.signal("subscription.changed", "A subscription changed.")
access_changed = namespace.signal("access.changed", "A contact's access level changed.")
onboarding_due = namespace.signal("onboarding.due", "Start the contact's onboarding, once.")
webhook_processed = namespace.signal("webhook.processed", "A gateway event was handled.")


def portal_signals() -> tuple[NamedSignal, ...]:
    """Every signal of the namespace."""
    return tuple(namespace.values())


#: Each signal by the topic of the events it carries.
by_topic: dict[str, NamedSignal] = {signal.name: signal for signal in portal_signals()}
