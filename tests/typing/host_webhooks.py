"""What a host writes to pass a webhook on, checked by ``mypy --strict``
(tests/typing/test_host_typing.py): every header object hosts have must type-check
with no cast and no ``type: ignore``. Only type-checked, never run as a test."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from werkzeug.datastructures import EnvironHeaders, Headers

import portal_access as pa


class DjangoLikeHeaders(Mapping[str, str]):
    """The shape of Django's ``request.headers`` (``HttpHeaders``, a case-insensitive
    ``Mapping[str, str]``); Django ships no type information of its own."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def flask_view(portal: pa.PortalAccess, headers: EnvironHeaders, body: bytes) -> str:
    """Flask: ``request.headers`` is Werkzeug's ``EnvironHeaders``."""
    return portal.handle_webhook("stripe", headers, body).outcome


def werkzeug_headers(portal: pa.PortalAccess, body: bytes) -> pa.WebhookResult:
    return portal.handle_webhook("stripe", Headers([("Stripe-Signature", "t=1,v1=x")]), body)


def django_view(portal: pa.PortalAccess, headers: DjangoLikeHeaders, body: bytes) -> str:
    return portal.handle_webhook("stripe", headers, body).outcome


def plain_dict(portal: pa.PortalAccess, body: bytes) -> pa.WebhookResult:
    return portal.handle_webhook("stripe", {"Stripe-Signature": "t=1,v1=x"}, body)


def pairs(portal: pa.PortalAccess, raw: list[tuple[str, str]], body: bytearray) -> pa.WebhookResult:
    return portal.handle_webhook("stripe", raw, bytes(body))


def annotated(headers: pa.WebhookHeaders) -> pa.WebhookHeaders:
    return headers
