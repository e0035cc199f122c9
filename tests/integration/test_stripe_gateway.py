"""The Stripe gateway drives the real ``stripe`` SDK against a local fake Stripe API.

Each test asserts what the SDK sent (method, path, form fields, ``Idempotency-Key``) and
checks every request's parameter names against the SDK's own request types (generated
from Stripe's OpenAPI description), so an invented or misspelled parameter fails here.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
import stripe
import typing_extensions
from stripe import oauth_error
from stripe.params import (
    ChargeRetrieveParams,
    CustomerCreateParams,
    CustomerSearchParams,
    EventListParams,
    InvoicePaymentListParams,
    PaymentIntentRetrieveParams,
    RefundCreateParams,
    RefundListParams,
    SubscriptionCancelParams,
    SubscriptionRetrieveParams,
    SubscriptionUpdateParams,
)
from stripe.params.checkout import SessionCreateParams, SessionExpireParams, SessionRetrieveParams

from portal_access import (
    ConfigurationError,
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    InvoiceLine,
    LineKind,
    Money,
    PaymentDeclinedError,
    PaymentMethodKind,
    PaymentStatus,
    Plan,
    WebhookVerificationError,
)
from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.adapters import ManualClock
from portal_access.gateways._kit import timestamped_header
from portal_access.gateways.stripe import StripeGateway
from portal_access.gateways.stripe._errors import ERROR_TABLE, gateway_error_class
from portal_access.testing.stripe import (
    FakeStripeApi,
    RecordedRequest,
    StripeWebhooks,
    subscription_object,
)
from tests.stripe_shapes import assert_stripe_shaped

SECRET, OLD_SECRET = "whsec_new", "whsec_old"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PLAN = Plan(id="plan-monthly", name="Portal monthly", amount=Money(4900, "USD"))
SETUP = InvoiceLine("Setup fee", Money(25000, "USD"), LineKind.ONE_TIME)
BOTH = frozenset({PaymentMethodKind.CARD, PaymentMethodKind.BANK_ACCOUNT})

# -- Stripe's request types as an allow-list -----------------------------------------------

_ENDPOINTS: list[tuple[str, str, type]] = [
    ("POST", r"/v1/customers", CustomerCreateParams),
    ("GET", r"/v1/customers/search", CustomerSearchParams),
    ("POST", r"/v1/checkout/sessions", SessionCreateParams),
    ("POST", r"/v1/checkout/sessions/[^/]+/expire", SessionExpireParams),
    ("GET", r"/v1/checkout/sessions/[^/]+", SessionRetrieveParams),
    ("POST", r"/v1/refunds", RefundCreateParams),
    ("GET", r"/v1/refunds", RefundListParams),
    ("GET", r"/v1/charges/[^/]+", ChargeRetrieveParams),
    ("GET", r"/v1/subscriptions/[^/]+", SubscriptionRetrieveParams),
    ("POST", r"/v1/subscriptions/[^/]+", SubscriptionUpdateParams),
    ("DELETE", r"/v1/subscriptions/[^/]+", SubscriptionCancelParams),
    ("GET", r"/v1/payment_intents/[^/]+", PaymentIntentRetrieveParams),
    ("GET", r"/v1/invoice_payments", InvoicePaymentListParams),
    ("GET", r"/v1/events", EventListParams),
]
_OPTIONS = {"api_key", "idempotency_key", "stripe_account", "stripe_context", "stripe_version",
            "max_network_retries", "headers"}  # fmt: skip


def _top_level(text: str) -> list[str]:
    """``"A|List[B|C]"`` -> ``["A", "List[B|C]"]``."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "[") - (char == "]")
        if char == "|" and depth == 0:
            parts, current = [*parts, current], ""
        else:
            current += char
    return [*parts, current]


