"""The PayPal gateway's own edges: the offline signature check case by case, the API
fallback, settings, and every SDK error mapped to our GatewayError tree."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta

import paypalserversdk.exceptions as sdk_exceptions
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from paypalserversdk.exceptions.api_exception import ApiException

from portal_access import (
    ConfigurationError,
    GatewayRejectedError,
    GatewayUnavailableError,
    Money,
    PaymentDeclinedError,
    PaymentMethodKind,
    PaymentStatus,
    WebhookVerificationError,
)
from portal_access.adapters import ManualClock
from portal_access.gateways.paypal import PayPalGateway
from portal_access.gateways.paypal._errors import ERROR_TABLE, SDK_ERRORS, translate
from portal_access.testing.paypal import CERTIFICATE_URL, PayPalWebhooks
from tests.paypal_world import api, make_gateway

__all__ = ["api"]  # the fixture this module uses

WEBHOOK_ID = "WH1INTEGRATION"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def _gateway(clock, api, **options) -> PayPalGateway:
    return make_gateway(api, clock, webhook_id=WEBHOOK_ID, **options)


def _delivery(webhooks: PayPalWebhooks) -> tuple[dict[str, str], bytes]:
    return webhooks.payment(event_id="WH-1", payment_id="3C679366HH908993F", invoice_id="inv_1",
                            contact_id="c-1", status=PaymentStatus.SUCCEEDED,
                            method=PaymentMethodKind.WALLET, amount=Money(29900, "USD"),
                            version=1_772_000_000)  # fmt: skip


def _reason(gateway: PayPalGateway, headers: dict[str, str], body: bytes) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        gateway.parse_webhook(headers, body)
    return caught.value.reason


def test_a_genuine_delivery_is_verified_and_mapped(clock, api):
    """A delivery signed by PayPal's key for our webhook id maps to the capture's snapshot."""
    webhooks = PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock, api=api)
    event = _gateway(clock, api).parse_webhook(*_delivery(webhooks))
    [payment] = event.payments
    assert (payment.payment_id, payment.status) == ("3C679366HH908993F", PaymentStatus.SUCCEEDED)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("tampered body", "signature"),
        ("wrong webhook id", "signature"),
        ("certificate off PayPal's hosts", "header"),
        ("certificate over http", "header"),
        ("certificate on a look-alike host", "header"),
        ("another algorithm", "header"),
        ("signature not base64", "header"),
        ("time not RFC 3339", "header"),
        ("signed an hour ago", "timestamp"),
        ("signed an hour ahead", "timestamp"),
    ],
)
def test_each_forgery_is_refused_with_its_reason(clock, api, case, reason):
    """The offline check refuses every altered part of a delivery, naming why."""
    webhooks = PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock, api=api)
    headers, body = _delivery(webhooks)
    if case == "tampered body":
        body = body.replace(b"299.00", b"2.99")
    elif case == "wrong webhook id":
        headers = webhooks.sign_with(body, "WH1SOMEONEELSE")
    elif case == "certificate off PayPal's hosts":
        headers["PAYPAL-CERT-URL"] = "https://certs.example.com/CERT-1"
    elif case == "certificate over http":
        headers["PAYPAL-CERT-URL"] = CERTIFICATE_URL.replace("https", "http")
    elif case == "certificate on a look-alike host":
        headers["PAYPAL-CERT-URL"] = "https://api.paypal.com.example.net/v1/certs/CERT-1"
    elif case == "another algorithm":
        headers["PAYPAL-AUTH-ALGO"] = "SHA1withRSA"
    elif case == "signature not base64":
        headers["PAYPAL-TRANSMISSION-SIG"] = "not base64!"
    elif case == "time not RFC 3339":
        headers["PAYPAL-TRANSMISSION-TIME"] = "yesterday"
    else:
        hour = timedelta(hours=-1 if "ago" in case else 1)
        headers = webhooks.sign_with(body, WEBHOOK_ID, at=NOW + hour)
    assert _reason(_gateway(clock, api), headers, body) == reason


def _foreign_certificate(common_name: str, *, expired: bool = False) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    end = datetime(2020, 1, 1, tzinfo=UTC) if expired else datetime(2100, 1, 1, tzinfo=UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(2)
        .not_valid_before(datetime(2000, 1, 1, tzinfo=UTC)).not_valid_after(end)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    "pem",
    [
        pytest.param(lambda: _foreign_certificate("messageverificationcerts.paypal.com"), id="other key"),
        pytest.param(lambda: _foreign_certificate("evil.example.com"), id="not paypal's name"),
        pytest.param(lambda: _foreign_certificate("api.paypal.com", expired=True), id="expired"),
        pytest.param(lambda: b"not a certificate", id="not PEM"),
    ],
)  # fmt: skip
def test_a_certificate_that_is_not_papyals_current_key_fails_the_signature(clock, api, pem):
    """Whatever the fetcher returns must be a current certificate of PayPal's that verifies."""
    webhooks = PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock, api=api)
    served = pem()
    gateway = _gateway(clock, api, certificate_fetcher=lambda _url: served)
    assert _reason(gateway, *_delivery(webhooks)) == "signature"


