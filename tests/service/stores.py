"""The stores a security test runs on: memory, a SQLite file, and PostgreSQL when
``PORTAL_ACCESS_TEST_DATABASE_URL`` names a server (a schema of its own per test).

Import ``store`` into a test module to run each of its tests once per store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from portal_access.ports import Store
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from tests.sql_databases import POSTGRES_MARKS, empty_database

__all__ = ["store"]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new, empty store of each kind."""
    if request.param == "memory":
        yield MemoryStore()
        return
    with empty_database(request.param, tmp_path) as url, SqlStore(url, create=True) as sql:
        yield sql
