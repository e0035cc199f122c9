"""The PayPal gateway the tests run against a local PayPal API (``LocalPayPalApi``), as
``tests/square_world.py`` makes Square's.

Import the ``api`` fixture into a test module (``from tests.paypal_world import api``) and
pytest finds it there; it runs on the module's own ``clock`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from portal_access.adapters import ManualClock
from portal_access.gateways.paypal import PayPalGateway
from portal_access.testing.paypal import LocalPayPalApi, PayPalWebhooks
from tests.paypal_shapes import assert_paypal_shaped


@pytest.fixture
def api(clock: ManualClock) -> Iterator[LocalPayPalApi]:
    """The local PayPal API on the test's clock; every exchange is checked against
    PayPal's descriptions when the test ends."""
    with LocalPayPalApi(now=clock.now) as local:
        yield local
    assert_paypal_shaped(local)


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
