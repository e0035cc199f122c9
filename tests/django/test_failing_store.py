"""``FailingStore`` around the ORM store keeps what a Django host relies on: the portal's
mail waits for the host's commit (``ports.AfterCommit``), and the store's aggregate reads
are still the database's (``ports.AggregateReads``)."""

from __future__ import annotations

from contextlib import suppress

import pytest
from django.db import transaction

from portal_access import StorageError
from portal_access.contrib.django import DjangoStore
from portal_access.ports import AfterCommit, AggregateReads
from portal_access.repositories import unit_of_work
from portal_access.testing import FailingStore
from portal_access.testing._storage_contract import values
from tests.django.conftest import end_other_sessions, on_each_database
from tests.service.harness import ADMIN, Harness, account, build


class HostBlockError(Exception):
    """The host's own failure, after the portal's use case returned."""


@pytest.fixture
def wrapped(alias: str):
    """A portal on ``FailingStore(DjangoStore(alias))`` (failing no write), with Ann."""
    failing = FailingStore(DjangoStore(using=alias), fail_on_write=0)
    harness: Harness = build(store=failing)  # type: ignore[arg-type]
    harness.portal.save_account(account())
    harness.portal.create_contact(values.contact(account_id="acc-1"))
    yield harness, failing
    end_other_sessions(alias)


@on_each_database
class TestFailingDjangoStore:
    def test_it_has_the_stores_after_commit(self, wrapped):
        assert isinstance(wrapped[1], AfterCommit)

    def test_the_invitation_is_mailed_after_the_hosts_commit(self, wrapped, alias):
        harness, _failing = wrapped
        with transaction.atomic(using=alias):
            harness.portal.invite_contact("c-1", staff=ADMIN)
            assert harness.mailer.sent == []
        assert [message.to for message in harness.mailer.sent] == [
            (values.email("ann@example.com"),)
        ]

    def test_nothing_is_mailed_when_the_host_rolls_back(self, wrapped, alias):
        harness, _failing = wrapped
        with suppress(HostBlockError), transaction.atomic(using=alias):
            harness.portal.invite_contact("c-1", staff=ADMIN)
            raise HostBlockError
        assert harness.mailer.sent == []

    def test_its_transactions_pass_the_database_alias_through(self, alias):
        with unit_of_work(FailingStore(DjangoStore(using=alias), fail_on_write=0)) as uow:
            assert uow.transaction.using == alias

    def test_its_transactions_keep_the_aggregate_reads_and_fail_the_nth_write(self, alias):
        failing = FailingStore(DjangoStore(using=alias), fail_on_write=1)
        with unit_of_work(failing) as uow:
            assert isinstance(uow.transaction, AggregateReads)
        with pytest.raises(StorageError, match="injected failure"), unit_of_work(failing) as uow:
            uow.invoices.next_number()
        assert failing.writes == 1
