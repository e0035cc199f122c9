"""The store contract: the semantics of the store port, for store writers.

Inherit :class:`StoreContract` in a test class and give it a ``store`` fixture that
returns a new, empty store (with the tables of ``portal_access.repositories.TABLES``)::

    import pytest
    from portal_access.testing import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self):
            return MyStore()

It checks the eight methods of :class:`~portal_access.ports.Store` and
:class:`~portal_access.ports.StoreTransaction` on raw rows of the library's own tables
(documents are opaque text to a store): keys and unique indexes, versions, index order
and limits, counters, commit and rollback, isolation, and two threads racing on one row.
:class:`~portal_access.testing.StorageContract` then checks the repositories on top.
It needs pytest; nothing imports it unless you do. The parts can be inherited one by
one: :class:`TableContract` (rows by key and by index) and :class:`TransactionContract`
(counters, commit and rollback, isolation, races, locks).
"""

from __future__ import annotations

try:
    import pytest  # fail here, with the fix, rather than in a submodule
except ImportError as exc:  # pragma: no cover - exercised only without pytest
    raise ImportError(
        "portal_access.testing.StoreContract needs pytest: pip install pytest"
    ) from exc

from portal_access.ports import Store
from portal_access.testing._contracts import missing_fixture
from portal_access.testing._store_contract.tables import TableContract
from portal_access.testing._store_contract.transactions import TransactionContract

__all__ = ["StoreContract", "TableContract", "TransactionContract"]


class StoreContract(TableContract, TransactionContract):
    """The store port's contract; inherit and provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Store:
        """A new, empty store (abstract: override it)."""
        message = missing_fixture("StoreContract", "store", "a new, empty store")
        pytest.fail(message, pytrace=False)
