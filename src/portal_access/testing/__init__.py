"""What users import in *their* tests: the sandbox vendor, contract suites, strategies.

Nothing here is imported by ``import portal_access``. The names load lazily, each with
what it needs (``pip install "portal-access[testing]"`` brings pytest and hypothesis):

- :class:`SandboxVendor`: the in-process payment vendor (no dependency), and
  :class:`SandboxGateway`, the gateway that talks to it.
- :class:`StoreContract`: subclass it with a ``store`` fixture to test your store's
  eight port methods; :class:`StorageContract` (the same fixture) then tests the
  library's repositories on your store.
- :class:`GatewayContract`: subclass it with ``gateway`` and ``webhooks`` fixtures.
- :class:`FailingStore`: fail the Nth write, for atomicity tests.
- :class:`SandboxWebhooks`: signed sandbox webhooks for the gateway contract.
- :mod:`portal_access.testing.strategies`: hypothesis strategies for every value.

>>> from portal_access.testing import SandboxVendor
>>> SandboxVendor.__name__
'SandboxVendor'
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "FailingStore",
    "GatewayContract",
    "SandboxGateway",
    "SandboxVendor",
    "SandboxWebhooks",
    "StorageContract",
    "StoreContract",
]

_WHERE = {
    "FailingStore": "portal_access.testing._faults",
    "GatewayContract": "portal_access.testing._gateway_contract",
    "SandboxGateway": "portal_access.gateways.sandbox",
    "SandboxVendor": "portal_access.testing.sandbox",
    "SandboxWebhooks": "portal_access.testing.sandbox",
    "StorageContract": "portal_access.testing._storage_contract",
    "StoreContract": "portal_access.testing._store_contract",
}


def __getattr__(name: str) -> Any:
    """Load ``name`` from its module on first use."""
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(import_module(module), name)
