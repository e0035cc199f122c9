"""The Square gateway, on Square's official SDK (``pip install "portal-access[square]"``).

Same shape as every gateway: ``_gateway.py`` (the
:class:`~portal_access.ports.PaymentGateway` methods), ``_webhooks.py`` (the
``x-square-hmacsha256-signature`` scheme), ``_mapping.py`` (Square objects -> snapshots),
``_errors.py`` (the SDK's errors -> ours), plus ``_checkout.py`` (pages, customers,
subscriptions), ``_objects.py`` (Square's vocabularies) and ``_rest.py`` (the SDK calls).
See ``docs/gateways/square.md``.
"""

try:
    import square as _square  # noqa: F401 - fail here, with the fix, when it is missing
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'the Square gateway needs the squareup SDK: pip install "portal-access[square]"'
    ) from exc

from portal_access.gateways.square._gateway import SquareGateway

__all__ = ["SquareGateway"]
