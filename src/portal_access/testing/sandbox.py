"""Signed sandbox webhooks for tests: the sandbox's :class:`WebhookFactory`.

>>> from datetime import UTC, datetime
>>> from portal_access.gateways.sandbox import SandboxGateway
>>> class Clock:
...     def now(self): return datetime(2026, 3, 1, tzinfo=UTC)
>>> webhooks = SandboxWebhooks(secret="whsec_test", clock=Clock())
>>> gateway = SandboxGateway(webhook_secret="whsec_test", clock=Clock())
>>> gateway.parse_webhook(*webhooks.unknown(event_id="evt_1")).actionable
False
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.gateways.sandbox._mapping import payment_status_text
from portal_access.gateways.sandbox._objects import payment_object, subscription_object
from portal_access.gateways.sandbox._webhooks import event_body, signed_headers
from portal_access.ports import Clock

if TYPE_CHECKING:  # the contract module imports pytest; this one does not need it
    from portal_access.testing._gateway_contract import WebhookFactory

__all__ = ["SandboxWebhooks"]


class SandboxWebhooks:
    """Builds sandbox webhook deliveries, signed like the sandbox vendor signs them.

    Args:
        secret: the gateway's webhook secret.
        clock: the same clock as the gateway's (the signature's timestamp is its now).
        tolerance: the gateway's tolerance (``stale`` signs just outside it).
    """

    def __init__(
        self, *, secret: str, clock: Clock, tolerance: timedelta = timedelta(minutes=5)
    ) -> None:
        self._secret, self._clock, self._tolerance = secret, clock, tolerance

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
    ) -> tuple[dict[str, str], bytes]:
        """A ``payment.<status>`` event about a payment against our ``invoice_id``."""
        obj = payment_object(
            payment_id=payment_id,
            invoice_id=invoice_id,
            contact_id=contact_id,
            method=method,
            status=status,
            amount=amount,
            version=version,
        )
        return self._event(event_id, f"payment.{payment_status_text(status)}", obj)

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
    ) -> tuple[dict[str, str], bytes]:
        """A ``subscription.updated`` event."""
        obj = subscription_object(
            subscription_id=subscription_id,
            contact_id=contact_id,
            plan_id=plan_id,
            status=status,
            version=version,
            created=created,
            renewal_failed_at=renewal_failed_at,
        )
        return self._event(event_id, "subscription.updated", obj)

    def unknown(self, *, event_id: str) -> tuple[dict[str, str], bytes]:
        """An event of a type the gateway does not map (``customer.updated``)."""
        obj: dict[str, object] = {"object": "customer", "id": "cus_unknown", "version": 1}
        return self._event(event_id, "customer.updated", obj)

    def sign(self, body: bytes) -> dict[str, str]:
        """Valid headers for any ``body``, signed now."""
        return self.sign_with(body, self._secret)

    def sign_with(self, body: bytes, secret: str) -> dict[str, str]:
        """Headers for ``body`` signed now with ``secret``."""
        return signed_headers(body, secrets=[secret], timestamp=self._timestamp())

    def stale(self, body: bytes) -> dict[str, str]:
        """Headers correctly signed a minute beyond the tolerance ago."""
        timestamp = self._timestamp() - int(self._tolerance.total_seconds()) - 60
        return signed_headers(body, secrets=[self._secret], timestamp=timestamp)

    def _timestamp(self) -> int:
        return int(self._clock.now().timestamp())

    def _event(
        self, event_id: str, event_type: str, obj: dict[str, object]
    ) -> tuple[dict[str, str], bytes]:
        created = self._timestamp()
        body = event_body(event_id=event_id, event_type=event_type, created=created, obj=obj)
        return self.sign(body), body


def _conforms(factory: SandboxWebhooks) -> WebhookFactory:  # mypy checks the Protocol
    return factory
