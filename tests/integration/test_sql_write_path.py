"""The SQL store's write path on SQLite and PostgreSQL: repository statements run on the
driver's cursor, yet whoever watches statements (``echo``, SQL logging, a
``before_cursor_execute`` listener) sees every one of them; a damaged outbox message
never fails a use case that committed; and the store's cache of decoded documents never
hides a row that changed behind its back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects.postgresql.psycopg import dialect as postgresql_dialect
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from portal_access import Contact, EmailAddress, StorageError
from portal_access._domain.serialization import to_json
from portal_access.ports import Lock, Table
from portal_access.repositories import TABLES, unit_of_work
from portal_access.storage.sql import SqlStore
from portal_access.storage.sql._schema import TABLE, UtcDateTime, sqlite_utc_text
from portal_access.storage.sql._statements import statements_of
from portal_access.testing._storage_contract import values
from tests.service.harness import account, build
from tests.sql_databases import POSTGRES_MARKS, empty_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a new, empty database: a SQLite file, or a PostgreSQL schema."""
    with empty_database(request.param, tmp_path) as found:
        yield found


def _use(store: SqlStore) -> None:
    with unit_of_work(store) as uow:
        uow.access.save(values.access_state("c-1"), expected_version=None)
        uow.outbox.add(values.message("m-1"))
    with unit_of_work(store) as uow:
        state = uow.access.get("c-1")
        assert state is not None
        uow.access.save(values.access_state("c-1", account_id="a-2"), expected_version=1)
        uow.outbox.mark_delivered("m-1")


def test_echo_logs_every_repository_statement(url: str, caplog: pytest.LogCaptureFixture):
    """SqlStore(echo=True) logs each statement the repositories run."""
    with (
        caplog.at_level(logging.INFO, logger="sqlalchemy.engine"),
        SqlStore(url, create=True, echo=True) as store,
    ):
        _use(store)
    logged = caplog.text
    for fragment in ("INSERT INTO access_states", "FROM access_states", "UPDATE outbox"):
        assert fragment in logged, fragment


def test_a_cursor_listener_sees_every_repository_statement(url: str):
    """A before_cursor_execute listener sees the statements of later units of work, with
    their parameters, as it would for any SQLAlchemy statement."""
    seen: list[tuple[str, Any]] = []
    with SqlStore(url, create=True) as store:
        with unit_of_work(store) as uow:  # before anyone listens
            uow.offers.save(values.offer())
        sa.event.listen(
            store._engine,
            "before_cursor_execute",
            lambda _c, _cur, sql, params, _ctx, _many: seen.append((sql, params)),
        )
        _use(store)
    for start in ("INSERT INTO access_states", "INSERT INTO outbox", "UPDATE access_states"):
        assert any(sql.startswith(start) and params for sql, params in seen), start
    assert any(sql.startswith("UPDATE outbox") for sql, _ in seen)
    assert not any("offers" in sql for sql, _ in seen)


def test_a_damaged_outbox_message_never_fails_a_committed_use_case(
    url: str, caplog: pytest.LogCaptureFixture
):
    """A pending message that cannot be read is reported after commit; the use case's
    changes are committed and it returns as usual."""
    with SqlStore(url, create=True) as store:
        harness = build(store=store)  # type: ignore[arg-type]
        harness.portal.save_account(account())
        with unit_of_work(store) as uow:
            uow.outbox.add(values.message("m-bad"))
            uow.transaction.connection.exec_driver_sql(  # type: ignore[attr-defined]
                "UPDATE outbox SET doc = 'not json' WHERE id = 'm-bad'"
            )
        contact = Contact(
            id="c-bo", account_id="acc-1", first_name="Bo", email=EmailAddress.parse("bo@x.example")
        )
        with caplog.at_level(logging.ERROR, logger="portal_access"):
            harness.portal.create_contact(contact)
        assert "outbox delivery failed after commit" in caplog.text
        with unit_of_work(store) as uow:
            assert uow.contacts.get("c-bo") == contact


