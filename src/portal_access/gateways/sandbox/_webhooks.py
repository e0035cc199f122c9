"""The sandbox's webhooks: signing, verification, parsing, and the delivery queue.

Signature (modelled on Stripe's): the header ``Sandbox-Signature: t=<unix seconds>,
v1=<hex>[,v1=<hex>...]`` where each ``v1`` is HMAC-SHA256 with one webhook secret over
``f"{t}.".encode() + body``. Several ``v1`` entries appear while a secret is rotated; a
delivery is genuine when any of them matches any configured secret. The signature is
checked before anything is parsed, then the timestamp against the tolerance.

Body (UTF-8 JSON)::

    {"id": "evt_sbx_0001", "type": "payment.succeeded", "created": 1772366400,
     "data": {"object": {...}}}

``type`` is one of ``payment.processing``, ``payment.succeeded``, ``payment.failed``,
``payment.refunded``, ``payment.disputed``, ``subscription.updated``,
``invoice.updated`` (mapped), or ``setup.succeeded``, ``setup.failed``,
``checkout.expired`` (and anything else: acknowledged, ignored). The type is only for
logs; the object's ``status`` decides. The objects:

- payment: ``{"object": "payment", "id", "invoice_id" (our invoice, metadata, or null),
  "vendor_invoice_id" (the renewal invoice it pays, or null), "contact_id",
  "checkout_session_id", "method": "card"|"bank_account"|"wallet"|"other", "status":
  "processing"|"succeeded"|"failed"|"refunded"|"disputed", "amount" (minor units),
  "currency", "amount_refunded", "version"}``
- subscription: ``{"object": "subscription", "id", "contact_id", "plan_id", "status":
  "incomplete"|"active"|"past_due"|"unpaid"|"canceled", "version", "created",
  "renewal_failed_at": int|null, "current_period_start", "current_period_end"}``
- invoice: ``{"object": "invoice", "id", "subscription_id", "contact_id", "plan_id",
  "amount", "currency", "status": "open"|"paid"|"void", "version", "issued_on":
  "YYYY-MM-DD", "due_on": "YYYY-MM-DD"}``

``version`` comes from one vendor-wide, strictly increasing counter; times are unix
seconds.

>>> body = b'{"id": "evt_1", "type": "ping", "created": 0, "data": {"object": {}}}'
>>> headers = signed_headers(body, secrets=["whsec_a", "whsec_b"], timestamp=0)
>>> headers["Sandbox-Signature"].count("v1=")
2
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from portal_access._domain.errors import WebhookVerificationError
from portal_access._domain.gateway_events import GatewayEvent
from portal_access.gateways.sandbox._mapping import event_from_document

__all__ = [
    "SIGNATURE_HEADER",
    "Delivery",
    "DeliveryQueue",
    "WebhookHandler",
    "event_body",
    "parse_event",
    "signed_headers",
    "verify_signature",
]

SIGNATURE_HEADER = "Sandbox-Signature"
_SECONDS = re.compile(r"[0-9]{1,15}")

#: What receives a delivery: the host's webhook endpoint, e.g. ``portal.handle_webhook``.
WebhookHandler = Callable[[Mapping[str, str], bytes], object]


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, *, secrets: Sequence[str], timestamp: int) -> dict[str, str]:
    """The headers of a delivery of ``body`` signed at ``timestamp`` with every secret."""
    signatures = ",".join(f"v1={_digest(secret, timestamp, body)}" for secret in secrets)
    return {SIGNATURE_HEADER: f"t={timestamp},{signatures}"}


def _header(headers: Mapping[str, str]) -> tuple[int, list[str]]:
    wanted = SIGNATURE_HEADER.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    if value is None:
        raise WebhookVerificationError(f"no {SIGNATURE_HEADER} header", reason="header")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in value.split(","):
        key, _, part = item.strip().partition("=")
        if key == "t" and _SECONDS.fullmatch(part):
            timestamp = int(part)
        elif key == "v1" and part:
            signatures.append(part)
    if timestamp is None or not signatures:
        raise WebhookVerificationError(
            f"{SIGNATURE_HEADER} needs t=<seconds> and v1=<signature>", reason="header"
        )
    return timestamp, signatures


def verify_signature(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Sequence[str],
    now: datetime,
    tolerance: timedelta,
) -> None:
    """Check the ``Sandbox-Signature`` of a delivery (header name in any case).

    Raises:
        WebhookVerificationError: ``reason`` is ``"header"`` (missing or malformed),
            ``"signature"`` (no ``v1`` matches any secret) or ``"timestamp"`` (signed
            more than ``tolerance`` away from ``now``).
    """
    timestamp, signatures = _header(headers)
    expected = [_digest(secret, timestamp, body).encode() for secret in secrets]
    given = [signature.encode("utf-8", "replace") for signature in signatures]
    if not any(hmac.compare_digest(e, g) for e in expected for g in given):
        raise WebhookVerificationError("no signature matches a webhook secret", reason="signature")
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise WebhookVerificationError(
            f"signed at {timestamp}, outside the tolerance of {tolerance}", reason="timestamp"
        )


def parse_event(gateway: str, body: bytes) -> GatewayEvent:
    """Decode a *verified* body and normalise it.

    Raises:
        WebhookVerificationError: ``reason="body"``: not JSON, or not the sandbox's shape.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookVerificationError("body is not JSON", reason="body") from None
    return event_from_document(gateway, document)


