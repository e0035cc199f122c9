"""The Square adapter and its test doubles against Square's own OpenAPI description: every
field the mapping reads is one Square's objects have, every event type it maps is one
Square sends, every endpoint the fake serves is one Square has, and the checker the other
Square tests rely on does catch an invented field."""

from __future__ import annotations

from typing import Any

import pytest

from portal_access.gateways.square._mapping import MAPPED_EVENT_TYPES
from portal_access.testing._square_api import Exchange, FakeSquareApi
from tests.square_shapes import SPEC_MISSING, event_schema, spec_errors, square_spec

pytestmark = pytest.mark.skipif(square_spec() is None, reason=SPEC_MISSING)

#: Every field of a Square object the gateway reads (_mapping, _objects, _checkout,
#: _gateway, _rest), by the schema it is read from; ``.`` steps into an object or into a
#: list's items.
READ_PATHS = {
    "Event": ["event_id", "type", "created_at", "data.object"],
    "Payment": [
        "id",
        "status",
        "order_id",
        "source_type",
        "amount_money.amount",
        "amount_money.currency",
        "total_money",
        "refunded_money.amount",
        "updated_at",
    ],
    "Order": ["metadata", "tenders.payment_id"],
    "Invoice": [
        "id",
        "status",
        "version",
        "subscription_id",
        "order_id",
        "created_at",
        "updated_at",
        "public_url",
        "primary_recipient.customer_id",
        "payment_requests.due_date",
        "payment_requests.computed_amount_money",
        "payment_requests.automatic_payment_source",
        "accepted_payment_methods.card",
        "accepted_payment_methods.bank_account",
        "next_payment_amount_money",
    ],
    "Subscription": [
        "id",
        "status",
        "plan_variation_id",
        "customer_id",
        "created_at",
        "invoice_ids",
        "canceled_date",
    ],
    "Dispute": ["state", "updated_at", "disputed_payment.payment_id"],
    "PaymentRefund": ["payment_id"],
    "Customer": ["id", "reference_id"],
    "Card": ["id", "enabled"],
    "PaymentLink": ["id", "url"],
}

READS = [(schema, path) for schema, paths in READ_PATHS.items() for path in paths]


def _has(schema_name: str, path: str) -> bool:
    spec = square_spec()
    assert spec is not None
    schemas = spec.document["components"]["schemas"]
    node: dict[str, Any] = schemas[schema_name]
    for part in path.split("."):
        if node.get("type") == "array":
            node = node["items"]
        if "$ref" in node:
            node = schemas[node["$ref"].rsplit("/", 1)[-1]]
        properties = node.get("properties", {})
        if part not in properties:
            return False
        node = properties[part]
        if "$ref" in node:
            node = schemas[node["$ref"].rsplit("/", 1)[-1]]
    return True


@pytest.mark.parametrize(("schema", "path"), READS)
def test_every_field_the_gateway_reads_is_in_squares_objects(schema, path):
    """A field the mapping reads exists on Square's object."""
    assert _has(schema, path), f"Square's {schema} has no {path}"


@pytest.mark.parametrize("event_type", sorted(MAPPED_EVENT_TYPES))
def test_every_mapped_event_type_is_one_square_sends(event_type):
    """Each event type the mapping acts on has Square's event schema (a typo would not)."""
    spec = square_spec()
    assert spec is not None
    assert event_schema(event_type) in spec.document["components"]["schemas"]


def test_every_endpoint_the_fake_serves_is_squares():
    """The fake answers only operations Square describes (and each is found)."""
    spec = square_spec()
    assert spec is not None
    paths = {
        ("POST", "/v2/customers/search"),
        ("POST", "/v2/customers"),
        ("GET", "/v2/customers/C1"),
        ("POST", "/v2/orders"),
        ("GET", "/v2/orders/O1"),
        ("POST", "/v2/invoices"),
        ("POST", "/v2/invoices/I1/publish"),
        ("POST", "/v2/invoices/I1/cancel"),
        ("DELETE", "/v2/invoices/I1"),
        ("GET", "/v2/invoices/I1"),
        ("POST", "/v2/online-checkout/payment-links"),
        ("DELETE", "/v2/online-checkout/payment-links/L1"),
        ("POST", "/v2/subscriptions/search"),
        ("POST", "/v2/subscriptions"),
        ("POST", "/v2/subscriptions/S1/cancel"),
        ("GET", "/v2/subscriptions/S1"),
        ("GET", "/v2/cards"),
        ("POST", "/v2/cards"),
        ("GET", "/v2/cards/ccof:C1"),
        ("POST", "/v2/cards/ccof:C1/disable"),
        ("GET", "/v2/payments"),
        ("POST", "/v2/payments"),
        ("GET", "/v2/payments/P1"),
        ("POST", "/v2/refunds"),
        ("POST", "/v2/events"),
    }
    api = FakeSquareApi()
    assert len(paths) == len(api._routes)
    operations = {spec.operation(method, path)["operationId"] for method, path in paths}
    assert len(operations) == len(paths)


def _exchange(path: str, body: Any, *, status: int = 200, answer: Any = None) -> Exchange:
    return Exchange("POST", path, {}, {}, b"", body, status, answer or {})


def test_the_checker_catches_invented_misspelled_and_read_only_fields():
    """A misspelled request field, a read-only one sent, a wrong enum word or an invented
    answer field each fail; the correct body passes."""
    spec = square_spec()
    assert spec is not None
    good = {
        "idempotency_key": "k",
        "invoice": {
            "location_id": "L1",
            "order_id": "O1",
            "primary_recipient": {"customer_id": "C1"},
            "delivery_method": "SHARE_MANUALLY",
            "payment_requests": [{"request_type": "BALANCE", "due_date": "2026-03-02"}],
            "accepted_payment_methods": {"card": True, "bank_account": True},
        },
    }
    assert spec_errors(spec, _exchange("/v2/invoices", good)) == []
    misspelled = {**good, "invoice": {**good["invoice"], "acepted_payment_methods": {}}}
    read_only = {**good, "invoice": {**good["invoice"], "public_url": "https://x"}}
    wrong_word = {**good, "invoice": {**good["invoice"], "delivery_method": "CARRIER_PIGEON"}}
    for body in (misspelled, read_only, wrong_word):
        assert spec_errors(spec, _exchange("/v2/invoices", body)), body
    answer = {"invoice": {"id": "inv:0-1", "status": "UNPAID", "colour": "red"}}
    assert spec_errors(spec, _exchange("/v2/invoices", good, answer=answer))
    assert spec_errors(
        spec, Exchange("GET", "/v2/cards", {"customer": "C1"}, {}, b"", None, 200, {})
    )