def _kind(tp: Any, module: Any) -> tuple[str, Any]:
    """("dict", TypedDict) | ("list", kind) | ("map", None) | ("scalar", None)."""
    origin = typing.get_origin(tp)
    if origin in (typing.NotRequired, typing.Required):
        return _kind(typing.get_args(tp)[0], module)
    if isinstance(tp, typing.ForwardRef):
        tp = tp.__forward_arg__
    if isinstance(tp, str) and "|" in tp:
        kinds = [_kind(part.strip(), module) for part in _top_level(tp)]
        return next((k for k in kinds if k[0] != "scalar"), ("scalar", None))
    if isinstance(tp, str):
        named = getattr(module, tp, None) if tp.isidentifier() else None
        if named is not None and typing_extensions.is_typeddict(named):
            return "dict", named
        if tp.startswith("List["):
            return "list", _kind(tp[5:-1].strip("\"'"), module)
        return ("map", None) if tp.startswith("Dict[") else ("scalar", None)
    if typing_extensions.is_typeddict(tp):
        return "dict", tp
    if origin is list:
        return "list", _kind(typing.get_args(tp)[0], module)
    if origin is dict:
        return "map", None
    if origin is typing.Union:
        kinds = [_kind(arg, module) for arg in typing.get_args(tp)]
        return next((k for k in kinds if k[0] != "scalar"), ("scalar", None))
    return "scalar", None


def assert_accepted(request: RecordedRequest) -> None:
    """Every parameter name the SDK sent exists in Stripe's request type for the endpoint."""
    matches = [
        p for m, path, p in _ENDPOINTS if m == request.method and re.fullmatch(path, request.path)
    ]
    assert matches, f"no known Stripe endpoint {request.method} {request.path}"
    for key in {**request.query, **request.form}:
        node: tuple[str, Any] = ("dict", matches[0])
        for part in re.findall(r"[^\[\]]+", key):
            kind, inner = node
            if kind == "dict":
                fields = {k: v for k, v in inner.__annotations__.items() if k not in _OPTIONS}
                assert part in fields, f"{request.path}: Stripe has no parameter {key!r}"
                node = _kind(fields[part], sys.modules[inner.__module__])
            elif kind == "list":
                assert part.isdigit(), f"{key!r}: list index expected"
                node = inner
            elif kind == "map":
                node = ("scalar", None)
            else:
                raise AssertionError(f"{request.path}: {key!r} is nested too deep")


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def api(clock: ManualClock) -> Iterator[FakeStripeApi]:
    with FakeStripeApi(clock=clock) as fake:
        yield fake
    for request in fake.requests:
        assert_accepted(request)
        if request.method == "POST":
            assert request.headers.get("idempotency-key", "").startswith("portal-access:"), request
        assert "x-stripe-client-telemetry" not in request.headers
    assert_stripe_shaped(fake)


@pytest.fixture
def gateway(clock: ManualClock, api: FakeStripeApi) -> StripeGateway:
    return StripeGateway(api_key="sk_test_1", webhook_secret=SECRET, clock=clock,
                         api_base=api.url, max_network_retries=0)  # fmt: skip


@pytest.fixture
def webhooks(clock: ManualClock, api: FakeStripeApi) -> StripeWebhooks:
    return StripeWebhooks(secret=SECRET, clock=clock, api=api)


def request_for(purpose: CheckoutPurpose, **changes: Any) -> CheckoutRequest:
    base = CheckoutRequest(
        purpose=CheckoutPurpose.REQUIRED_PAYMENT, currency="USD", success_url="https://portal.example/paid",
        cancel_url="https://portal.example/pay", idempotency_key="required:inv-1:p0",
        contact_id="c-1", customer_email=EmailAddress.parse("ann@example.com"),
        customer_name="Ann Lee", invoice_id="inv-1", invoice_number="1001",
        lines=(SETUP,), payment_methods=BOTH,
    )  # fmt: skip
    return attrs.evolve(base, purpose=purpose, **changes)


