"""Is this JSON shaped as Stripe answers? The objects and events our test doubles hand the
real SDK, checked against two descriptions of Stripe's API:

- the ``stripe`` SDK's own resource classes, whose annotations list every field of every
  object (nested objects included) for the API version the SDK pins: a field we invent or
  misspell (on an object, in a nested object, or inside an event) is a failure;
- Stripe's published example objects (``stripe/openapi`` ``fixtures3.json``, kept in
  ``../shared/vendor/stripe`` or ``$PORTAL_ACCESS_VENDOR_SPECS/stripe``): every kind of
  object we fake must be one Stripe publishes.

A test that passed against an object Stripe never sends would prove nothing about
production; these checks make such an object fail the test that built it.
"""

from __future__ import annotations

import importlib
import json
import sys
import typing
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import stripe
from stripe._list_object import ListObject
from stripe._object_classes import OBJECT_CLASSES
from stripe._search_result_object import SearchResultObject

from tests.vendor_specs import vendor_root

if TYPE_CHECKING:
    from portal_access.testing.stripe import FakeStripeApi

__all__ = [
    "assert_stripe_shaped",
    "example_has",
    "sdk_has",
    "stripe_examples",
    "unknown_fields",
    "vendor_folder",
]

#: Every Stripe object has these, whatever its class annotates.
_ALWAYS = {"id", "object"}
_LISTS = (ListObject, SearchResultObject)


def vendor_folder() -> Path | None:
    """The vendors' published descriptions, or ``None`` when Stripe's are not here."""
    folder = vendor_root()
    return (
        folder if folder is not None and (folder / "stripe" / "fixtures3.json").is_file() else None
    )


@cache
def stripe_examples() -> dict[str, Any]:
    """Stripe's example object of every resource, by its ``object`` name.

    Raises:
        FileNotFoundError: the vendor folder is absent (callers skip first).
    """
    folder = vendor_folder()
    if folder is None:
        raise FileNotFoundError("no ../shared/vendor/stripe/fixtures3.json")
    resources: dict[str, Any] = json.loads(
        (folder / "stripe" / "fixtures3.json").read_text(encoding="utf-8")
    )["resources"]
    return resources


@cache
def _resource(object_name: str) -> type | None:
    entry = OBJECT_CLASSES.get(object_name)
    if entry is None:
        return None
    module, name = entry
    found: type = getattr(importlib.import_module(module), name)
    return found


@cache
def _fields(cls: type) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        fields.update(vars(klass).get("__annotations__", {}))
    fields.pop("OBJECT_NAME", None)
    return fields


def _named(name: str, owner: type) -> Any:
    """A forward reference's class: nested in ``owner``, in its module, or in ``stripe``."""
    for scope in (owner, sys.modules[owner.__module__], stripe):
        found = getattr(scope, name, None)
        if found is not None:
            return found
    return None


def _object_class(annotation: Any, owner: type) -> Any:
    """What an annotation holds, if any Stripe object: its class, ``("list", item)`` for
    a JSON array of them, or ``("listobject", item)`` for a Stripe list object (whose
    ``data`` holds them)."""
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        annotation = _named(annotation.strip("\"'"), owner)
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, stripe.StripeObject):
        return annotation
    if origin in _LISTS or origin is list:
        (item,) = typing.get_args(annotation)
        return ("list" if origin is list else "listobject", _object_class(item, owner))
    for arg in typing.get_args(annotation):  # Optional, Union, ExpandableField
        found = _object_class(arg, owner)
        if found is not None:
            return found
    return None


def unknown_fields(value: Any, expected: Any = None, path: str = "$") -> Iterator[str]:
    """Paths of the fields in ``value`` that Stripe's object (or ``expected``) lacks.

    >>> list(unknown_fields({"object": "refund", "id": "re_1", "amount": 5, "colour": "red"}))
    ['$.colour']
    """
    if isinstance(value, list):
        item_class = expected[1] if isinstance(expected, tuple) else None
        for index, item in enumerate(value):
            yield from unknown_fields(item, item_class, f"{path}[{index}]")
        return
    if not isinstance(value, dict):
        return
    name = value.get("object")
    cls = _resource(name) if isinstance(name, str) else None
    items = expected[1] if isinstance(expected, tuple) else None
    cls = cls or (expected if isinstance(expected, type) else None)
    if cls is None:
        return  # a free-form map (metadata) or an object the SDK leaves untyped
    fields = _fields(cls)
    for key, item in value.items():
        if key not in fields and key not in _ALWAYS:
            yield f"{path}.{key}"
        elif issubclass(cls, _LISTS) and key == "data":
            yield from unknown_fields(item, ("list", items), f"{path}.data")
        elif key in fields:
            yield from unknown_fields(item, _object_class(fields[key], cls), f"{path}.{key}")


def sdk_has(object_name: str, path: str) -> bool:
    """Whether the SDK's ``object_name`` class has the dotted field ``path`` (``data``
    steps into a list's items)."""
    node: Any = _resource(object_name)
    for part in path.split("."):
        if isinstance(node, tuple) and node[0] == "listobject":
            if part != "data":
                return False
            node = node[1]
            continue
        if isinstance(node, tuple):  # a JSON array: the path goes on in its items
            node = node[1]
        if not isinstance(node, type):
            return False
        fields = _fields(node)
        if part not in fields:
            return False
        node = _object_class(fields[part], node) if part != "object" else None
    return True


def example_has(object_name: str, path: str) -> bool:
    """Whether Stripe's published example of ``object_name`` shows the dotted ``path``
    (a list steps into its first item)."""
    node: Any = stripe_examples()[object_name]
    for part in path.split("."):
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def assert_stripe_shaped(api: FakeStripeApi) -> None:
    """Every object and event ``api`` holds has only fields Stripe's objects have."""
    found = sorted(
        f"{obj.get('object')} {obj.get('id')}: {path}"
        for obj in [*api.objects.values(), *api.events]
        for path in unknown_fields(obj)
    )
    assert not found, f"fields Stripe does not send: {found}"
