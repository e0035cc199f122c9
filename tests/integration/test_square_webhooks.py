"""Square webhooks: the signature over the notification URL and the raw body, checked before
anything is parsed, and Square's objects mapped to snapshots by their state and their
``updated_at`` (looking up, through the real SDK, what an event's object does not say)."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from square.utils.webhooks_helper import verify_signature as sdk_verify_signature

from portal_access import (
    GatewayUnavailableError,
    InvoiceStatus,
    Money,
    PaymentMethodKind,
    PaymentStatus,
    SubscriptionStatus,
    WebhookVerificationError,
)
from portal_access._domain.checkout import CheckoutPurpose
from portal_access.gateways.square import SquareGateway
from portal_access.gateways.square._objects import micros
from portal_access.gateways.square._webhooks import signature_header, verify_signature
from portal_access.testing.square import SquareWebhooks
from tests.square_world import (
    KEY,
    api,
    clock,
    gateway,
    make_gateway,
    request_for,
    sent,
    webhooks,
)

__all__ = ["api", "clock", "gateway", "webhooks"]  # the fixtures this module uses

PAID_AT = 1_772_442_000  # seconds: 2026-03-02T09:00:00Z


def _payment(
    webhooks: SquareWebhooks,
    status: PaymentStatus,
    *,
    version: int = PAID_AT,
    method: PaymentMethodKind = PaymentMethodKind.CARD,
) -> tuple[dict[str, str], bytes]:
    return webhooks.payment(
        event_id=f"e-{status.value}-{version}",
        payment_id="PAY1",
        invoice_id="inv-1",
        contact_id="c-1",
        status=status,
        method=method,
        amount=Money(30000, "USD"),
        version=version,
    )


def _reason(gateway: SquareGateway, headers: dict[str, Any], body: bytes) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        gateway.parse_webhook(headers, body)
    return caught.value.reason


# -- the signature -------------------------------------------------------------------------


def test_a_valid_signature_is_accepted_in_any_header_case(gateway, webhooks):
    """The header Square sends, in any case, over the exact URL and raw body, is accepted."""
    headers, body = _payment(webhooks, PaymentStatus.SUCCEEDED)
    for name in ("x-square-hmacsha256-signature", "X-Square-HmacSha256-Signature"):
        event = gateway.parse_webhook({name: headers["x-square-hmacsha256-signature"]}, body)
        assert event.payments[0].status is PaymentStatus.SUCCEEDED


def test_a_tampered_body_or_a_wrong_key_is_a_signature_failure(gateway, webhooks):
    """One byte changed, or another signature key: reason "signature"."""
    headers, body = _payment(webhooks, PaymentStatus.SUCCEEDED)
    assert _reason(gateway, headers, body.replace(b"30000", b"30001")) == "signature"
    assert _reason(gateway, headers, body + b"\n") == "signature"
    assert _reason(gateway, webhooks.sign_with(body, "another-key"), body) == "signature"


@pytest.mark.parametrize(
    "url",
    [
        "https://portal.example/webhooks/square/",  # a trailing slash
        "http://portal.example/webhooks/square",  # another scheme
        "https://portal.example:443/webhooks/square",  # the default port spelled out
        "https://PORTAL.example/webhooks/square",  # the host in another case
        "https://portal.example/webhooks/square?x=1",  # a query
        "https://portal.example/webhooks/Square",  # the path in another case
    ],
)
def test_a_signature_over_another_url_is_refused(gateway, webhooks, url):
    """Square signs the notification URL byte for byte: any other spelling is a signature failure."""
    _headers, body = _payment(webhooks, PaymentStatus.SUCCEEDED)
    assert (
        _reason(gateway, webhooks.sign_with(body, KEY, notification_url=url), body) == "signature"
    )


def test_several_keys_while_one_is_replaced(api, clock, webhooks):
    """While a signature key is replaced, a delivery signed with either key is accepted."""
    gateway = make_gateway(api, clock, webhook_secret=["old-key", KEY])
    headers, body = _payment(webhooks, PaymentStatus.SUCCEEDED)
    assert gateway.parse_webhook(headers, body).payments
    assert gateway.parse_webhook(webhooks.sign_with(body, "old-key"), body).payments
    assert _reason(gateway, webhooks.sign_with(body, "neither"), body) == "signature"


def test_a_missing_header_or_raw_bytes_is_a_header_failure(gateway, webhooks):
    """No signature header, or one passed as bytes: reason "header"."""
    headers, body = _payment(webhooks, PaymentStatus.SUCCEEDED)
    assert _reason(gateway, {}, body) == "header"
    raw = {k: v.encode() for k, v in headers.items()}
    assert _reason(gateway, raw, body) == "header"


def test_nothing_is_parsed_or_looked_up_before_the_signature_matches(gateway, api, webhooks):
    """A forged body is refused on its signature; no request reaches Square's API."""
    headers, _body = _payment(webhooks, PaymentStatus.SUCCEEDED)
    before = len(api.exchanges)
    assert _reason(gateway, headers, b"not json") == "signature"
    assert _reason(gateway, headers, b'{"event_id": "e-forged"}') == "signature"
    assert len(api.exchanges) == before