def posts(api: FakeStripeApi, path: str) -> list[RecordedRequest]:
    return [r for r in api.requests if r.method == "POST" and r.path == path]


# -- construction ------------------------------------------------------------------------


def test_construction_checks_its_arguments_and_calls_nothing():
    """Neither or both of client and api_key, or no secret, is a ConfigurationError."""
    with pytest.raises(ConfigurationError):
        StripeGateway(webhook_secret=SECRET)
    with pytest.raises(ConfigurationError):
        StripeGateway(api_key="sk", client=stripe.StripeClient("sk"), webhook_secret=SECRET)
    with pytest.raises(ConfigurationError):
        StripeGateway(api_key="sk", webhook_secret=["whsec_a", " "])
    client = stripe.StripeClient("sk_test_mine")
    assert StripeGateway(client=client, webhook_secret=SECRET).client is client


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"webhook_secret": []}, "webhook_secret"),
        ({"name": " "}, "name"),
        ({"tolerance": 300}, "tolerance"),
        ({"tolerance": timedelta(seconds=-1)}, "tolerance"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.5}, "timeout"),
        ({"max_network_retries": -1}, "max_network_retries"),
    ],
)
def test_a_misconfigured_gateway_names_its_own_field(changes, field):
    """Each bad setting is refused naming that setting: a bad timeout says "timeout"."""
    options: dict[str, Any] = {"api_key": "sk", "webhook_secret": SECRET, **changes}
    with pytest.raises(ConfigurationError) as caught:
        StripeGateway(**options)
    assert caught.value.field == field


def test_the_tolerance_is_a_timedelta_checked_both_ways(clock, api, webhooks):
    """A gateway built with a one-minute tolerance refuses signatures 61 seconds old or
    61 seconds ahead of its clock, and takes those 60 seconds either way."""
    gateway = StripeGateway(api_key="sk", webhook_secret=SECRET, clock=clock, api_base=api.url,
                            tolerance=timedelta(minutes=1))  # fmt: skip
    headers, body = _payment(webhooks)
    for seconds, reason in ((60, None), (-60, None), (61, "timestamp"), (-61, "timestamp")):
        clock.advance(timedelta(seconds=seconds))
        if reason is None:
            assert gateway.parse_webhook(headers, body).event_id == "evt_1"
        else:
            assert _reason(gateway, headers, body) == reason
        clock.advance(timedelta(seconds=-seconds))


# -- checkout ----------------------------------------------------------------------------


def test_one_time_only_opens_a_payment_mode_session(gateway, api):
    """One-time only: mode=payment, ACH and card, our ids on the session and the intent."""
    session = gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT))
    assert session.url.startswith("https://checkout.stripe.com/")
    assert session.expires_at == NOW + timedelta(days=1)
    (customer,) = posts(api, "/v1/customers")
    assert customer.form == {"metadata[contact_id]": "c-1", "email": "ann@example.com",
                             "name": "Ann Lee"}  # fmt: skip
    (sent,) = posts(api, "/v1/checkout/sessions")
    form = sent.form
    assert form["mode"] == "payment"
    assert (form["allowed_payment_method_types[0]"], form["allowed_payment_method_types[1]"]) == (
        "card",
        "us_bank_account",
    )
    assert form["customer"] == api.objects[session.session_id]["customer"]
    assert form["line_items[0][price_data][unit_amount]"] == "25000"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert "line_items[0][price_data][recurring][interval]" not in form
    assert (
        form["metadata[invoice_id]"] == form["payment_intent_data[metadata][invoice_id]"] == "inv-1"
    )
    assert form["payment_intent_data[metadata][contact_id]"] == "c-1"
    assert (form["success_url"], form["cancel_url"]) == (
        "https://portal.example/paid",
        "https://portal.example/pay",
    )
    assert sent.headers["idempotency-key"] == "portal-access:checkout:required:inv-1:p0"


