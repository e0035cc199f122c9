"""What the Stripe gateway tests share: a local Stripe API checked against Stripe's
example objects when each test ends, and a gateway on it.

Import the fixtures into a test module (``from tests.stripe_world import api, clock,
gateway``) and pytest finds them there; :func:`make_gateway` builds one more gateway on
the same API (another secret, other settings).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from portal_access.adapters import ManualClock
from portal_access.gateways.stripe import StripeGateway
from portal_access.testing.stripe import FakeStripeApi
from tests.stripe_shapes import assert_stripe_shaped

__all__ = ["NOW", "SECRET", "api", "clock", "gateway", "make_gateway"]

SECRET = "whsec_local"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    """Stripe's and the portal's time."""
    return ManualClock(NOW)


@pytest.fixture
def api(clock: ManualClock) -> Iterator[FakeStripeApi]:
    """The local Stripe API; every object it served is checked against Stripe's shapes
    when the test ends."""
    with FakeStripeApi(clock=clock, webhook_secret=SECRET) as fake:
        yield fake
    assert_stripe_shaped(fake)


def make_gateway(api: FakeStripeApi, clock: ManualClock, **settings: object) -> StripeGateway:
    """A gateway on ``api`` (no network retries), with ``settings`` passed on."""
    options: dict[str, object] = {"webhook_secret": SECRET, "max_network_retries": 0}
    options.update(settings)
    return StripeGateway(api_key="sk_test_local", clock=clock, api_base=api.url, **options)  # type: ignore[arg-type]


@pytest.fixture
def gateway(api: FakeStripeApi, clock: ManualClock) -> StripeGateway:
    """The gateway the test exercises."""
    return make_gateway(api, clock)
