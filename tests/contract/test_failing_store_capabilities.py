"""``FailingStore`` keeps the optional capabilities of the store it wraps
(:mod:`portal_access.ports`), and advertises none the store lacks: a use case run
through it takes the path it takes on the wrapped store.

The Django store's ``after_commit`` is tested in ``tests/django/test_failing_store.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from portal_access import StorageError
from portal_access.ports import AfterCommit, AggregateReads
from portal_access.repositories import unit_of_work
from portal_access.repositories._tables import ACCESS_STATES, ACCESS_STATES_BY_ACCOUNT
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from portal_access.testing import FailingStore
from portal_access.testing._storage_contract import values
from tests.service.harness import ADMIN, account, build


class DeferringStore(MemoryStore):
    """A memory store that offers ``after_commit`` as a store inside a host's transaction
    does: the callbacks wait until the host "commits" (:meth:`commit`)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[Callable[[], object]] = []

    def after_commit(self, callback: Callable[[], object]) -> None:
        self.waiting.append(callback)

    def commit(self) -> None:
        waiting, self.waiting = self.waiting, []
        for callback in waiting:
            callback()


def test_after_commit_only_when_the_wrapped_store_has_it():
    assert not isinstance(FailingStore(MemoryStore(), fail_on_write=0), AfterCommit)
    assert not hasattr(FailingStore(MemoryStore(), fail_on_write=0), "after_commit")
    deferring = DeferringStore()
    failing = FailingStore(deferring, fail_on_write=0)
    assert isinstance(failing, AfterCommit)
    ran: list[str] = []
    failing.after_commit(lambda: ran.append("ran"))
    assert ran == []
    deferring.commit()
    assert ran == ["ran"]


def test_the_service_delivers_the_outbox_after_the_wrapped_stores_commit():
    """The outbox goes through the wrapped store's ``after_commit``: the invitation is
    mailed when the host commits, not when the use case returns."""
    deferring = DeferringStore()
    harness = build(store=FailingStore(deferring, fail_on_write=0))  # type: ignore[arg-type]
    harness.portal.save_account(account())
    deferring.commit()
    harness.portal.create_contact(values.contact(account_id="acc-1"))
    harness.portal.invite_contact("c-1", staff=ADMIN)
    assert harness.mailer.sent == []
    deferring.commit()
    assert [message.to for message in harness.mailer.sent] == [(values.email("ann@example.com"),)]


def test_aggregate_reads_only_when_the_wrapped_transactions_have_them(tmp_path):
    with FailingStore(MemoryStore(), fail_on_write=0).transaction() as transaction:
        assert not isinstance(transaction, AggregateReads)
    with SqlStore(f"sqlite:///{tmp_path / 'portal.db'}", create=True) as store:
        failing = FailingStore(store, fail_on_write=2)
        with unit_of_work(failing) as uow:
            assert isinstance(uow.transaction, AggregateReads)
            uow.access.save(values.access_state(), expected_version=None)
            totals = uow.transaction.totals(
                ACCESS_STATES, ACCESS_STATES_BY_ACCOUNT, ("a-1",), by=("account_id",)
            )
            assert [(total.group, total.rows) for total in totals] == [(("a-1",), 1)]
            newest = uow.transaction.newest(
                ACCESS_STATES, ACCESS_STATES_BY_ACCOUNT, ("a-1",), order=("contact_id",)
            )
            assert [row.values["contact_id"] for row in newest] == ["c-1"]
        assert failing.writes == 1  # the aggregate read was not counted as a write
        with pytest.raises(StorageError, match="injected failure"), unit_of_work(failing) as uow:
            uow.invoices.next_number()


class TestHostStatements:
    """A host's own statements in a use case's transaction work through the wrapper as
    on the wrapped store (``uow.transaction.connection``), and share its fate."""

    @staticmethod
    def notes(path) -> list[str]:
        import sqlite3  # noqa: PLC0415 - read the file past the store

        with sqlite3.connect(path) as connection:
            return [note for (note,) in connection.execute("SELECT note FROM host_notes")]

    def test_the_sql_stores_connection_passes_through_and_commits_with_the_unit(self, tmp_path):
        import sqlalchemy as sa  # noqa: PLC0415

        path = tmp_path / "portal.db"
        store = SqlStore(path, create=True)
        failing = FailingStore(store, fail_on_write=0)
        try:
            with unit_of_work(failing) as uow:
                connection = uow.transaction.connection
                assert isinstance(connection, sa.Connection)
                connection.exec_driver_sql("CREATE TABLE host_notes (note TEXT)")
                connection.exec_driver_sql("INSERT INTO host_notes VALUES ('kept')")
                uow.invoices.next_number()
            assert failing.writes == 1  # the host's statements are not counted
            failing.fail_on_write = 2

            def note_then_number() -> None:
                with unit_of_work(failing) as uow:
                    uow.transaction.connection.exec_driver_sql(
                        "INSERT INTO host_notes VALUES ('rolled back')"
                    )
                    uow.invoices.next_number()  # the second write: fails

            with pytest.raises(StorageError, match="injected failure"):
                note_then_number()
        finally:
            store.close()
        assert self.notes(path) == ["kept"]

    def test_nothing_but_the_host_attributes_passes_through(self):
        with unit_of_work(FailingStore(MemoryStore(), fail_on_write=0)) as uow:
            assert not hasattr(uow.transaction, "connection")
            assert not hasattr(uow.transaction, "using")
            assert not isinstance(uow.transaction, AggregateReads)
