"""Payment gateway adapters: one sub-package per processor, each the same shape.

Every gateway implements :class:`portal_access.ports.PaymentGateway` in the same three
files: ``gateway.py`` (the Protocol's methods), ``webhooks.py`` (signature scheme and
event parsing) and ``mapping.py`` (vendor objects and statuses <-> domain values).
:mod:`portal_access.gateways.sandbox` is the in-process template to copy for a new one.

Nothing is imported here: each adapter loads its vendor SDK only when it is imported.
"""

__all__: list[str] = []
