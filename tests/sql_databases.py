"""The databases the SQL store's tests run on: a SQLite file always, PostgreSQL when
``PORTAL_ACCESS_TEST_DATABASE_URL`` names a server (each test gets a schema of its own).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from portal_access.storage.sql import _schema as schema
from portal_access.storage.sql._urls import database_url, psycopg_conninfo

__all__ = [
    "POSTGRES_MARKS",
    "POSTGRES_URL",
    "dump",
    "empty_database",
    "postgres_schema",
    "requires_postgres",
    "sqlite_url",
]

#: The PostgreSQL server the tests may use, or ``None``.
POSTGRES_URL = os.environ.get("PORTAL_ACCESS_TEST_DATABASE_URL") or None

#: The marks of a test that needs PostgreSQL (it skips, saying how to run it, without one).
POSTGRES_MARKS = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        POSTGRES_URL is None,
        reason="needs PostgreSQL: set PORTAL_ACCESS_TEST_DATABASE_URL="
        "postgresql://postgres@127.0.0.1:5432/test (.ci/run sets it when the server answers)",
    ),
]

T = TypeVar("T")


def requires_postgres(test: T) -> T:
    """Mark ``test`` (a function or class) as needing PostgreSQL."""
    for mark in POSTGRES_MARKS:
        test = mark(test)
    return test


def sqlite_url(directory: Path) -> str:
    """A URL for a new SQLite file in ``directory``."""
    return f"sqlite:///{directory / f'portal-{uuid.uuid4().hex[:8]}.db'}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose ``search_path`` is a new, empty schema, dropped afterwards."""
    import psycopg  # noqa: PLC0415

    assert POSTGRES_URL is not None
    base = database_url(POSTGRES_URL)
    name = f"pa_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(psycopg_conninfo(base), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
        try:
            yield base.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
                hide_password=False
            )
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND query LIKE %s",
                (f"%{name}%",),
            )
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')


@contextmanager
def empty_database(kind: str, directory: Path) -> Iterator[str]:
    """The URL of a new, empty database: ``"sqlite"`` (a file) or ``"postgres"`` (a schema)."""
    if kind == "sqlite":
        yield sqlite_url(directory)
    else:
        with postgres_schema() as url:
            yield url


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every committed row of every table (the schema revision included), by table; the
    values as the database keeps them, the columns in :mod:`~.schema`'s order."""
    engine = sa.create_engine(database_url(url))
    tables = [
        sa.table(table.name, *(sa.column(column.name) for column in table.columns))
        for table in schema.metadata.sorted_tables
    ]
    tables.append(sa.table("alembic_version", sa.column("version_num")))
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(tuple(row) for row in connection.execute(sa.select(table)))
                for table in tables
            }
    finally:
        engine.dispose()
