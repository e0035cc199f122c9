"""The SQL store's schema: revisions it refuses, migrations from the first schema to
head on both databases, ``python -m portal_access db``, the URLs it accepts, and the
optional dependencies it names when they are missing."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from portal_access._domain.errors import ConfigurationError, SchemaVersionError
from portal_access._domain.serialization import to_json
from portal_access.repositories import read_access_state, unit_of_work
from portal_access.storage.sql import SqlStore, current_revision, head_revision, upgrade
from portal_access.storage.sql import _cli as cli
from portal_access.storage.sql import _schema as schema
from portal_access.storage.sql._engine import make_engine
from portal_access.storage.sql._migrations import migrate
from portal_access.storage.sql._urls import database_url
from portal_access.testing._storage_contract import values
from tests.sql_databases import POSTGRES_MARKS, empty_database

#: The newest revision: the tests below hold at whichever revision is head.
HEAD = head_revision()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a new, empty database: a SQLite file, or a PostgreSQL schema."""
    with empty_database(request.param, tmp_path) as found:
        yield found


def _open(store: SqlStore) -> None:
    with unit_of_work(store):
        pass


def _migrate_to(url: str, revision: str) -> None:
    engine = make_engine(database_url(url))
    try:
        migrate(engine, revision)
    finally:
        engine.dispose()


def _execute(url: str, sql: str, **params: object) -> None:
    engine = sa.create_engine(database_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def test_empty_database_is_refused_with_the_command_to_run(url: str):
    """A store on a database without the schema says so, and how to create it."""
    with SqlStore(url) as store:
        with pytest.raises(SchemaVersionError, match="no portal-access schema") as raised:
            _open(store)
        assert "python -m portal_access db upgrade --url" in str(raised.value)
        with pytest.raises(SchemaVersionError):
            read_access_state(store, "c-1")
    assert current_revision(url) is None


def test_older_schema_is_refused(url: str):
    """A store on a database at the first revision refuses it, naming both revisions."""
    _migrate_to(url, "0001")
    with SqlStore(url) as store:
        with pytest.raises(
            SchemaVersionError, match=f"revision 0001, older than the revision {HEAD}"
        ):
            read_access_state(store, "c-1")
        with pytest.raises(SchemaVersionError, match="db upgrade --url"):
            _open(store)


def test_newer_schema_is_refused(url: str):
    """A store on a database a newer library upgraded refuses it, and so does upgrade()."""
    upgrade(url)
    _execute(url, "UPDATE alembic_version SET version_num = '0099'")
    with SqlStore(url) as store, pytest.raises(SchemaVersionError, match="revision 0099, newer"):
        _open(store)
    with pytest.raises(SchemaVersionError, match="newer portal-access"):
        upgrade(url)
    assert cli.main(["db", "current", "--url", url]) == 1


def test_upgrade_from_the_first_schema_keeps_every_row(url: str):
    """Rows written at revision 0001 are all there at head, and the new lookups find them."""
    _migrate_to(url, "0001")
    _execute(
        url,
        "INSERT INTO checkouts (gateway, session_id, idempotency_key, doc) VALUES "
        "(:gateway, :session, :key, :doc)",
        gateway="stripe",
        session="cs_1",
        key=values.checkout().idempotency_key,
        doc=to_json(values.checkout()),
    )
    state = values.access_state(version=3)
    _execute(
        url,
        "INSERT INTO access_states (contact_id, account_id, version, doc) "
        "VALUES ('c-1', 'a-1', 3, :doc)",
        doc=to_json(state),
    )
    _execute(url, "UPDATE counters SET value = 1041 WHERE name = 'invoice_number'")
    assert current_revision(url) == "0001"
    assert upgrade(url) == HEAD
    with SqlStore(url) as store:
        with unit_of_work(store) as uow:
            assert list(uow.checkouts.for_invoice("inv-1")) == [values.checkout()]
            assert uow.checkouts.with_key(values.checkout().idempotency_key) == values.checkout()
            assert uow.invoices.next_number() == "1042"
        assert read_access_state(store, "c-1") == state
    engine = sa.create_engine(database_url(url))
    try:
        indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("checkouts")}
    finally:
        engine.dispose()
    assert {"ix_checkouts_key", "ix_checkouts_invoice"} <= indexes
    assert upgrade(url) == HEAD  # again: nothing to do


