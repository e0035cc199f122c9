"""The Django app's test support: stores on each test database, and what a test needs to
reset.

pytest-django configures Django from ``tests.django.settings`` (``DJANGO_SETTINGS_MODULE``
in pyproject.toml); tests outside this folder never ask for a database, so they run as
before. The store tests use real transactions (``transaction=True``): the contracts race
threads, which must see each other's commits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connections

from portal_access.contrib.django import reset_portal

#: The database aliases the store tests run on: SQLite always, PostgreSQL when configured.
ALIASES = ["default", *(["postgres"] if "postgres" in settings.DATABASES else [])]

requires_postgres = pytest.mark.skipif(
    "postgres" not in settings.DATABASES,
    reason="needs PostgreSQL: set PORTAL_ACCESS_TEST_DATABASE_URL="
    "postgresql://postgres@127.0.0.1:5432/test",
)


def on_each_database(test: object) -> object:
    """Run ``test`` (a class) once per alias of :data:`ALIASES`, with real transactions."""
    marks = [
        pytest.mark.django_db(transaction=True, databases=ALIASES),
        pytest.mark.parametrize(
            "alias",
            [
                pytest.param(alias, marks=[pytest.mark.postgres] if alias == "postgres" else [])
                for alias in ALIASES
            ],
        ),
    ]
    for mark in marks:
        test = mark(test)
    return test


def end_other_sessions(alias: str) -> None:
    """End the connections other threads left open to the test database (PostgreSQL
    would not drop or flush it while they stay)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def threads_close_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every thread started during the test closes its database connections when it
    ends, as a host's worker threads do (``connections.close_all()``)."""
    run = threading.Thread.run

    def run_then_close(thread: threading.Thread) -> None:
        try:
            run(thread)
        finally:
            connections.close_all()

    monkeypatch.setattr(threading.Thread, "run", run_then_close)


@pytest.fixture(autouse=True)
def _fresh_portal() -> Iterator[None]:
    """Each test builds its own portal from the settings it runs with."""
    reset_portal()
    yield
    reset_portal()
