"""The storage contract: every documented behaviour of a Store, as a pytest test class.

Run it against your own :class:`portal_access.ports.Store` by inheriting it and giving
it a ``store`` fixture that returns a new, empty store::

    import pytest
    from portal_access.testing._storage_contract import StorageContract

    class TestMyStore(StorageContract):
        @pytest.fixture
        def store(self):
            return MyStore(...)

Every test uses only the API of :mod:`portal_access.ports` (no peeking at tables), so
it runs unchanged against the memory, SQL and Django stores and against yours. The
values it stores come from :mod:`portal_access.testing._storage_contract.values`.

The class is named without a ``Test`` prefix, so pytest collects it only through your
subclass. It needs pytest (``pip install pytest``).
"""

from __future__ import annotations

try:
    import pytest  # noqa: F401 - fail here, with the fix, rather than in a submodule
except ImportError as exc:  # pragma: no cover - exercised only without pytest
    raise ImportError(
        "portal_access.testing._storage_contract needs pytest: pip install pytest"
    ) from exc

from portal_access.testing._storage_contract.access import AccessContract
from portal_access.testing._storage_contract.billing import BillingContract
from portal_access.testing._storage_contract.catalog import CatalogContract
from portal_access.testing._storage_contract.messages import MessageContract
from portal_access.testing._storage_contract.races import RaceContract
from portal_access.testing._storage_contract.transactions import TransactionContract

__all__ = ["StorageContract"]


class StorageContract(
    TransactionContract,
    CatalogContract,
    AccessContract,
    BillingContract,
    MessageContract,
    RaceContract,
):
    """Every documented behaviour of :class:`~portal_access.ports.Store` and its
    repositories; subclass it with a ``store`` fixture returning a new, empty store.

    The parts can also be inherited one by one: :class:`TransactionContract` (commit,
    rollback, isolation, ``read_access_state``, concurrent updates),
    :class:`CatalogContract`, :class:`AccessContract`, :class:`BillingContract`,
    :class:`MessageContract` and :class:`RaceContract` (two workers on the same rows).
    """