def test_certificates_are_fetched_once_and_cached(clock, api):
    """The fetcher is asked once per certificate URL, not once per delivery."""
    asked: list[str] = []

    def fetch(url: str) -> bytes:
        asked.append(url)
        return PayPalWebhooks.fetch_certificate(url)

    webhooks = PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock, api=api)
    gateway = _gateway(clock, api, certificate_fetcher=fetch)
    for _ in range(3):
        gateway.parse_webhook(*_delivery(webhooks))
    assert asked == [CERTIFICATE_URL]


def test_an_unreachable_certificate_is_a_retryable_gateway_error(clock, api):
    """No certificate, no verdict: a GatewayUnavailableError (answer 5xx, PayPal retries)."""
    webhooks = PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock, api=api)

    def down(_url: str) -> bytes:
        raise OSError("connection refused")

    with pytest.raises(GatewayUnavailableError):
        _gateway(clock, api, certificate_fetcher=down).parse_webhook(*_delivery(webhooks))


@pytest.mark.parametrize("genuine", [True, False])
def test_the_verify_api_is_the_optional_fallback(clock, api, genuine):
    """With verify_with_api, an unreachable certificate sends the delivery to PayPal's
    verify-webhook-signature API, which accepts only what PayPal sent."""
    webhooks = PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock, api=api)
    headers, body = _delivery(webhooks)
    if not genuine:
        sig = headers["PAYPAL-TRANSMISSION-SIG"]
        headers["PAYPAL-TRANSMISSION-SIG"] = ("B" if sig[0] == "A" else "A") + sig[1:]

    def down(_url: str) -> bytes:
        raise OSError("connection refused")

    gateway = _gateway(clock, api, certificate_fetcher=down, verify_with_api=True)
    if genuine:
        assert gateway.parse_webhook(headers, body).event_id == "WH-1"
    else:
        assert _reason(gateway, headers, body) == "signature"
    assert any(e.path == "/v1/notifications/verify-webhook-signature" for e in api.exchanges)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"webhook_id": " "}, "webhook_id"),
        ({"webhook_id": []}, "webhook_id"),
        ({"client_id": ""}, "client_id"),
        ({"client_secret": " "}, "client_secret"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"tolerance": timedelta(seconds=-1)}, "tolerance"),
        ({"base_uri": "ftp://example.com"}, "base_uri"),
        ({"name": " "}, "name"),
    ],
)
def test_settings_are_checked_with_the_kits_messages(options, field):
    """A bad setting is a ConfigurationError naming its field; nothing is called."""
    settings = {"client_id": "id", "client_secret": "secret", "webhook_id": "WH1",
                "base_uri": "http://127.0.0.1:9"}  # fmt: skip
    with pytest.raises(ConfigurationError) as caught:
        PayPalGateway(**{**settings, **options})
    assert caught.value.field == field