def test_rows_the_previous_store_wrote_read_on_through_the_repositories(url: str):
    """A database holding rows as the store wrote them before the store port and before
    outbox leases (documents, column copies, a counter at 1005), upgraded to head, reads
    on unchanged: invoice numbers go on at 1006, and the outbox takes ``delivered`` and
    ``attempts`` from their columns, the message due when it occurred."""
    _migrate_to(url, "0002")
    message = values.message("m-1", topic="email.requested", payload={"text": "link"})
    _execute(
        url,
        "INSERT INTO outbox (id, occurred_at, topic, delivered, attempts, doc) "
        "VALUES ('m-1', :at, 'email.requested', :delivered, 3, :doc)",
        at=values.NOW.replace(tzinfo=None),
        delivered=False,
        doc=to_json(message),
    )
    _execute(
        url,
        "INSERT INTO tokens (digest, used_at, doc) VALUES (:digest, NULL, :doc)",
        digest=values.token().digest,
        doc=to_json(values.token()),
    )
    _execute(
        url,
        "INSERT INTO logins (contact_id, email_key, version, doc) "
        "VALUES ('c-1', 'ann@example.com', 2, :doc)",
        doc=to_json(values.login().with_temporary_password("hash$1")),
    )
    _execute(url, "UPDATE counters SET value = 1005 WHERE name = 'invoice_number'")
    assert upgrade(url) == HEAD
    with SqlStore(url) as store, unit_of_work(store) as uow:
        assert uow.invoices.next_number() == "1006"
        assert uow.outbox.get("m-1") == attrs.evolve(message, attempts=3)
        assert uow.outbox.due_at("m-1") == values.NOW
        assert uow.outbox.claimed_by("m-1") is None
        assert uow.tokens.mark_used(values.token().digest, values.NOW) is True
        assert uow.logins.with_email(values.email("ANN@example.com")) is not None
        uow.outbox.mark_delivered("m-1")
    with SqlStore(url) as store, unit_of_work(store) as uow:
        assert uow.invoices.next_number() == "1007"
        assert uow.outbox.pending(10) == ()
        delivered = uow.outbox.get("m-1")
        assert delivered is not None
        assert delivered.payload == {"cleared": True}


def test_migrations_make_the_tables_the_code_uses(url: str):
    """The newest revision creates exactly schema.py's tables, columns and indexes."""
    upgrade(url)
    engine = sa.create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, schema.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_stores_created_at_once_upgrade_one_after_another(url: str):
    """Several stores with create=True starting together all succeed (web workers at boot)."""
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def boot() -> None:
        try:
            start.wait(timeout=30)
            with SqlStore(url, create=True) as store:
                assert store.revision == HEAD
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=boot) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert current_revision(url) == HEAD


def test_cli_upgrades_and_reports_the_revision(url: str, capsys: pytest.CaptureFixture[str]):
    """`db current` exits 1 on an empty database; `db upgrade` creates it; then 0."""
    assert cli.main(["db", "current", "--url", url]) == 1
    assert "no schema (empty database)" in capsys.readouterr().out
    assert cli.main(["db", "upgrade", "--url", url]) == 0
    assert f"schema revision {HEAD} (head)" in capsys.readouterr().out
    assert cli.main(["current", "--url", url]) == 0


def test_cli_refuses_a_database_it_does_not_support(capsys: pytest.CaptureFixture[str]):
    """`db upgrade` with a MySQL URL exits 1 with a message; a missing --url exits 2."""
    assert cli.main(["db", "upgrade", "--url", "mysql://db/portal"]) == 1
    assert "only SQLite" in capsys.readouterr().err
    assert cli.main(["db", "upgrade"]) == 2


# -- URLs and optional dependencies ------------------------------------------------------------


