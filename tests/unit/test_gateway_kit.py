"""The gateway kit: the checks every gateway shares, each failure typed and explained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal_access import ConfigurationError, Money, WebhookVerificationError
from portal_access._domain.payments import PaymentStatus
from portal_access.adapters import ManualClock
from portal_access.gateways._kit import (
    Fields,
    WebhookSettings,
    any_signature_matches,
    check_timestamped_signature,
    check_tolerance,
    decode_json,
    find_header,
    gateway_event,
    hmac_sha256,
    parse_timestamped_header,
    positive_seconds,
    retry_count,
    timestamped_header,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _reason(call: object) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        call()  # type: ignore[operator]
    return caught.value.reason


def test_a_header_is_found_in_any_case():
    """Vendors and frameworks spell header names in any case."""
    assert (
        find_header({"x-SQUARE-hmacsha256-signature": "s"}, "X-Square-HmacSha256-Signature") == "s"
    )


def test_a_missing_header_or_a_bytes_value_is_a_header_failure():
    """No header, or raw bytes where text belongs, fail with reason "header", never a TypeError."""
    assert _reason(lambda: find_header({}, "Stripe-Signature")) == "header"
    assert (
        _reason(lambda: find_header({"Stripe-Signature": b"t=1"}, "Stripe-Signature")) == "header"
    )


@pytest.mark.parametrize("value", ["", "t=1", "v1=abc", "t=1,t=2,v1=abc", "t=x,v1=abc", "t=1,v1="])
def test_a_malformed_timestamped_header_is_refused(value):
    """One t of digits and at least one v1, or the header is malformed."""
    assert _reason(lambda: parse_timestamped_header(value, header="Stripe-Signature")) == "header"


def test_a_timestamped_header_carries_one_signature_per_secret():
    """While a secret rotates, each v1 is the same body under another secret."""
    body = b'{"id":"evt_1"}'
    value = timestamped_header(body, secrets=["a", "b"], timestamp=7)
    parsed = parse_timestamped_header(value, header="H")
    assert parsed.timestamp == 7
    assert parsed.signatures == (
        hmac_sha256("a", b"7." + body).hex(),
        hmac_sha256("b", b"7." + body).hex(),
    )


def test_signatures_match_when_any_pair_does():
    """Any expected signature against any given one; non-ASCII input never raises."""
    assert any_signature_matches(["x", "y"], ["z", "y"])
    assert not any_signature_matches(["x"], ["z", "\udcff"])
    assert not any_signature_matches([], ["x"])


def test_the_tolerance_holds_both_ways():
    """A signature from too far in the past or the future is refused; the edge is allowed."""
    five = timedelta(minutes=5)
    check_tolerance(NOW - five, now=NOW, tolerance=five)
    check_tolerance(NOW + five, now=NOW, tolerance=five)
    late = NOW - five - timedelta(seconds=1)
    early = NOW + five + timedelta(seconds=1)
    assert _reason(lambda: check_tolerance(late, now=NOW, tolerance=five)) == "timestamp"
    assert _reason(lambda: check_tolerance(early, now=NOW, tolerance=five)) == "timestamp"


def test_a_timestamp_beyond_the_calendar_is_a_timestamp_failure():
    """Fifteen digits of seconds pass the header form but not the calendar."""
    parsed = parse_timestamped_header("t=999999999999999,v1=a", header="H")
    assert _reason(lambda: parsed.signed_at) == "timestamp"


@pytest.mark.parametrize("body", [b"\xff", b"not json", b"[1, 2]", b"[" * 100_000])
def test_a_body_that_is_not_a_json_object_is_a_body_failure(body):
    """Bytes, text, a list or a bomb of nesting: reason "body", nothing else escapes."""
    assert _reason(lambda: decode_json(body, gateway="square")) == "body"


def test_fields_name_the_path_of_what_is_wrong():
    """A bad nested field says where it is."""
    fields = Fields({"data": {"object": {"amount": "12"}}}, gateway="stripe")
    with pytest.raises(
        WebhookVerificationError, match=r"'data\.object\.amount' must be an integer"
    ):
        fields.object("data").object("object").integer("amount")
    with pytest.raises(WebhookVerificationError, match=r"'items\[1\]' must be an object"):
        list(Fields({"items": [{}, 3]}, gateway="x").objects("items"))


def test_booleans_are_not_integers_and_null_is_absent():
    """JSON true is not 1; null reads as absent."""
    fields = Fields({"n": True, "gone": None}, gateway="x")
    assert _reason(lambda: fields.integer("n")) == "body"
    assert fields.optional_integer("gone") is None
    assert not fields.has("gone")
    assert _reason(lambda: fields.text("gone")) == "body"


def test_money_reads_minor_units_and_decimal_strings_in_any_currency_case():
    """Money comes as integer minor units (Stripe, Square) or decimal text (PayPal)."""
    fields = Fields(
        {"amount": 500, "currency": "jpy", "value": "1.234", "code": "KWD"}, gateway="x"
    )
    assert fields.money("amount", "currency") == Money(500, "JPY")
    assert fields.decimal_money("value", "code") == Money(1234, "KWD")
    bad = Fields({"amount": -1, "currency": "USD", "value": "1.001", "code": "USD"}, gateway="x")
    assert _reason(lambda: bad.money("amount", "currency")) == "body"
    assert _reason(lambda: bad.decimal_money("value", "code")) == "body"


def test_instants_need_an_offset_and_moments_a_calendar():
    """RFC 3339 without an offset is ambiguous; unix seconds must be a real time."""
    fields = Fields(
        {"at": "2026-03-01T12:00:00.123Z", "naive": "2026-03-01T12:00:00", "s": 10**15},
        gateway="x",
    )
    assert fields.instant("at") == NOW + timedelta(milliseconds=123)
    assert _reason(lambda: fields.instant("naive")) == "body"
    assert _reason(lambda: fields.moment("s")) == "body"


def test_status_words_come_from_an_explicit_table():
    """An unknown vendor status is an error naming it, never a silent default."""
    fields = Fields({"status": "PENDING", "other": "WEIRD"}, gateway="x")
    table = {"PENDING": PaymentStatus.PROCESSING}
    assert fields.status("status", table) is PaymentStatus.PROCESSING
    with pytest.raises(WebhookVerificationError, match="unknown status 'WEIRD'"):
        fields.status("other", table)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " ", "webhook_secret": "s"}, "name"),
        ({"name": "x", "webhook_secret": []}, "webhook_secret"),
        ({"name": "x", "webhook_secret": ["s", ""]}, "webhook_secret"),
        ({"name": "x", "webhook_secret": "s", "tolerance": timedelta(seconds=-1)}, "tolerance"),
        ({"name": "x", "webhook_secret": "s", "tolerance": 300}, "tolerance"),
    ],
)
def test_settings_name_the_field_that_is_wrong(kwargs, field):
    """One set of messages for every gateway: the field is named, not guessed."""
    with pytest.raises(ConfigurationError) as caught:
        WebhookSettings.build(**kwargs)
    assert caught.value.field == field


def test_a_gateway_names_its_own_secret_argument():
    """A gateway whose secret is another argument (PayPal's webhook id) hears that name."""
    with pytest.raises(ConfigurationError) as caught:
        WebhookSettings.build(name="paypal", webhook_secret=" ", secret_field="webhook_id")
    assert caught.value.field == "webhook_id"


@pytest.mark.parametrize("value", [0, -1, True, "30"])
def test_a_timeout_must_be_positive_seconds(value):
    """A bad timeout says "timeout", not "tolerance"."""
    with pytest.raises(ConfigurationError) as caught:
        positive_seconds(value, field="timeout")
    assert caught.value.field == "timeout"


@pytest.mark.parametrize("value", [-1, True, 1.5, "2", None])
def test_a_retry_count_must_be_a_whole_number_zero_or_more(value):
    """A bad retry count is refused with its own field name; zero turns retries off."""
    assert retry_count(0, field="max_retries") == 0
    with pytest.raises(ConfigurationError) as caught:
        retry_count(value, field="max_retries")
    assert caught.value.field == "max_retries"


def _settings(*secrets: str, tolerance: timedelta = timedelta(minutes=5)) -> WebhookSettings:
    return WebhookSettings.build(
        name="acme", webhook_secret=list(secrets), tolerance=tolerance, clock=ManualClock(NOW)
    )


def test_the_timestamped_check_takes_any_secret_against_any_signature():
    """Either of two signatures, against either of two secrets, passes."""
    body, at = b'{"id": "evt_1"}', int(NOW.timestamp())
    header = {"acme-signature": timestamped_header(body, secrets=["old", "new"], timestamp=at)}
    for secrets in (["new"], ["old"], ["other", "new"]):
        check_timestamped_signature(
            header, body, header="Acme-Signature", settings=_settings(*secrets)
        )


def test_the_timestamped_check_refuses_in_order_header_signature_timestamp():
    """A bad header is a header failure before anything; a stale forgery is a signature
    failure, not a timestamp one; a stale genuine one is a timestamp failure."""
    body, settings = b"{}", _settings("secret")
    stale = int((NOW - timedelta(minutes=6)).timestamp())

    def reason(value: str) -> str:
        headers = {"Acme-Signature": value}
        return _reason(
            lambda: check_timestamped_signature(
                headers, body, header="Acme-Signature", settings=settings
            )
        )

    assert reason("v1=abc") == "header"
    assert reason(timestamped_header(body, secrets=["forged"], timestamp=stale)) == "signature"
    assert reason(timestamped_header(body, secrets=["secret"], timestamp=stale)) == "timestamp"
    ahead = int((NOW + timedelta(minutes=6)).timestamp())
    assert reason(timestamped_header(body, secrets=["secret"], timestamp=ahead)) == "timestamp"


def test_an_event_is_read_with_its_gateway_and_a_bad_one_is_a_body_failure():
    """gateway_event reads the id and type (names configurable) and carries the gateway."""
    fields = Fields({"event_id": "e-1", "type": "x"}, gateway="square")
    event = gateway_event(fields, occurred_at=NOW, id_key="event_id")
    assert (event.gateway, event.event_id, event.event_type) == ("square", "e-1", "x")
    assert fields.gateway == "square"
    assert _reason(lambda: gateway_event(fields, occurred_at=NOW)) == "body"
