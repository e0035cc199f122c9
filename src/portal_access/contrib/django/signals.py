"""The portal's domain events as Django signals, sent after the transaction commits.

Each signal is named after its event's topic and sent with the
:class:`~portal_access.PortalAccess` as sender and the stored event as ``message``
(:class:`~portal_access.OutboxMessage`: ``id``, ``occurred_at``, ``topic``,
``payload``). Events go through the outbox: they are stored in the use case's own
transaction and sent once it has committed (when the host runs the use case inside its
own ``transaction.atomic``, such as ``ATOMIC_REQUESTS``, once that outer block commits,
and never when it rolls back). Delivery is at least once: deduplicate on
``message.id``.

An event is written to the outbox only while something receives it: connect receivers
before the requests (or the ``portal_access_deliver_outbox`` worker) that should see
them, e.g. in your ``AppConfig.ready``. Email requests are not signalled (their bodies
carry single-use links).

::

    from django.dispatch import receiver
    from portal_access.contrib.django import signals

    @receiver(signals.onboarding_due)
    def start_onboarding(sender, message, **kwargs):
        Onboarding.objects.get_or_create(contact_id=message.payload["contact_id"])
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from portal_access import OutboxMessage, PortalAccess

__all__ = [
    "PortalSignal",
    "access_changed",
    "by_topic",
    "connect_portal",
    "contact_created",
    "contact_registered",
    "invitation_sent",
    "invoice_created",
    "invoice_paid",
    "invoice_voided",
    "onboarding_due",
    "payment_recorded",
    "portal_signals",
    "subscription_changed",
    "webhook_processed",
]


class PortalSignal(Signal):
    """A Django signal carrying one topic's events (``signal.topic``); connecting the
    first receiver makes every built portal store that topic's events."""

    def __init__(self, topic: str, doc: str) -> None:
        super().__init__()
        self.topic = topic
        self.__doc__ = doc

    def connect(
        self,
        receiver: Any,
        sender: Any = None,
        weak: bool = True,
        dispatch_uid: Any = None,
    ) -> None:
        """Connect ``receiver`` (as :meth:`django.dispatch.Signal.connect`)."""
        super().connect(receiver, sender, weak, dispatch_uid)
        for portal in list(_PORTALS):
            _subscribe(portal, self)

    def __repr__(self) -> str:
        return f"<PortalSignal {self.topic}>"


contact_created = PortalSignal("contact.created", "A contact was created.")
invitation_sent = PortalSignal("invitation.sent", "A portal invitation was mailed.")
contact_registered = PortalSignal("contact.registered", "A contact set their password.")
invoice_created = PortalSignal("invoice.created", "An invoice was created.")
invoice_paid = PortalSignal("invoice.paid", "An invoice was paid (ACH: once cleared).")
invoice_voided = PortalSignal("invoice.voided", "Staff cancelled a required payment.")
payment_recorded = PortalSignal("payment.recorded", "A payment changed at the gateway.")
subscription_changed = PortalSignal("subscription.changed", "A subscription changed.")
access_changed = PortalSignal("access.changed", "A contact's access level changed.")
onboarding_due = PortalSignal("onboarding.due", "Start the contact's onboarding, once.")
webhook_processed = PortalSignal("webhook.processed", "A gateway event was handled.")


def portal_signals() -> tuple[PortalSignal, ...]:
    """Every portal signal."""
    return tuple(value for value in globals().values() if isinstance(value, PortalSignal))


#: Each signal by the topic of the events it carries.
by_topic: dict[str, PortalSignal] = {signal.topic: signal for signal in portal_signals()}

#: The built portals, and the topics each already delivers to its signal.
#: (the database alias its transactions run on, the topics already subscribed).
_PORTALS: weakref.WeakKeyDictionary[PortalAccess, tuple[str, set[str]]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()
_sending = threading.local()


def _subscribe(portal: PortalAccess, signal: PortalSignal) -> None:
    with _lock:
        found = _PORTALS.get(portal)
        if found is None or signal.topic in found[1]:
            return
        using, topics = found
        topics.add(signal.topic)

    def send(message: OutboxMessage) -> None:
        # A receiver that calls the portal runs a use case, which delivers what the
        # outbox holds, this message included (it is marked delivered only after the
        # receivers return): sending it again from inside its own delivery would recurse.
        busy: set[str] = _sending.__dict__.setdefault("ids", set())
        if message.id in busy:
            return
        busy.add(message.id)

        def now() -> None:
            try:
                signal.send(sender=portal, message=message)
            finally:
                busy.discard(message.id)

        try:
            transaction.on_commit(now, using=using)  # at once outside atomic
        except BaseException:
            busy.discard(message.id)
            raise

    portal.subscribe(send, topic=signal.topic)


def connect_portal(portal: PortalAccess, *, using: str = "default") -> None:
    """Send ``portal``'s events to the signals with receivers, now and as they connect,
    each once the transaction on the ``using`` database commits."""
    with _lock:
        _PORTALS.setdefault(portal, (using, set()))
    for signal in portal_signals():
        if signal.has_listeners():
            _subscribe(portal, signal)