@pytest.mark.parametrize("body", [b"\xff\xfe", b"[]", b"{}", b'{"event_id": 7}'])
def test_a_signed_body_that_is_not_an_event_is_a_body_failure(gateway, webhooks, body):
    """Correctly signed bytes that are not a Square event: reason "body"."""
    assert _reason(gateway, webhooks.sign(body), body) == "body"


@given(
    body=st.text(min_size=1, max_size=200).map(str.encode),
    path=st.text("abcdefghijklmnopqrstuvwxyz/-_", min_size=1, max_size=30),
    key=st.text(min_size=1, max_size=40).filter(str.strip),
)
def test_our_signature_is_the_sdks_own_scheme(body, path, key):
    """For any text body, URL and key, Square's SDK helper accepts our signature, and we its."""
    url = f"https://portal.example/{path}"
    header = signature_header(body, key=key, notification_url=url)
    assert sdk_verify_signature(
        request_body=body.decode(), signature_header=header, signature_key=key, notification_url=url
    )
    verify_signature(
        {"x-square-hmacsha256-signature": header}, body, secrets=[key], notification_url=url
    )
    flipped = base64.b64encode(
        bytes([base64.b64decode(header)[0] ^ 1]) + base64.b64decode(header)[1:]
    )
    with pytest.raises(WebhookVerificationError):
        verify_signature(
            {"x-square-hmacsha256-signature": flipped.decode()},
            body,
            secrets=[key],
            notification_url=url,
        )


# -- payments, refunds, disputes -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "method", "expected"),
    [
        (PaymentStatus.PROCESSING, PaymentMethodKind.BANK_ACCOUNT, PaymentStatus.PROCESSING),
        (PaymentStatus.SUCCEEDED, PaymentMethodKind.BANK_ACCOUNT, PaymentStatus.SUCCEEDED),
        (PaymentStatus.FAILED, PaymentMethodKind.BANK_ACCOUNT, PaymentStatus.FAILED),
        (PaymentStatus.PROCESSING, PaymentMethodKind.CARD, PaymentStatus.PROCESSING),
    ],
)
def test_ach_is_pending_for_days_then_completed_or_failed(
    gateway, webhooks, status, method, expected
):
    """Seed 000_07c53b15302458c1.txt: an ACH payment is PENDING until the bank clears or returns it."""
    event = gateway.parse_webhook(*_payment(webhooks, status, method=method))
    (snapshot,) = event.payments
    assert (snapshot.status, snapshot.method, snapshot.invoice_id) == (expected, method, "inv-1")
    assert snapshot.version == PAID_AT * 1_000_000


def test_a_payment_on_an_order_not_ours_is_acknowledged_only(gateway, api, webhooks):
    """A payment whose order carries none of our metadata (a renewal's, a dashboard sale) maps to nothing."""
    order = api.order_from({"location_id": api.location_id, "line_items": []})
    payment = api.payment_for(order, Money(100, "USD"), source_type="CARD", status="COMPLETED")
    event = gateway.parse_webhook(
        *webhooks.event("payment.updated", "payment", payment, event_id="e-1")
    )
    assert not event.actionable
    del payment["order_id"]
    event = gateway.parse_webhook(
        *webhooks.event("payment.updated", "payment", payment, event_id="e-2")
    )
    assert not event.actionable


def test_refunds_are_read_off_the_payment_as_it_is_now(gateway, api, webhooks):
    """A refund in part leaves the payment succeeded; the rest refunded makes it refunded."""
    _payment(webhooks, PaymentStatus.SUCCEEDED)
    payment = api.objects["payment"]["PAY1"]
    payment["refunded_money"] = {"amount": 1000, "currency": "USD"}
    refund = api.refund_for(payment, Money(1000, "USD"))
    (part,) = gateway.parse_webhook(
        *webhooks.event("refund.updated", "refund", refund, event_id="e-r1")
    ).payments
    assert part.status is PaymentStatus.SUCCEEDED
    payment["refunded_money"] = {"amount": 30000, "currency": "USD"}
    (full,) = gateway.parse_webhook(
        *webhooks.event("refund.updated", "refund", refund, event_id="e-r2")
    ).payments
    assert full.status is PaymentStatus.REFUNDED


