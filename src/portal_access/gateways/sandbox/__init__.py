"""The sandbox gateway: the adapter for the in-process sandbox vendor, and the template
every gateway copies (``docs/gateways/adding-a-gateway.md``).

The same files as every gateway: ``_gateway.py`` (the
:class:`~portal_access.ports.PaymentGateway` methods, and the vendor's API they call,
declared as a Protocol), ``_checkout.py`` (a checkout request in the vendor's terms),
``_webhooks.py`` (the signature scheme and the event body), ``_mapping.py`` (the
vendor's JSON -> snapshots) and ``_errors.py`` (the vendor's errors -> ours). The
vendor itself is :class:`portal_access.testing.sandbox.SandboxVendor`.
"""

from portal_access.gateways.sandbox._gateway import SandboxGateway

__all__ = ["SandboxGateway"]
