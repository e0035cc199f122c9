"""Stripe webhooks: the ``Stripe-Signature`` check, then parsing.

Stripe signs ``f"{t}.".encode() + body`` with HMAC-SHA256 under the endpoint's secret
and sends ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` (several ``v1``
while Stripe rolls an endpoint's secret). :func:`verify_signature`:

1. finds the header (any case) and checks its form (``t=`` digits, at least one
   ``v1``): else reason ``"header"``;
2. asks the SDK (``stripe.WebhookSignature.verify_header``) whether any ``v1``
   matches any of our secrets (we may hold several while rotating): else
   ``"signature"``. Nothing of the body is parsed before this;
3. checks ``t`` against *our* clock, both ways, within ``tolerance`` seconds: else
   ``"timestamp"``. (The SDK compares with the wall clock and only rejects old
   timestamps; taking the :class:`~portal_access.ports.Clock` keeps it testable.)

Stripe's bodies are UTF-8 JSON; the SDK decodes before it hashes, so a body that is not
UTF-8 is checked here with the same HMAC (a forged one is still a ``"signature"``
failure, a genuinely signed one a ``"body"`` failure).

>>> body = b'{"id": "evt_1"}'
>>> header = signature_header(body, secrets=["whsec_a", "whsec_b"], timestamp=1)
>>> header.count("v1=")
2
>>> verify_signature({"stripe-signature": header}, body, secrets=["whsec_b"],
...                  now=1, tolerance=300)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence

import stripe

from portal_access._domain.errors import WebhookVerificationError
from portal_access._domain.gateway_events import GatewayEvent
from portal_access.gateways.stripe._mapping import event_from_document
from portal_access.gateways.stripe._objects import Resolver

__all__ = ["SIGNATURE_HEADER", "parse_event", "signature_header", "verify_signature"]

SIGNATURE_HEADER = "Stripe-Signature"
_SECONDS = re.compile(r"[0-9]{1,15}")


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, *, secrets: Sequence[str], timestamp: int) -> str:
    """A ``Stripe-Signature`` value for ``body`` signed at ``timestamp`` with every secret
    (what Stripe sends; ``stripe.WebhookSignature.generate_signature_header`` makes the
    same value for one secret)."""
    signatures = ",".join(f"v1={_digest(secret, timestamp, body)}" for secret in secrets)
    return f"t={timestamp},{signatures}"


def _header(headers: Mapping[str, str]) -> tuple[str, int, list[str]]:
    wanted = SIGNATURE_HEADER.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    if value is None:
        raise WebhookVerificationError(f"no {SIGNATURE_HEADER} header", reason="header")
    timestamps, signatures = [], []
    for item in value.split(","):
        key, _, part = item.strip().partition("=")
        if key == "t" and _SECONDS.fullmatch(part):
            timestamps.append(int(part))
        elif key == "v1" and part:
            signatures.append(part)
    if len(timestamps) != 1 or not signatures:
        raise WebhookVerificationError(
            f"{SIGNATURE_HEADER} needs one t=<seconds> and a v1=<signature>", reason="header"
        )
    return value, timestamps[0], signatures


def _matches(value: str, timestamp: int, signatures: list[str], body: bytes, secret: str) -> bool:
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:  # not Stripe's; the SDK cannot hash it, so check it here
        expected = _digest(secret, timestamp, body).encode()
        return any(hmac.compare_digest(expected, s.encode("utf-8", "replace")) for s in signatures)
    try:
        stripe.WebhookSignature.verify_header(payload, value, secret, tolerance=None)
    except stripe.SignatureVerificationError:
        return False
    return True


def verify_signature(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Sequence[str],
    now: float,
    tolerance: int,
) -> None:
    """Check a delivery's ``Stripe-Signature`` (``now`` in unix seconds).

    Raises:
        WebhookVerificationError: ``reason`` is ``"header"`` (missing or malformed),
            ``"signature"`` (no ``v1`` matches any secret) or ``"timestamp"`` (signed
            more than ``tolerance`` seconds away from ``now``).
    """
    value, timestamp, signatures = _header(headers)
    if not any(_matches(value, timestamp, signatures, body, secret) for secret in secrets):
        raise WebhookVerificationError("no signature matches a webhook secret", reason="signature")
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"signed at {timestamp}, outside the tolerance of {tolerance}s", reason="timestamp"
        )


def parse_event(gateway: str, body: bytes, *, resolve: Resolver | None = None) -> GatewayEvent:
    """Decode a *verified* body and normalise it.

    Raises:
        WebhookVerificationError: ``reason="body"``: not UTF-8 JSON, or not an event.
        GatewayError: ``resolve`` could not ask the API whose payment a charge is.
    """
    try:
        document = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise WebhookVerificationError("body is not UTF-8 JSON", reason="body") from None
    return event_from_document(gateway, document, resolve=resolve)