def test_a_dispute_and_its_outcome_follow_the_disputes_updated_at(gateway, api, webhooks):
    """A dispute makes the payment disputed; won later, it is paid again, and the later report wins."""
    (disputed,) = gateway.parse_webhook(*_payment(webhooks, PaymentStatus.DISPUTED)).payments
    dispute = next(iter(api.objects["dispute"].values()))
    api.touch(dispute, state="WON")
    (won,) = gateway.parse_webhook(
        *webhooks.event("dispute.state.updated", "dispute", dispute, event_id="e-won")
    ).payments
    assert (disputed.status, won.status) == (PaymentStatus.DISPUTED, PaymentStatus.SUCCEEDED)
    assert won.supersedes(disputed)


@given(
    st.lists(
        st.datetimes(
            min_value=datetime(2000, 1, 1),
            max_value=datetime(2100, 1, 1),
            timezones=st.sampled_from(
                [UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=5, minutes=30))]
            ),
        ),
        min_size=2,
        max_size=5,
    )
)
def test_versions_keep_the_order_of_squares_times_to_the_microsecond(instants):
    """Any two updated_at times, in any offset, order their versions as they order in time."""
    for earlier, later in itertools.combinations(sorted(instants), 2):
        assert (micros(earlier) < micros(later)) is (earlier < later)
        assert micros(later) - micros(earlier) == (later - earlier) // timedelta(microseconds=1)


# -- invoices and subscriptions ------------------------------------------------------------


def _first_invoice_paid(gateway, api, webhooks, *, save_card: bool) -> list:
    request = request_for(CheckoutPurpose.REQUIRED_PAYMENT, save_payment_method=save_card)
    page = gateway.start_checkout(request)
    api.pay_invoice(page.session_id, save_card=save_card)
    return [gateway.parse_webhook(headers, body) for headers, body in webhooks.deliveries()]


@pytest.mark.parametrize("save_card", [True, False])
def test_a_paid_first_invoice_starts_the_subscription_once(gateway, api, webhooks, save_card):
    """Seed 000_07c53b15302458c1.txt: the paid first invoice bought the first period; the
    subscription starts one interval later, bills the plan, charges a saved card only where allowed."""
    events = _first_invoice_paid(gateway, api, webhooks, save_card=save_card)
    (made,) = sent(api, "POST", "/v2/subscriptions")
    assert made.body["start_date"] == "2026-04-02"
    assert made.body["price_override_money"] == {"amount": 5000, "currency": "USD"}
    assert made.body["plan_variation_id"] == "VARIATIONMONTHLY"
    assert ("card_id" in made.body) is save_card
    (paid,) = [e for e in events if e.event_type == "invoice.payment_made"]
    (report,) = paid.subscriptions
    assert (report.contact_id, report.snapshot.plan_id) == ("c-1", "plan-monthly")
    assert report.snapshot.status is SubscriptionStatus.ACTIVE  # PENDING: paid up, starts later
    again = webhooks.delivery(next(e for e in api.events if e["type"] == "invoice.payment_made"))
    assert gateway.parse_webhook(*again).subscriptions[0].snapshot == report.snapshot
    assert len(sent(api, "POST", "/v2/subscriptions")) == 1  # found, not made again


def _renewal(gateway, api, webhooks, clock, *, succeed: bool, save_card: bool = True):
    _first_invoice_paid(gateway, api, webhooks, save_card=save_card)
    webhooks.deliveries()
    clock.advance(timedelta(days=35))
    (subscription_id,) = api.objects["subscription"]
    invoice_id = api.renew(subscription_id, succeed=succeed)
    events = [gateway.parse_webhook(h, b) for h, b in webhooks.deliveries()]
    return invoice_id, {e.event_type: e for e in events}


def test_a_declined_renewal_is_past_due_from_its_due_date(gateway, api, webhooks, clock):
    """Seed 000_07c53b15302458c1.txt: invoice.scheduled_charge_failed puts the subscription in arrears."""
    invoice_id, events = _renewal(gateway, api, webhooks, clock, succeed=False)
    failed = events["invoice.scheduled_charge_failed"]
    (renewal,) = failed.renewals
    assert (renewal.vendor_invoice_id, renewal.status) == (invoice_id, InvoiceStatus.OPEN)
    assert renewal.amount == Money(5000, "USD")
    (payment,) = failed.payments
    assert (payment.payment_id, payment.status) == (invoice_id, PaymentStatus.FAILED)
    assert payment.invoice_id == renewal.invoice_id
    (report,) = failed.subscriptions
    assert report.snapshot.status is SubscriptionStatus.PAST_DUE
    assert report.snapshot.renewal_failed_at == datetime(2026, 4, 6, tzinfo=UTC)


