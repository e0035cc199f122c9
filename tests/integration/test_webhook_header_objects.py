"""handle_webhook takes the header objects hosts actually have (issue #13, item 6):
Werkzeug's ``Headers`` and Flask's ``EnvironHeaders``, Django's ``HttpHeaders``, any
mapping, a list of pairs; the raw body as bytes (or bytearray, memoryview); a text body
is refused with a typed error before anything is parsed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.datastructures import EnvironHeaders, Headers

from portal_access import (
    InvoiceLine,
    Money,
    PortalAccess,
    WebhookVerificationError,
)
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
from portal_access.adapters import ManualClock, SequentialIds
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.storage.memory import MemoryStore
from portal_access.testing.sandbox import SandboxVendor


def delivery() -> tuple[PortalAccess, dict[str, str], bytes]:
    """A portal and one signed sandbox delivery for it."""
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    vendor = SandboxVendor(webhook_secret="whsec_test", clock=clock, ids=SequentialIds())
    gateway = SandboxGateway(vendor=vendor, webhook_secret="whsec_test", clock=clock)
    session = gateway.start_checkout(
        CheckoutRequest(
            purpose=CheckoutPurpose.REQUIRED_PAYMENT,
            currency="USD",
            contact_id="c-1",
            success_url="https://portal.example/paid",
            cancel_url="https://portal.example",
            idempotency_key="checkout-inv-1",
            invoice_id="inv-1",
            lines=(InvoiceLine("Setup fee", Money(25000, "USD")),),
        )
    )
    vendor.pay(session.session_id)
    headers, body = vendor.pending_deliveries()[0]
    portal = PortalAccess(store=MemoryStore(), gateways=[gateway], clock=clock, development=True)
    return portal, headers, body


def _django(headers: dict[str, str]) -> Any:
    http_headers = pytest.importorskip("django.http.request").HttpHeaders  # [django] extra
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    return http_headers(meta)


def _environ(headers: dict[str, str]) -> Any:
    return EnvironHeaders(
        {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    )


SHAPES: dict[str, Callable[[dict[str, str]], Any]] = {
    "dict": dict,
    "werkzeug Headers": lambda h: Headers(list(h.items())),
    "flask EnvironHeaders": _environ,
    "django HttpHeaders": _django,
    "list of pairs": lambda h: list(h.items()),
    "tuple of pairs": lambda h: tuple(h.items()),
    "upper-case names": lambda h: {name.upper(): value for name, value in h.items()},
}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_header_object_a_host_has_is_verified_and_applied(shape: str):
    portal, headers, body = delivery()
    result = portal.handle_webhook("sandbox", SHAPES[shape](headers), body)
    assert result.event_type
    assert result.outcome  # verified: an outcome recorded (the invoice is unknown here)
    again = portal.handle_webhook("sandbox", SHAPES[shape](headers), body)
    assert again.outcome == "duplicate"


@pytest.mark.parametrize("wrap", [bytearray, memoryview])
def test_a_bytes_like_body_is_taken_as_its_bytes(wrap: Callable[[bytes], Any]):
    portal, headers, body = delivery()
    assert portal.handle_webhook("sandbox", headers, wrap(body)).outcome


def test_a_text_body_is_refused_with_a_typed_error_naming_the_fix():
    portal, headers, body = delivery()
    with pytest.raises(WebhookVerificationError) as raised:
        portal.handle_webhook("sandbox", headers, body.decode())  # type: ignore[arg-type]
    assert raised.value.reason == "body"
    assert "request.get_data()" in str(raised.value)


@pytest.mark.parametrize(
    "headers",
    [
        [("Sandbox-Signature",)],
        [(b"Sandbox-Signature", b"x")],
        {"Sandbox-Signature": b"x"},
        "Sandbox-Signature: x",
        42,
    ],
)
def test_headers_that_are_not_text_pairs_are_a_header_failure(headers: Any):
    portal, _headers, body = delivery()
    with pytest.raises(WebhookVerificationError) as raised:
        portal.handle_webhook("sandbox", headers, body)
    assert raised.value.reason == "header"