def event_body(*, event_id: str, event_type: str, created: int, obj: Mapping[str, object]) -> bytes:
    """The JSON body of one event, as the vendor sends it."""
    document = {"id": event_id, "type": event_type, "created": created, "data": {"object": obj}}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


#: Delivery rounds for an event whose endpoint keeps asking to retry.
MAX_ATTEMPTS = 5


class Delivery(NamedTuple):
    """One webhook delivery: a tuple so ``headers, body = delivery`` reads naturally."""

    headers: dict[str, str]
    body: bytes


class DeliveryQueue:
    """Emitted events waiting to be delivered, signed when they are handed over (as a
    vendor signs each attempt), oldest first.

    Args:
        sign: headers for a body, signed now.
    """

    def __init__(self, sign: Callable[[bytes], dict[str, str]]) -> None:
        self._sign = sign
        self._bodies: deque[bytes] = deque()
        self._handler: WebhookHandler | None = None
        self._held = 0  # deliveries queued before the handler was attached

    def push(self, body: bytes) -> None:
        """Queue one event's body."""
        self._bodies.append(body)

    def attach(self, handler: WebhookHandler | None) -> None:
        """Hand *new* deliveries to ``handler`` at each :meth:`flush` (``None`` detaches);
        those already queued stay queued."""
        self._handler = handler
        self._held = len(self._bodies)

    def flush(self) -> None:
        """With a handler attached, pop and hand over each new delivery, in order.

        A delivery the handler raises on is gone; the rest stay queued.
        """
        while self._handler is not None and len(self._bodies) > self._held:
            body = self._bodies[self._held]
            del self._bodies[self._held]
            self._handler(self._sign(body), body)

    def pending(self) -> tuple[Delivery, ...]:
        """The queued deliveries, signed now; the queue is unchanged."""
        return tuple(Delivery(self._sign(body), body) for body in self._bodies)

    def deliver(
        self, handler: WebhookHandler, *, duplicate: int = 1, rng: random.Random | None = None
    ) -> list[object]:
        """Empty the queue into ``handler``: each delivery ``duplicate`` times, shuffled by
        ``rng`` when given. Returns the handler's results in call order.

        Like a real vendor, a delivery the endpoint asks to retry (its result has a true
        ``retry_later``, as :class:`~portal_access._service.webhooks.WebhookResult` does
        for an event that names an object not seen yet) is sent again after the others,
        for up to :data:`MAX_ATTEMPTS` rounds."""
        bodies = [body for body in self._bodies for _ in range(duplicate)]
        self._bodies.clear()
        self._held = 0
        results: list[object] = []
        for _round in range(MAX_ATTEMPTS):
            if rng is not None:
                rng.shuffle(bodies)
            retry: list[bytes] = []
            for body in bodies:
                result = handler(self._sign(body), body)
                results.append(result)
                if getattr(result, "retry_later", False):
                    retry.append(body)
            if not retry:
                break
            bodies = retry
        return results