def test_urls_name_sqlite_files_and_postgresql_through_psycopg():
    """A bare path is SQLite; postgres:// and postgresql:// use psycopg 3."""
    assert database_url("data/portal.db").render_as_string() == "sqlite:///data/portal.db"
    assert database_url(Path("/tmp/p.db")).render_as_string() == "sqlite:////tmp/p.db"
    assert database_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert database_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "mysql://u@h/db",
        "postgresql+psycopg2://u@h/db",
        "https://h/db",
    ],
)
def test_urls_the_store_cannot_serve_are_refused(url: str):
    """In-memory SQLite (one per connection), other databases and drivers: refused."""
    with pytest.raises(ConfigurationError):
        SqlStore(url)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def test_importing_the_storage_package_loads_no_sqlalchemy():
    """docs/architecture.md: import portal_access.storage loads no optional dependency."""
    result = _python(
        "import sys, portal_access.storage, portal_access.storage.memory\n"
        "print([m for m in ('sqlalchemy', 'alembic', 'psycopg') if m in sys.modules])"
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_missing_sqlalchemy_says_what_to_install():
    """Without SQLAlchemy, importing the SQL store names the extra to install."""
    result = _python(
        "import sys; sys.modules['sqlalchemy'] = None\nimport portal_access.storage.sql"
    )
    assert 'pip install "portal-access[sql]"' in result.stderr


def test_missing_psycopg_says_what_to_install():
    """Without psycopg, a PostgreSQL store names the extra to install."""
    result = _python(
        "import sys; sys.modules['psycopg'] = None\n"
        "from portal_access.storage.sql import SqlStore\n"
        "SqlStore('postgresql://u@localhost/db')"
    )
    assert 'pip install "portal-access[postgres]"' in result.stderr


def test_upgrade_to_0007_fills_the_summary_columns_from_the_documents(url: str):
    """Invoices and payments stored at 0006 get their summary columns (status, balance,
    due date, who sees them; a payment's invoice, status, amount, when recorded) from
    their documents, so the summary's sums count them at once."""
    _migrate_to(url, "0006")
    invoice = values.invoice()
    _execute(
        url,
        "INSERT INTO invoices (id, number_key, account_id, issued_on, doc) "
        "VALUES (:id, :number, :account, :issued, :doc)",
        id=invoice.id,
        number=invoice.number,
        account=invoice.account_id,
        issued=invoice.issued_on,
        doc=to_json(invoice),
    )
    payment = values.payment()
    _execute(
        url,
        "INSERT INTO payments (gateway, payment_id, account_id, doc) "
        "VALUES (:gateway, :payment, :account, :doc)",
        gateway=payment.snapshot.gateway,
        payment=payment.snapshot.payment_id,
        account=payment.account_id,
        doc=to_json(payment),
    )
    assert upgrade(url) == HEAD
    with SqlStore(url) as store, unit_of_work(store) as uow:
        where = {"contact_id": (None, "c-1")}
        assert uow.invoices.open_balances(invoice.account_id, where) == [
            (invoice.currency, invoice.due_on, invoice.balance.amount)
        ]
        assert uow.payments.newest(payment.account_id, where, limit=1) == (payment,)
        assert uow.payments.status_counts(payment.account_id, where) == {payment.snapshot.status: 1}


def test_upgrade_to_0009_fills_the_method_ids_of_saved_methods(url: str):
    """Saved methods stored at 0008 get their method id column from their documents,
    so holding finds them through the new lookup (a removed one still never)."""
    _migrate_to(url, "0008")
    ann, bob = values.saved_method("c-1", "pm_1"), values.saved_method("c-2", "pm_2")
    gone = attrs.evolve(values.saved_method("c-3", "pm_3"), removed_at=values.NOW)
    for method in (ann, bob, gone):
        _execute(
            url,
            "INSERT INTO saved_methods (contact_id, gateway, doc) VALUES (:contact, :gateway, :doc)",
            contact=method.contact_id,
            gateway=method.gateway,
            doc=to_json(method),
        )
    assert upgrade(url) == HEAD
    engine = sa.create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            filled = connection.execute(
                sa.text("SELECT contact_id, method_id FROM saved_methods ORDER BY contact_id")
            ).all()
        indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("saved_methods")}
    finally:
        engine.dispose()
    assert [tuple(row) for row in filled] == [("c-1", "pm_1"), ("c-2", "pm_2"), ("c-3", "pm_3")]
    assert {"ix_saved_methods_gateway", "ix_saved_methods_method"} <= indexes
    with SqlStore(url) as store, unit_of_work(store) as uow:
        assert uow.saved_methods.holding("stripe", "pm_2") == bob
        assert uow.saved_methods.holding("stripe", "pm_1") == ann
        assert uow.saved_methods.holding("stripe", "pm_3") is None
        assert uow.saved_methods.latest("c-3") == gone
