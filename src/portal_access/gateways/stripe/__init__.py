"""The Stripe gateway, on Stripe's official SDK (``pip install "portal-access[stripe]"``).

The same files as every gateway: ``_gateway.py`` (the
:class:`~portal_access.ports.PaymentGateway` methods on ``stripe.StripeClient``),
``_checkout.py`` (a checkout request as Checkout parameters), ``_webhooks.py`` (the
``Stripe-Signature`` scheme), ``_mapping.py`` and ``_objects.py`` (Stripe's objects ->
snapshots) and ``_errors.py`` (the SDK's errors -> ours). See ``docs/gateways/stripe.md``.
"""

try:
    import stripe as _stripe  # noqa: F401 - fail here, with the fix, when it is missing
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'the Stripe gateway needs the stripe SDK: pip install "portal-access[stripe]"'
    ) from exc

from portal_access.gateways.stripe._gateway import StripeGateway

__all__ = ["StripeGateway"]
