"""Square webhooks: the ``x-square-hmacsha256-signature`` check, then parsing.

Square signs the *notification URL* of the webhook subscription followed by the raw
body: ``base64(HMAC-SHA256(signature_key, notification_url + body))``, sent as
``x-square-hmacsha256-signature``. The URL is part of what is signed, so it must be the
exact string registered with Square, byte for byte (scheme, host, port, path, trailing
slash, query): the URL a proxy rewrote, or the one a framework rebuilt from the request,
is not it. :func:`verify_signature`:

1. finds the header (any case): else reason ``"header"``;
2. compares it, in constant time, with the signature of the URL and the *raw* body
   under each of our signature keys (several while one is being replaced): else
   ``"signature"``. Nothing of the body is parsed before this.

The scheme has no timestamp, so there is nothing to hold against a tolerance: a replayed
delivery is a duplicate event id, which the service records once. (Square retries a
delivery for up to 72 hours with the same body, so an age check on ``created_at``
would refuse Square's own retries.)

>>> body = b'{"event_id": "e-1"}'
>>> url = "https://portal.example/webhooks/square"
>>> header = signature_header(body, key="sig-key", notification_url=url)
>>> verify_signature({"X-Square-HmacSha256-Signature": header}, body,
...                  secrets=["old-key", "sig-key"], notification_url=url)
>>> verify_signature({"x-square-hmacsha256-signature": header}, body, secrets=["sig-key"],
...                  notification_url=url + "/")
Traceback (most recent call last):
...
portal_access.WebhookVerificationError: no signature key signs this URL and body so
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from portal_access._domain.errors import WebhookVerificationError
from portal_access._domain.gateway_events import GatewayEvent
from portal_access.gateways._kit import any_signature_matches, decode_json, find_header, hmac_sha256
from portal_access.gateways.square._mapping import Mapper

__all__ = ["SIGNATURE_HEADER", "parse_event", "signature_header", "verify_signature"]

SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def signature_header(body: bytes, *, key: str, notification_url: str) -> str:
    """The ``x-square-hmacsha256-signature`` value Square sends for ``body``."""
    digest = hmac_sha256(key, notification_url.encode("utf-8") + body)
    return base64.b64encode(digest).decode("ascii")


def verify_signature(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Sequence[str],
    notification_url: str,
) -> None:
    """Check a delivery's signature.

    Raises:
        WebhookVerificationError: ``reason`` is ``"header"`` (missing, or not text) or
            ``"signature"`` (no key signs this URL and body to the value sent).
    """
    given = find_header(headers, SIGNATURE_HEADER).strip()
    url = notification_url
    expected = [signature_header(body, key=key, notification_url=url) for key in secrets]
    if not any_signature_matches(expected, [given]):
        raise WebhookVerificationError(
            "no signature key signs this URL and body so", reason="signature"
        )


def parse_event(mapper: Mapper, body: bytes) -> GatewayEvent:
    """Decode a *verified* body and normalise it.

    Raises:
        WebhookVerificationError: ``reason="body"``: not UTF-8 JSON, or not an event.
        GatewayError: the API could not be asked about the event's object.
    """
    return mapper.event(decode_json(body, gateway=mapper.gateway))
