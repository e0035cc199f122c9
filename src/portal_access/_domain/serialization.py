"""The one cattrs converter that turns every domain value into JSON-ready data and back.

Stores, outboxes and webhooks records all use it, so a value is written one way only.
Money is ``{"amount": minor_units, "currency": code}``; datetimes are ISO 8601 with
their offset; email addresses are strings; enums are their values.

>>> from portal_access._domain.money import Money
>>> unstructure(Money(2500, "USD"))
{'amount': 2500, 'currency': 'USD'}
>>> structure({"amount": 2500, "currency": "USD"}, Money)
Money(amount=2500, currency='USD')
>>> from_json(to_json(Money(7, "KWD")), Money)
Money(amount=7, currency='KWD')
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import orjson
from cattrs.preconf.json import make_converter

from portal_access._domain.email_address import EmailAddress

__all__ = ["converter", "from_json", "structure", "to_json", "unstructure"]

T = TypeVar("T")

#: The converter every adapter uses. Built once, at import, without I/O.
converter = make_converter(detailed_validation=False)
converter.register_unstructure_hook(EmailAddress, str)
converter.register_structure_hook(EmailAddress, lambda value, _type: EmailAddress.parse(value))
converter.register_unstructure_hook(datetime, datetime.isoformat)
converter.register_structure_hook(datetime, lambda value, _type: datetime.fromisoformat(value))
converter.register_unstructure_hook(date, date.isoformat)
converter.register_structure_hook(date, lambda value, _type: date.fromisoformat(value))
converter.register_unstructure_hook(timedelta, lambda value: value // timedelta(microseconds=1))
converter.register_structure_hook(timedelta, lambda value, _type: timedelta(microseconds=value))


def unstructure(value: object) -> Any:
    """``value`` as plain dicts, lists, strings and numbers."""
    return converter.unstructure(value)


def structure(data: Any, cls: type[T]) -> T:
    """Rebuild a ``cls`` from :func:`unstructure` output; validators run as usual.

    Raises:
        ValidationError: the data does not make a valid ``cls``.
    """
    return converter.structure(data, cls)


#: The standard library's encoder, for what orjson refuses (see :func:`to_json`).
_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


def to_json(value: object) -> str:
    """``value`` as compact JSON text with sorted keys (stable across runs).

    Encoded by orjson (several times faster than the standard library: a webhook
    encodes two to four documents); a value it refuses (an int beyond 64 bits, a lone
    surrogate) by the standard library, as before. Text outside ASCII is written as
    UTF-8, not ``\\u`` escapes; both decode to the same value.

    >>> to_json({"b": 1, "a": "Zoë"})
    '{"a":"Zoë","b":1}'
    >>> to_json({"big": 2**70})
    '{"big":1180591620717411303424}'
    """
    data = converter.unstructure(value)
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return _ENCODER.encode(data)


def from_json(text: str | bytes, cls: type[T]) -> T:
    """Rebuild a ``cls`` from :func:`to_json` output."""
    return structure(json.loads(text), cls)
