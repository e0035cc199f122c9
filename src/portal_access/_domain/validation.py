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

import re
from datetime import date, datetime
from typing import Any, TypeVar

import attrs

from portal_access._domain.errors import ValidationError

__all__ = [
    "MAX_IDENTIFIER_LENGTH",
    "aware_datetime",
    "calendar_date",
    "ensure_aware",
    "ensure_identifier",
    "ensure_instance",
    "ensure_text",
    "identifier",
    "instance_of",
    "int64",
    "non_blank",
    "optional",
    "text",
    "tuple_of",
]

T = TypeVar("T")

#: The longest id (contact, account, invoice...) accepted anywhere.
MAX_IDENTIFIER_LENGTH = 255

# What no stored text may hold: NUL (PostgreSQL's text refuses it) and lone surrogates
# (not encodable as UTF-8, so no driver can send them).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def ensure_text(value: object, *, field: str) -> str:
    """``value`` if it is a ``str`` any store can keep, else :class:`ValidationError`.

    A NUL character or a lone surrogate is refused: no database text column takes them.

    >>> ensure_text("Ann", field="first_name")
    'Ann'
    >>> ensure_text("A\\x00nn", field="first_name")
    Traceback (most recent call last):
    ...
    portal_access.ValidationError: first_name: must not contain NUL or lone surrogates
    """
    if not isinstance(value, str):
        raise ValidationError("must be a string", field=field, value=value)
    if _UNSTORABLE.search(value) is not None:
        raise ValidationError("must not contain NUL or lone surrogates", field=field)
    return value


def text(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a ``str`` a store can keep (see :func:`ensure_text`); it may be blank."""
    ensure_text(value, field=attribute.name)


def non_blank(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a storable ``str`` with something other than whitespace in it."""
    ensure_text(value, field=attribute.name)
    assert isinstance(value, str)
    if not value.strip():
        raise ValidationError("must not be blank", field=attribute.name, value=value)


def ensure_identifier(value: object, *, field: str) -> str:
    """``value`` if it is an id (see :func:`identifier`), else :class:`ValidationError`.

    Use cases call it on every id a caller hands them before it reaches a store.

    >>> ensure_identifier("c-1", field="contact_id")
    'c-1'
    >>> ensure_identifier("c\\ud800", field="contact_id")
    Traceback (most recent call last):
    ...
    portal_access.ValidationError: contact_id: must be printable and at most 255 characters
    """
    if not isinstance(value, str):
        raise ValidationError("must be a string", field=field, value=value)
    if not value.strip():
        raise ValidationError("must not be blank", field=field, value=value)
    if len(value) > MAX_IDENTIFIER_LENGTH or not value.isprintable():
        raise ValidationError(
            f"must be printable and at most {MAX_IDENTIFIER_LENGTH} characters",
            field=field,
            value=value[:MAX_IDENTIFIER_LENGTH],
        )
    return value


def identifier(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require an id: a non-blank ``str`` of at most 255 characters, no control characters."""
    ensure_identifier(value, field=attribute.name)


def ensure_instance(value: object, kind: type[T], *, field: str) -> T:
    """``value`` if it is a ``kind``, else :class:`ValidationError` naming ``field``.

    Use cases call it on the values a host hands them (an account, a contact...).

    >>> ensure_instance(None, str, field="account")
    Traceback (most recent call last):
    ...
    portal_access.ValidationError: account: must be str
    """
    if not isinstance(value, kind):
        raise ValidationError(f"must be {kind.__name__}", field=field, value=value)
    return value


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


def int64(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require an ``int`` (not a ``bool``) that fits a signed 64-bit column: versions,
    counters and vendor timestamps, which every store keeps as a BIGINT."""
    if type(value) is not int or not -(2**63) <= value < 2**63:
        raise ValidationError("must be an int that fits 64 bits", field=attribute.name, value=None)
