"""The sandbox's webhooks: its signature scheme, then its event body.

**Signature** (Stripe's scheme under another name): ``Sandbox-Signature:
t=<unix seconds>,v1=<hex>[,v1=<hex>...]``, each ``v1`` the HMAC-SHA256 of
``f"{t}.".encode() + body`` under one webhook secret (one ``v1`` per secret while the
vendor rotates; any may match any of ours). Checked by the kit before anything is
parsed: the header (reason ``"header"``), the signature (``"signature"``), then ``t``
within the tolerance of our clock, either way (``"timestamp"``).

**Body** (UTF-8 JSON)::

    {"id": "evt_sbx_...", "type": "payment.succeeded", "created": 1772366400,
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
  "currency", "amount_refunded", "version", "fee" (minor units, or null), "refunds":
  [{"id", "amount", "created"}] (each refund, partial ones included), "disputes": [{"id",
  "amount", "status": "open"|"won"|"lost"}]}``
- subscription: ``{"object": "subscription", "id", "contact_id", "plan_id", "status":
  "incomplete"|"active"|"past_due"|"unpaid"|"canceled", "version", "created",
  "renewal_failed_at": int|null, "current_period_start", "current_period_end"}``
- invoice: ``{"object": "invoice", "id", "subscription_id", "contact_id", "plan_id",
  "amount", "currency", "status": "open"|"paid"|"void", "version", "issued_on":
  "YYYY-MM-DD", "due_on": "YYYY-MM-DD"}``

``version`` comes from one vendor-wide, strictly increasing counter; times are unix
seconds.
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
from portal_access.gateways.sandbox._mapping import event_from

__all__ = ["SIGNATURE_HEADER", "parse_webhook"]

SIGNATURE_HEADER = "Sandbox-Signature"


def parse_webhook(
    headers: Mapping[str, str], body: bytes, settings: WebhookSettings
) -> GatewayEvent:
    """Verify a delivery, then map its event.

    Raises:
        WebhookVerificationError: reason ``"header"``, ``"signature"``, ``"timestamp"``
            or, once verified, ``"body"``.
    """
    check_timestamped_signature(headers, body, header=SIGNATURE_HEADER, settings=settings)
    return event_from(Fields(decode_json(body, gateway=settings.name), gateway=settings.name))
