"""Seed 000_07c53b15302458c1.txt: two browser tabs (or two web workers) asking for the
same invoice's checkout page at the same moment get one page, on the sandbox and on
Stripe: threads on the memory store and SQLite, real processes on SQLite and PostgreSQL.

Each worker process has its own store and its own gateway; with the sandbox each worker
is even a vendor of its own, so two pages really open and the database must decide
which one is handed out (the other is closed). With Stripe the workers share the local
Stripe API, whose idempotency keys give them one page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal_access import CheckoutSession
from portal_access.repositories import unit_of_work
from tests.integration.checkout_workers import PageReport, open_pages
from tests.integration.processes import run_workers
from tests.service.harness import (
    CANCEL,
    PORTAL_URL,
    SECRET,
    START,
    SUCCESS,
    register,
    sign_up,
)
from tests.service.money_world import GATEWAYS, World, world
from tests.sql_databases import postgres_schema, requires_postgres, sqlite_url

pytestmark = pytest.mark.slow

WORKERS = 4
ROUNDS = 3


def _contacts(w: World, count: int) -> list[str]:
    """``count`` registered clients with an open required invoice (the first is w's)."""
    found = [w.contact_id]
    for number in range(1, count):
        email = f"racer{number}@example.com"
        sign_up(w.harness, email=email, first_name=f"Racer{number}")
        found.append(register(w.harness, email=email))
    return found


def _records(w: World, contact_id: str) -> list[CheckoutSession]:
    invoice_id = w.portal.check_access(contact_id).required_invoice_id
    assert invoice_id is not None
    with unit_of_work(w.harness.store) as uow:
        return [record.session for record in uow.checkouts.for_invoice(invoice_id)]


def _stripe_sessions(w: World) -> int:
    api = w.api  # type: ignore[attr-defined]
    return sum(o.get("object") == "checkout.session" for o in api.objects.values())


def _race(w: World, contact_id: str) -> tuple[list[CheckoutSession], list[BaseException]]:
    """Two tabs ask for the contact's page at the same moment."""
    barrier = threading.Barrier(2)
    pages: list[CheckoutSession] = []
    errors: list[BaseException] = []

    def tab() -> None:
        barrier.wait(timeout=30)
        try:
            pages.append(
                w.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
            )
        except BaseException as exc:  # reported by the caller's assertion
            errors.append(exc)

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return pages, errors


@pytest.mark.parametrize("store", ["memory", "sqlite"])
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_two_tabs_in_threads_get_one_page(gateway: str, store: str, tmp_path: Path) -> None:
    """Seed 000_07c53b15302458c1.txt: two start_checkout calls at once, in two threads, hand out one page and record one."""
    with world(gateway, store, tmp_path) as w:
        contacts = _contacts(w, ROUNDS)
        for contact_id in contacts:
            pages, errors = _race(w, contact_id)
            assert errors == []
            first, second = pages
            assert first == second
            assert _records(w, contact_id) == [first]
        if gateway == "stripe":
            assert _stripe_sessions(w) == ROUNDS


def _run(url: str, w: World, gateway: str, contacts: list[str]) -> list[PageReport]:
    settings = {"now": START, "secret": SECRET, "gateway": gateway,
                "success": SUCCESS, "cancel": CANCEL, "portal_url": PORTAL_URL,
                "api_url": w.api.url if gateway == "stripe" else None}  # type: ignore[attr-defined]  # fmt: skip
    return run_workers(open_pages, lambda index: (index, url, contacts, settings), WORKERS)


def _check_processes(url: str, gateway: str, tmp_path: Path) -> None:
    with world(gateway, url, tmp_path) as w:
        contacts = _contacts(w, ROUNDS)
        reports = _run(url, w, gateway, contacts)
        assert [error for _index, _pages, errors in reports for error in errors] == []
        handed_out = set()
        for contact_id in contacts:
            handed = {page for _i, pages, _e in reports for c, page, _x in pages if c == contact_id}
            (page,) = handed  # every worker got the same page
            (recorded,) = _records(w, contact_id)  # and it is the one recorded
            assert recorded.session_id == page
            handed_out.add(page)
        closed = {(index, x) for index, pages, _e in reports for _c, _p, xs in pages for x in xs}
        for index, page_id in closed:  # a worker closes only its own pages that lost
            assert page_id.startswith(f"cs_sbx_w{index}_")
            assert page_id not in handed_out
        if gateway == "stripe":
            assert _stripe_sessions(w) == ROUNDS  # one page per invoice at the vendor
        print(  # noqa: T201 - the figures for the notes (pytest -s)
            f"{gateway} on {url.split(':', maxsplit=1)[0]}: {WORKERS} workers x {ROUNDS} invoices, "
            f"pages handed out {len(handed_out)}, pages opened that lost and were closed "
            f"{len(closed)}"
        )


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_workers_on_sqlite_get_one_page(gateway: str, tmp_path: Path) -> None:
    """Seed 000_07c53b15302458c1.txt: 4 processes on one SQLite file ask for the same pages at once: one page each, recorded once."""
    _check_processes(sqlite_url(tmp_path), gateway, tmp_path)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@requires_postgres
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_workers_on_postgres_get_one_page(gateway: str, postgres_url: str, tmp_path: Path) -> None:
    """Seed 000_07c53b15302458c1.txt: 4 processes on PostgreSQL ask for the same pages at once: one page each, recorded once."""
    _check_processes(postgres_url, gateway, tmp_path)