def test_a_row_changed_behind_the_stores_back_is_read_as_it_now_is(url: str):
    """Another writer's change (here a bare UPDATE of the document) is what the next unit
    of work reads, and a damaged document fails even after its old text was cached."""
    with SqlStore(url, create=True) as store:
        with unit_of_work(store) as uow:
            uow.access.save(values.access_state("c-1"), expected_version=None)
        with unit_of_work(store) as uow:
            assert uow.access.get("c-1") is not None  # the document's value is cached now
        changed = values.access_state("c-1", registered=False, version=1)
        with unit_of_work(store) as uow:
            uow.transaction.connection.exec_driver_sql(  # type: ignore[attr-defined]
                "UPDATE access_states SET doc = ? WHERE contact_id = 'c-1'"
                if store.url.startswith("sqlite")
                else "UPDATE access_states SET doc = %s WHERE contact_id = 'c-1'",
                (to_json(changed),),
            )
        with unit_of_work(store) as uow:
            assert uow.access.get("c-1") == changed
            uow.transaction.connection.exec_driver_sql(  # type: ignore[attr-defined]
                "UPDATE access_states SET doc = '{}' WHERE contact_id = 'c-1'"
            )
        with unit_of_work(store) as uow, pytest.raises(StorageError, match="c-1"):
            uow.access.get("c-1")


_OFFSETS = st.timedeltas(
    min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)
)


@settings(max_examples=300)
@given(
    moment=st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    offset=_OFFSETS,
)
def test_sqlite_instants_are_bound_as_sqlalchemys_own_datetime_binds_them(
    moment: datetime, offset: timedelta
):
    """The SQLite write path binds an instant in one C call; the text is exactly what
    UtcDateTime's conversion followed by SQLAlchemy's SQLite DATETIME formatting gives
    (rows written either way sort and compare alike)."""
    dialect = sqlite_dialect()
    ours = UtcDateTime().dialect_impl(dialect)  # as statements get it
    theirs = sa.TypeDecorator.bind_processor(ours, dialect)
    assert theirs is not None
    aware = moment.replace(tzinfo=timezone(offset))
    assert ours.bind_processor(dialect)(aware) == theirs(aware)
    assert sqlite_utc_text(None) is None


@pytest.mark.parametrize("event", ["begin", "commit"])
def test_a_transaction_listener_sees_every_unit_of_work_on_sqlite(tmp_path: Path, event: str):
    """The SQLite writer begins and commits on the driver only while nobody listens: a
    ``begin`` or ``commit`` listener added later sees each unit of work's, once."""
    seen: list[str] = []
    with SqlStore(tmp_path / "portal.db", create=True) as store:
        _use(store)  # the writer's kept connection exists, as in a running process
        engine = store._engine  # the engine a host would listen on
        sa.event.listen(engine, event, lambda _connection: seen.append(event))
        for version in (2, 3):
            with unit_of_work(store) as uow:
                uow.access.save(values.access_state("c-1"), expected_version=version)
        with unit_of_work(store) as uow:
            assert uow.access.get("c-1").version == 4  # type: ignore[union-attr]
    assert seen == [event] * 3


def _sample(column: sa.Column[Any]) -> object:
    python_type = column.type.python_type if not isinstance(column.type, UtcDateTime) else datetime
    return {
        str: f"{column.name}-1",
        int: 7,
        bool: True,
        datetime: datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
    }.get(python_type, date(2026, 3, 1))


@pytest.mark.parametrize(
    "dialect", [sqlite_dialect(), postgresql_dialect()], ids=["sqlite", "postgresql"]
)
@pytest.mark.parametrize("table", TABLES, ids=[table.name for table in TABLES])
def test_statement_parameters_read_at_once_equal_bind_by_bind(table: Table, dialect: Any):
    """The write path reads a statement's values with one C call and converts the few a
    type converts; the driver gets exactly what converting bind by bind gives, on both
    databases (positional on SQLite, named on PostgreSQL)."""
    statements = statements_of(table)
    sql_table = TABLE[table.name]
    values: dict[str, Any] = {column.name: _sample(column) for column in sql_table.columns}
    values["expected"] = 3
    forms = [statements.insert, statements.delete, statements.get(Lock.NONE)]
    forms += [form for pair in statements.update.values() for form in pair if form is not None]
    for statement in forms:
        compiled = statement.compiled(dialect)
        assert compiled.parameters(values) == compiled.parameters_one_by_one(values), compiled.sql
