"""The Square gateway drives the real ``squareup`` SDK against a local fake Square API.

Each test asserts what the SDK sent (method, path, JSON body, idempotency keys); at the
end of every test the ``api`` fixture checks every request body, query and answer
against Square's OpenAPI description (closed to unknown fields), so an invented or
misspelled parameter fails here.
"""

from __future__ import annotations

import logging
import socket
import time
import types
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import attrs
import httpx
import pytest
import square
from square.core.api_error import ApiError
from square.core.http_sse._exceptions import SSEError
from square.utils.reporting_helper import ReportingPollCancelledError, ReportingPollTimeoutError

from portal_access import (
    ConfigurationError,
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    Money,
    PaymentDeclinedError,
    PaymentStatus,
)
from portal_access._domain.checkout import CheckoutPurpose
from portal_access.gateways.square import SquareGateway
from portal_access.gateways.square._errors import ERROR_TABLE, gateway_error_class
from portal_access.testing.square import FakeSquareApi, SquareWebhooks
from tests.square_world import (
    KEY,
    NOW,
    URL,
    api,
    clock,
    gateway,
    make_gateway,
    request_for,
    sent,
    webhooks,
)

__all__ = ["api", "clock", "gateway", "webhooks"]  # the fixtures this module uses

# -- construction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"access_token": None}, "client"),
        ({"client": "both"}, "client"),
        ({"access_token": " "}, "access_token"),
        ({"base_url": None}, "environment"),
        ({"base_url": None, "environment": "live"}, "environment"),
        ({"location_id": " "}, "location_id"),
        ({"webhook_secret": []}, "webhook_secret"),
        ({"webhook_secret": ["k", " "]}, "webhook_secret"),
        ({"notification_url": "http://portal.example/webhooks/square"}, "notification_url"),
        ({"notification_url": "https://portal.example/hooks "}, "notification_url"),
        ({"plan_variations": {"a": "V1", "b": "V1"}}, "plan_variations"),
        ({"plan_variations": {"a": ""}}, "plan_variations"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"timeout": 0}, "timeout"),
        ({"name": " "}, "name"),
    ],
)
def test_construction_checks_every_setting_with_the_kits_messages(changes, field, clock):
    """Each bad setting is a ConfigurationError naming its field, before anything is sent."""
    settings: dict[str, Any] = {
        "access_token": "EAAA-test",
        "base_url": "http://127.0.0.1:9",
        "location_id": "L1",
        "webhook_secret": KEY,
        "notification_url": URL,
        "clock": clock,
    }
    if changes.get("client") == "both":
        changes = {"client": square.Square(token="x", base_url="http://127.0.0.1:9")}
    with pytest.raises(ConfigurationError) as caught:
        SquareGateway(**{**settings, **changes})
    assert caught.value.field == field


def test_construction_calls_nothing_and_keeps_a_given_client(clock):
    """No request is made by a constructor: an address nothing listens on is fine."""
    client = square.Square(token="EAAA-mine", base_url="http://127.0.0.1:9")
    gateway = SquareGateway(
        client=client, location_id="L1", webhook_secret=KEY, notification_url=URL, clock=clock
    )
    assert gateway.client is client
    sandbox = SquareGateway(
        access_token="EAAA-x",
        environment="sandbox",
        location_id="L1",
        webhook_secret=KEY,
        notification_url=URL,
    )
    assert sandbox.name == "square"


# -- checkout ----------------------------------------------------------------------------