@pytest.mark.parametrize("with_one_time", [True, False])
def test_a_plan_opens_a_subscription_mode_session(gateway, api, with_one_time):
    """Seed 000_07c53b15302458c1.txt: the first invoice carries both charges; the plan recurs."""
    lines = (SETUP,) if with_one_time else ()
    gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT, lines=lines, plan=PLAN))
    (sent,) = posts(api, "/v1/checkout/sessions")
    form, plan_line = sent.form, len(lines)
    assert form["mode"] == "subscription"
    assert form[f"line_items[{plan_line}][price_data][recurring][interval]"] == "month"
    assert form[f"line_items[{plan_line}][price_data][recurring][interval_count]"] == "1"
    assert form[f"line_items[{plan_line}][price_data][unit_amount]"] == "4900"
    assert ("line_items[0][price_data][recurring][interval]" in form) is not with_one_time
    assert form["subscription_data[metadata][plan_id]"] == "plan-monthly"
    assert form["subscription_data[metadata][invoice_id]"] == "inv-1"
    assert form["subscription_data[metadata][contact_id]"] == "c-1"
    assert not any(key.startswith("payment_intent_data") for key in form)


def test_saving_a_method_opens_a_setup_mode_session(gateway, api):
    """Seed 003: saving a payment method charges nothing (Checkout setup mode)."""
    request = request_for(CheckoutPurpose.SAVE_PAYMENT_METHOD, invoice_id=None,
                          invoice_number=None, lines=(), save_payment_method=True)  # fmt: skip
    gateway.start_checkout(request)
    (sent,) = posts(api, "/v1/checkout/sessions")
    assert sent.form["mode"] == "setup"
    assert sent.form["setup_intent_data[metadata][contact_id]"] == "c-1"
    assert not any(key.startswith("line_items") for key in sent.form)


def test_a_guest_gets_no_customer_and_a_prefilled_email(gateway, api):
    """Quick pay (no contact): no customer is made; the email is prefilled."""
    gateway.start_checkout(request_for(CheckoutPurpose.QUICK_PAY, contact_id=None))
    assert posts(api, "/v1/customers") == []
    (sent,) = posts(api, "/v1/checkout/sessions")
    assert sent.form["customer_email"] == "ann@example.com"


def test_customers_are_not_duplicated_on_retry(gateway, api, monkeypatch):
    """A retry reuses the customer: found by metadata, or replayed by its idempotency key."""
    first = gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT))
    gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT, idempotency_key="k-2"))
    monkeypatch.setattr(
        api,
        "_search_customers",
        lambda _r: (
            200,
            {
                "object": "search_result",
                "data": [],
                "has_more": False,
                "url": "/v1/customers/search",
            },
        ),
    )
    again = gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT))  # search lags
    customers = [o for o in api.objects.values() if o["object"] == "customer"]
    assert len(customers) == 1
    keys = {r.headers["idempotency-key"] for r in posts(api, "/v1/customers")}
    assert len(keys) == 1
    assert again.session_id == first.session_id  # the session POST was replayed too


def test_resubscribe_pays_back_the_open_invoice_of_a_past_due_subscription(gateway, api):
    """Seed 000_07c53b15302458c1.txt: re-subscribing never makes a second subscription."""
    api.add({"id": "in_test_old", "object": "invoice", "status": "open",
             "hosted_invoice_url": "https://invoice.stripe.com/i/in_test_old"})  # fmt: skip
    old = subscription_object(subscription_id="sub_test_old", status=SubscriptionStatus.PAST_DUE, created=1,
                              metadata={"contact_id": "c-1", "plan_id": PLAN.id})  # fmt: skip
    api.add({**old, "latest_invoice": "in_test_old"})
    request = request_for(CheckoutPurpose.RESUBSCRIBE, lines=(), plan=PLAN,
                          replaces_subscription_id="sub_test_old")  # fmt: skip
    page = gateway.start_checkout(request)
    assert (page.session_id, page.url) == (
        "in_test_old",
        "https://invoice.stripe.com/i/in_test_old",
    )
    assert posts(api, "/v1/checkout/sessions") == []
    (update,) = posts(api, "/v1/subscriptions/sub_test_old")
    assert update.form == {"payment_settings[save_default_payment_method]": "on_subscription"}
    gateway.expire_checkout(page.session_id)  # the debt's page stays: nothing is sent
    assert not any("expire" in r.path for r in api.requests)


