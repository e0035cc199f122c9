"""The account summary of a large account, against one hand-written aggregate query; and
the time to draw a 200-line statement as PDF.

Run: ``.venv/bin/python benchmarks/summary.py`` (PostgreSQL too when
``PORTAL_ACCESS_TEST_DATABASE_URL`` is set; a schema of its own, dropped afterwards).

The account holds 10,000 invoices (9,000 paid, 1,000 open with due dates over the past
year) and 20,000 payments (two per invoice: a failed one, then for a paid invoice one
that succeeded). Rows
are written through the repositories in one unit of work, not through the service, to
keep setup short. It prints the median time of

- one hand-written aggregate query of the same figures, on the bare driver (``sqlite3``;
  psycopg 3 with a prepared statement), the floor: the open balance per currency and
  aging bucket (``SUM(CASE ...) ... GROUP BY currency``), the invoices and payments per
  status, and the invoices paid twice, each of what the contact may see (addressed to
  it or to no one), ``UNION ALL`` -ed;
- ``PortalAccess.account_summary`` (access check, balances, aging, counts, the newest
  50 invoices and settled payments, pending payments, duplicates),

and the ratio, against the goal of 2x. Then it draws the statement of an account with
200 open invoices with ``FpdfDocumentRenderer`` and prints the time.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from portal_access import (
    Account,
    AccountClass,
    Contact,
    DocumentKind,
    DocumentRef,
    EmailAddress,
    Invoice,
    InvoiceLine,
    Money,
    PaymentMethodKind,
    PaymentSnapshot,
    PaymentStatus,
    PortalAccess,
    PortalPolicy,
    StaffMember,
    StaffPermission,
    SystemPortalOptions,
)
from portal_access.adapters import (
    FpdfDocumentRenderer,
    ManualClock,
    MemoryMailer,
    ScryptPasswordHasher,
    SequentialIds,
)
from portal_access.repositories import PaymentRecord, unit_of_work
from portal_access.storage.sql import SqlStore

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
TODAY = NOW.date()
INVOICES = 10_000
OPEN = 1_000
RUNS = 30
PORTAL = "https://portal.example"
ADMIN = StaffMember(id="s-1", name="Admin", permissions=frozenset(StaffPermission))

AGGREGATE = """
SELECT 'balance', currency,
       SUM(balance),
       SUM(CASE WHEN due_on >= :today THEN balance ELSE 0 END),
       SUM(CASE WHEN due_on < :today AND due_on >= :d30 THEN balance ELSE 0 END),
       SUM(CASE WHEN due_on < :d30 AND due_on >= :d60 THEN balance ELSE 0 END),
       SUM(CASE WHEN due_on < :d60 AND due_on >= :d90 THEN balance ELSE 0 END),
       SUM(CASE WHEN due_on < :d90 THEN balance ELSE 0 END)