def test_a_contact_pays_both_charges_on_an_invoice_page(gateway, api):
    """Seed 000_07c53b15302458c1.txt: one invoice page carries the one-time fee and the plan's first period, card and ACH."""
    session = gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT))
    assert session.url.startswith("https://")
    (search,) = sent(api, "POST", "/v2/customers/search")
    assert search.body["query"]["filter"] == {"reference_id": {"exact": "c-1"}}
    (customer,) = sent(api, "POST", "/v2/customers")
    assert customer.body["reference_id"] == "c-1"
    assert (customer.body["given_name"], customer.body["family_name"]) == ("Ann", "Lee")
    (order,) = sent(api, "POST", "/v2/orders")
    lines = order.body["order"]["line_items"]
    assert [(line["name"], line["base_price_money"]["amount"]) for line in lines] == [
        ("Setup fee", 25000),
        ("Portal monthly", 5000),
    ]
    assert order.body["order"]["metadata"] == {
        "invoice_id": "inv-1",
        "contact_id": "c-1",
        "purpose": "required_payment",
        "plan_id": "plan-monthly",
        "plan_amount": "5000 USD",
        "plan_interval": "month/1",
    }
    (invoice,) = sent(api, "POST", "/v2/invoices")
    sent_invoice = invoice.body["invoice"]
    assert sent_invoice["accepted_payment_methods"]["card"] is True
    assert sent_invoice["accepted_payment_methods"]["bank_account"] is True
    assert sent_invoice["store_payment_method_enabled"] is False  # not allowed to save
    assert sent_invoice["payment_requests"] == [
        {"request_type": "BALANCE", "due_date": "2026-03-02"}
    ]
    (publish,) = sent(api, "POST", f"/v2/invoices/{session.session_id}/publish")
    keys = [e.body["idempotency_key"] for e in (customer, order, invoice, publish)]
    assert len(set(keys)) == 4
    assert all(len(key) <= 45 for key in keys)
    assert api.objects["subscription"] == {}  # made once the first period is paid


def test_saving_a_card_is_offered_only_where_the_contact_may(gateway, api):
    """Seed 003_11ad6fb0c789d951.txt: "save my card" is on the page only for a contact who may save a method."""
    gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT, save_payment_method=True))
    (invoice,) = sent(api, "POST", "/v2/invoices")
    assert invoice.body["invoice"]["store_payment_method_enabled"] is True
    (order,) = sent(api, "POST", "/v2/orders")
    assert order.body["order"]["metadata"]["card_on_file"] == "allowed"


def test_the_same_key_returns_the_same_page_and_one_customer(gateway, api):
    """A retried checkout returns the first page; the contact's customer is found, never made twice."""
    request = request_for(CheckoutPurpose.REQUIRED_PAYMENT)
    first, again = gateway.start_checkout(request), gateway.start_checkout(request)
    assert (again.session_id, again.url) == (first.session_id, first.url)
    assert len(api.objects["customer"]) == 1
    assert len(api.objects["invoice"]) == 1
    other = gateway.start_checkout(attrs.evolve(request, idempotency_key="key-other"))
    assert other.session_id != first.session_id
    assert len(api.objects["customer"]) == 1


def _sdk_sleeps_with(monkeypatch: pytest.MonkeyPatch, sleep: Any) -> None:
    """The SDK's retry sleeps call ``sleep``: its module's name for ``time`` is replaced,
    not ``time.sleep`` itself, which other threads of the process (a portal's outcome
    watcher, left by an earlier test) call meanwhile."""
    monkeypatch.setattr(
        "square.core.http_client.time", types.SimpleNamespace(time=time.time, sleep=sleep)
    )


def test_a_retried_customer_create_sends_the_same_key_and_makes_one(api, clock, monkeypatch):
    """Square made the customer but its answer was lost: the SDK retries the POST (after a
    sleep) with the same idempotency key, and gets the same customer back."""
    slept: list[float] = []
    _sdk_sleeps_with(monkeypatch, slept.append)
    gateway = make_gateway(api, clock, max_retries=2)
    api.fail_next(503, path="/v2/customers", lost=True)
    gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT))
    first, retried = sent(api, "POST", "/v2/customers")
    assert (first.status, retried.status) == (503, 200)
    assert first.body["idempotency_key"] == retried.body["idempotency_key"]
    assert len(slept) == 1
    assert len(api.objects["customer"]) == 1


def test_retries_are_set_on_every_call(api, clock, monkeypatch):
    """max_retries=0 turns the SDK's default retries (POST included) off: one try, no sleep."""
    _sdk_sleeps_with(monkeypatch, pytest.fail)
    gateway = make_gateway(api, clock, max_retries=0)
    api.fail_next(503)
    with pytest.raises(GatewayUnavailableError):
        gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT))
    assert len(api.exchanges) == 1