def test_resubscribe_after_cancellation_makes_a_new_subscription(gateway, api):
    """An ended subscription is replaced by a new one; an active one is not re-subscribed."""
    for sub_id, status in (
        ("sub_test_ended", SubscriptionStatus.CANCELED),
        ("sub_test_live", SubscriptionStatus.ACTIVE),
    ):
        api.add(subscription_object(subscription_id=sub_id, status=status, created=1, metadata={}))
    request = request_for(CheckoutPurpose.RESUBSCRIBE, lines=(), plan=PLAN,
                          replaces_subscription_id="sub_test_ended")  # fmt: skip
    gateway.start_checkout(request)
    assert posts(api, "/v1/checkout/sessions")[0].form["mode"] == "subscription"
    with pytest.raises(GatewayRejectedError) as caught:
        gateway.start_checkout(
            attrs.evolve(request, replaces_subscription_id="sub_test_live", idempotency_key="k-3")
        )
    assert caught.value.code == "subscription_active"


# -- refunds, cancels, expiry --------------------------------------------------------------


def test_refunds_a_payment_intent_or_the_intent_that_paid_an_invoice(gateway, api):
    """Refunds go to the payment intent, with our key; an invoice's is looked up first."""
    api.add({"id": "pi_test_1", "object": "payment_intent", "amount": 25000, "currency": "usd"})
    api.add({"id": "inpay_test_1", "object": "invoice_payment", "invoice": "in_test_1", "status": "paid",
             "payment": {"type": "payment_intent", "payment_intent": "pi_test_1"}})  # fmt: skip
    gateway.refund("pi_test_1", amount=Money(1000, "USD"), idempotency_key="refund-1")
    gateway.refund("in_test_1", amount=None, idempotency_key="refund-2")
    first, second = posts(api, "/v1/refunds")
    assert first.form == {"payment_intent": "pi_test_1", "amount": "1000"}
    assert first.headers["idempotency-key"] == "portal-access:refund:refund-1"
    assert second.form == {"payment_intent": "pi_test_1"}
    with pytest.raises(GatewayRejectedError):
        gateway.refund("in_test_unknown", amount=None, idempotency_key="refund-3")


def test_cancel_is_idempotent_and_unknown_subscriptions_are_refused(gateway, api):
    """Cancelling twice is fine; a subscription Stripe does not know is refused."""
    api.add(
        subscription_object(
            subscription_id="sub_test_1", status=SubscriptionStatus.ACTIVE, created=1, metadata={}
        )
    )
    gateway.cancel_subscription("sub_test_1", idempotency_key="cancel-1")
    gateway.cancel_subscription("sub_test_1", idempotency_key="cancel-2")
    deletes = [r for r in api.requests if r.method == "DELETE"]
    assert [r.headers["idempotency-key"] for r in deletes] == [
        "portal-access:cancel:cancel-1",
        "portal-access:cancel:cancel-2",
    ]
    assert api.objects["sub_test_1"]["status"] == "canceled"
    with pytest.raises(GatewayRejectedError):
        gateway.cancel_subscription("sub_test_nope", idempotency_key="cancel-3")


