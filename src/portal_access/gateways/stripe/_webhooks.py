"""Stripe webhooks: the ``Stripe-Signature`` check, then the event.

Stripe signs ``f"{t}.".encode() + body`` with HMAC-SHA256 under the endpoint's secret
and sends ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` (several ``v1``
while Stripe rolls an endpoint's secret). The kit's
:func:`~portal_access.gateways._kit.check_timestamped_signature` checks it in order:
the header's form (reason ``"header"``), any ``v1`` against any of our secrets in
constant time (``"signature"``; nothing of the body is parsed before), then ``t``
against *our* clock, both ways, within the tolerance (``"timestamp"``).

**Why the kit and not the SDK's** ``stripe.WebhookSignature.verify_header``: the scheme
is the same HMAC, but the SDK checks one secret per call (re-reading the header each
time), takes the body as text (so a body that is not UTF-8 would need a second path),
and compares ``t`` with the wall clock, old timestamps only; the kit takes the raw
bytes, every secret at once and the injected clock, both ways, and is the same code
the other gateways run. A test checks our verdicts against the SDK's own
(``construct_event`` accepts what we accept; ``generate_signature_header`` makes what
we check).

>>> from portal_access.adapters import ManualClock
>>> from portal_access.gateways._kit import WebhookSettings, timestamped_header
>>> from datetime import UTC, datetime
>>> body = b'{"id": "evt_1", "type": "customer.created", "created": 1, "data": {"object": {}}}'
>>> settings = WebhookSettings.build(name="stripe", webhook_secret="whsec_b",
...     clock=ManualClock(datetime.fromtimestamp(1, UTC)))
>>> header = timestamped_header(body, secrets=["whsec_a", "whsec_b"], timestamp=1)
>>> headers = {"stripe-signature": header}
>>> parse_webhook(headers, body, settings).event_id
'evt_1'
"""

from __future__ import annotations

from collections.abc import Mapping

from portal_access._domain.gateway_events import GatewayEvent
from portal_access.gateways._kit import (
    Fields,
    WebhookSettings,
    check_timestamped_signature,
    decode_json,
)
from portal_access.gateways.stripe._mapping import Lookups, event_from
from portal_access.gateways.stripe._objects import Resolver

__all__ = ["SIGNATURE_HEADER", "parse_webhook"]

SIGNATURE_HEADER = "Stripe-Signature"


def parse_webhook(
    headers: Mapping[str, str],
    body: bytes,
    settings: WebhookSettings,
    *,
    resolve: Resolver | None = None,
    lookups: Lookups | None = None,
) -> GatewayEvent:
    """Verify a delivery, then map its event.

    Raises:
        WebhookVerificationError: reason ``"header"``, ``"signature"``, ``"timestamp"``
            or, once verified, ``"body"``.
        GatewayError: ``resolve`` (or ``lookups``) could not ask the API whose payment
            a charge is, or what it cost and gave back.
    """
    check_timestamped_signature(headers, body, header=SIGNATURE_HEADER, settings=settings)
    event = Fields(decode_json(body, gateway=settings.name), gateway=settings.name)
    return event_from(event, resolve=resolve, lookups=lookups)
