"""The Square gateway passes the gateway contract suite, against a local fake Square API."""

from __future__ import annotations

import pytest

from portal_access._domain.checkout import CheckoutPurpose
from portal_access._domain.payments import PaymentMethodKind
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.adapters import ManualClock
from portal_access.gateways.square import SquareGateway
from portal_access.testing._gateway_contract import GatewayContract
from portal_access.testing.square import FakeSquareApi, SquareWebhooks
from tests.square_world import KEY, URL, api, clock, make_gateway

__all__ = ["api", "clock"]  # the fixtures this module uses

VARIATIONS = {"p-contract": "VARIATIONCONTRACT"}


class TestSquareGateway(GatewayContract):
    """The gateway contract, against the real squareup SDK and a fake API on 127.0.0.1
    (every request, answer and event checked against Square's description)."""

    payment_methods = frozenset(PaymentMethodKind)
    subscription_statuses = frozenset(SubscriptionStatus) - {SubscriptionStatus.INCOMPLETE}
    checkout_purposes = frozenset(CheckoutPurpose) - {CheckoutPurpose.SAVE_PAYMENT_METHOD}
    malformed_header_reason = "signature"  # no timestamp: garbage is a wrong signature

    @pytest.fixture
    def gateway(self, clock: ManualClock, api: FakeSquareApi) -> SquareGateway:
        return make_gateway(api, clock, plan_variations=VARIATIONS)

    @pytest.fixture
    def webhooks(self, api: FakeSquareApi) -> SquareWebhooks:
        return SquareWebhooks(secret=KEY, notification_url=URL, api=api, plan_variations=VARIATIONS)