def test_a_guest_pays_on_a_payment_link(gateway, api):
    """Seed 001_345994b3bb014aeb.txt: quick pay opens a payment link carrying our invoice, with no customer."""
    session = gateway.start_checkout(request_for(CheckoutPurpose.QUICK_PAY))
    assert session.url == f"https://square.link/u/{session.session_id}"
    (link,) = sent(api, "POST", "/v2/online-checkout/payment-links")
    assert link.body["order"]["metadata"]["invoice_id"] == "inv-1"
    assert link.body["checkout_options"] == {"redirect_url": "https://portal.example/paid"}
    assert link.body["pre_populated_data"] == {"buyer_email": "ann@example.com"}
    assert sent(api, "POST", "/v2/customers") == []


def test_saving_a_method_alone_has_no_square_page(gateway, api):
    """Square has no hosted page that saves a card without a payment: refused before any call."""
    request = request_for(
        CheckoutPurpose.SAVE_PAYMENT_METHOD,
        invoice_id=None,
        invoice_number=None,
        lines=(),
        plan=None,
        save_payment_method=True,
    )
    with pytest.raises(GatewayRejectedError) as caught:
        gateway.start_checkout(request)
    assert caught.value.code == "unsupported_purpose"
    assert api.exchanges == []


def test_a_plan_without_a_variation_is_refused_before_anything_is_made(api, clock):
    """A plan the gateway has no Square plan variation for is a ConfigurationError, sent nowhere."""
    gateway = make_gateway(api, clock, plan_variations={})
    with pytest.raises(ConfigurationError) as caught:
        gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT))
    assert caught.value.field == "plan_variations"
    assert api.exchanges == []


def _paid_subscription(
    gateway: SquareGateway, api: FakeSquareApi, webhooks: SquareWebhooks, *, save_card: bool = False
) -> str:
    """A first invoice paid by card, its webhooks parsed: the subscription it started."""
    request = request_for(
        CheckoutPurpose.REQUIRED_PAYMENT, idempotency_key="key-paid", save_payment_method=save_card
    )
    page = gateway.start_checkout(request)
    api.pay_invoice(page.session_id, save_card=save_card)
    for headers, body in webhooks.deliveries():
        gateway.parse_webhook(headers, body)
    (subscription_id,) = api.objects["subscription"]
    return subscription_id


def test_resubscribing_pays_back_the_unpaid_renewal_of_an_active_subscription(
    gateway, api, webhooks, clock
):
    """Seed 000_07c53b15302458c1.txt: re-subscribing to an active subscription in arrears opens its unpaid invoice, no new plan."""
    subscription_id = _paid_subscription(gateway, api, webhooks)
    clock.advance(timedelta(days=35))
    renewal = api.renew(subscription_id, succeed=False)
    request = request_for(CheckoutPurpose.RESUBSCRIBE, replaces_subscription_id=subscription_id)
    page = gateway.start_checkout(request)
    assert (page.session_id, page.url) == (renewal, api.objects["invoice"][renewal]["public_url"])
    assert len(api.objects["subscription"]) == 1
    api.pay_invoice(renewal)
    with pytest.raises(GatewayRejectedError) as caught:  # nothing is owed any more
        gateway.start_checkout(attrs.evolve(request, idempotency_key="resub-2"))
    assert caught.value.code == "subscription_active"


@pytest.mark.parametrize("status", ["CANCELED", "DEACTIVATED"])
def test_resubscribing_after_the_end_opens_a_new_first_invoice(gateway, api, webhooks, status):
    """An ended subscription is replaced through a new first invoice; a deactivated one is canceled first."""
    subscription_id = _paid_subscription(gateway, api, webhooks)
    api.end_subscription(subscription_id, status=status)
    request = request_for(CheckoutPurpose.RESUBSCRIBE, replaces_subscription_id=subscription_id)
    page = gateway.start_checkout(request)
    order = api.objects["order"][api.objects["invoice"][page.session_id]["order_id"]]
    assert [line["name"] for line in order["line_items"]] == ["Portal monthly"]
    assert order["metadata"]["purpose"] == "resubscribe"
    cancels = sent(api, "POST", f"/v2/subscriptions/{subscription_id}/cancel")
    assert len(cancels) == (1 if status == "DEACTIVATED" else 0)


