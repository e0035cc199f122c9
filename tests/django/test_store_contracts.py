"""The ORM store keeps both storage contracts, on SQLite always and on PostgreSQL when
``PORTAL_ACCESS_TEST_DATABASE_URL`` is set: the store port's semantics
(``StoreContract``) and every rule of the repositories above it (``StorageContract``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portal_access.contrib.django._store import DjangoStore
from portal_access.testing import StorageContract, StoreContract
from tests.django.conftest import ALIASES, end_other_sessions


class _OnDjango:
    """A new, empty ORM store on the test database of ``alias``."""

    @pytest.fixture(params=ALIASES)
    def store(
        self,
        request: pytest.FixtureRequest,
        transactional_db: None,
        threads_close_connections: None,
    ) -> Iterator[DjangoStore]:
        alias = request.param
        yield DjangoStore(using=alias)
        end_other_sessions(alias)


@pytest.mark.django_db(transaction=True, databases=ALIASES)
class TestDjangoStorePort(_OnDjango, StoreContract):
    """The store port's contract on the ORM store."""


@pytest.mark.django_db(transaction=True, databases=ALIASES)
class TestDjangoStorage(_OnDjango, StorageContract):
    """The repositories' rules on the ORM store."""
