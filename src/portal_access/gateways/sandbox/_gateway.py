"""The sandbox gateway: a complete, in-process, deterministic payment vendor.

:class:`SandboxGateway` implements :class:`~portal_access.ports.PaymentGateway` like any
real adapter, and also plays the vendor and the payer (``pay``, ``settle_ach``,
``renew``...), emitting the signed webhooks a real vendor would, in order. Copy this
package (``gateway``, ``webhooks``, ``mapping``) to add a real processor.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

import attrs

from portal_access._domain.checkout import CheckoutRequest, CheckoutSession
from portal_access._domain.gateway_events import GatewayEvent
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.gateways.sandbox import _webhooks as webhooks
from portal_access.gateways.sandbox._objects import Session
from portal_access.gateways.sandbox._simulator import SandboxSimulator
from portal_access.gateways.sandbox._vendor import SESSION_LIFETIME

__all__ = ["SandboxGateway"]


class SandboxGateway(SandboxSimulator):
    """An in-process payment vendor and its gateway adapter, deterministic throughout.

    Args:
        webhook_secret: the signing secret, or several while rotating (any may match).
        clock: the time (event ``created``, periods, tolerance); never read elsewhere.
        ids: where ids come from; ``None``: counters (``cs_sbx_0001``, ``py_sbx_0001``...).
        name: the gateway's name.
        tolerance: how far a signature's timestamp may be from now.
        base_url: the hosted pages' base URL.

    Raises:
        ConfigurationError: no secret, a blank one, a blank name or a negative tolerance.

    Besides the :class:`~portal_access.ports.PaymentGateway` methods, the vendor's side
    (:class:`~portal_access.gateways.sandbox._simulator.SandboxSimulator`): ``pay``,
    ``settle_ach``, ``renew``, ``exhaust_retries``, ``dispute``, ``close_dispute``; and its
    webhook deliveries: ``attach``, ``pending_deliveries``, ``deliver``, ``redeliver``.

    >>> from datetime import UTC, datetime
    >>> from portal_access import InvoiceLine, Money
    >>> from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
    >>> class Clock:
    ...     def now(self): return datetime(2026, 3, 1, tzinfo=UTC)
    >>> gateway = SandboxGateway(webhook_secret="whsec_test", clock=Clock())
    >>> session = gateway.start_checkout(CheckoutRequest(
    ...     purpose=CheckoutPurpose.REQUIRED_PAYMENT, currency="USD", contact_id="c-1",
    ...     success_url="https://portal.example/paid", cancel_url="https://portal.example",
    ...     idempotency_key="checkout-inv-1", invoice_id="inv-1",
    ...     lines=(InvoiceLine("Setup fee", Money(25000, "USD")),)))
    >>> session.url
    'https://sandbox.portal-access.invalid/checkout/cs_sbx_0001'
    >>> gateway.pay(session.session_id)
    'py_sbx_0001'
    >>> headers, body = gateway.pending_deliveries()[0]
    >>> payment = gateway.parse_webhook(headers, body).payments[0]
    >>> payment.invoice_id, payment.status, payment.amount
    ('inv-1', <PaymentStatus.SUCCEEDED: 'succeeded'>, Money(amount=25000, currency='USD'))
    """

    # -- PaymentGateway ------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The gateway's name (``"sandbox"`` unless told otherwise)."""
        return self._name

    def start_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a hosted page; the same ``idempotency_key`` returns the same page.

        Raises:
            GatewayRejectedError: the key was used for a different request, or a plan
                without a contact (a subscription needs a customer).
        """
        known = self._by_key.get(request.idempotency_key)
        if known is not None:
            if self._sessions[known].request != request:
                raise self._reject("idempotency key reused for another request", "idempotency")
            return self._public(self._sessions[known])
        if request.plan is not None and request.contact_id is None:
            raise self._reject("a subscription needs a contact", "customer_required")
        customer_id = None
        if request.contact_id is not None:  # one customer per contact, never two
            if request.contact_id not in self._customers:
                self._customers[request.contact_id] = self._ids.new_id("cus_sbx_")
            customer_id = self._customers[request.contact_id]
        session = Session(
            self._ids.new_id("cs_sbx_"), request, customer_id, self._now() + SESSION_LIFETIME
        )
        self._sessions[session.id] = session
        self._by_key[request.idempotency_key] = session.id
        return self._public(session)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        """Verify the ``Sandbox-Signature`` over ``body``, then normalise the event.

        Raises:
            WebhookVerificationError: reason ``header``, ``signature``, ``timestamp`` or
                ``body`` (see :mod:`~portal_access.gateways.sandbox._webhooks`).
        """
        webhooks.verify_signature(
            headers, body, secrets=self._secrets, now=self._now(), tolerance=self._tolerance
        )
        return webhooks.parse_event(self._name, body)

    def list_events(self, *, since: datetime) -> Iterator[GatewayEvent]:
        """Emitted events created at or after ``since``, oldest first."""
        cutoff = since.timestamp()
        for created, body in sorted(self._events.values(), key=lambda item: item[0]):
            if created >= cutoff:
                yield webhooks.parse_event(self._name, body)

    def refund(self, payment_id: str, *, amount: Money | None, idempotency_key: str) -> None:
        """Refund the rest of a payment (``amount=None``) or part of it; a key seen before
        does nothing. Refunded in full: status ``refunded``; in part: still ``succeeded``.

        Raises:
            GatewayRejectedError: unknown or unsucceeded payment, or a wrong amount.
        """
        if ("refund", idempotency_key) in self._done:
            return
        payment = self._payment(payment_id, PaymentStatus.SUCCEEDED)
        remaining = payment.amount.amount - payment.amount_refunded
        value = remaining if amount is None else amount.amount
        if amount is not None and amount.currency != payment.amount.currency:
            raise self._reject(f"refund in {amount.currency} of a {payment.amount}", "currency")
        if not 0 < value <= remaining:
            raise self._reject(f"cannot refund {value} of {remaining} left", "amount")
        full = value == remaining
        self._put_payment(
            payment,
            amount_refunded=payment.amount_refunded + value,
            status=PaymentStatus.REFUNDED if full else PaymentStatus.SUCCEEDED,
            event_type="payment.refunded",
        )
        self._done.add(("refund", idempotency_key))
        self._queue.flush()

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> None:
        """Cancel now (a canceled one stays as it is); its open renewal invoice is voided.

        Raises:
            GatewayRejectedError: no such subscription.
        """
        if ("cancel", idempotency_key) in self._done:
            return
        subscription = self._subscription(subscription_id)
        if subscription.status is not SubscriptionStatus.CANCELED:
            self._put_subscription(subscription, status=SubscriptionStatus.CANCELED)
            self._void_open_invoices(subscription_id)
        self._done.add(("cancel", idempotency_key))
        self._queue.flush()

    def expire_checkout(self, session_id: str) -> None:
        """Close an open page (emits ``checkout.expired``); closed or completed: no-op.

        Raises:
            GatewayRejectedError: no such page.
        """
        session = self._session(session_id)
        if session.status == "open":
            self._sessions[session_id] = attrs.evolve(session, status="expired")
            obj = {"object": "checkout_session", "id": session_id, "status": "expired"}
            self._emit("checkout.expired", {**obj, "version": self._next_version()})
            self._queue.flush()

    def _public(self, session: Session) -> CheckoutSession:
        url = f"{self._base_url}/checkout/{session.id}"
        return CheckoutSession(self._name, session.id, url, session.expires_at)
