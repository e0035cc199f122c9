"""Is this what Square sends and accepts? Requests the real SDK sent to our fake Square
API, the fake's answers, and the events our webhook factory builds, checked against
Square's published OpenAPI description (``square/connect-api-specification``'s
``api.json``, found in the vendor folder: see ``tests/vendor_specs.py``).

The description leaves ``additionalProperties`` open and marks server-set fields
``readOnly``; here every object is closed (a field Square does not list is an error, so
an invented or misspelled parameter fails its test) and a request may not carry a
read-only field. ``nullable`` is read as "or null".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from portal_access.testing._square_api import Exchange, FakeSquareApi
from tests.vendor_specs import vendor_root

__all__ = [
    "CHECKED",
    "SPEC_MISSING",
    "assert_square_shaped",
    "event_schema",
    "spec_errors",
    "square_spec",
]

SPEC_MISSING = (
    "Square's OpenAPI description (square/api.json) is not here: set "
    "PORTAL_ACCESS_VENDOR_SPECS to the vendor folder (see tests/vendor_specs.py)"
)

#: How many documents were checked against the description in this run, by kind.
CHECKED: Counter[str] = Counter()


def _closed(node: Any, *, request: bool) -> Any:
    """The description with every object closed, ``nullable`` as "or null", and (for
    requests) read-only fields left out of the allowed ones."""
    if isinstance(node, list):
        return [_closed(item, request=request) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _closed(value, request=request) for key, value in node.items()}
    if isinstance(out.get("properties"), dict):
        if request:
            out["properties"] = {
                k: v
                for k, v in out["properties"].items()
                if not node["properties"][k].get("readOnly")
            }
        out.setdefault("additionalProperties", False)
    if out.pop("nullable", False):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


class SquareSpec:
    """Square's description, ready to check requests, answers and events."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._registries = {
            mode: Registry().with_resource(
                "urn:square",
                Resource.from_contents(_closed(document, request=mode == "request"), DRAFT4),
            )
            for mode in ("request", "response")
        }
        self._paths = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
            for path in document["paths"]
        ]

    def operation(self, method: str, path: str) -> dict[str, Any]:
        """The operation Square describes for ``method path`` (literal paths first)."""
        found = [p for pattern, p in self._paths if pattern.match(path)]
        found.sort(key=lambda p: p.count("{"))
        for template in found:
            operation = self.document["paths"][template].get(method.lower())
            if operation is not None:
                return dict(operation)
        raise AssertionError(f"Square describes no {method} {path}")

    def errors(self, value: Any, schema_name: str, *, request: bool) -> list[str]:
        """Where ``value`` departs from the schema ``schema_name``."""
        mode = "request" if request else "response"
        schema = {"$ref": f"urn:square#/components/schemas/{schema_name}"}
        validator = jsonschema.Draft4Validator(schema, registry=self._registries[mode])
        return [
            f"{schema_name} at {'/'.join(map(str, error.absolute_path)) or '$'}: {error.message}"
            for error in validator.iter_errors(value)
        ]


def _schema_name(node: dict[str, Any]) -> str:
    return str(node["content"]["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]


@cache
def square_spec() -> SquareSpec | None:
    """Square's description, or ``None`` when it is not here."""
    folder = vendor_root()
    path = folder / "square" / "api.json" if folder is not None else None
    if path is None or not path.is_file():
        return None
    return SquareSpec(json.loads(path.read_text(encoding="utf-8")))


def event_schema(event_type: str) -> str:
    """The schema of an event type: ``invoice.payment_made`` -> ``InvoicePaymentMadeEvent``."""
    return "".join(part.capitalize() for part in re.split(r"[._]", event_type)) + "Event"


def spec_errors(spec: SquareSpec, exchange: Exchange) -> list[str]:
    """What is wrong with one exchange: its body, its query, its answer."""
    operation = spec.operation(exchange.method, exchange.path)
    where = f"{exchange.method} {exchange.path}"
    problems = []
    body = operation.get("requestBody")
    if body is not None:
        problems += spec.errors(exchange.body, _schema_name(body), request=True)
        CHECKED["request bodies"] += 1
    elif exchange.body not in (None, {}):
        problems.append(f"a body where Square takes none: {exchange.body!r}")
    parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
    for name, value in exchange.query.items():
        described = parameters.get(name)
        if described is None:
            problems.append(f"query parameter {name!r} is not Square's")
        elif "$ref" in described["schema"]:
            problems += spec.errors(
                value, described["schema"]["$ref"].rsplit("/", 1)[-1], request=True
            )
    CHECKED["exchanges"] += 1
    if exchange.query:
        CHECKED["queries"] += 1
    if exchange.status == 200:
        problems += spec.errors(
            exchange.answer, _schema_name(operation["responses"]["200"]), request=False
        )
        CHECKED["answers"] += 1
    else:
        for error in exchange.answer.get("errors", []):
            problems += spec.errors(error, "Error", request=False)
    return [f"{where}: {problem}" for problem in problems]


def assert_square_shaped(api: FakeSquareApi, *events: dict[str, Any]) -> None:
    """Every exchange ``api`` recorded, every event it keeps, and ``events``, are as
    Square describes them. Without the description this checks nothing (and
    ``test_square_vendor_shapes.py`` is skipped, saying why)."""
    spec = square_spec()
    if spec is None:
        return
    problems = [p for exchange in api.exchanges for p in spec_errors(spec, exchange)]
    for event in [*api.events, *events]:
        problems += spec.errors(event, event_schema(str(event["type"])), request=False)
        CHECKED["events"] += 1
    assert not problems, "\n".join(problems)