def test_expire_closes_open_sessions_and_leaves_closed_ones(gateway, api):
    """Expiring an open session closes it; expired or complete ones are not an error."""
    session = gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT))
    gateway.expire_checkout(session.session_id)
    gateway.expire_checkout(session.session_id)
    api.objects[session.session_id]["status"] = "complete"
    gateway.expire_checkout(session.session_id)
    assert api.objects[session.session_id]["status"] == "complete"
    assert len(posts(api, f"/v1/checkout/sessions/{session.session_id}/expire")) == 3
    with pytest.raises(GatewayRejectedError):
        gateway.expire_checkout("cs_test_unknown")


# -- reconcile's listing -------------------------------------------------------------------


def test_list_events_pages_through_everything_oldest_first(gateway, api, webhooks, clock):
    """Every page of /v1/events since the cursor is read; events come oldest first."""
    start = int(NOW.timestamp())
    for n in range(230):
        webhooks.event("customer.created", {"id": f"cus_{n}", "object": "customer"},
                       event_id=f"evt_{n:03d}", created=start - 100 + n)  # fmt: skip
    events = list(gateway.list_events(since=NOW))
    assert [e.event_id for e in events] == [f"evt_{n:03d}" for n in range(100, 230)]
    pages = [r for r in api.requests if r.path == "/v1/events"]
    assert len(pages) == 2
    assert pages[0].query == {"created[gte]": str(start), "limit": "100"}
    assert pages[1].query["starting_after"] == "evt_130"


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "expected", "retry_safe"),
    [
        (
            402,
            {"type": "card_error", "code": "card_declined", "message": "Declined"},
            PaymentDeclinedError,
            False,
        ),
        (
            400,
            {"type": "invalid_request_error", "code": "parameter_unknown", "message": "?"},
            GatewayRejectedError,
            False,
        ),
        (400, {"type": "idempotency_error", "message": "key reused"}, GatewayRejectedError, False),
        (401, {"type": "invalid_request_error", "message": "bad key"}, GatewayRejectedError, False),
        (
            429,
            {"type": "invalid_request_error", "code": "rate_limit", "message": "slow"},
            GatewayUnavailableError,
            True,
        ),
        (500, {"type": "api_error", "message": "oops"}, GatewayUnavailableError, True),
    ],
)
def test_stripe_errors_become_gateway_errors(gateway, api, status, error, expected, retry_safe):
    """Each HTTP failure maps to the GatewayError subclass that says whether to retry."""
    api.fail_next(status, error)
    with pytest.raises(GatewayError) as caught:
        gateway.start_checkout(request_for(CheckoutPurpose.QUICK_PAY, contact_id=None))
    assert type(caught.value) is expected
    assert caught.value.retry_safe is retry_safe
    assert isinstance(caught.value.__cause__, stripe.StripeError)
    assert caught.value.gateway == "stripe"


def test_an_unreachable_api_is_unavailable_and_retry_safe(clock):
    """A refused connection is GatewayUnavailableError (retry_safe)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = StripeGateway(api_key="sk_test_1", webhook_secret=SECRET, clock=clock,
                            api_base=f"http://127.0.0.1:{port}", max_network_retries=0, timeout=2)  # fmt: skip
    with pytest.raises(GatewayUnavailableError) as caught:
        gateway.expire_checkout("cs_test_1")
    assert caught.value.retry_safe


def _all_errors(klass: type) -> Iterator[type]:
    for sub in klass.__subclasses__():
        yield sub
        yield from _all_errors(sub)


def test_every_sdk_error_class_is_mapped():
    """Walks stripe.StripeError's subclasses: each must have its own decision in ERROR_TABLE."""
    _ = oauth_error  # the OAuth errors are StripeErrors too
    classes = list(_all_errors(stripe.StripeError))
    assert len(classes) > 20
    unmapped = [
        c.__qualname__ for c in classes
        if not any(k in ERROR_TABLE for k in c.__mro__ if k is not stripe.StripeError)
    ]  # fmt: skip
    assert unmapped == [], f"map these stripe errors in gateways/stripe/errors.py: {unmapped}"
    assert gateway_error_class(stripe.CardError) is PaymentDeclinedError
    assert gateway_error_class(stripe.APIConnectionError) is GatewayUnavailableError


