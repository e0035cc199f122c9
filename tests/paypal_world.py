"""The PayPal gateway the tests run against a local PayPal API (``LocalPayPalApi``), as
``tests/square_world.py`` makes Square's."""

from __future__ import annotations

from typing import Any

from portal_access.adapters import ManualClock
from portal_access.gateways.paypal import PayPalGateway
from portal_access.testing.paypal import LocalPayPalApi, PayPalWebhooks


def make_gateway(
    api: LocalPayPalApi, clock: ManualClock, *, webhook_id: str, **changes: Any
) -> PayPalGateway:
    """A gateway on ``api``, verifying webhooks offline with the test certificate (no SDK
    retries unless ``max_retries`` says otherwise)."""
    settings: dict[str, Any] = {
        "client_id": "test-client",
        "client_secret": "test-secret",
        "webhook_id": webhook_id,
        "clock": clock,
        "base_uri": api.url,
        "max_retries": 0,
        "certificate_fetcher": PayPalWebhooks.fetch_certificate,
    }
    return PayPalGateway(**{**settings, **changes})
