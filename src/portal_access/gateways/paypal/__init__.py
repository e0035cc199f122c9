"""The PayPal gateway, on PayPal's ``paypal-server-sdk`` (``pip install "portal-access[paypal]"``).

Same shape as every gateway: ``_gateway.py`` (the
:class:`~portal_access.ports.PaymentGateway` methods), ``_webhooks.py`` (PayPal's
offline signature scheme), ``_mapping.py`` (PayPal objects -> snapshots), ``_errors.py``
(the SDK's errors -> ours), plus ``_checkout.py`` (request bodies), ``_objects.py``
(reading PayPal's JSON) and ``_rest.py`` (the few REST calls the SDK lacks). See
``docs/gateways/paypal.md``.
"""

try:
    import cryptography as _cryptography  # noqa: F401 - the webhook signature check needs it
    import paypalserversdk as _paypalserversdk  # noqa: F401 - fail here, with the fix
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "the PayPal gateway needs paypal-server-sdk and cryptography: "
        'pip install "portal-access[paypal]"'
    ) from exc

from portal_access.gateways.paypal._gateway import PayPalGateway

__all__ = ["PayPalGateway"]