def test_expire_cancels_open_invoices_and_leaves_the_rest(gateway, api, webhooks, clock):
    """Closing a page cancels an open invoice of ours; paid ones, a renewal's own page and a
    deleted link stay as they are; an unknown invoice is refused."""
    open_page = gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT))
    gateway.expire_checkout(open_page.session_id)
    gateway.expire_checkout(open_page.session_id)
    assert api.objects["invoice"][open_page.session_id]["status"] == "CANCELED"
    subscription_id = _paid_subscription(gateway, api, webhooks)  # another page, paid
    paid = next(i for i in api.objects["invoice"].values() if i["status"] == "PAID")
    gateway.expire_checkout(paid["id"])
    assert paid["status"] == "PAID"
    clock.advance(timedelta(days=35))
    renewal = api.renew(subscription_id, succeed=False)
    gateway.expire_checkout(renewal)
    assert api.objects["invoice"][renewal]["status"] == "UNPAID"
    link = gateway.start_checkout(request_for(CheckoutPurpose.QUICK_PAY))
    gateway.expire_checkout(link.session_id)
    gateway.expire_checkout(link.session_id)
    assert link.session_id not in api.objects["payment_link"]
    with pytest.raises(GatewayRejectedError):
        gateway.expire_checkout("inv:0-unknown")


# -- money back and endings ----------------------------------------------------------------


def test_refunds_what_is_left_of_a_payment_or_a_renewal(gateway, api, webhooks, clock):
    """A part refund, the rest, then nothing left (no call); a renewal invoice's payment is
    found through its order."""
    subscription_id = _paid_subscription(gateway, api, webhooks, save_card=True)
    (payment_id,) = api.objects["payment"]
    gateway.refund(payment_id, amount=Money(1000, "USD"), idempotency_key="r1")
    gateway.refund(payment_id, amount=None, idempotency_key="r2")
    refunds = sent(api, "POST", "/v2/refunds")
    assert [r.body["amount_money"]["amount"] for r in refunds] == [1000, 29000]
    assert refunds[0].body["idempotency_key"] != refunds[1].body["idempotency_key"]
    gateway.refund(payment_id, amount=None, idempotency_key="r3")
    assert len(sent(api, "POST", "/v2/refunds")) == 2
    clock.advance(timedelta(days=35))
    renewal = api.renew(subscription_id)
    gateway.refund(renewal, amount=None, idempotency_key="r4")
    assert sent(api, "POST", "/v2/refunds")[-1].body["amount_money"]["amount"] == 5000
    with pytest.raises(GatewayRejectedError) as caught:
        gateway.refund("PAYUNKNOWN", amount=None, idempotency_key="r5")
    assert caught.value.code == "no_such_payment"


def test_cancel_is_idempotent_and_unknown_subscriptions_are_refused(gateway, api, webhooks):
    """Square ends the subscription at the end of the paid period; asking again is not an error."""
    subscription_id = _paid_subscription(gateway, api, webhooks)
    gateway.cancel_subscription(subscription_id, idempotency_key="c1")
    gateway.cancel_subscription(subscription_id, idempotency_key="c2")
    assert api.objects["subscription"][subscription_id]["status"] == "CANCELED"  # not started
    with pytest.raises(GatewayRejectedError):
        gateway.cancel_subscription("SUBUNKNOWN", idempotency_key="c3")


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "INVALID_VALUE", GatewayRejectedError),
        (401, "UNAUTHORIZED", GatewayRejectedError),
        (402, "CARD_DECLINED", PaymentDeclinedError),
        (404, "NOT_FOUND", GatewayRejectedError),
        (408, "REQUEST_TIMEOUT", GatewayUnavailableError),
        (409, "CONFLICT", GatewayUnavailableError),
        (429, "RATE_LIMITED", GatewayUnavailableError),
        (500, "INTERNAL_SERVER_ERROR", GatewayUnavailableError),
        (503, "SERVICE_UNAVAILABLE", GatewayUnavailableError),
    ],
)
def test_square_errors_become_gateway_errors(gateway, api, status, code, expected):
    """Each HTTP failure maps to the GatewayError subclass that says whether to retry."""
    api.fail_next(status, code)
    with pytest.raises(GatewayError) as caught:
        gateway.start_checkout(request_for(CheckoutPurpose.QUICK_PAY))
    assert type(caught.value) is expected
    assert caught.value.retry_safe is (expected is GatewayUnavailableError)
    assert (caught.value.code, caught.value.gateway) == (code, "square")
    assert isinstance(caught.value.__cause__, ApiError)


