"""The sandbox vendor for tests and demos, and signed sandbox webhooks.

- :class:`SandboxVendor`: an in-process payment vendor: its books, its API (what
  :class:`~portal_access.gateways.sandbox.SandboxGateway` calls, as a real gateway calls
  its vendor's SDK), its signed webhook deliveries, and what the payer and the vendor do
  (``pay``, ``settle_ach``, ``renew``, ``exhaust_retries``, ``dispute``,
  ``close_dispute``); the deliveries: ``attach``, ``pending_deliveries``, ``deliver``,
  ``redeliver``.
- :class:`SandboxWebhooks`: hand-made sandbox deliveries, the gateway contract's
  :class:`~portal_access.testing.GatewayContract` ``webhooks`` fixture.

>>> from datetime import UTC, datetime
>>> from portal_access.adapters import ManualClock
>>> from portal_access.gateways.sandbox import SandboxGateway
>>> clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
>>> vendor = SandboxVendor(webhook_secret="whsec_test", clock=clock)
>>> gateway = SandboxGateway(vendor=vendor, webhook_secret="whsec_test", clock=clock)
>>> webhooks = SandboxWebhooks(secret="whsec_test", clock=clock)
>>> gateway.parse_webhook(*webhooks.unknown(event_id="evt_1")).actionable
False
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.ports import Clock
from portal_access.testing._deliveries import Delivery, WebhookHandler
from portal_access.testing._sandbox.books import SIGNATURE_HEADER
from portal_access.testing._sandbox.objects import (
    SandboxError,
    event_body,
    payment_object,
    subscription_object,
)
from portal_access.testing._sandbox.vendor import SandboxVendor
from portal_access.testing._signing import TimestampedSigner

if TYPE_CHECKING:  # the contract module imports pytest; this one does not need it
    from portal_access.testing._gateway_contract import WebhookFactory

__all__ = ["Delivery", "SandboxError", "SandboxVendor", "SandboxWebhooks", "WebhookHandler"]


class SandboxWebhooks:
    """Builds sandbox webhook deliveries, signed as the sandbox vendor signs them.

    Args:
        secret: the gateway's webhook secret.
        clock: the same clock as the gateway's (the signature's timestamp is its now).
        tolerance: the gateway's tolerance (``stale`` signs just outside it).
    """

    def __init__(
        self, *, secret: str, clock: Clock, tolerance: timedelta = timedelta(minutes=5)
    ) -> None:
        self._signer = TimestampedSigner(SIGNATURE_HEADER, secret, clock, tolerance)

    def payment(
        self,
        *,
        event_id: str,
        payment_id: str,
        invoice_id: str,
        contact_id: str,
        status: PaymentStatus,
        method: PaymentMethodKind,
        amount: Money,
        version: int,
    ) -> Delivery:
        """A ``payment.<status>`` event about a payment against our ``invoice_id``."""
        obj = payment_object(payment_id=payment_id, invoice_id=invoice_id,
                             contact_id=contact_id, method=method, status=status,
                             amount=amount, version=version)  # fmt: skip
        return self._event(event_id, f"payment.{status.value}", obj)

    def subscription(
        self,
        *,
        event_id: str,
        subscription_id: str,
        contact_id: str,
        plan_id: str,
        status: SubscriptionStatus,
        version: int,
        created: int,
        renewal_failed_at: datetime | None,
    ) -> Delivery:
        """A ``subscription.updated`` event."""
        obj = subscription_object(subscription_id=subscription_id, contact_id=contact_id,
                                  plan_id=plan_id, status=status, version=version,
                                  created=created, renewal_failed_at=renewal_failed_at)  # fmt: skip
        return self._event(event_id, "subscription.updated", obj)

    def unknown(self, *, event_id: str) -> Delivery:
        """An event of a type the gateway does not map (``customer.updated``)."""
        obj: dict[str, object] = {"object": "customer", "id": "cus_unknown", "version": 1}
        return self._event(event_id, "customer.updated", obj)

    def sign(self, body: bytes) -> dict[str, str]:
        """Valid headers for any ``body``, signed now."""
        return self._signer.sign(body)

    def sign_with(self, body: bytes, secret: str) -> dict[str, str]:
        """Headers for ``body`` signed now with ``secret``."""
        return self._signer.sign(body, secrets=[secret])

    def stale(self, body: bytes) -> dict[str, str]:
        """Headers correctly signed a minute beyond the tolerance ago."""
        return self._signer.stale(body)

    def _event(self, event_id: str, event_type: str, obj: dict[str, object]) -> Delivery:
        body = event_body(event_id=event_id, event_type=event_type,
                          created=self._signer.now(), obj=obj)  # fmt: skip
        return Delivery(self.sign(body), body)


def _conforms(factory: SandboxWebhooks) -> WebhookFactory:  # mypy checks the Protocol
    return factory
