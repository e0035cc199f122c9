"""What the Square tests share: a fake Square API checked against Square's description
when each test ends, a gateway on it, Square-signed webhooks, and checkout requests.

Import the fixtures into a test module (``from tests.square_world import api, clock,
gateway, webhooks``) and pytest finds them there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from portal_access import InvoiceLine, LineKind, Money, Plan
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.payments import PaymentMethodKind
from portal_access.adapters import ManualClock
from portal_access.gateways.square import SquareGateway
from portal_access.testing.square import Exchange, FakeSquareApi, SquareWebhooks
from tests.square_shapes import assert_square_shaped

__all__ = [
    "KEY",
    "MONTHLY",
    "NOW",
    "URL",
    "VARIATIONS",
    "api",
    "clock",
    "gateway",
    "make_gateway",
    "request_for",
    "sent",
    "webhooks",
]

KEY = "square-signature-key-test"
URL = "https://portal.example/webhooks/square"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MONTHLY = Plan(id="plan-monthly", name="Portal monthly", amount=Money(5000, "USD"))
VARIATIONS = {MONTHLY.id: "VARIATIONMONTHLY"}


@pytest.fixture
def clock() -> ManualClock:
    """Square's and the portal's time."""
    return ManualClock(NOW)


@pytest.fixture
def api(clock: ManualClock) -> Iterator[FakeSquareApi]:
    """The fake Square API; every exchange and event is checked against Square's
    description when the test ends."""
    with FakeSquareApi(clock=clock) as fake:
        yield fake
    assert_square_shaped(fake)


def make_gateway(api: FakeSquareApi, clock: ManualClock, **changes: Any) -> SquareGateway:
    """A gateway on ``api`` (no SDK retries unless ``max_retries`` says otherwise)."""
    settings: dict[str, Any] = {
        "access_token": "EAAA-test",
        "base_url": api.url,
        "location_id": api.location_id,
        "webhook_secret": KEY,
        "notification_url": URL,
        "plan_variations": VARIATIONS,
        "clock": clock,
        "max_retries": 0,
    }
    return SquareGateway(**{**settings, **changes})


@pytest.fixture
def gateway(api: FakeSquareApi, clock: ManualClock) -> SquareGateway:
    """The gateway under test."""
    return make_gateway(api, clock)


@pytest.fixture
def webhooks(api: FakeSquareApi) -> SquareWebhooks:
    """Square-signed deliveries, their objects kept in ``api``."""
    return SquareWebhooks(secret=KEY, notification_url=URL, api=api, plan_variations=VARIATIONS)


def request_for(purpose: CheckoutPurpose, **changes: Any) -> CheckoutRequest:
    """Seed 000's required payment (setup fee and plan, card and ACH), fitted to ``purpose``."""
    request = CheckoutRequest(
        purpose=CheckoutPurpose.REQUIRED_PAYMENT,
        currency="USD",
        success_url="https://portal.example/paid",
        cancel_url="https://portal.example/pay",
        idempotency_key=f"key-{purpose.value}",
        contact_id="c-1",
        customer_email=EmailAddress.parse("ann@example.com"),
        customer_name="Ann Lee",
        invoice_id="inv-1",
        invoice_number="1001",
        lines=(InvoiceLine("Setup fee", Money(25000, "USD"), LineKind.ONE_TIME),),
        plan=MONTHLY,
        payment_methods=frozenset({PaymentMethodKind.CARD, PaymentMethodKind.BANK_ACCOUNT}),
    )
    if purpose is CheckoutPurpose.QUICK_PAY:
        request = attrs.evolve(request, contact_id=None, plan=None)
    if purpose is CheckoutPurpose.RESUBSCRIBE:
        request = attrs.evolve(request, lines=(), idempotency_key="resub")
    return attrs.evolve(request, purpose=purpose, **changes)


def sent(api: FakeSquareApi, method: str, path: str) -> list[Exchange]:
    """The exchanges of ``method path``, in order."""
    return [e for e in api.exchanges if e.method == method and e.path == path]
