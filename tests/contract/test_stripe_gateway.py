"""The Stripe gateway passes the gateway contract suite, against a local fake Stripe API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from portal_access._domain.payments import PaymentMethodKind
from portal_access.adapters._clock import ManualClock
from portal_access.gateways.stripe import StripeGateway
from portal_access.testing._gateway_contract import GatewayContract
from portal_access.testing.stripe import FakeStripeApi, StripeWebhooks
from tests.stripe_shapes import assert_stripe_shaped

SECRET = "whsec_contract"


class TestStripeGateway(GatewayContract):
    """The gateway contract, against the real stripe SDK and a fake API on 127.0.0.1."""

    payment_methods = frozenset(PaymentMethodKind)

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))

    @pytest.fixture
    def api(self, clock: ManualClock) -> Iterator[FakeStripeApi]:
        with FakeStripeApi(clock=clock) as api:
            yield api
        assert_stripe_shaped(api)

    @pytest.fixture
    def gateway(self, clock: ManualClock, api: FakeStripeApi) -> StripeGateway:
        return StripeGateway(
            api_key="sk_test_contract",
            webhook_secret=SECRET,
            clock=clock,
            api_base=api.url,
            max_network_retries=0,
        )

    @pytest.fixture
    def webhooks(self, clock: ManualClock, api: FakeStripeApi) -> StripeWebhooks:
        return StripeWebhooks(secret=SECRET, clock=clock, api=api)