def test_a_subscription_event_reads_arrears_off_its_newest_invoice(gateway, api, webhooks, clock):
    """Square keeps an unpaid subscription ACTIVE: a later subscription.updated still reports it past due."""
    _renewal(gateway, api, webhooks, clock, succeed=False)
    (subscription,) = api.objects["subscription"].values()
    event = webhooks.event("subscription.updated", "subscription", subscription, event_id="e-sub")
    snapshot = gateway.parse_webhook(*event).subscriptions[0].snapshot
    assert (snapshot.status, snapshot.renewal_failed_at) == (
        SubscriptionStatus.PAST_DUE,
        datetime(2026, 4, 6, tzinfo=UTC),
    )


def test_a_paid_renewal_is_a_paid_invoice_and_an_active_subscription(gateway, api, webhooks, clock):
    """Seed 000_07c53b15302458c1.txt: each later invoice carries only the subscription, paid by the card on file."""
    _invoice_id, events = _renewal(gateway, api, webhooks, clock, succeed=True)
    paid = events["invoice.payment_made"]
    assert paid.renewals[0].status is InvoiceStatus.PAID
    assert paid.payments[0].status is PaymentStatus.SUCCEEDED
    assert paid.subscriptions[0].snapshot.status is SubscriptionStatus.ACTIVE
    assert not events["payment.created"].actionable  # the renewal's payment: its invoice reports it


def test_an_emailed_renewal_left_unpaid_is_arrears(gateway, api, webhooks, clock):
    """Without a card on file Square emails the renewal: unpaid when due, the renewal failed."""
    _invoice_id, events = _renewal(gateway, api, webhooks, clock, succeed=True, save_card=False)
    (report,) = events["invoice.updated"].subscriptions
    assert report.snapshot.status is SubscriptionStatus.PAST_DUE
    assert not events["invoice.updated"].payments  # nothing was attempted


def test_subscriptions_not_ours_are_acknowledged_only(gateway, api, webhooks):
    """A subscription to a variation we were not given, or of a customer without our contact id, maps to nothing."""
    customer = api.customer_from({"given_name": "Zed"})
    foreign = api.subscription_for(customer["id"], "VARIATIONMONTHLY", status="ACTIVE")
    assert not gateway.parse_webhook(
        *webhooks.event("subscription.updated", "subscription", foreign, event_id="e-1")
    ).actionable
    mine = api.customer_for("c-1")
    other = api.subscription_for(mine["id"], "VARIATIONOTHER", status="ACTIVE")
    assert not gateway.parse_webhook(
        *webhooks.event("subscription.updated", "subscription", other, event_id="e-2")
    ).actionable


def test_an_event_whose_object_was_deleted_is_acknowledged(gateway, webhooks):
    """Square leaves data.object out when the object was deleted: nothing to map, not an error."""
    document = {
        "merchant_id": "M1",
        "type": "payment.updated",
        "event_id": "e-gone",
        "created_at": "2026-03-02T09:00:00Z",
        "data": {"type": "payment", "id": "PAY1"},
    }
    event = gateway.parse_webhook(*webhooks.delivery(document))
    assert (event.event_id, event.actionable) == ("e-gone", False)


def test_a_lookup_that_fails_makes_square_retry_the_delivery(gateway, api, webhooks):
    """When the API cannot be asked about an event's object, parse_webhook raises a retryable error."""
    delivery = _payment(webhooks, PaymentStatus.SUCCEEDED)
    api.fail_next(503)
    with pytest.raises(GatewayUnavailableError) as caught:
        gateway.parse_webhook(*delivery)
    assert caught.value.retry_safe
    assert gateway.parse_webhook(*delivery).payments  # Square's retry goes through


def test_factory_bodies_are_squares_json(webhooks):
    """A built delivery is one JSON object with Square's event fields."""
    headers, body = webhooks.unknown(event_id="e-1")
    document = json.loads(body)
    assert set(document) == {"merchant_id", "type", "event_id", "created_at", "data"}
    assert date.fromisoformat(document["created_at"][:10]) == date(1970, 1, 1)
    assert list(headers) == ["x-square-hmacsha256-signature"]


@pytest.mark.parametrize("bad_id", ["PAY\x001", "PAY 1", "../customers", "PAY1?x=1", "PAY1#", ""])
def test_a_signed_body_naming_an_id_no_square_object_has_is_a_body_failure(
    gateway, api, webhooks, bad_id
):
    """docs/security.md: an id the SDK would put into a request path as it is (a control
    character broke the transport's URL; a slash would reach another path) is refused
    as a body we do not understand, before any request, never a crash or another call."""
    _payment(webhooks, PaymentStatus.SUCCEEDED)
    refund = api.refund_for(api.objects["payment"]["PAY1"], Money(1000, "USD"))
    refund["payment_id"] = bad_id
    calls = len(api.exchanges)
    headers, body = webhooks.event("refund.updated", "refund", refund, event_id="e-bad")
    assert _reason(gateway, headers, body) == "body"
    assert len(api.exchanges) == calls
