"""The PayPal gateway passes the gateway contract suite, against a local PayPal API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from portal_access._domain.payments import PaymentMethodKind
from portal_access.adapters import ManualClock
from portal_access.gateways.paypal import PayPalGateway
from portal_access.testing._gateway_contract import GatewayContract
from portal_access.testing.paypal import LocalPayPalApi, PayPalWebhooks
from tests.paypal_shapes import assert_paypal_shaped

WEBHOOK_ID = "WH1CONTRACT"


class TestPayPalGateway(GatewayContract):
    """The gateway contract, against the real paypal-server-sdk and a local API on 127.0.0.1.

    PayPal says how a capture was paid only for cards (a processor answered) and for an
    eCheck while it is pending, so the contract's every-status check runs on cards and
    wallets; the eCheck is told in tests/integration/test_paypal_gateway.py.
    """

    payment_methods = frozenset({PaymentMethodKind.CARD, PaymentMethodKind.WALLET})
    payment_id = "3C679366HH908993F"

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))

    @pytest.fixture
    def api(self, clock: ManualClock) -> Iterator[LocalPayPalApi]:
        with LocalPayPalApi(now=clock.now) as api:
            yield api
        assert_paypal_shaped(api)

    @pytest.fixture
    def gateway(self, clock: ManualClock, api: LocalPayPalApi) -> PayPalGateway:
        return PayPalGateway(
            client_id="test-client",
            client_secret="test-secret",
            webhook_id=WEBHOOK_ID,
            clock=clock,
            base_uri=api.url,
            max_retries=0,
            certificate_fetcher=PayPalWebhooks.fetch_certificate,
        )

    @pytest.fixture
    def webhooks(self, clock: ManualClock, api: LocalPayPalApi) -> PayPalWebhooks:
        return PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock, api=api)
