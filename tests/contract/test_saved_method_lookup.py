"""A report that a method was removed without saying whose it was (Stripe's
``payment_method.detached``) finds the saved method by the gateway's id for it:
``holding`` is one lookup of ``ix_saved_methods_method``, never a read of every method
the gateway keeps. On every store the row the repository writes is the one that index
selects; on the SQL store the one statement ``holding`` runs names the method id and
reads one row of many (on SQLite, through the index)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portal_access.ports import Store, StoreTransaction
from portal_access.repositories import unit_of_work
from portal_access.repositories._tables import SAVED_METHODS, SAVED_METHODS_BY_METHOD
from portal_access.storage.sql import SqlStore
from portal_access.testing._storage_contract import values
from tests.service.stores import store
from tests.sql_databases import POSTGRES_MARKS, empty_database

__all__ = ["store"]  # the fixture this module uses

#: How many contacts keep a method at the gateway: ``holding`` reads one of them.
MANY = 150
SQL_KINDS = ["sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)]


def _save_many(store: Store) -> None:
    with unit_of_work(store) as uow:
        for n in range(MANY):
            uow.saved_methods.save(values.saved_method(f"c-{n:03}", f"pm_{n:03}"))
        uow.saved_methods.save(values.saved_method("c-sq", "pm_117", gateway="square"))


def _holders(transaction: StoreTransaction, method_id: str) -> list[str]:
    """The contacts whose rows the lookup by (stripe, ``method_id``) selects, checking
    each row's method id column."""
    rows = transaction.find(SAVED_METHODS, SAVED_METHODS_BY_METHOD, ("stripe", method_id))
    assert all(row.values["method_id"] == method_id for row in rows)
    return [str(row.values["contact_id"]) for row in rows]


def test_the_method_index_selects_the_row_the_repository_wrote(store: Store):
    """saved_methods.save fills the method id column; the lookup by (gateway, method id)
    selects that contact's row alone, and follows the contact to a newer method."""
    _save_many(store)
    with unit_of_work(store) as uow:
        assert _holders(uow.transaction, "pm_117") == ["c-117"]
        uow.saved_methods.save(values.saved_method("c-117", "pm_new", version=2))
    with unit_of_work(store) as uow:
        assert _holders(uow.transaction, "pm_117") == []
        assert _holders(uow.transaction, "pm_new") == ["c-117"]


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_holding_reads_one_row_however_many_methods_the_gateway_keeps(kind: str, tmp_path: Path):
    """The one statement holding runs on saved_methods looks the method id up, and
    selects one row of the gateway's many; SQLite's plan for it uses the index."""
    with empty_database(kind, tmp_path) as url, SqlStore(url, create=True) as sql:
        _save_many(sql)
        seen: list[tuple[str, Any]] = []

        def note(_conn: object, _cursor: object, statement: str, params: Any, *_: object) -> None:
            seen.append((statement, params))

        sa.event.listen(sql._engine, "before_cursor_execute", note)
        try:
            with unit_of_work(sql) as uow:
                found = uow.saved_methods.holding("stripe", "pm_117")
        finally:
            sa.event.remove(sql._engine, "before_cursor_execute", note)
        assert found == values.saved_method("c-117", "pm_117")
        reads = [(s, p) for s, p in seen if "saved_methods" in s]
        assert len(reads) == 1, reads
        statement, params = reads[0]
        where = statement.split("WHERE", 1)[1]
        assert "method_id" in where, statement
        assert "gateway" in where, statement
        with sql._engine.connect() as connection:
            rows = connection.exec_driver_sql(statement, params).all()
            assert len(rows) == 1
            if kind == "sqlite":
                plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
                assert "ix_saved_methods_method" in " ".join(str(r) for r in plan.all())
