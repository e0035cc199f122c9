"""The Django app's test support: stores on each test database, and what a test needs to
reset.

pytest-django configures Django from ``tests.django.settings`` (``DJANGO_SETTINGS_MODULE``
in pyproject.toml); tests outside this folder never ask for a database, so they run as
before. The store tests use real transactions (``transaction=True``): the contracts race
threads, which must see each other's commits. So do the pages' and the admin's: the
portal mails after the commit (``transaction.on_commit``), which a test wrapped in an
atomic block of pytest-django's never makes, and their requests commit as a site's do
without ``ATOMIC_REQUESTS`` (``test_host_transactions.py`` runs them with it).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from django.conf import settings
from django.core import mail
from django.db import connections

from portal_access import Contact, EmailAddress, PortalAccess
from portal_access.adapters import ManualClock
from portal_access.contrib.django import portal, reset_portal
from portal_access.testing.sandbox import SandboxVendor
from tests.service.harness import CLASS, PORTAL_URL, START, account, sandbox_pair

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


@pytest.fixture
def sandbox_portal(settings: Any) -> SandboxPortal:
    """``PORTAL_ACCESS`` with the sandbox gateway (a vendor in this process), a manual
    clock and anonymous flows run at once; what a test drives it with."""
    clock = ManualClock(START)
    vendor, gateway = sandbox_pair(clock)
    settings.PORTAL_ACCESS = {
        "URL": f"{PORTAL_URL}/portal/",  # the harness's return URLs are on it
        "GATEWAYS": [gateway],
        "CLOCK": clock,
        "BACKGROUND": _inline,
    }
    return SandboxPortal(clock, vendor)


def _inline(job: Any) -> None:
    job()


@attrs.define
class SandboxPortal:
    """The parts of a sandbox portal a test drives: the clock and the vendor."""

    clock: ManualClock
    sandbox: SandboxVendor
    contact_id: str = ""

    @property
    def portal(self) -> PortalAccess:
        return portal()

    def webhook(self, headers: Any, body: bytes) -> Any:
        """The host's webhook endpoint for the sandbox."""
        return portal().handle_webhook("sandbox", headers, body)

    def link(self, address: str, kind_path: str) -> str:
        """The token of the newest link to ``kind_path`` mailed to ``address``
        (Django's test mail outbox)."""
        for message in reversed(mail.outbox):
            if address not in message.to:
                continue
            for word in str(message.body).split():
                if kind_path in word and "token=" in word:
                    return word.split("token=", 1)[1].rstrip(".")
        raise AssertionError(f"no {kind_path} link mailed to {address}")

    def deliver(self, *, duplicate: int = 1, seed: int | None = None) -> None:
        """Deliver the vendor's queued webhooks to the portal."""
        rng = random.Random(seed) if seed is not None else None
        self.sandbox.deliver(
            self.webhook,
            duplicate=duplicate,
            rng=rng,
        )

    def contact(self, contact_id: str = "c-ann", email: str = "ann@example.com") -> Contact:
        """Save an account of the harness's class and a contact on it."""
        self.portal.save_account_class(CLASS)
        self.portal.save_account(account())
        contact = Contact(
            id=contact_id,
            account_id="acc-1",
            first_name="Ann",
            email=EmailAddress.parse(email),
        )
        self.portal.create_contact(contact)
        return contact
