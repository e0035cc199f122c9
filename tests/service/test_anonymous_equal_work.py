"""The anonymous flows do the same work whether or not anything matched, so they take the
same time (docs/rules.md "answer the same way"; docs/security.md "Anonymous flows"): the same
store calls in the same order, one password hash check either way, and no email sent
inside the visitor's request. Time itself is measured in
``benchmarks/anonymous_timing.py``, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import attrs
import pytest

from portal_access import PortalAccessError, SystemPortalOptions
from portal_access.adapters import ScryptPasswordHasher
from portal_access.ports import Key, Table
from portal_access.repositories import unit_of_work
from tests.service.harness import (
    CANCEL,
    CLASS,
    CLIENT,
    PASSWORD,
    SUCCESS,
    Harness,
    build,
    paid_offer,
    register,
    sign_up,
)
from tests.service.stores import store

__all__ = ["store"]

OPTIONS = SystemPortalOptions(request_login_button=True, pay_as_guest=True)


@attrs.define
class Recorder:
    """Wraps a store: every call of every transaction on the store port, in order (the
    operation and its table, not the keys)."""

    store: Any
    calls: list[str] = attrs.field(factory=list)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        self.calls.append("begin")
        with self.store.transaction() as transaction:
            yield _Recording(transaction, self.calls)
        self.calls.append("commit")

    def read_committed(self, table: Table, key: Key) -> Any:
        self.calls.append(f"read_committed {table.name}")
        return self.store.read_committed(table, key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@attrs.define
class _Recording:
    transaction: Any
    calls: list[str]

    def __getattr__(self, method: str) -> Any:
        found = getattr(self.transaction, method)

        def call(*args: Any, **kwargs: Any) -> Any:
            where = args[0] if args else ""
            self.calls.append(f"{method} {getattr(where, 'name', where)}")
            return found(*args, **kwargs)

        return call


@attrs.define
class CountingHasher:
    """Counts the password hasher's work."""

    inner: ScryptPasswordHasher = attrs.field(factory=lambda: ScryptPasswordHasher(n=16))
    calls: list[str] = attrs.field(factory=list)

    def hash(self, password: str) -> str:
        self.calls.append("hash")
        return self.inner.hash(password)

    def verify(self, password: str, encoded: str) -> bool:
        self.calls.append("verify")
        return self.inner.verify(password, encoded)


@attrs.define
class Fixture:
    harness: Harness
    recorder: Recorder
    hasher: CountingHasher
    jobs: list[Callable[[], object]]
    invoice_number: str

    def work_of(self, call: Callable[[], object]) -> tuple[list[str], list[str], int, int]:
        """What ``call`` did inside the request: store calls, hasher calls, emails sent,
        jobs queued (the queued jobs then run, outside the request)."""
        self.recorder.calls.clear()
        self.hasher.calls.clear()
        sent = len(self.harness.mailer.sent)
        with suppress(PortalAccessError):
            call()
        done = (
            list(self.recorder.calls),
            list(self.hasher.calls),
            len(self.harness.mailer.sent) - sent,
            len(self.jobs),
        )
        while self.jobs:
            self.jobs.pop(0)()
        return done


@pytest.fixture
def fx(store) -> Fixture:
    jobs: list[Callable[[], object]] = []
    recorder = Recorder(store)
    harness = build(store=recorder, system=OPTIONS, limit=10**6, background=jobs.append)  # type: ignore[arg-type]
    hasher = CountingHasher()
    harness.portal._context.hasher = hasher
    harness.portal.save_account_class(attrs.evolve(CLASS, invoice_verified_self_registration=True))
    paid_offer(harness)
    signup = sign_up(harness)
    sign_up(harness, email="bo@example.com", first_name="Bo")
    while jobs:
        jobs.pop(0)()
    register(harness)
    with unit_of_work(store) as uow:
        invoice = uow.invoices.get(signup.invoice_id)
    fixture = Fixture(harness, recorder, hasher, jobs, invoice.number)
    fixture.work_of(lambda: harness.portal.log_in("x@example.com", "warm up!!", client_key=CLIENT))
    return fixture


def test_log_in_checks_one_hash_and_reads_alike_for_known_and_unknown_emails(fx):
    """One hash check, the same reads: a known email with a wrong password and an unknown one."""
    portal = fx.harness.portal
    known = fx.work_of(
        lambda: portal.log_in("ann@example.com", "wrong password", client_key=CLIENT)
    )
    unknown = fx.work_of(
        lambda: portal.log_in("zed@example.com", "wrong password", client_key=CLIENT)
    )
    invited = fx.work_of(
        lambda: portal.log_in("bo@example.com", "wrong password", client_key=CLIENT)
    )
    assert known == unknown == invited
    assert known[1] == ["verify"]


def test_having_trouble_does_the_same_work_and_mails_outside_the_request(fx):
    """Seed 000_07c53b15302458c1.txt "Having trouble?": one queued job either way; the email leaves later."""
    portal = fx.harness.portal
    known = fx.work_of(lambda: portal.having_trouble("ann@example.com", client_key=CLIENT))
    unknown = fx.work_of(lambda: portal.having_trouble("zed@example.com", client_key=CLIENT))
    assert known == unknown
    assert known[2] == 0  # nothing mailed inside the request
    assert known[3] == 1  # one job queued either way
    assert fx.harness.link("ann@example.com", "/portal/reset-password")  # the job mailed it


def test_self_registration_does_the_same_work_and_mails_outside_the_request(fx):
    """Seed 001_345994b3bb014aeb.txt self-registration: the same work for a match and a miss."""
    portal = fx.harness.portal
    code = "x"
    with unit_of_work(fx.recorder.store) as uow:
        code = uow.invoices.with_number(fx.invoice_number).quick_pay_code
    fx.harness.mailer.sent.clear()
    match = fx.work_of(
        lambda: portal.self_register(
            fx.invoice_number, code, "Bo Lee", "bo@example.com", client_key=CLIENT
        )
    )
    miss = fx.work_of(
        lambda: portal.self_register("990099", code, "Bo Lee", "bo@example.com", client_key=CLIENT)
    )
    assert match == miss
    assert match[2] == 0
    assert match[3] == 1


def test_quick_pay_reads_alike_for_a_wrong_code_and_an_unknown_invoice(fx):
    """Seed 001_345994b3bb014aeb.txt quick pay: a real number with a wrong code reads what an unknown number does."""
    portal = fx.harness.portal

    def attempt(number: str) -> Callable[[], object]:
        return lambda: portal.quick_pay(
            number, "WRONGCODE", success_url=SUCCESS, cancel_url=CANCEL, client_key=CLIENT
        )

    assert fx.work_of(attempt(fx.invoice_number)) == fx.work_of(attempt("990099"))


def test_the_first_log_in_of_a_process_costs_what_later_ones_do(store):
    """The dummy hash is made once, on the first log in whatever it matched, then reused."""
    hasher = CountingHasher()
    harness = build(store=store)
    harness.portal._context.hasher = hasher
    for _ in range(3):
        with pytest.raises(PortalAccessError):
            harness.portal.log_in("zed@example.com", PASSWORD, client_key=CLIENT)
    assert hasher.calls == ["hash", "verify", "verify", "verify"]
