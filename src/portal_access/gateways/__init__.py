"""Payment gateway adapters: one sub-package per processor, each the same shape.

Every gateway implements :class:`portal_access.ports.PaymentGateway` in the same files:
``__init__.py`` (the import guard, one ``<Name>Gateway``), ``_gateway.py`` (the port's
methods), ``_webhooks.py`` (the signature scheme), ``_mapping.py`` (vendor JSON -> our
values) and ``_errors.py`` (vendor errors -> ours), optionally ``_checkout.py``,
``_objects.py`` and ``_rest.py``, all on the shared kit (``_kit``).
:mod:`portal_access.gateways.sandbox` is the template to copy for a new one
(``docs/gateways/adding-a-gateway.md``).

Nothing is imported here: each adapter loads its vendor SDK only when it is imported.
"""

__all__: list[str] = []
