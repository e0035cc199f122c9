"""The sandbox vendor's books: its objects, one version counter, its events and webhooks.

:class:`SandboxVendor` is what a real vendor keeps on its servers. Every change of an
object takes the next value of one vendor-wide counter as its ``version`` and emits one
event; every event is kept (``list_events``, ``redeliver``) and queued as a webhook
delivery. :class:`~portal_access.gateways.sandbox._simulator.SandboxSimulator` adds what
the payer and the vendor do; :class:`~portal_access.gateways.sandbox.SandboxGateway` adds
the gateway adapter.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import attrs

from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.errors import ConfigurationError, GatewayRejectedError
from portal_access._domain.payments import PaymentStatus
from portal_access.gateways.sandbox import _webhooks as webhooks
from portal_access.gateways.sandbox._mapping import payment_status_text
from portal_access.gateways.sandbox._objects import (
    Invoice,
    Payment,
    SequentialIds,
    Session,
    Subscription,
)
from portal_access.ports import Clock, TokenSource

__all__ = ["SESSION_LIFETIME", "SandboxVendor"]

#: How long a hosted page takes payment (Stripe Checkout's default).
SESSION_LIFETIME = timedelta(hours=24)


class _Ids(Protocol):
    def new_id(self, prefix: str) -> str: ...


class SandboxVendor:
    """The vendor's in-memory books and webhook deliveries (see the module docstring).

    Args:
        webhook_secret: the signing secret, or several while rotating (any may match).
        clock: the time (event ``created``, periods, tolerance); never read elsewhere.
        ids: where ids come from; ``None``: counters (``cs_sbx_0001``, ``py_sbx_0001``...).
        name: the gateway's name.
        tolerance: how far a signature's timestamp may be from now.
        base_url: the hosted pages' base URL.

    Raises:
        ConfigurationError: no secret, a blank one, a blank name or a negative tolerance.
    """

    def __init__(
        self,
        *,
        webhook_secret: str | Sequence[str],
        clock: Clock,
        ids: TokenSource | None = None,
        name: str = "sandbox",
        tolerance: timedelta = timedelta(minutes=5),
        base_url: str = "https://sandbox.portal-access.invalid",
    ) -> None:
        secrets = (webhook_secret,) if isinstance(webhook_secret, str) else tuple(webhook_secret)
        if not secrets or not all(s.strip() for s in secrets):
            raise ConfigurationError("needs one or more non-blank secrets", field="webhook_secret")
        if not name.strip():
            raise ConfigurationError("must not be blank", field="name")
        if tolerance < timedelta(0):
            raise ConfigurationError("must not be negative", field="tolerance", value=tolerance)
        self._secrets, self._clock, self._name = secrets, clock, name
        self._ids: _Ids = ids if ids is not None else SequentialIds()
        self._tolerance, self._base_url = tolerance, base_url.rstrip("/")
        self._version = 0
        self._sessions: dict[str, Session] = {}
        self._by_key: dict[str, str] = {}
        self._customers: dict[str, str] = {}
        self._payments: dict[str, Payment] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._invoices: dict[str, Invoice] = {}
        self._events: dict[str, tuple[int, bytes]] = {}
        self._done: set[tuple[str, str]] = set()
        self._queue = webhooks.DeliveryQueue(self._sign)

    # -- webhook deliveries --------------------------------------------------------------

    def attach(self, handler: webhooks.WebhookHandler | None) -> None:
        """Hand every *new* delivery to ``handler`` (``handler(headers, body)``) as soon as
        the action that emitted it is done, in order; ``None`` detaches. Deliveries
        already queued stay queued (use :meth:`deliver`)."""
        self._queue.attach(handler)

    def pending_deliveries(self) -> tuple[webhooks.Delivery, ...]:
        """The queued deliveries as ``(headers, body)``, signed now; the queue is unchanged."""
        return self._queue.pending()

    def deliver(
        self,
        handler: webhooks.WebhookHandler,
        *,
        duplicate: int = 1,
        rng: random.Random | None = None,
    ) -> list[object]:
        """Empty the queue into ``handler``: every delivery ``duplicate`` times, shuffled
        with ``rng`` when given (duplicated, out-of-order webhooks). Returns the handler's
        results in call order.

        Raises:
            GatewayRejectedError: ``duplicate`` is less than 1.
        """
        if duplicate < 1:
            raise self._reject("duplicate must be at least 1", "duplicate")
        return self._queue.deliver(handler, duplicate=duplicate, rng=rng)

    def redeliver(self, event_id: str, handler: webhooks.WebhookHandler) -> object:
        """Send an already emitted event again, newly signed (vendors retry); returns
        what ``handler`` returned.

        Raises:
            GatewayRejectedError: no such event.
        """
        if event_id not in self._events:
            raise self._reject(f"no event {event_id!r}", "no_such_event")
        body = self._events[event_id][1]
        return handler(self._sign(body), body)

    def customers(self) -> dict[str, str]:
        """The vendor's customers: our contact id -> the vendor's customer id."""
        return dict(self._customers)

    def subscription_ids(self, contact_id: str) -> tuple[str, ...]:
        """The contact's subscriptions at the vendor, oldest first (any status)."""
        mine = [s for s in self._subscriptions.values() if s.contact_id == contact_id]
        return tuple(s.id for s in sorted(mine, key=lambda s: s.created))

    # -- the books -----------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock.now()

    def _next_version(self) -> int:
        self._version += 1
        return self._version

    def _sign(self, body: bytes) -> dict[str, str]:
        timestamp = int(self._now().timestamp())
        return webhooks.signed_headers(body, secrets=self._secrets, timestamp=timestamp)

    def _reject(self, message: str, code: str) -> GatewayRejectedError:
        return GatewayRejectedError(message, gateway=self._name, code=code)

    def _emit(self, event_type: str, obj: dict[str, object]) -> None:
        event_id = self._ids.new_id("evt_sbx_")
        created = int(self._now().timestamp())
        body = webhooks.event_body(
            event_id=event_id, event_type=event_type, created=created, obj=obj
        )
        self._events[event_id] = (created, body)
        self._queue.push(body)

    def _session(self, session_id: str) -> Session:
        if session_id not in self._sessions:
            raise self._reject(f"no checkout session {session_id!r}", "no_such_session")
        return self._sessions[session_id]

    def _payment(self, payment_id: str, *statuses: PaymentStatus) -> Payment:
        payment = self._payments.get(payment_id)
        if payment is None:
            raise self._reject(f"no payment {payment_id!r}", "no_such_payment")
        if statuses and payment.status not in statuses:
            raise self._reject(f"payment {payment_id} is {payment.status.value}", "payment_state")
        return payment

    def _subscription(self, subscription_id: str) -> Subscription:
        if subscription_id not in self._subscriptions:
            raise self._reject(f"no subscription {subscription_id!r}", "no_such_subscription")
        return self._subscriptions[subscription_id]

    def _put_payment(
        self, payment: Payment, event_type: str | None = None, **changes: Any
    ) -> Payment:
        """Store ``payment`` with ``changes`` and a new version; emit its event."""
        payment = attrs.evolve(payment, **changes, version=self._next_version())
        self._payments[payment.id] = payment
        self._emit(
            event_type or f"payment.{payment_status_text(payment.status)}", payment.to_json()
        )
        return payment

    def _put_subscription(self, subscription: Subscription, **changes: Any) -> Subscription:
        """Store ``subscription`` with ``changes`` and a new version; emit its event."""
        subscription = attrs.evolve(subscription, **changes, version=self._next_version())
        self._subscriptions[subscription.id] = subscription
        self._emit("subscription.updated", subscription.to_json())
        return subscription

    def _put_invoice(self, invoice: Invoice, **changes: Any) -> Invoice:
        """Store ``invoice`` with ``changes`` and a new version; emit its event."""
        invoice = attrs.evolve(invoice, **changes, version=self._next_version())
        self._invoices[invoice.id] = invoice
        self._emit("invoice.updated", invoice.to_json())
        return invoice

    def _open_invoices(self, subscription_id: str) -> list[Invoice]:
        return [
            invoice
            for invoice in self._invoices.values()
            if invoice.subscription_id == subscription_id and invoice.status is InvoiceStatus.OPEN
        ]

    def _void_open_invoices(self, subscription_id: str) -> None:
        for invoice in self._open_invoices(subscription_id):
            self._put_invoice(invoice, status=InvoiceStatus.VOID)