# -- webhooks ----------------------------------------------------------------------------


def _payment(webhooks: StripeWebhooks) -> tuple[dict[str, str], bytes]:
    return webhooks.payment(event_id="evt_1", payment_id="pi_test_1", invoice_id="inv-1",
                            contact_id="c-1", status=PaymentStatus.SUCCEEDED,
                            method=PaymentMethodKind.CARD, amount=Money(25000, "USD"),
                            version=int(NOW.timestamp()))  # fmt: skip


def _reason(gateway: StripeGateway, headers: dict[str, str], body: bytes) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        gateway.parse_webhook(headers, body)
    return caught.value.reason


def test_a_valid_webhook_is_the_sdks_own_scheme(gateway, webhooks):
    """Our signatures are the SDK's, both ways: the SDK's construct_event accepts our
    deliveries, and the gateway accepts a header the SDK generated."""
    headers, body = _payment(webhooks)
    event = stripe.Webhook.construct_event(
        body, headers["Stripe-Signature"], SECRET, tolerance=None
    )
    assert event.id == "evt_1"
    sdk = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET, timestamp=5)
    assert sdk == timestamped_header(body, secrets=[SECRET], timestamp=5)
    now = int(NOW.timestamp())
    sdk_now = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET, now)
    (payment,) = gateway.parse_webhook({"Stripe-Signature": sdk_now}, body).payments
    assert (payment.payment_id, payment.invoice_id, payment.status) == (
        "pi_test_1",
        "inv-1",
        PaymentStatus.SUCCEEDED,
    )


def test_a_signed_body_that_is_not_utf8_is_a_body_failure_and_a_forged_one_a_signature_failure(
    gateway, webhooks
):
    """Bytes that are not UTF-8 are checked like any other body: a genuine signature then
    fails on the body, a forged one on the signature; nothing is decoded first."""
    body = b'{"id": "\xff"}'
    assert _reason(gateway, webhooks.sign(body), body) == "body"
    assert _reason(gateway, webhooks.sign_with(body, "whsec_other"), body) == "signature"


def test_tampered_wrong_secret_and_stale_webhooks_are_refused(gateway, webhooks, clock):
    """A changed body or another secret fails the signature; an old or future one the time."""
    headers, body = _payment(webhooks)
    assert _reason(gateway, headers, body.replace(b"25000", b"1")) == "signature"
    assert _reason(gateway, webhooks.sign_with(body, "whsec_other"), body) == "signature"
    assert _reason(gateway, webhooks.stale(body), body) == "timestamp"
    clock.advance(timedelta(minutes=-6))
    assert _reason(gateway, headers, body) == "timestamp"  # signed six minutes "ahead"


def test_secret_rotation_accepts_several_signatures_and_several_secrets(clock, api, webhooks):
    """Stripe signs with the old and new secret while rolling; we may hold both too."""
    _, body = _payment(webhooks)
    both_signatures = webhooks.sign_with(body, OLD_SECRET, SECRET)
    old_only = webhooks.sign_with(body, OLD_SECRET)
    new_only = StripeGateway(api_key="sk", webhook_secret=SECRET, clock=clock, api_base=api.url)
    rotating = StripeGateway(
        api_key="sk", webhook_secret=[SECRET, OLD_SECRET], clock=clock, api_base=api.url
    )
    assert new_only.parse_webhook(both_signatures, body).event_id == "evt_1"
    assert rotating.parse_webhook(old_only, body).event_id == "evt_1"
    assert _reason(new_only, old_only, body) == "signature"


# -- mapping the current API shapes ----------------------------------------------------------


