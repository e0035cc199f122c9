"""The ORM store keeps both storage contracts, on SQLite always and on PostgreSQL when
``PORTAL_ACCESS_TEST_DATABASE_URL`` is set: the store port's semantics
(``StoreContract``) and every rule of the repositories above it (``StorageContract``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from portal_access.contrib.django._store import DjangoStore
from portal_access.ports import AggregateReads
from portal_access.repositories import unit_of_work
from portal_access.repositories._aggregates import python_newest, python_totals
from portal_access.repositories._tables import INVOICES, INVOICES_BY_ACCOUNT
from portal_access.testing import StorageContract, StoreContract
from tests.contract import test_aggregate_reads as aggregate_reads
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


@pytest.mark.django_db(transaction=True, databases=ALIASES)
class TestDjangoAggregateReads(_OnDjango):
    """The ORM store computes the summary's sums and newest rows in the database
    (``AggregateReads``), with the same answers as the repositories' fallback."""

    def test_its_transactions_have_the_capability(self, store):
        with unit_of_work(store) as uow:
            assert isinstance(uow.transaction, AggregateReads)

    def test_the_summary_reads_agree_with_the_values(self, store):
        aggregate_reads.test_sums_counts_and_newest_rows_agree_with_the_values(store)

    @pytest.mark.parametrize(
        "where", [None, {}, {"contact_id": (None,)}, {"site_id": ()}, {"status": ("open",)}]
    )
    def test_each_read_equals_the_fallback_over_find(self, store, where):
        """Sums, counts and the newest rows (grouped or not, with ``min_count``, with a
        ``where`` that keeps nulls or nothing) equal the fallback's over ``find``."""
        with unit_of_work(store) as uow:
            for invoice in aggregate_reads._invoices():
                uow.invoices.save(invoice)
        tx: Any
        with store.transaction() as tx:
            rows = tx.find(INVOICES, INVOICES_BY_ACCOUNT, ("a-1",))
            for by, sums, min_count in [
                (("currency", "due_on"), ("balance",), 1),
                (("status",), (), 1),
                (("contact_id",), ("balance",), 15),
                ((), ("balance",), 1),
            ]:
                found = tx.totals(
                    INVOICES,
                    INVOICES_BY_ACCOUNT,
                    ("a-1",),
                    by=by,
                    sums=sums,
                    where=where,
                    min_count=min_count,
                )
                expected = python_totals(rows, by=by, sums=sums, where=where, min_count=min_count)
                assert sorted(found, key=repr) == sorted(expected, key=repr), (by, where)
            for limit in (None, 5):
                found_rows = tx.newest(
                    INVOICES,
                    INVOICES_BY_ACCOUNT,
                    ("a-1",),
                    order=("issued_on",),
                    limit=limit,
                    where=where,
                )
                assert list(found_rows) == python_newest(
                    INVOICES, rows, order=("issued_on",), limit=limit, where=where
                )
            assert tx.totals(INVOICES, INVOICES_BY_ACCOUNT, (None,), by=("status",)) == []