FROM invoices WHERE account_id = :account AND status = 'open' AND {seen} GROUP BY currency
UNION ALL
SELECT 'invoices', status, COUNT(*), 0, 0, 0, 0, 0
FROM invoices WHERE account_id = :account AND {seen} GROUP BY status
UNION ALL
SELECT 'payments', status, COUNT(*), 0, 0, 0, 0, 0
FROM payments WHERE account_id = :account AND {seen} GROUP BY status
UNION ALL
SELECT 'paid twice', invoice_id, COUNT(*), 0, 0, 0, 0, 0
FROM payments WHERE account_id = :account AND status = 'succeeded' AND {seen}
GROUP BY invoice_id HAVING COUNT(*) > 1
""".replace("{seen}", "(contact_id = :contact OR contact_id IS NULL)")


def _portal(store: SqlStore) -> tuple[PortalAccess, MemoryMailer]:
    mailer = MemoryMailer()
    portal = PortalAccess(
        store=store,
        gateways=[],
        mailer=mailer,
        clock=ManualClock(NOW),
        ids=SequentialIds(),
        hasher=ScryptPasswordHasher(n=16),
        policy=PortalPolicy(system=SystemPortalOptions(portal_url=PORTAL)),
        background=lambda job: job(),
        document_link_key=bytes(range(32)),
        renderer=FpdfDocumentRenderer(),
    )
    return portal, mailer


def _registered(portal: PortalAccess, mailer: MemoryMailer, account_id: str) -> str:
    klass = AccountClass(id="k", name="Residential")
    portal.save_account_class(klass)
    portal.save_account(
        Account(id=account_id, number=account_id, name="Big Account", account_class=klass)
    )
    email = f"{account_id}@example.com"
    contact = Contact(
        id=f"c-{account_id}",
        account_id=account_id,
        first_name="Ann",
        email=EmailAddress.parse(email),
    )
    portal.create_contact(contact)
    if not mailer.to(email):
        portal.invite_contact(contact.id, staff=ADMIN)
    text = mailer.to(email)[-1].text
    token = next(w for w in text.split() if "token=" in w).split("token=", 1)[1].rstrip(".")
    portal.accept_invitation(token, "correct horse battery staple")
    return contact.id


def _invoice(account_id: str, n: int, *, paid: bool) -> Invoice:
    issued = TODAY - timedelta(days=n % 360 + 20)
    invoice = Invoice(
        id=f"inv-{account_id}-{n:05d}",
        number=f"{account_id}-{n:05d}",
        account_id=account_id,
        title="Monthly service",
        currency="USD",
        lines=(InvoiceLine("Service", Money(10_000 + n, "USD")),),
        issued_on=issued,
        due_on=issued + timedelta(days=14),
        gateway="stripe",
    )
    return invoice.mark_paid(invoice.total) if paid else invoice


def _fill(store: SqlStore, account_id: str) -> None:
    began = time.perf_counter()
    with unit_of_work(store) as uow:
        for n in range(INVOICES):
            paid = n >= OPEN
            invoice = _invoice(account_id, n, paid=paid)
            uow.invoices.save(invoice)
            tries = (
                PaymentStatus.FAILED,
                PaymentStatus.SUCCEEDED if paid else PaymentStatus.FAILED,
            )
            for k, status in enumerate(tries):
                snapshot = PaymentSnapshot(
                    payment_id=f"pi_{n:05d}_{k}",
                    invoice_id=invoice.id,
                    method=PaymentMethodKind.CARD,
                    status=status,
                    amount=invoice.total,
                    version=1,
                    gateway="stripe",
                )
                uow.payments.save(
                    PaymentRecord(
                        snapshot=snapshot,
                        account_id=account_id,
                        recorded_at=NOW - timedelta(days=n % 360, minutes=k),
                    )
                )
        uow.invoices.save(_invoice(account_id, 0, paid=False))  # keep the first one open
    print(f"  setup: {INVOICES:,} invoices, {2 * INVOICES:,} payments "
          f"in {time.perf_counter() - began:.1f} s")  # fmt: skip


def _median_ms(call: Callable[[], object]) -> float:
    for _ in range(3):
        call()
    times = []
    for _ in range(RUNS):
        began = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - began)
    return statistics.median(times) / 1e6


def _binds(account_id: str) -> dict[str, object]:
    return {
        "today": TODAY,
        "d30": TODAY - timedelta(days=30),
        "d60": TODAY - timedelta(days=60),
        "d90": TODAY - timedelta(days=90),
        "account": account_id,
        "contact": f"c-{account_id}",
    }


@contextmanager
def _database(kind: str, workdir: Path) -> Iterator[tuple[str, Callable[[str], object]]]:
    """The store's URL and the hand-written aggregate on the bare driver."""
    if kind == "sqlite":
        path = workdir / "summary.db"
        raw: sqlite3.Connection | None = None

        def aggregate_sqlite(account_id: str) -> object:
            nonlocal raw
            if raw is None:
                raw = sqlite3.connect(path)
            binds = {
                k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in _binds(account_id).items()
            }
            return raw.execute(AGGREGATE, binds).fetchall()

        yield f"sqlite:///{path}", aggregate_sqlite
        if raw is not None:
            raw.close()
        return
    import psycopg  # noqa: PLC0415 - only when PostgreSQL is measured
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    base = make_url(os.environ["PORTAL_ACCESS_TEST_DATABASE_URL"])
    schema = f"pa_bench_summary_{uuid.uuid4().hex[:8]}"
    conninfo = base.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = psycopg.connect(conninfo, autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')
    url = base.set(drivername="postgresql+psycopg").update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    try:
        query = AGGREGATE.replace(":today", "%(today)s").replace(":d30", "%(d30)s")
        query = query.replace(":d60", "%(d60)s").replace(":d90", "%(d90)s")
        query = query.replace(":account", "%(account)s").replace(":contact", "%(contact)s")
        connection = psycopg.connect(conninfo, autocommit=True, options=f"-csearch_path={schema}")

        def aggregate_postgres(account_id: str) -> object:
            return connection.execute(query, _binds(account_id), prepare=True).fetchall()

        yield url.render_as_string(hide_password=False), aggregate_postgres
        connection.close()
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def measure(kind: str, workdir: Path) -> None:
    print(f"{kind}:")
    with _database(kind, workdir) as (url, aggregate), SqlStore(url, create=True) as store:
        portal, mailer = _portal(store)
        contact_id = _registered(portal, mailer, "big")
        _fill(store, "big")
        if kind == "postgres":
            with store._engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE invoices")
                connection.exec_driver_sql("ANALYZE payments")
        summary = portal.account_summary(contact_id)
        assert summary.invoice_count == INVOICES, summary.invoice_count
        assert summary.open_invoice_count == OPEN
        floor = _median_ms(lambda: aggregate("big"))
        full = _median_ms(lambda: portal.account_summary(contact_id))
        ratio = full / floor
        verdict = "ok" if ratio <= 2 else "over the 2x goal"
        print(f"  one aggregate query      {floor:8.2f} ms")
        print(f"  account_summary          {full:8.2f} ms   ratio {ratio:5.2f}x ({verdict})")


def statement_pdf(workdir: Path) -> None:
    with SqlStore(f"sqlite:///{workdir / 'statement.db'}", create=True) as store:
        portal, mailer = _portal(store)
        contact_id = _registered(portal, mailer, "small")
        with unit_of_work(store) as uow:
            for n in range(200):
                uow.invoices.save(_invoice("small", n, paid=False))
        ref = DocumentRef(DocumentKind.STATEMENT, "small")
        html_ms = _median_ms(lambda: portal.document(contact_id, ref))
        began = time.perf_counter()
        pdf = portal.statement_pdf(contact_id, "small")
        first = time.perf_counter() - began
        pdf_ms = _median_ms(lambda: portal.statement_pdf(contact_id, "small"))
        print("statement of 200 open invoices:")
        print(f"  Document value (reads)   {html_ms:8.2f} ms")
        print(f"  PDF, first               {first * 1000:8.2f} ms")
        print(f"  PDF, median of {RUNS}       {pdf_ms:8.2f} ms   ({len(pdf) / 1024:.0f} KiB, "
              f"{pdf_ms / html_ms:.1f}x the reads)")  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        measure("sqlite", Path(workdir))
        if os.environ.get("PORTAL_ACCESS_TEST_DATABASE_URL"):
            measure("postgres", Path(workdir))
        else:
            print("postgres: skipped (set PORTAL_ACCESS_TEST_DATABASE_URL)")
        statement_pdf(Path(workdir))


if __name__ == "__main__":
    main()
