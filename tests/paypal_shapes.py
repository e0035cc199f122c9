"""Is this JSON what PayPal's API takes and answers? Our exchanges with the local PayPal
API checked against PayPal's own OpenAPI descriptions (``paypal-rest-api-specifications``,
kept in ``../shared/vendor/paypal`` or ``$PORTAL_ACCESS_VENDOR_SPECS/paypal``):

- every request body the SDK (or our REST module) sent validates against its operation's
  request schema (``jsonschema``): an invented or misspelled parameter fails the test;
- every answer the local API gave validates against the operation's response schema
  for its status, and has no field the schema lacks (the local API invents nothing);
- every webhook event's envelope and resource validate the same way.

A sale (PayPal's v1 subscription payment, ``GET /v1/payments/sale/{id}``) and a sale's
refund (the ``PAYMENT.SALE.REFUNDED`` resource) are in none of those descriptions: their
fields are checked against the v1 Payments API reference's sale and refund objects
(:data:`V1_FIELDS`), so the local API invents none.

Two calls have no description among those files: the OAuth token (form-encoded, the
SDK's own) and the vault (``/v3/vault``: setup tokens, payment tokens): their bodies are
checked against the SDK's own request models instead, which drop nothing they know.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema
from paypalserversdk.api_helper import APIHelper
from paypalserversdk.models.payment_token_request import PaymentTokenRequest
from paypalserversdk.models.setup_token_request import SetupTokenRequest

from tests.vendor_specs import vendor_root as vendor_folder

if TYPE_CHECKING:
    from portal_access.testing.paypal import LocalPayPalApi

__all__ = ["CHECKED", "assert_paypal_shaped", "paypal_specs_present", "unknown_fields", "validate"]

SPEC_FILES = (
    "billing_subscriptions_v1.json",
    "catalogs_products_v1.json",
    "checkout_orders_v2.json",
    "customer_disputes_v1.json",
    "notifications_webhooks_v1.json",
    "payments_payment_v2.json",
    "reporting_transactions_v1.json",
)
#: The schema of each webhook resource type we build, by (spec file, schema name).
RESOURCES = {
    "capture": ("payments_payment_v2.json", "capture-2"),
    "refund": ("payments_payment_v2.json", "refund"),
    "subscription": ("billing_subscriptions_v1.json", "subscription"),
    "checkout-order": ("checkout_orders_v2.json", "order"),
    "dispute": ("customer_disputes_v1.json", "dispute"),
}
#: The fields of PayPal's v1 sale and refund objects (the v1 Payments API reference),
#: and of their ``amount``.
V1_FIELDS = {
    "sale": frozenset({
        "id", "amount", "payment_mode", "state", "reason_code", "protection_eligibility",
        "protection_eligibility_type", "clearing_time", "payment_hold_status",
        "payment_hold_reasons", "transaction_fee", "receivable_amount", "exchange_rate",
        "fmf_details", "receipt_id", "parent_payment", "processor_response",
        "billing_agreement_id", "create_time", "update_time", "links", "invoice_number",
        "custom", "soft_descriptor",
    }),
    "refund": frozenset({
        "id", "amount", "state", "reason", "invoice_number", "sale_id", "capture_id",
        "parent_payment", "description", "create_time", "update_time", "reason_code",
        "refund_reason_code", "refund_funding_type", "refund_from_received_amount",
        "refund_from_transaction_fee", "total_refunded_amount", "refund_to_payer", "custom",
        "links",
    }),
}  # fmt: skip
_V1_AMOUNT = frozenset({"total", "currency", "details"})
_V1_SALE_PATH = "/v1/payments/sale/"


def _v1_problems(kind: str, value: Any) -> list[str]:
    """Fields of a v1 ``kind`` (``sale``, ``refund``) its reference object lacks."""
    if not isinstance(value, dict):
        return [f"a {kind} that is not an object"]
    amount = value.get("amount")
    unknown = [f"$.{k}" for k in value if k not in V1_FIELDS[kind]]
    if isinstance(amount, dict):
        unknown += [f"$.amount.{k}" for k in amount if k not in _V1_AMOUNT]
    return [f"{kind} field {path} is not in PayPal's v1 reference" for path in unknown]


#: How many bodies were checked, by kind (requests, answers, events): the test's figures.
CHECKED: Counter[str] = Counter()


def paypal_specs_present() -> bool:
    """Whether PayPal's descriptions are here."""
    folder = vendor_folder()
    return folder is not None and (folder / "paypal" / SPEC_FILES[0]).is_file()