def test_wrong_credentials_are_a_rejection_with_paypals_word(clock, api):
    """PayPal's OAuth refusal surfaces as GatewayRejectedError, not a missing token."""
    gateway = _gateway(clock, api, client_secret="wrong")
    with pytest.raises(GatewayRejectedError) as caught:
        gateway.refund("3C679366HH908993F", amount=None, idempotency_key="r-1")
    assert caught.value.code == "invalid_client"


def test_paypal_5xx_is_retryable_and_4xx_is_not(clock, api):
    """A 503 is GatewayUnavailableError (retry_safe); a 422 decline is PaymentDeclinedError."""
    gateway = _gateway(clock, api)
    api.fail_next(503, "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE")
    with pytest.raises(GatewayUnavailableError) as unavailable:
        gateway.refund("3C679366HH908993F", amount=None, idempotency_key="r-1")
    assert unavailable.value.retry_safe
    api.fail_next(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED")
    with pytest.raises(PaymentDeclinedError):
        gateway.refund("3C679366HH908993F", amount=None, idempotency_key="r-2")


def _sdk_error_classes() -> set[type]:
    found: set[type] = set()
    for module_name in sdk_exceptions.__all__:
        module = __import__(f"paypalserversdk.exceptions.{module_name}", fromlist=["_"])
        for _name, klass in inspect.getmembers(module, inspect.isclass):
            if issubclass(klass, ApiException) and klass.__module__.startswith("paypalserversdk"):
                found.add(klass)
    return found


def test_every_sdk_error_class_is_mapped():
    """Each ApiException subclass the SDK ships has an entry: a new one is a decision."""
    missing = {k.__name__ for k in _sdk_error_classes()} - {k.__name__ for k in ERROR_TABLE}
    assert not missing, f"unmapped paypalserversdk errors: {sorted(missing)}"


def test_the_network_failing_is_unavailable():
    """requests' errors are OSErrors: a timeout or refused connection is retryable."""
    assert OSError in SDK_ERRORS
    assert translate(TimeoutError("timed out"), gateway="paypal").retry_safe


def test_construction_makes_no_network_call():
    """Building the gateway reaches nothing (the base URI here answers nobody)."""
    gateway = PayPalGateway(client_id="id", client_secret="secret", webhook_id="WH1",
                            base_uri="http://127.0.0.1:9", live=True)  # fmt: skip
    assert gateway.client.config.get_base_uri() == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("event_type", "resource_type", "key"),
    [
        ("CUSTOMER.DISPUTE.CREATED", "dispute", "seller_transaction_id"),
        ("PAYMENT.SALE.COMPLETED", "sale", "billing_agreement_id"),
    ],
)
@pytest.mark.parametrize("bad_id", ["\ud800", "CAP\x001", "CAP 1", "../orders", "CAP1?x=1"])
def test_a_signed_body_naming_an_id_no_paypal_object_has_is_a_body_failure(
    clock, api, event_type, resource_type, key, bad_id
):
    """docs/security.md: an id a verified body names is checked before it goes into a
    request path (the SDK quotes ids as UTF-8: a lone surrogate escaped as a
    UnicodeEncodeError, Hypothesis's find) and refused as a body we do not understand,
    before any request, never a crash or another call."""
    gateway = _gateway(clock, api)
    # not recorded with the API: the test server checks what it keeps against PayPal's spec
    webhooks = PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock)
    if resource_type == "dispute":
        resource = {"dispute_id": "PP-D-1", "status": "OPEN",
                    "create_time": "2026-03-01T10:00:00Z",
                    "disputed_transactions": [{key: bad_id}]}  # fmt: skip
    else:
        resource = {"id": "SALE-1", "state": "completed", key: bad_id,
                    "amount": {"total": "10.00", "currency": "USD"},
                    "create_time": "2026-03-01T10:00:00Z"}  # fmt: skip
    calls = len(api.exchanges)
    headers, body = webhooks.event(event_type, resource, resource_type=resource_type)
    assert _reason(gateway, headers, body) == "body"
    assert len(api.exchanges) == calls
