"""The Square gateway passes the gateway contract suite, against a local fake Square API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from portal_access._domain.checkout import CheckoutPurpose
from portal_access._domain.payments import PaymentMethodKind
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.adapters import ManualClock
from portal_access.gateways.square import SquareGateway
from portal_access.testing._gateway_contract import GatewayContract
from portal_access.testing.square import FakeSquareApi, SquareWebhooks
from tests.square_shapes import assert_square_shaped

KEY = "square-signature-key-contract"
URL = "https://portal.example/webhooks/square"
VARIATIONS = {"p-contract": "VARIATIONCONTRACT"}


class TestSquareGateway(GatewayContract):
    """The gateway contract, against the real squareup SDK and a fake API on 127.0.0.1."""

    payment_methods = frozenset(PaymentMethodKind)
    subscription_statuses = frozenset(SubscriptionStatus) - {SubscriptionStatus.INCOMPLETE}
    checkout_purposes = frozenset(CheckoutPurpose) - {CheckoutPurpose.SAVE_PAYMENT_METHOD}
    malformed_header_reason = "signature"  # no timestamp: garbage is a wrong signature

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    @pytest.fixture
    def api(self, clock: ManualClock) -> Iterator[FakeSquareApi]:
        with FakeSquareApi(clock=clock) as api:
            yield api
        assert_square_shaped(api)

    @pytest.fixture
    def gateway(self, clock: ManualClock, api: FakeSquareApi) -> SquareGateway:
        return SquareGateway(
            access_token="EAAA-contract",
            base_url=api.url,
            location_id=api.location_id,
            webhook_secret=KEY,
            notification_url=URL,
            plan_variations=VARIATIONS,
            clock=clock,
            max_retries=0,
        )

    @pytest.fixture
    def webhooks(self, api: FakeSquareApi) -> SquareWebhooks:
        return SquareWebhooks(secret=KEY, notification_url=URL, api=api, plan_variations=VARIATIONS)
