"""The store-backed rate limiter: several workers (portals, threads) on one SQLite file
or one PostgreSQL database share one limit; windows expire by the injected clock; old
windows are pruned, so the table stays small whatever a client sends.

Issue #12 item 5 (brute force): a per-process limiter gives each web worker its own
count; ``StoreRateLimiter`` counts in the store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal_access import AuthenticationError, ConfigurationError, RateLimitedError
from portal_access.adapters import ManualClock, MemoryRateLimiter
from portal_access.ports import Store
from portal_access.repositories import RATE_LIMITS, RATE_LIMITS_BY_EXPIRY, unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.storage.rate_limits import StoreRateLimiter
from portal_access.storage.sql import SqlStore
from tests.service.harness import CLIENT, PASSWORD, build, paid_offer, register, sign_up
from tests.sql_databases import POSTGRES_MARKS, empty_database

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stores(kind: str, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database (two workers' own connections); one memory store twice."""
    if kind == "memory":
        shared = MemoryStore()
        yield shared, shared
        return
    with empty_database(kind, tmp_path) as url, ExitStack() as stack:
        first = stack.enter_context(SqlStore(url, create=True))
        second = stack.enter_context(SqlStore(url))
        yield first, second


def _rows(store: Store) -> list[tuple[object, ...]]:
    with unit_of_work(store) as uow:
        found = uow.transaction.find(RATE_LIMITS, RATE_LIMITS_BY_EXPIRY, ())
    return [(row.values["key"], row.values["slot"], row.values["attempts"]) for row in found]


def test_two_limiters_on_one_database_share_the_limit(stores):
    """Attempts counted by one worker count for the other: 3 allowed in all, not 3 each."""
    first, second = (StoreRateLimiter(store, limit=3, window=MINUTE) for store in stores)
    first.hit("login:client:203.0.113.7", now=NOW)
    second.hit("login:client:203.0.113.7", now=NOW)
    first.hit("login:client:203.0.113.7", now=NOW)
    for limiter in (first, second):
        with pytest.raises(RateLimitedError) as refused:
            limiter.hit("login:client:203.0.113.7", now=NOW)
        # 3 of 3 at 9:00:00: the rest of this window, then until 3 * (60 - t)/60 <= 2
        assert refused.value.retry_after == pytest.approx(60.0 + 20.0)
    second.hit("login:client:198.51.100.1", now=NOW)  # another key has its own count


def test_two_portals_share_login_limits_and_failed_attempts_count(stores):
    """Two portals (two web workers) with store limiters: wrong passwords tried through
    either count against one limit, and the right password is then refused too."""
    clock = ManualClock(NOW)
    portals = []
    for store in stores:
        limiter = StoreRateLimiter(store, limit=4, window=MINUTE)
        portals.append(build(store=store, limiter=limiter, clock=clock))  # type: ignore[arg-type]
    paid_offer(portals[0])
    sign_up(portals[0])
    register(portals[0])
    for n in range(4):
        with pytest.raises(AuthenticationError):
            portals[n % 2].portal.log_in("ann@example.com", "wrong password", client_key=CLIENT)
    for harness in portals:
        with pytest.raises(RateLimitedError):
            harness.portal.log_in("ann@example.com", PASSWORD, client_key=CLIENT)
    clock.advance(2 * MINUTE)
    assert portals[1].portal.log_in("ann@example.com", PASSWORD, client_key=CLIENT).contact_id


def test_threads_racing_count_every_attempt_once(stores):
    """Eight threads over two stores, five attempts each, limit 12: exactly 12 counted,
    28 refused, never more counted than the limit."""
    limiters = [StoreRateLimiter(store, limit=12, window=MINUTE) for store in stores]
    counted: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            start.wait(timeout=30)
            for _ in range(5):
                try:
                    limiters[n % 2].hit("quick-pay:invoice:1001", now=NOW)
                except RateLimitedError:
                    refused.append(n)
                else:
                    counted.append(n)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert (len(counted), len(refused)) == (12, 28)
    assert [attempts for _key, _slot, attempts in _rows(stores[0])] == [12]


def test_the_window_slides_by_the_injected_clock(kind, tmp_path):
    """3 attempts at 0:59 leave no room at 1:01 (no burst across the window boundary);
    the previous window's weight fades as the clock moves, and the wait it names is
    exact: refused a microsecond before, counted at it; two windows on, all is new."""
    with ExitStack() as stack:
        if kind == "memory":
            store: Store = MemoryStore()
        else:
            url = stack.enter_context(empty_database(kind, tmp_path))
            store = stack.enter_context(SqlStore(url, create=True))
        limiter = StoreRateLimiter(store, limit=3, window=MINUTE)
        for _ in range(3):
            limiter.hit("k", now=NOW + timedelta(seconds=59))
        at = NOW + timedelta(seconds=61)
        with pytest.raises(RateLimitedError) as refused:
            limiter.hit("k", now=at)  # ceil(3 * 59/60) = 3 of the 3 allowed
        assert refused.value.retry_after == pytest.approx(19.0)  # at 1:20, 3 * 40/60 = 2
        free = at + timedelta(seconds=refused.value.retry_after)
        with pytest.raises(RateLimitedError):
            limiter.hit("k", now=free - timedelta(microseconds=1))
        limiter.hit("k", now=free)
        with pytest.raises(RateLimitedError):
            limiter.hit("k", now=free)
        for _ in range(3):
            limiter.hit("k", now=NOW + 3 * MINUTE)


def test_old_windows_are_pruned(stores):
    """Rows of windows that no longer matter are deleted by later attempts: 40 keys
    tried once, then, two windows on, 10 others: only the 10 are left."""
    limiter = StoreRateLimiter(stores[0], limit=5, window=MINUTE)
    for n in range(40):
        limiter.hit(f"login:client:10.0.0.{n}", now=NOW)
    assert len(_rows(stores[1])) == 40
    later = NOW + 2 * MINUTE
    for n in range(10):
        limiter.hit(f"login:client:10.0.1.{n}", now=later)
    rows = _rows(stores[1])
    assert len(rows) == 10
    assert all(len(str(key)) == 64 and "10.0" not in str(key) for key, _slot, _n in rows)


def test_a_window_still_counted_as_previous_is_kept(stores):
    """A key's row survives the next window (it weighs on it) and goes after that."""
    limiter = StoreRateLimiter(stores[0], limit=5, window=MINUTE)
    limiter.hit("a", now=NOW)
    limiter.hit("b", now=NOW + MINUTE)
    assert len(_rows(stores[0])) == 2
    limiter.hit("c", now=NOW + 2 * MINUTE)
    assert len(_rows(stores[0])) == 2  # a's window ended a window ago: pruned


def test_settings_are_checked():
    """A limit below one, or a window shorter than a second or not a timedelta, is a
    ConfigurationError (never a limiter that lets everything through)."""
    store = MemoryStore()
    for wrong in ({"limit": 0}, {"limit": 2.5}, {"window": timedelta(0)},
                  {"window": timedelta(milliseconds=10)}, {"window": 60}):  # fmt: skip
        with pytest.raises(ConfigurationError):
            StoreRateLimiter(store, **wrong)  # type: ignore[arg-type]
    assert isinstance(MemoryRateLimiter(), MemoryRateLimiter)
