"""Small attrs validators shared by the domain values (so every one raises our errors).

>>> import attrs
>>> @attrs.frozen
... class Thing:
...     name: str = attrs.field(validator=non_blank)
>>> Thing("  ")
Traceback (most recent call last):
...
portal_access.ValidationError: name: must not be blank
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import attrs

from portal_access._domain.errors import ValidationError

__all__ = [
    "aware_datetime",
    "calendar_date",
    "ensure_aware",
    "identifier",
    "instance_of",
    "non_blank",
    "optional",
    "tuple_of",
]


def non_blank(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a ``str`` with something other than whitespace in it."""
    if not isinstance(value, str):
        raise ValidationError("must be a string", field=attribute.name, value=value)
    if not value.strip():
        raise ValidationError("must not be blank", field=attribute.name, value=value)


def identifier(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require an id: a non-blank ``str`` of at most 255 characters, no control characters."""
    non_blank(_instance, attribute, value)
    assert isinstance(value, str)
    if len(value) > 255 or not value.isprintable():
        raise ValidationError(
            "must be printable and at most 255 characters", field=attribute.name, value=value
        )


def ensure_aware(value: object, *, field: str) -> None:
    """Raise :class:`ValidationError` unless ``value`` is a timezone-aware ``datetime``.

    Naive times are ambiguous across hosts and servers, so the library refuses them.
    """
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValidationError("must be a timezone-aware datetime", field=field, value=value)


def aware_datetime(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a timezone-aware ``datetime`` (an attrs validator)."""
    ensure_aware(value, field=attribute.name)


def optional(validator: Any) -> Any:
    """Run ``validator`` unless the value is ``None``."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            validator(instance, attribute, value)

    return check


def calendar_date(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a ``date`` that is not a ``datetime`` (a day, not an instant)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError("must be a date (not a datetime)", field=attribute.name, value=value)


def tuple_of(kind: type, *, non_empty: bool = False) -> Any:
    """Require a ``tuple`` whose items are all ``kind`` (and at least one, if ``non_empty``)."""

    def check(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple) or (non_empty and not value):
            many = "a non-empty tuple" if non_empty else "a tuple"
            raise ValidationError(f"must be {many} of {kind.__name__}", field=attribute.name)
        for item in value:
            if not isinstance(item, kind):
                raise ValidationError(f"must hold only {kind.__name__}", field=attribute.name)

    return check


def instance_of(*types: type) -> Any:
    """Like :func:`attrs.validators.instance_of`, but raising :class:`ValidationError`."""

    def check(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            raise ValidationError(f"must be {names}", field=attribute.name, value=value)

    return check
