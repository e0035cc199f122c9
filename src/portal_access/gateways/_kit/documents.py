"""A verified webhook body as JSON, and typed readers of its fields.

Every failure is a :class:`~portal_access.WebhookVerificationError` with reason
``"body"`` whose message names the gateway and the field's path, so a body of an
unexpected shape is logged with why, never an ``AttributeError`` or ``KeyError``.

>>> from portal_access._domain.payments import PaymentStatus
>>> body = decode_json(b'{"id": "pay_1", "amount_money": {"amount": 2500, "currency": "USD"},'
...                    b' "status": "COMPLETED", "created_at": "2026-03-01T12:00:00Z"}',
...                    gateway="square")
>>> fields = Fields(body, gateway="square")
>>> fields.text("id"), fields.object("amount_money").money("amount", "currency")
('pay_1', Money(amount=2500, currency='USD'))
>>> fields.status("status", {"COMPLETED": PaymentStatus.SUCCEEDED})
<PaymentStatus.SUCCEEDED: 'succeeded'>
>>> fields.instant("created_at").isoformat()
'2026-03-01T12:00:00+00:00'
>>> fields.integer("id")
Traceback (most recent call last):
...
portal_access.WebhookVerificationError: square webhook body: 'id' must be an integer
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from portal_access._domain.errors import ValidationError, WebhookVerificationError
from portal_access._domain.gateway_events import GatewayEvent
from portal_access._domain.money import Money
from portal_access.gateways._kit.unbooked import Unbooked, could_be_id

__all__ = ["Fields", "decode_json", "gateway_event", "lookup_id"]

_T = TypeVar("_T")


def decode_json(body: bytes, *, gateway: str) -> dict[str, Any]:
    """A *verified* body decoded as a UTF-8 JSON object.

    Raises:
        WebhookVerificationError: ``reason="body"``: not UTF-8, not JSON (or nested
            too deep to decode), or not an object.
    """
    try:
        document = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise _bad(gateway, "", "is not UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise _bad(gateway, "", "is not a JSON object")
    return document


def gateway_event(
    event: Fields,
    *,
    occurred_at: datetime,
    id_key: str = "id",
    type_key: str = "type",
    **reports: Any,
) -> GatewayEvent:
    """The event as ours: its id, its type (for logs), its time, and what the mapping
    made of its object (``payments``, ``subscriptions``, ``renewals``,
    ``checkout_session_id``; none: acknowledged, ignored).

    Raises:
        WebhookVerificationError: ``reason="body"``: no id or type.
    """
    return GatewayEvent(
        gateway=event.gateway,
        event_id=event.text(id_key),
        event_type=event.text(type_key),
        occurred_at=occurred_at,
        **reports,
    )


#: Characters no vendor object id holds that would change a request path.
_NOT_IN_IDS = frozenset("/?#%\\")


def lookup_id(value: str, *, gateway: str, path: str, vendor: str) -> str:
    """``value``, an id a verified body names, checked before it goes into the path of a
    request to the vendor: one that could not be an id (empty, a control character or
    a lone surrogate, a space, ``/ ? # % \\``) is a body we do not understand. SDKs put
    ids into paths as they are, or quote them as UTF-8, so such an id would otherwise
    reach another path, or fail in the transport with an error of no type of ours.

    >>> lookup_id("3C679366HH908993F", gateway="paypal", path="resource.id", vendor="PayPal")
    '3C679366HH908993F'
    >>> lookup_id("a/b", gateway="paypal", path="resource.id", vendor="PayPal")
    Traceback (most recent call last):
    ...
    portal_access.WebhookVerificationError: paypal webhook body: 'resource.id' id 'a/b' is ...

    Raises:
        WebhookVerificationError: ``reason="body"``.
    """
    if not value or not value.isprintable() or any(c.isspace() or c in _NOT_IN_IDS for c in value):
        raise _bad(gateway, path, f"id {value!r} is not a {vendor} id")
    return value


def _bad(gateway: str, path: str, message: str) -> WebhookVerificationError:
    where = f"{path!r} " if path else ""
    return WebhookVerificationError(f"{gateway} webhook body: {where}{message}", reason="body")


class Fields:
    """Typed reads of one JSON object, each failure naming the field's path.

    Args:
        document: the decoded object (a ``dict``).
        gateway: the gateway's name, for messages.
        path: where ``document`` sits in the body (``"data.object"``), for messages.
    """

    __slots__ = ("_document", "_gateway", "_path")

    def __init__(self, document: Mapping[str, Any], *, gateway: str, path: str = "") -> None:
        self._document = document
        self._gateway = gateway
        self._path = path

    @property
    def gateway(self) -> str:
        """The gateway's name (snapshots carry it)."""
        return self._gateway

    @property
    def raw(self) -> Mapping[str, Any]:
        """The object itself."""
        return self._document

    def error(self, key: str, message: str) -> WebhookVerificationError:
        """The error for field ``key`` (``""``: the object itself)."""
        return _bad(self._gateway, self._where(key), message)

    def has(self, key: str) -> bool:
        """Whether ``key`` is present and not ``null``."""
        return self._document.get(key) is not None

    def _where(self, key: str) -> str:
        if not key:
            return self._path
        return f"{self._path}.{key}" if self._path else key

    def _get(self, key: str, kind: type[_T], what: str, *, required: bool) -> _T | None:
        value = self._document.get(key)
        if type(value) is kind:  # the common case, checked first: every webhook reads many
            return value
        if value is None:
            if required:
                raise self.error(key, "is missing")
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.error(key, f"must be {what}")
        return value

    def text(self, key: str) -> str:
        """A required string."""
        value = self._get(key, str, "a string", required=True)
        assert value is not None
        return value

    def optional_text(self, key: str) -> str | None:
        """A string, or ``None`` when absent or ``null``."""
        return self._get(key, str, "a string", required=False)

    def integer(self, key: str) -> int:
        """A required integer (``true``/``false`` are not integers)."""
        value = self._get(key, int, "an integer", required=True)
        assert value is not None
        return value

    def optional_integer(self, key: str) -> int | None:
        """An integer, or ``None`` when absent or ``null``."""
        return self._get(key, int, "an integer", required=False)

    def flag(self, key: str, *, default: bool = False) -> bool:
        """A boolean, ``default`` when absent or ``null``."""
        value = self._get(key, bool, "true or false", required=False)
        return default if value is None else value

    def object(self, key: str) -> Fields:
        """A required nested object."""
        value = self._get(key, dict, "an object", required=True)
        assert value is not None
        return Fields(value, gateway=self._gateway, path=self._where(key))

    def optional_object(self, key: str) -> Fields | None:
        """A nested object, or ``None`` when absent or ``null``."""
        value = self._get(key, dict, "an object", required=False)
        if value is None:
            return None
        return Fields(value, gateway=self._gateway, path=self._where(key))

    def objects(self, key: str) -> Iterator[Fields]:
        """The objects of a list (absent or ``null``: none); a non-object item is an error."""
        items = self._get(key, list, "a list", required=False) or []
        for index, item in enumerate(items):
            where = f"{self._where(key)}[{index}]"
            if not isinstance(item, dict):
                raise _bad(self._gateway, where, "must be an object")
            yield Fields(item, gateway=self._gateway, path=where)

    def texts(self, key: str) -> tuple[str, ...]:
        """The strings of a list (absent or ``null``: none); other items are skipped."""
        items = self._get(key, list, "a list", required=False) or []
        return tuple(item for item in items if isinstance(item, str))

    def string_map(self, key: str) -> dict[str, str]:
        """The string entries of an object (metadata); absent or ``null``: empty."""
        value = self._get(key, dict, "an object", required=False) or {}
        return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}

    def ids(
        self, key: str, names: Collection[str], *, unbooked: Unbooked | None = None
    ) -> dict[str, str]:
        """The entries ``names`` of the string map at ``key`` (an object's metadata) whose
        values could be ids of ours (:func:`~._kit.unbooked.could_be_id`). A value that
        could not (the vendor takes longer text, or another app's value) reads as absent,
        so the object reads as not ours, and ``unbooked`` warns about it once.

        >>> fields = Fields({"id": "cs_1", "metadata": {"invoice_id": "x" * 300,
        ...                  "contact_id": "c-1", "note": "y"}}, gateway="stripe")
        >>> fields.ids("metadata", ("invoice_id", "contact_id"))
        {'contact_id': 'c-1'}
        """
        found = self.string_map(key)
        kept = {name: found[name] for name in names if name in found}
        for name, value in list(kept.items()):
            if could_be_id(value):
                continue
            del kept[name]
            owner = self.optional_text("id") or self._where("")
            if unbooked is not None:
                unbooked.warn(
                    ("id", self._gateway, owner, name),
                    "%s %s: its %s %s (%d characters: %r) could be no id of ours: read as "
                    "absent, not ours",
                    self._gateway, owner, key, name, len(value), value[:40],
                )  # fmt: skip
        return kept

    def money(self, amount_key: str, currency_key: str) -> Money:
        """Minor units in ``amount_key`` and an ISO 4217 code in ``currency_key``
        (any case), as the vendor sends them.

        Raises:
            WebhookVerificationError: missing, not an integer, negative, or an unknown
                currency.
        """
        amount = self.integer(amount_key)
        currency = self.text(currency_key)
        try:
            return Money(amount, currency.upper())
        except ValidationError as exc:
            raise self.error(amount_key, f"is not an amount: {exc.message}") from None

    def decimal_money(self, value_key: str, currency_key: str) -> Money:
        """A decimal string in ``value_key`` (``"250.00"``, PayPal's form) and a currency.

        Raises:
            WebhookVerificationError: missing, not a decimal string the currency allows,
                or an unknown currency.
        """
        value = self.text(value_key)
        currency = self.text(currency_key)
        try:
            return Money.parse(value, currency.upper())
        except ValidationError as exc:
            raise self.error(value_key, f"is not an amount: {exc.message}") from None

    def moment(self, key: str) -> datetime:
        """Unix seconds as an aware instant (Stripe's form)."""
        seconds = self.integer(key)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise self.error(key, f"time {seconds} is out of range") from None

    def optional_moment(self, key: str) -> datetime | None:
        """Unix seconds, or ``None`` when absent or ``null``."""
        return self.moment(key) if self.has(key) else None

    def instant(self, key: str) -> datetime:
        """An RFC 3339 time (``2026-03-01T12:00:00Z``) as an aware instant in UTC
        (Square's and PayPal's form); a time without an offset is an error."""
        text = self.text(key)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise self.error(key, f"{text[:40]!r} is not an RFC 3339 time") from None
        if parsed.tzinfo is None:
            raise self.error(key, f"{text[:40]!r} has no offset")
        return parsed.astimezone(UTC)

    def optional_instant(self, key: str) -> datetime | None:
        """An RFC 3339 time, or ``None`` when absent or ``null``."""
        return self.instant(key) if self.has(key) else None

    def day(self, key: str) -> date:
        """A ``YYYY-MM-DD`` date."""
        text = self.text(key)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise self.error(key, f"{text[:40]!r} is not a YYYY-MM-DD date") from None

    def status(self, key: str, table: Mapping[str, _T]) -> _T:
        """The domain value ``table`` maps the vendor's word in ``key`` to.

        Raises:
            WebhookVerificationError: missing, or a word the table does not know.
        """
        word = self.text(key)
        try:
            return table[word]
        except KeyError:
            raise self.error(key, f"unknown status {word[:40]!r}") from None
