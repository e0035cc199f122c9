"""The sandbox gateway: :class:`~portal_access.ports.PaymentGateway` on the sandbox vendor.

It reaches the vendor only through :class:`SandboxApi`, as a real gateway reaches its
vendor only through the vendor's SDK client: our values go out in the vendor's terms
(:mod:`._checkout`), the vendor's JSON comes back through the kit's
:class:`~portal_access.gateways._kit.Fields` (:mod:`._mapping`), and its refusals
become our errors at this edge (:mod:`._errors`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from portal_access._domain.autopay import SavedMethodCharge
from portal_access._domain.checkout import CheckoutRequest, CheckoutSession
from portal_access._domain.gateway_events import GatewayEvent
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentSnapshot
from portal_access.gateways._kit import DEFAULT_TOLERANCE, Fields, WebhookSettings
from portal_access.gateways.sandbox import _webhooks as webhooks
from portal_access.gateways.sandbox._checkout import checkout_params, checkout_session
from portal_access.gateways.sandbox._errors import answer
from portal_access.gateways.sandbox._mapping import event_from, payment_from
from portal_access.ports import Clock

__all__ = ["SandboxApi", "SandboxGateway"]

Json = Mapping[str, Any]


class SandboxApi(Protocol):
    """The sandbox vendor's API, as its SDK client would offer it: JSON objects in and
    out, a refusal answered ``{"error": {"type", "code", "message"}}`` (see
    :mod:`._errors`). :class:`~portal_access.testing.sandbox.SandboxVendor` implements it."""

    def create_checkout_session(self, params: Json, *, idempotency_key: str) -> Json:
        """Open a hosted page (``params``: :func:`._checkout.checkout_params`); the same
        key with the same params answers the same page."""

    def expire_checkout_session(self, session_id: str) -> Json:
        """Close an open page; a closed or paid one is answered as it is."""

    def create_refund(self, params: Json, *, idempotency_key: str) -> Json:
        """Refund ``params["payment"]``: ``amount`` minor units in ``currency``, or the
        rest when ``amount`` is null."""

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> Json:
        """Cancel a subscription now; a canceled one is answered as it is."""

    def charge_saved_method(self, params: Json, *, idempotency_key: str) -> Json:
        """Charge a saved method off-session; answers the payment (see
        :meth:`~portal_access.testing.sandbox.SandboxVendor.charge_saved_method`)."""

    def list_events(self, *, created_gte: int) -> Json:
        """``{"data": [event, ...]}``: the events created at or after ``created_gte``
        (unix seconds), oldest first."""


class SandboxGateway:
    """The sandbox vendor's gateway.

    Args:
        vendor: the vendor's API (:class:`~portal_access.testing.sandbox.SandboxVendor`).
        webhook_secret: the signing secret, or several while rotating (any may match).
        name: the gateway's name as offers use it.
        tolerance: how far a signature's timestamp may be from now, either way.
        clock: the time for that check (default: the system clock).

    Raises:
        ConfigurationError: no secret or a blank one, a blank name, a negative tolerance.

    >>> from portal_access.adapters import SystemClock
    >>> from portal_access.testing.sandbox import SandboxVendor
    >>> vendor = SandboxVendor(webhook_secret="whsec_1", clock=SystemClock())
    >>> SandboxGateway(vendor=vendor, webhook_secret="whsec_1").name
    'sandbox'
    """

    def __init__(
        self,
        *,
        vendor: SandboxApi,
        webhook_secret: str | Sequence[str],
        name: str = "sandbox",
        tolerance: timedelta = DEFAULT_TOLERANCE,
        clock: Clock | None = None,
    ) -> None:
        self._vendor = vendor
        self._settings = WebhookSettings.build(
            name=name, webhook_secret=webhook_secret, tolerance=tolerance, clock=clock
        )

    @property
    def name(self) -> str:
        """The gateway's name (``"sandbox"`` unless told otherwise)."""
        return self._settings.name

    def _answer(self, reply: Json) -> Fields:
        """The vendor's reply, read; an error reply raised as ours (:mod:`._errors`)."""
        return answer(reply, gateway=self.name)

    def start_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a hosted page; the same ``idempotency_key`` answers the same page.

        Raises:
            GatewayError: the vendor refused (the key reused for another request, a plan
                without a contact) or was unavailable.
        """
        page = self._vendor.create_checkout_session(
            checkout_params(request), idempotency_key=request.idempotency_key
        )
        return checkout_session(self._answer(page))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        """Verify the ``Sandbox-Signature`` over ``body``, then map the event.

        Raises:
            WebhookVerificationError: reason ``header``, ``signature``, ``timestamp`` or
                ``body`` (see :mod:`._webhooks`).
        """
        return webhooks.parse_webhook(headers, body, self._settings)

    def list_events(self, *, since: datetime) -> Iterator[GatewayEvent]:
        """The vendor's events created at or after ``since``, oldest first.

        Raises:
            GatewayError: the vendor was unavailable.
        """
        listed = self._answer(self._vendor.list_events(created_gte=math.ceil(since.timestamp())))
        return (event_from(event) for event in listed.objects("data"))

    def charge_saved_method(self, charge: SavedMethodCharge) -> PaymentSnapshot:
        """Charge a saved method off-session (autopay); a decline is a ``FAILED``
        payment, not an exception; the same idempotency key charges once.

        Raises:
            GatewayError: the vendor refused (no such method, another customer's) or
                was unavailable.
        """
        params = {"method": charge.method_id, "customer": charge.contact_id,
                  "amount": charge.amount.amount, "currency": charge.amount.currency,
                  "metadata": {"invoice_id": charge.invoice_id}}  # fmt: skip
        reply = self._answer(
            self._vendor.charge_saved_method(params, idempotency_key=charge.idempotency_key)
        )
        (payment,) = payment_from(reply)
        return payment

    def refund(self, payment_id: str, *, amount: Money | None, idempotency_key: str) -> None:
        """Refund a payment, in full when ``amount`` is ``None``; a key seen before
        refunds nothing more.

        Raises:
            GatewayError: the vendor refused (unknown or unsucceeded payment, too much,
                another currency) or was unavailable.
        """
        params = {"payment": payment_id, "amount": None if amount is None else amount.amount,
                  "currency": None if amount is None else amount.currency}  # fmt: skip
        self._answer(self._vendor.create_refund(params, idempotency_key=idempotency_key))

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> None:
        """Cancel now; one already canceled is left as it is.

        Raises:
            GatewayError: the vendor refused (no such subscription) or was unavailable.
        """
        self._answer(
            self._vendor.cancel_subscription(subscription_id, idempotency_key=idempotency_key)
        )

    def expire_checkout(self, session_id: str) -> None:
        """Close an open page; one already closed or paid is left as it is.

        Raises:
            GatewayError: the vendor knows no such page, or was unavailable.
        """
        self._answer(self._vendor.expire_checkout_session(session_id))
