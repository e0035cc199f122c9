"""How much ``check_access`` costs on top of the one read it cannot avoid, and whether it
stays flat from a thousand contacts to a million.

Run: ``.venv/bin/python benchmarks/access_check.py`` (PostgreSQL too when
``PORTAL_ACCESS_TEST_DATABASE_URL`` is set or a server answers on 127.0.0.1:5432).

For SQLite and PostgreSQL, at 1k and 1M contacts, it prints the median time per call of

- a raw primary-key ``SELECT version, doc FROM access_states WHERE contact_id = ?`` on
  the bare driver (``sqlite3`` with the page cache the store's reader uses; psycopg 3
  with a prepared statement), the floor;
- ``read_access_state(store, contact_id)`` (the store's ``read_committed`` and the
  repositories' decode cache);
- ``PortalAccess.check_access`` (read, then the cached or fresh decision),

and the two goals: check_access / raw select <= 1.3, and check_access at 1M / at 1k
<= 1.2.

Then the same through Django (``portal_access.contrib.django``'s ORM store, on the same
two databases, ``--django`` contacts): ``check_access`` against a raw primary-key read
through Django's own connection cursor, goal <= 2.0.

Rows are bulk-inserted (realistic JSON documents of a paid contact with a subscription
and three sites, not through the service) to keep setup short. Each measurement cycles
over the same 1,000 random contacts, warmed up first; the figure is the median of
several batches timed with ``time.perf_counter_ns``.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import socket
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from portal_access import (
    AccessState,
    AccountClass,
    ContactRole,
    Money,
    PaymentMethodKind,
    PaymentSnapshot,
    PaymentStatus,
    RequiredPayment,
    Site,
    SubscriptionSnapshot,
    SubscriptionStatus,
)
from portal_access._domain.serialization import to_json
from portal_access._portal import PortalAccess
from portal_access.repositories import read_access_state
from portal_access.storage.sql import SqlStore
from portal_access.storage.sql._hot_path import SQLITE_PAGE_CACHE_KIB
from portal_access.storage.sql._urls import database_url, psycopg_conninfo

SAMPLE = 1_000
CALLS_PER_BATCH = {"sqlite": 20_000, "postgres": 4_000}
BATCHES = 7
QUERY = "SELECT version, doc FROM access_states WHERE contact_id = "  # ? or %s appended
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def paid_contact() -> AccessState:
    """A registered client who paid the setup fee and holds an active subscription."""
    requirement = RequiredPayment(
        invoice_id="inv_000000001",
        amount_due=Money(29900, "USD"),
        gateway="stripe",
        plan_id="plan-monthly",
        payments=(
            PaymentSnapshot(
                payment_id="pi_3PqLsT2eZvKYlo2C1mXb7nQd",
                invoice_id="inv_000000001",
                method=PaymentMethodKind.CARD,
                status=PaymentStatus.SUCCEEDED,
                amount=Money(29900, "USD"),
                version=1_717_171_717,
                gateway="stripe",
            ),
        ),
        subscription=SubscriptionSnapshot(
            subscription_id="sub_1PqLsU2eZvKYlo2Cq1w2e3r4",
            plan_id="plan-monthly",
            status=SubscriptionStatus.ACTIVE,
            version=1_717_171_718,
            created=1_717_171_700,
            gateway="stripe",
        ),
    )
    return AccessState(
        contact_id="c_000000001",
        account_id="a_000000001",
        role=ContactRole.CLIENT,
        registered=True,
        account_class=AccountClass(id="residential", name="Residential", reports=True),
        sites=tuple(
            Site(id=f"s_00000000{n}", account_id="a_000000001", name=f"Site {n}")
            for n in range(1, 4)
        ),
        requirement=requirement,
        onboarding_flow="welcome-flow",
        onboarding_started=True,
        version=4,
    )


def rows(count: int) -> Iterator[tuple[str, str, int, str]]:
    """``(contact_id, account_id, version, doc)`` for ``count`` contacts."""
    template = to_json(paid_contact())
    for n in range(count):
        contact, account = f"c_{n:09d}", f"a_{n:09d}"
        doc = template.replace("c_000000001", contact).replace("a_000000001", account)
        yield contact, account, 4, doc


@contextmanager
def database(kind: str, count: int, workdir: Path) -> Iterator[tuple[str, Callable[[str], object]]]:
    """A database with ``count`` access states; yields its URL and a raw PK read."""
    began = time.perf_counter()
    if kind == "sqlite":
        path = workdir / f"contacts-{count}.db"
        SqlStore(path, create=True).close()
        with sqlite3.connect(path) as connection:
            connection.executemany(
                "INSERT INTO access_states (contact_id, account_id, version, doc) "
                "VALUES (?, ?, ?, ?)",
                rows(count),
            )
        connection.close()
        print(f"  sqlite, {count:>9,} contacts: setup {time.perf_counter() - began:6.1f} s")
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute(f"PRAGMA cache_size = -{SQLITE_PAGE_CACHE_KIB}")  # as the store's reader
        cursor = raw.cursor()

        def read_sqlite(contact_id: str) -> object:
            cursor.execute(QUERY + "?", (contact_id,))
            return cursor.fetchone()

        yield str(path), read_sqlite
        raw.close()
        return
    import psycopg  # noqa: PLC0415 - only when PostgreSQL is measured

    base = database_url(os.environ.get("PORTAL_ACCESS_TEST_DATABASE_URL") or LOCAL_POSTGRES)
    schema = f"pa_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(psycopg_conninfo(base), autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        SqlStore(url.render_as_string(hide_password=False), create=True).close()
        with psycopg.connect(psycopg_conninfo(url)) as loader:
            with loader.cursor().copy(
                "COPY access_states (contact_id, account_id, version, doc) FROM STDIN"
            ) as copy:
                for row in rows(count):
                    copy.write_row(row)
            loader.execute("ANALYZE access_states")
        print(f"  postgres, {count:>9,} contacts: setup {time.perf_counter() - began:6.1f} s")
        raw = psycopg.connect(psycopg_conninfo(url), autocommit=True)
        cursor = raw.cursor()
        query = (QUERY + "%s").encode()

        def read_postgres(contact_id: str) -> object:
            cursor.execute(query, (contact_id,), prepare=True)
            return cursor.fetchone()

        yield url.render_as_string(hide_password=False), read_postgres
        raw.close()
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def per_call_ns(call: Callable[[str], object], cycle: list[str]) -> float:
    """Nanoseconds per call over one batch."""
    began = time.perf_counter_ns()
    for contact_id in cycle:
        call(contact_id)
    return (time.perf_counter_ns() - began) / len(cycle)


def measure(kind: str, count: int, workdir: Path) -> dict[str, float]:
    """Median ns per call of the raw read, the store's read and check_access."""
    ids = [f"c_{n:09d}" for n in random.Random(count).sample(range(count), min(SAMPLE, count))]
    calls_per_batch = CALLS_PER_BATCH[kind]
    cycle = (ids * (calls_per_batch // len(ids) + 1))[:calls_per_batch]
    with database(kind, count, workdir) as (url, raw):
        store = SqlStore(url)
        portal = PortalAccess(store=store, gateways=[], development=True)
        assert portal.check_access(ids[0]).full
        calls = {
            "raw": raw,
            "store": functools.partial(read_access_state, store),
            "check": portal.check_access,
        }
        for call in calls.values():  # warm up: pages cached, statements prepared, decoded
            per_call_ns(call, ids)
        timings: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(BATCHES):  # interleaved, so drift hits all three alike
            for name, call in calls.items():
                timings[name].append(per_call_ns(call, cycle))
        store.close()
    return {name: statistics.median(values) for name, values in timings.items()}


def django_databases(kinds: list[str], workdir: Path) -> dict[str, dict[str, object]]:
    """Django's DATABASES for each measured kind (PostgreSQL in a schema of its own)."""
    found: dict[str, dict[str, object]] = {}
    if "sqlite" in kinds:
        found["sqlite"] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(workdir / "django.db"),
            "OPTIONS": {"transaction_mode": "IMMEDIATE"},
        }
    if "postgres" in kinds:
        url = database_url(os.environ.get("PORTAL_ACCESS_TEST_DATABASE_URL") or LOCAL_POSTGRES)
        found["postgres"] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.database,
            "USER": url.username or "",
            "PASSWORD": url.password or "",
            "HOST": url.host or "",
            "PORT": str(url.port or ""),
            "OPTIONS": {"options": f"-csearch_path=pa_bench_django_{uuid.uuid4().hex[:8]}"},
        }
    return found


