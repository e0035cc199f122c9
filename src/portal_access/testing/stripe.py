"""Stripe-shaped, Stripe-signed webhooks for tests: the Stripe :class:`WebhookFactory`.

Objects are shaped like Stripe's own examples (the fixtures of ``stripe/openapi``) for
the API version the installed SDK pins, and signed with the real ``Stripe-Signature``
scheme. Give the factory a :class:`~portal_access.testing._stripe_api.FakeStripeApi` and
every object and event it builds is also kept there, so the gateway can look a charge's
payment up and reconcile can list the events.

>>> from datetime import UTC, datetime
>>> class Clock:
...     def now(self): return datetime(2026, 3, 1, tzinfo=UTC)
>>> webhooks = StripeWebhooks(secret="whsec_test", clock=Clock())
>>> headers, body = webhooks.unknown(event_id="evt_1")
>>> headers["Stripe-Signature"].startswith("t=1772323200,v1=")
True
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import stripe

from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.gateways.stripe._webhooks import SIGNATURE_HEADER, signature_header
from portal_access.ports import Clock

if TYPE_CHECKING:  # the contract module imports pytest; this one does not need it
    from portal_access.testing._gateway_contract import WebhookFactory
    from portal_access.testing._stripe_api import FakeStripeApi

__all__ = [
    "METHOD_TYPES",
    "FakeStripeApi",
    "RecordedRequest",
    "StripeWebhooks",
    "payment_intent_object",
    "subscription_object",
    "unflatten",
]

Delivery = tuple[dict[str, str], bytes]

#: The Stripe payment method type each kind is reported as.
METHOD_TYPES = {
    PaymentMethodKind.CARD: "card",
    PaymentMethodKind.BANK_ACCOUNT: "us_bank_account",
    PaymentMethodKind.WALLET: "link",
    PaymentMethodKind.OTHER: "alipay",
}
_SUBSCRIPTION_TEXT = {
    SubscriptionStatus.INCOMPLETE: "incomplete",
    SubscriptionStatus.ACTIVE: "active",
    SubscriptionStatus.PAST_DUE: "past_due",
    SubscriptionStatus.UNPAID: "unpaid",
    SubscriptionStatus.CANCELED: "canceled",
}
_INTENT_STATUS = {
    PaymentStatus.PROCESSING: ("payment_intent.processing", "processing"),
    PaymentStatus.SUCCEEDED: ("payment_intent.succeeded", "succeeded"),
    PaymentStatus.FAILED: ("payment_intent.payment_failed", "requires_payment_method"),
}


@attrs.frozen
class RecordedRequest:
    """One request the fake API received; ``form`` keeps Stripe's bracketed keys."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]

    @property
    def params(self) -> dict[str, Any]:
        """The form (or the query of a GET) as nested dicts and lists."""
        return unflatten({**self.query, **self.form})


def unflatten(flat: dict[str, str]) -> dict[str, Any]:
    """``{"a[b][0]": "x"}`` -> ``{"a": {"b": ["x"]}}`` (Stripe's form encoding, undone).

    >>> unflatten({"line_items[0][quantity]": "1", "mode": "payment"})
    {'line_items': [{'quantity': '1'}], 'mode': 'payment'}
    """
    root: dict[str, Any] = {}
    for key, value in flat.items():
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for index, part in enumerate(parts):
            slot: Any = part
            if isinstance(node, list):
                slot = int(part)
                node.extend([None] * (slot + 1 - len(node)))
            if index == len(parts) - 1:
                node[slot] = value
                break
            if (node[slot] if isinstance(node, list) else node.get(slot)) is None:
                node[slot] = [] if parts[index + 1].isdigit() else {}
            node = node[slot]
    return root


def payment_intent_object(
    *,
    intent_id: str,
    amount: Money,
    status: str,
    method: PaymentMethodKind,
    metadata: dict[str, str],
    created: int = 0,
) -> dict[str, Any]:
    """A PaymentIntent as Stripe sends it; a failed one carries ``last_payment_error``."""
    method_type = METHOD_TYPES[method]
    error = None
    if status == "requires_payment_method":
        error = {"type": "card_error", "code": "payment_method_provider_decline",
                 "message": "The payment was declined.",
                 "payment_method": {"id": f"pm_{intent_id}", "object": "payment_method",
                                    "type": method_type}}  # fmt: skip
    return {"id": intent_id, "object": "payment_intent", "amount": amount.amount,
            "amount_received": amount.amount if status == "succeeded" else 0,
            "currency": amount.currency.lower(), "created": created, "customer": None,
            "latest_charge": f"ch_{intent_id}", "livemode": False, "metadata": metadata,
            "payment_method": f"pm_{intent_id}", "payment_method_types": [method_type],
            "status": status, "last_payment_error": error, "processing": None}  # fmt: skip