def test_an_unreachable_api_is_unavailable_and_retry_safe(clock):
    """A refused connection (httpx's error, let through by the SDK) is GatewayUnavailableError."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = SquareGateway(
        access_token="EAAA",
        base_url=f"http://127.0.0.1:{port}",
        location_id="L1",
        webhook_secret=KEY,
        notification_url=URL,
        clock=clock,
        max_retries=0,
        timeout=2,
    )
    with pytest.raises(GatewayUnavailableError) as caught:
        gateway.expire_checkout("inv:0-x")
    assert caught.value.retry_safe
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def _subclasses(klass: type) -> Iterator[type]:
    yield klass
    for sub in klass.__subclasses__():
        yield from _subclasses(sub)


def test_every_error_the_sdk_can_raise_is_mapped():
    """Walks ApiError's and httpx.HTTPError's trees and the SDK's own errors: each has its own entry."""
    roots = (ApiError, httpx.HTTPError, ReportingPollTimeoutError, ReportingPollCancelledError)
    classes = {klass for root in roots for klass in _subclasses(root)}
    assert SSEError in classes
    assert len(classes) > 20
    unmapped = sorted(c.__qualname__ for c in classes if c not in ERROR_TABLE)
    assert unmapped == [], f"map these in gateways/square/_errors.py: {unmapped}"
    assert gateway_error_class(httpx.ReadTimeout) is GatewayUnavailableError
    assert gateway_error_class(httpx.UnsupportedProtocol) is GatewayRejectedError


# -- reconcile ---------------------------------------------------------------------------


def test_list_events_reads_every_page_oldest_first(gateway, api, webhooks):
    """Square's Events API is paged; every event of a mapped type comes back once, oldest
    first, through the webhooks' mapping."""
    _paid_subscription(gateway, api, webhooks)
    (payment,) = api.objects["payment"].values()
    for _ in range(120):
        api.emit("payment.updated", "payment", payment)
    api.emit("customer.updated", "customer", next(iter(api.objects["customer"].values())))
    events = list(gateway.list_events(since=NOW))
    searches = sent(api, "POST", "/v2/events")
    assert len(searches) == 2
    assert "cursor" not in searches[0].body
    assert "customer.updated" not in searches[0].body["query"]["filter"]["event_types"]
    assert [e.event_type for e in events[:3]] == [
        "payment.created",
        "invoice.payment_made",
        "subscription.created",
    ]
    assert len(events) == 123
    assert all(e.actionable for e in events)
    times = [e.occurred_at for e in events]
    assert times == sorted(times)


def test_reconcile_beyond_28_days_reads_payments_first(gateway, api, webhooks, clock, caplog):
    """Square keeps events 28 days: older payments are read from the Payments API, then the events."""
    page = gateway.start_checkout(request_for(CheckoutPurpose.REQUIRED_PAYMENT))
    payment_id = api.pay_invoice(page.session_id)
    clock.advance(timedelta(days=40))
    with caplog.at_level(logging.WARNING, logger="portal_access.gateways.square"):
        events = list(gateway.list_events(since=NOW - timedelta(days=1)))
    assert "28 days" in caplog.text
    (listing,) = sent(api, "GET", "/v2/payments")
    assert listing.query["sort_field"] == "UPDATED_AT"
    assert events[0].event_id.startswith(f"payment-{payment_id}-")
    assert events[0].payments[0].status is PaymentStatus.SUCCEEDED
    (search,) = sent(api, "POST", "/v2/events")
    assert search.body["query"]["filter"]["created_at"]["start_at"] == "2026-03-14T09:00:00Z"