def measure_django(kinds: list[str], count: int, workdir: Path) -> dict[str, dict[str, float]]:
    """Per kind: median ns per call of a raw PK read through Django's connection cursor,
    the ORM store's read and check_access through Django."""
    import django  # noqa: PLC0415 - only when Django is measured
    from django.conf import settings  # noqa: PLC0415

    databases = django_databases(kinds, workdir)
    settings.configure(
        DATABASES={"default": databases[kinds[0]], **databases},
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "portal_access.contrib.django",
        ],
        USE_TZ=True,
        PORTAL_ACCESS={"URL": "https://portal.example.com/portal/"},
    )
    django.setup()
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connections, transaction  # noqa: PLC0415

    from portal_access.contrib.django._store import DjangoStore  # noqa: PLC0415

    ids = [f"c_{n:09d}" for n in random.Random(count).sample(range(count), min(SAMPLE, count))]
    results: dict[str, dict[str, float]] = {}
    for kind in kinds:
        began = time.perf_counter()
        connection = connections[kind]
        schema = str(databases[kind].get("OPTIONS", {}).get("options", "")).partition("=")[2]
        if schema:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{schema}"')
        try:
            call_command("migrate", database=kind, verbosity=0)
            table = "portal_access_access_states"
            with transaction.atomic(using=kind), connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} (contact_id, account_id, version, doc) "
                    "VALUES (%s, %s, %s, %s)",
                    list(rows(count)),
                )
            print(
                f"  django {kind}, {count:>9,} contacts: setup {time.perf_counter() - began:6.1f} s"
            )
            query = f"SELECT version, doc FROM {table} WHERE contact_id = %s"

            def raw(contact_id: str, connection: object = connection, query: str = query) -> object:
                with connection.cursor() as cursor:  # type: ignore[attr-defined]
                    cursor.execute(query, [contact_id])
                    return cursor.fetchone()

            store = DjangoStore(using=kind)
            portal = PortalAccess(store=store, gateways=[], development=True)
            assert portal.check_access(ids[0]).full
            calls = {
                "raw": raw,
                "store": functools.partial(read_access_state, store),
                "check": portal.check_access,
            }
            calls_per_batch = CALLS_PER_BATCH[kind]
            cycle = (ids * (calls_per_batch // len(ids) + 1))[:calls_per_batch]
            for call in calls.values():
                per_call_ns(call, ids)
            timings: dict[str, list[float]] = {name: [] for name in calls}
            for _ in range(BATCHES):
                for name, call in calls.items():
                    timings[name].append(per_call_ns(call, cycle))
            results[kind] = {name: statistics.median(v) for name, v in timings.items()}
        finally:
            if schema:
                with connection.cursor() as cursor:
                    cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
            connection.close()
    return results


def postgres_reachable() -> bool:
    """Whether a PostgreSQL server is configured or answers locally."""
    if os.environ.get("PORTAL_ACCESS_TEST_DATABASE_URL"):
        return True
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--django", type=int, default=10_000, help="contacts for Django (0: skip)")
    options = parser.parse_args()
    kinds = ["sqlite", *(["postgres"] if postgres_reachable() else [])]
    print(
        f"check_access, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; medians of "
        f"{BATCHES} batches"
    )
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as workdir:
        results = {
            (kind, count): measure(kind, count, Path(workdir))
            for kind in kinds
            for count in (options.small, options.large)
        }
        on_django = measure_django(kinds, options.django, Path(workdir)) if options.django else {}
    print()
    print(
        f"{'database':<9} {'contacts':>10} {'raw select':>11} {'read_state':>11} "
        f"{'check_access':>13} {'check/raw':>10}"
    )
    for (kind, count), found in results.items():
        ratio = found["check"] / found["raw"]
        print(
            f"{kind:<9} {count:>10,} {found['raw'] / 1e3:>9.2f}us {found['store'] / 1e3:>9.2f}us "
            f"{found['check'] / 1e3:>11.2f}us {ratio:>9.2f}x  (goal <= 1.3x)"
        )
    for kind in kinds:
        small, large = results[(kind, options.small)], results[(kind, options.large)]
        print(
            f"{kind}: check_access at {options.large:,} / at {options.small:,} contacts = "
            f"{large['check'] / small['check']:.2f} (goal <= 1.2); raw select "
            f"{large['raw'] / small['raw']:.2f}"
        )
    if on_django:
        print()
        print(
            f"through Django, {options.django:,} contacts: raw = a primary-key read through "
            "Django's connection cursor"
        )
        for kind, found in on_django.items():
            ratio = found["check"] / found["raw"]
            print(
                f"{kind:<9} raw {found['raw'] / 1e3:>7.2f}us  read_state "
                f"{found['store'] / 1e3:>7.2f}us  check_access {found['check'] / 1e3:>7.2f}us  "
                f"{ratio:>5.2f}x  (goal <= 2.0x)"
            )


if __name__ == "__main__":
    main()