def subscription_object(
    *,
    subscription_id: str,
    status: SubscriptionStatus,
    created: int,
    metadata: dict[str, str],
    period_start: int | None = None,
    failed: bool = False,
    customer: str = "cus_test",
) -> dict[str, Any]:
    """A Subscription as Stripe sends it: the period on its item (current API), a
    cancellation for failed payments when ``failed`` and canceled."""
    start = period_start if period_start is not None else created
    canceled = status is SubscriptionStatus.CANCELED
    reason = ("payment_failed" if failed else "cancellation_requested") if canceled else None
    item = {"id": f"si_{subscription_id}", "object": "subscription_item", "created": created,
            "current_period_start": start, "current_period_end": start + 30 * 86400,
            "metadata": {}, "quantity": 1, "subscription": subscription_id}  # fmt: skip
    return {"id": subscription_id, "object": "subscription", "created": created,
            "customer": customer, "status": _SUBSCRIPTION_TEXT[status], "metadata": metadata,
            "cancellation_details": {"comment": None, "feedback": None, "reason": reason},
            "canceled_at": created if canceled else None, "latest_invoice": None,
            "items": {"object": "list", "data": [item], "has_more": False,
                      "url": f"/v1/subscription_items?subscription={subscription_id}"},
            "collection_method": "charge_automatically", "livemode": False}  # fmt: skip


class StripeWebhooks:
    """Builds Stripe webhook deliveries, signed as Stripe signs them.

    Args:
        secret: the endpoint's signing secret.
        clock: the same clock as the gateway's (signatures are made at its now).
        tolerance: the gateway's tolerance in seconds (``stale`` signs beyond it).
        api: a fake API that keeps every object and event built here.
    """

    def __init__(
        self, *, secret: str, clock: Clock, tolerance: int = 300, api: FakeStripeApi | None = None
    ) -> None:
        self._secret, self._clock, self._tolerance, self._api = secret, clock, tolerance, api

    def event(
        self, event_type: str, obj: dict[str, Any], *, event_id: str, created: int | None = None
    ) -> Delivery:
        """One event about ``obj`` (``created`` defaults to now), kept and signed."""
        document = {"id": event_id, "object": "event", "api_version": stripe.api_version,
                    "created": self._timestamp() if created is None else created,
                    "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
                    "request": {"id": None, "idempotency_key": None},
                    "type": event_type}  # fmt: skip
        if self._api is not None:
            self._api.record_event(document)
        body = json.dumps(document).encode()
        return self.sign(body), body

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
        the gateway asks the API for its intent); ``charge.dispute.created``."""
        metadata = {"invoice_id": invoice_id, "contact_id": contact_id}
        state = _INTENT_STATUS.get(status, ("", "succeeded"))
        intent = payment_intent_object(intent_id=payment_id, amount=amount, status=state[1],
                                       method=method, metadata=metadata)  # fmt: skip
        if self._api is not None:
            self._api.add(intent)
        if status in _INTENT_STATUS:
            return self.event(state[0], intent, event_id=event_id, created=version)
        details = {"type": METHOD_TYPES[method]}
        common = {"amount": amount.amount, "currency": amount.currency.lower(),
                  "payment_intent": payment_id, "payment_method_details": details,
                  "created": version, "livemode": False, "metadata": {}}  # fmt: skip
        if status is PaymentStatus.REFUNDED:
            charge = {**common, "id": f"ch_{payment_id}", "object": "charge", "paid": True,
                      "refunded": True, "amount_refunded": amount.amount,
                      "status": "succeeded"}  # fmt: skip
            return self.event("charge.refunded", charge, event_id=event_id, created=version)
        dispute = {**common, "id": f"dp_{payment_id}", "object": "dispute",
                   "charge": f"ch_{payment_id}", "reason": "fraudulent",
                   "status": "needs_response"}  # fmt: skip
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
        return self.sign_with(body, self._secret)

    def sign_with(self, body: bytes, secret: str, *more: str) -> dict[str, str]:
        """Headers for ``body`` signed now with ``secret`` (and ``more``: several ``v1``)."""
        value = signature_header(body, secrets=[secret, *more], timestamp=self._timestamp())
        return {SIGNATURE_HEADER: value}

    def stale(self, body: bytes) -> dict[str, str]:
        """Headers correctly signed a minute beyond the tolerance ago."""
        timestamp = self._timestamp() - self._tolerance - 60
        return {
            SIGNATURE_HEADER: signature_header(body, secrets=[self._secret], timestamp=timestamp)
        }

    def _timestamp(self) -> int:
        return int(self._clock.now().timestamp())


def _conforms(factory: StripeWebhooks) -> WebhookFactory:  # mypy checks the Protocol
    return factory


def __getattr__(name: str) -> Any:
    """:class:`~portal_access.testing._stripe_api.FakeStripeApi`, the local Stripe API,
    loaded on first use (its module imports this one's :class:`RecordedRequest`)."""
    if name == "FakeStripeApi":
        from portal_access.testing._stripe_api import FakeStripeApi  # noqa: PLC0415

        return FakeStripeApi
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