def _invoice(invoice_id: str, reason: str, status: str, meta: dict[str, str]) -> dict[str, Any]:
    return {"id": invoice_id, "object": "invoice", "billing_reason": reason, "status": status,
            "total": 4900, "currency": "usd", "created": int(NOW.timestamp()), "due_date": None,
            "parent": {"type": "subscription_details", "quote_details": None,
                       "subscription_details": {"subscription": "sub_test_1", "metadata": meta}}}  # fmt: skip


def test_invoices_are_read_through_parent_subscription_details(gateway, webhooks):
    """Current API: the first invoice pays our invoice; later ones are renewals (seed 000)."""
    meta = {"invoice_id": "inv-1", "contact_id": "c-1", "plan_id": PLAN.id}
    first = gateway.parse_webhook(
        *webhooks.event(
            "invoice.paid", _invoice("in_1", "subscription_create", "paid", meta), event_id="evt_a"
        )
    )
    assert [(p.payment_id, p.invoice_id, p.status) for p in first.payments] == [
        ("in_1", "inv-1", PaymentStatus.SUCCEEDED)
    ]
    assert first.renewals == ()
    failed = gateway.parse_webhook(
        *webhooks.event(
            "invoice.payment_failed",
            _invoice("in_2", "subscription_cycle", "open", meta),
            event_id="evt_b",
        )
    )
    (renewal,) = failed.renewals
    assert (renewal.invoice_id, renewal.status, renewal.contact_id) == (
        "rnw_stripe_in_2",
        InvoiceStatus.OPEN,
        "c-1",
    )
    assert [(p.invoice_id, p.status) for p in failed.payments] == [
        ("rnw_stripe_in_2", PaymentStatus.FAILED)
    ]


def test_a_refund_of_an_invoice_payment_is_traced_to_its_invoice(gateway, webhooks, api):
    """A charge without our metadata is looked up: intent, then the invoice it paid."""
    meta = {"invoice_id": "inv-1", "contact_id": "c-1", "plan_id": PLAN.id}
    api.add(_invoice("in_1", "subscription_create", "paid", meta))
    api.add(
        {
            "id": "pi_test_9",
            "object": "payment_intent",
            "amount": 4900,
            "currency": "usd",
            "metadata": {},
        }
    )
    api.add({"id": "inpay_test_9", "object": "invoice_payment", "invoice": "in_1", "status": "paid",
             "payment": {"type": "payment_intent", "payment_intent": "pi_test_9"}})  # fmt: skip
    charge = {"id": "ch_test_9", "object": "charge", "amount": 4900, "currency": "usd", "refunded": True,
              "payment_intent": "pi_test_9", "metadata": {}, "payment_method_details": {"type": "card"}}  # fmt: skip
    (payment,) = gateway.parse_webhook(
        *webhooks.event("charge.refunded", charge, event_id="evt_r")
    ).payments
    assert (payment.payment_id, payment.invoice_id, payment.status) == (
        "in_1",
        "inv-1",
        PaymentStatus.REFUNDED,
    )


def test_a_body_that_is_not_json_after_a_good_signature_is_a_body_error(gateway, webhooks):
    """Verified first, then parsed: a signed non-event is reason "body"."""
    body = json.dumps({"id": "evt_x", "object": "event"}).encode()
    assert _reason(gateway, webhooks.sign(body), body) == "body"


def test_the_allow_list_catches_invented_parameters():
    """The request check refuses a misspelled nested name and Checkout's retired one."""
    good = RecordedRequest(
        "POST",
        "/v1/checkout/sessions",
        {},
        {"line_items[0][price_data][recurring][interval]": "month", "metadata[anything]": "x"},
        {},
    )
    assert_accepted(good)
    for key in ("payment_intent_data[metdata][invoice_id]", "payment_method_types[0]"):
        with pytest.raises(AssertionError, match="no parameter"):
            assert_accepted(RecordedRequest("POST", "/v1/checkout/sessions", {}, {key: "x"}, {}))
