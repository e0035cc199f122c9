"""The storage contract: every documented behaviour of the repositories, on a store.

Run it against your own :class:`portal_access.ports.Store` by inheriting it and giving
it a ``store`` fixture that returns a new, empty store::

    import pytest
    from portal_access.testing import StorageContract

    class TestMyStore(StorageContract):
        @pytest.fixture
        def store(self):
            return MyStore(...)

Every test goes through :func:`portal_access.repositories.unit_of_work` and
:func:`~portal_access.repositories.read_access_state` (no peeking at rows), so it runs
unchanged against the memory, SQL and Django stores and against yours, and checks the
repositories' rules (numbering, single use, orderings, versions, races) on that store,
with any repository the store overrides. The port's own semantics are
:class:`~portal_access.testing.StoreContract`'s. The values it stores come from
:mod:`portal_access.testing._storage_contract.values`.

The class is named without a ``Test`` prefix, so pytest collects it only through your
subclass. It needs pytest (``pip install pytest``).
"""

from __future__ import annotations

try:
    import pytest  # fail here, with the fix, rather than in a submodule
except ImportError as exc:  # pragma: no cover - exercised only without pytest
    raise ImportError(
        "portal_access.testing._storage_contract needs pytest: pip install pytest"
    ) from exc

from portal_access.ports import Store
from portal_access.testing._contracts import missing_fixture
from portal_access.testing._storage_contract.access import AccessContract
from portal_access.testing._storage_contract.audit import AuditContract
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
    AuditContract,
    RaceContract,
):
    """Every documented behaviour of the repositories on a store; subclass it with a
    ``store`` fixture returning a new, empty store.

    The parts can also be inherited one by one: :class:`TransactionContract` (commit,
    rollback, isolation, ``read_access_state``, concurrent updates),
    :class:`CatalogContract`, :class:`AccessContract`, :class:`BillingContract`,
    :class:`MessageContract`, :class:`AuditContract` and :class:`RaceContract` (two
    workers on the same rows).
    """

    @pytest.fixture
    def store(self) -> Store:
        """A new, empty store (abstract: override it)."""
        message = missing_fixture("StorageContract", "store", "a new, empty store")
        pytest.fail(message, pytrace=False)
