"""The same kickoff form submitted by four workers at once (a double click, a retried
request behind a load balancer): every caller gets the one signup, and one of each
thing exists (seed 000_07c53b15302458c1.txt; docs/security.md "Kickoff forms").

Processes on SQLite and PostgreSQL (each with its own store, as web workers have),
threads on the memory store.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections import Counter

import pytest

from portal_access import AccountClass, Charge, EmailAddress, Money
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from tests.integration.kickoff_workers import portal_for, submit_forms, submit_with
from tests.service.harness import SECRET, START
from tests.sql_databases import POSTGRES_MARKS, empty_database

WORKERS = 4
ROUNDS = 5


def set_up(store) -> None:
    portal = portal_for(store, START, SECRET)
    portal.save_account_class(AccountClass(id="k", name="Residential"))
    portal.create_offer(
        "Client onboarding",
        gateway="sandbox",
        currency="USD",
        one_time=Charge("Setup fee", Money(25000, "USD")),
        account_class_id="k",
        offer_id="offer-1",
    )


def check(answers: list[list[str]], store) -> None:
    for round_number in range(ROUNDS):
        seen = Counter(worker[round_number] for worker in answers)
        assert len(seen) == 1, seen  # every caller got the same answer...
        (answer,) = seen
        assert answer.startswith("Signup("), answer  # ...and it is the signup
    with unit_of_work(store) as uow:
        for round_number in range(ROUNDS):
            contacts = uow.contacts.with_email(emails()[round_number])
            assert len(contacts) == 1  # one contact, one account, one invoice per form
            assert len(uow.invoices.for_account(contacts[0].account_id)) == 1


def emails() -> list[EmailAddress]:
    return [EmailAddress.parse(f"racer{n}@example.com") for n in range(ROUNDS)]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)])
def test_four_processes_submitting_one_form_get_one_signup(tmp_path, kind):
    """Every caller gets the first signup's answer; none a ConflictError (was 15 of 20)."""
    with empty_database(kind, tmp_path) as url, SqlStore(url, create=True) as store:
        set_up(store)
        context = multiprocessing.get_context("spawn")
        start, results = context.Barrier(WORKERS), context.Queue()
        addresses = [str(address) for address in emails()]
        settings = {"now": START, "secret": SECRET}
        processes = [
            context.Process(
                target=submit_forms, args=(index, url, addresses, settings, start, results)
            )
            for index in range(WORKERS)
        ]
        for process in processes:
            process.start()
        try:
            reports = sorted(results.get(timeout=300) for _ in processes)
        finally:
            for process in processes:
                process.join(timeout=60)
                if process.is_alive():
                    process.kill()
        check([answers for _index, answers in reports], store)


def test_four_threads_submitting_one_form_get_one_signup():
    """The memory store serialises units of work; the answer is the same for all."""
    store = MemoryStore()
    set_up(store)
    start, results = threading.Barrier(WORKERS), queue.Queue()
    addresses = [str(address) for address in emails()]
    threads = [
        threading.Thread(
            target=submit_with,
            args=(portal_for(store, START, SECRET), index, addresses, start, results),
        )
        for index in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    reports = sorted(results.get(timeout=1) for _ in threads)
    check([answers for _index, answers in reports], store)
