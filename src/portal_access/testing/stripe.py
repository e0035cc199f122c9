"""Testing a host against Stripe: a local Stripe API, and Stripe-signed webhooks.

- :class:`FakeStripeApi`: a Stripe API on 127.0.0.1 that the real ``stripe`` SDK (and so
  :class:`~portal_access.gateways.stripe.StripeGateway`) talks to, and what the payer
  and Stripe do there: complete any Checkout Session it opened (card or bank debit;
  declined, processing, cleared or returned), renew subscriptions and fail them
  (``invoice.payment_failed``, ``past_due``, ``unpaid``, canceled), pay back an open
  invoice (re-subscribe), refund and dispute, each reported by the signed events Stripe
  would send, in Stripe's order, to the endpoint you attach.
- :class:`StripeWebhooks`: hand-made Stripe deliveries, the gateway contract's
  ``webhooks`` fixture.

Objects are shaped for the API version the installed SDK pins, and signed with the real
``Stripe-Signature`` scheme.

>>> from datetime import UTC, datetime
>>> from portal_access.adapters import ManualClock
>>> clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
>>> webhooks = StripeWebhooks(secret="whsec_test", clock=clock)
>>> headers, body = webhooks.unknown(event_id="evt_1")
>>> headers["Stripe-Signature"].startswith("t=1772323200,v1=")
True
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.ports import Clock
from portal_access.testing._deliveries import Delivery
from portal_access.testing._signing import TimestampedSigner
from portal_access.testing._stripe_actions import FakeStripeApi
from portal_access.testing._stripe_api import RecordedRequest, unflatten
from portal_access.testing._stripe_objects import (
    METHOD_TYPES,
    as_stripe_counts,
    charge_object,
    dispute_object,
    event_object,
    payment_intent_object,
    subscription_object,
)

if TYPE_CHECKING:  # the contract module imports pytest; this one does not need it
    from portal_access.testing._gateway_contract import WebhookFactory

__all__ = [
    "METHOD_TYPES",
    "FakeStripeApi",
    "RecordedRequest",
    "StripeWebhooks",
    "payment_intent_object",
    "subscription_object",
    "unflatten",
]

_INTENT_STATUS = {
    PaymentStatus.PROCESSING: ("payment_intent.processing", "processing"),
    PaymentStatus.SUCCEEDED: ("payment_intent.succeeded", "succeeded"),
    PaymentStatus.FAILED: ("payment_intent.payment_failed", "requires_payment_method"),
}


class StripeWebhooks:
    """Builds Stripe webhook deliveries, signed as Stripe signs them.

    Args:
        secret: the endpoint's signing secret.
        clock: the same clock as the gateway's (signatures are made at its now).
        tolerance: the gateway's tolerance (``stale`` signs beyond it).
        api: a fake API that keeps every object and event built here.
    """

    def __init__(
        self,
        *,
        secret: str,
        clock: Clock,
        tolerance: timedelta = timedelta(minutes=5),
        api: FakeStripeApi | None = None,
    ) -> None:
        self._signer = TimestampedSigner("Stripe-Signature", secret, clock, tolerance)
        self._api = api

    def event(
        self, event_type: str, obj: dict[str, Any], *, event_id: str, created: int | None = None
    ) -> Delivery:
        """One event about ``obj`` (``created`` defaults to now), kept and signed."""
        created = self._signer.now() if created is None else created
        document = event_object(event_id=event_id, event_type=event_type, obj=obj, created=created)
        if self._api is not None:
            self._api.record_event(document)
        body = json.dumps(document).encode()
        return Delivery(self.sign(body), body)

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
        """A payment-mode payment's event at ``created=version``: ``payment_intent.*`` for
        processing, succeeded and failed; ``charge.refunded`` (no metadata on the charge:
        the gateway asks the API for its intent); ``charge.dispute.created``. ``amount``
        is written as Stripe counts it (ISK in hundredths, MGA in whole ariary)."""
        amount = as_stripe_counts(amount)
        metadata = {"invoice_id": invoice_id, "contact_id": contact_id}
        state = _INTENT_STATUS.get(status, ("", "succeeded"))
        intent = payment_intent_object(intent_id=payment_id, amount=amount, status=state[1],
                                       method=method, metadata=metadata)  # fmt: skip
        if self._api is not None:
            self._api.add(intent)
        if self._api is not None and status is PaymentStatus.SUCCEEDED:  # its charge, settled
            paid = charge_object(charge_id=intent["latest_charge"], intent_id=payment_id,
                                 amount=amount, status="succeeded",
                                 method_type=METHOD_TYPES[method], created=version)  # fmt: skip
            self._api.settle(self._api.add(paid))
        if status in _INTENT_STATUS:
            return self.event(state[0], intent, event_id=event_id, created=version)
        charge = charge_object(charge_id=f"ch_{payment_id}", intent_id=payment_id, amount=amount,
                               status="succeeded", method_type=METHOD_TYPES[method],
                               created=version)  # fmt: skip
        if status is PaymentStatus.REFUNDED:  # its refund carried, as expanded
            refund = {"id": f"re_{payment_id}", "object": "refund", "amount": amount.amount,
                      "currency": charge["currency"], "charge": charge["id"],
                      "payment_intent": payment_id, "created": version, "status": "succeeded",
                      "metadata": {}}  # fmt: skip
            charge.update(refunded=True, amount_refunded=amount.amount,
                          refunds={"object": "list", "data": [refund], "has_more": False,
                                   "url": f"/v1/charges/{charge['id']}/refunds"})  # fmt: skip
            return self.event("charge.refunded", charge, event_id=event_id, created=version)
        dispute = dispute_object(dispute_id=f"dp_{payment_id}", charge=charge,
                                 status="needs_response", created=version)  # fmt: skip
        return self.event("charge.dispute.created", dispute, event_id=event_id, created=version)

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
        """A ``customer.subscription.updated`` event at ``created=version``."""
        failed_at = int(renewal_failed_at.timestamp()) if renewal_failed_at else None
        obj = subscription_object(
            subscription_id=subscription_id,
            status=status,
            created=created,
            metadata={"contact_id": contact_id, "plan_id": plan_id},
            period_start=failed_at,
            failed=failed_at is not None,
        )
        return self.event("customer.subscription.updated", obj, event_id=event_id, created=version)

    def unknown(self, *, event_id: str) -> Delivery:
        """A ``customer.created`` event: acknowledged, not acted on."""
        obj = {"id": "cus_unknown", "object": "customer", "metadata": {}, "livemode": False}
        return self.event("customer.created", obj, event_id=event_id)

    def sign(self, body: bytes) -> dict[str, str]:
        """Valid headers for any ``body``, signed now."""
        return self._signer.sign(body)

    def sign_with(self, body: bytes, secret: str, *more: str) -> dict[str, str]:
        """Headers for ``body`` signed now with ``secret`` (and ``more``: several ``v1``)."""
        return self._signer.sign(body, secrets=[secret, *more])

    def stale(self, body: bytes) -> dict[str, str]:
        """Headers correctly signed a minute beyond the tolerance ago."""
        return self._signer.stale(body)


def _conforms(factory: StripeWebhooks) -> WebhookFactory:  # mypy checks the Protocol
    return factory