@cache
def _spec(name: str) -> dict[str, Any]:
    folder = vendor_folder()
    if folder is None:
        raise FileNotFoundError("no ../shared/vendor/paypal")
    document: dict[str, Any] = json.loads((folder / "paypal" / name).read_text(encoding="utf-8"))
    return document


@cache
def _operations() -> tuple[tuple[str, re.Pattern[str], str, str], ...]:
    found = []
    for name in SPEC_FILES:
        for path, item in _spec(name)["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
            for method in item:
                if method in ("get", "post", "patch", "put", "delete"):
                    found.append((method.upper(), pattern, name, path))
    return tuple(found)


def _deref(spec: dict[str, Any], node: Any) -> Any:
    """Follow ``$ref`` s (``#/components/...``) until a node that is not one."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node, seen = target, seen + 1
        assert seen < 50, "a $ref loop"
    return node


def _json_schema(spec: dict[str, Any], holder: Any) -> Any:
    """The JSON schema of a request body or response (``content`` -> JSON -> schema)."""
    holder = _deref(spec, holder)
    content = holder.get("content", {}) if isinstance(holder, dict) else {}
    media = content.get("application/json") or next(iter(content.values()), None)
    return media.get("schema") if isinstance(media, dict) else None


def validate(spec_name: str, schema: Any, instance: Any) -> list[str]:
    """Validation errors of ``instance`` against ``schema`` (refs into the spec)."""
    spec = _spec(spec_name)
    root = {**schema, "components": spec["components"]} if isinstance(schema, dict) else schema
    validator = jsonschema.Draft7Validator(root)
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message[:200]}"
            for e in validator.iter_errors(instance)]  # fmt: skip


def _properties(spec: dict[str, Any], schema: Any) -> tuple[dict[str, Any], bool]:
    """An object schema's properties (through ``allOf``/``anyOf``/``oneOf``) and whether
    it admits others."""
    schema = _deref(spec, schema)
    if not isinstance(schema, dict):
        return {}, True
    properties = dict(schema.get("properties", {}))
    free = schema.get("additionalProperties") not in (None, False) or (
        "properties" not in schema and not any(k in schema for k in ("allOf", "anyOf", "oneOf"))
    )
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            more, loose = _properties(spec, part)
            properties.update(more)
            free = free or (loose and key != "allOf")
    return properties, free


def unknown_fields(spec_name: str, schema: Any, value: Any, path: str = "$") -> Iterator[str]:
    """Paths in ``value`` that ``schema`` does not describe."""
    spec = _spec(spec_name)
    schema = _deref(spec, schema)
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema, dict) else None
        for index, item in enumerate(value):
            yield from unknown_fields(spec_name, items, item, f"{path}[{index}]")
        return
    if not isinstance(value, dict) or schema is None:
        return
    properties, free = _properties(spec, schema)
    for key, item in value.items():
        if key in properties:
            yield from unknown_fields(spec_name, properties[key], item, f"{path}.{key}")
        elif not free:
            yield f"{path}.{key}"


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for verb, pattern, name, template in _operations():
        if verb == method and pattern.match(path):
            return name, _spec(name)["paths"][template][method.lower()]
    return None


def _sdk_setup_token_problems(body: Any) -> list[str]:
    again = APIHelper.to_dictionary(SetupTokenRequest.from_dictionary(body))
    return [f"setup token body: {path} is not in the SDK's model" for path in _lost(body, again)]


def _sdk_payment_token_problems(body: Any) -> list[str]:
    if body is None:  # a GET
        return []
    again = APIHelper.to_dictionary(PaymentTokenRequest.from_dictionary(body))
    return [f"payment token body: {path} is not in the SDK's model" for path in _lost(body, again)]


def _lost(sent: Any, kept: Any, path: str = "$") -> Iterator[str]:
    """Paths of ``sent`` that the model's round trip ``kept`` dropped or changed."""
    if isinstance(sent, dict) and isinstance(kept, dict):
        for key, value in sent.items():
            yield from (
                _lost(value, kept.get(key), f"{path}.{key}") if key in kept else [path + "." + key]
            )
    elif sent != kept:
        yield path


def _check_event(event: dict[str, Any]) -> list[str]:
    problems = validate("notifications_webhooks_v1.json", {"$ref": "#/components/schemas/event"},
                        event)  # fmt: skip
    known = RESOURCES.get(event.get("resource_type", ""))
    if str(event.get("event_type", "")).startswith("PAYMENT.SALE."):  # v1 resources
        kind = "refund" if event.get("resource_type") == "refund" else "sale"
        problems += _v1_problems(kind, event.get("resource"))
    elif known is not None:
        name, schema_name = known
        schema = {"$ref": f"#/components/schemas/{schema_name}"}
        problems += validate(name, schema, event["resource"])
        problems += list(unknown_fields(name, schema, event["resource"], "$.resource"))
    CHECKED["events"] += 1
    return [f"event {event.get('event_type')}: {p}" for p in problems]


def _check_exchange(exchange: Any) -> list[str]:
    where = f"{exchange.method} {exchange.path}"
    if exchange.path == "/v1/oauth2/token":
        return []
    if exchange.path.startswith("/v3/vault/setup-tokens"):
        CHECKED["requests"] += 1
        return [f"{where}: {p}" for p in _sdk_setup_token_problems(exchange.body)]
    if exchange.path.startswith("/v3/vault/payment-tokens"):
        CHECKED["requests"] += 1
        return [f"{where}: {p}" for p in _sdk_payment_token_problems(exchange.body)]
    if exchange.method == "GET" and exchange.path.startswith(_V1_SALE_PATH):
        CHECKED["answers"] += exchange.status == 200
        answer = exchange.answer if exchange.status == 200 else {}
        return [f"{where}: {p}" for p in _v1_problems("sale", answer)]
    found = _operation(exchange.method, exchange.path)
    if found is None:
        return [f"{where}: no such operation in PayPal's descriptions"]
    name, operation = found
    spec, problems = _spec(name), []
    if exchange.body is not None:
        schema = _json_schema(spec, operation.get("requestBody"))
        if schema is None:
            problems.append("a body where the operation takes none")
        else:
            problems += [f"request {p}" for p in validate(name, schema, exchange.body)]
            problems += [f"request {p}" for p in unknown_fields(name, schema, exchange.body)]
            CHECKED["requests"] += 1
    responses = operation.get("responses", {})
    answer_holder = responses.get(str(exchange.status)) or responses.get("default")
    if exchange.answer is not None and exchange.status < 400:
        if answer_holder is None:
            problems.append(f"status {exchange.status} is not one the operation answers")
        else:
            schema = _json_schema(spec, answer_holder)
            if schema is not None:
                problems += [f"answer {p}" for p in validate(name, schema, exchange.answer)]
                problems += [f"answer {p}" for p in unknown_fields(name, schema, exchange.answer)]
                CHECKED["answers"] += 1
    return [f"{where}: {p}" for p in problems]


def assert_paypal_shaped(api: LocalPayPalApi) -> None:
    """Every request, answer and event of ``api`` is as PayPal describes it (skipped,
    silently, where the descriptions are absent: the tests that need them say so)."""
    if not paypal_specs_present():
        return
    problems = [p for exchange in api.exchanges for p in _check_exchange(exchange)]
    problems += [p for event in api.events for p in _check_event(event)]
    assert not problems, "not as PayPal describes it:\n" + "\n".join(problems)
