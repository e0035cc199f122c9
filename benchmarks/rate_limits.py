"""What a shared (store-backed) rate limit costs per attempt, and that its table stays
bounded.

Run: ``.venv/bin/python benchmarks/rate_limits.py`` (PostgreSQL too when
``PORTAL_ACCESS_TEST_DATABASE_URL`` is set).

For each store it prints the median time of one ``StoreRateLimiter.hit`` (a transaction
of its own: two reads by key, one write; pruning when it adds a row) against the
baseline measured in the same run on the same store: one unit of work that reads one row
by key and writes it back. The ratio is the figure (goal: at most 3, i.e. the limiter
costs about what any small use case's transaction costs). Then it sends 10,000 keys
across ten windows with an injected clock and prints the rows left in ``rate_limits``
(goal: at most the keys of the last two windows plus one pruning batch).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from portal_access.ports import Row, Store
from portal_access.repositories import RATE_LIMITS, RATE_LIMITS_BY_EXPIRY, unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.storage.rate_limits import StoreRateLimiter
from portal_access.storage.sql import SqlStore
from portal_access.storage.sql._urls import database_url, psycopg_conninfo

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CALLS = 400
BATCHES = 5
KEYS_WINDOWS = 10
KEYS_PER_WINDOW = 1_000


def _median_us(call: Callable[[int], object]) -> float:
    batches = []
    for batch in range(BATCHES):
        start = time.perf_counter_ns()
        for n in range(CALLS):
            call(batch * CALLS + n)
        batches.append((time.perf_counter_ns() - start) / CALLS / 1000)
    return statistics.median(batches)


def _baseline(store: Store) -> Callable[[int], object]:
    row = Row({"key": "baseline", "slot": 0, "attempts": 0, "expires_at": NOW})
    with unit_of_work(store) as uow:
        uow.transaction.insert(RATE_LIMITS, row)

    def call(n: int) -> None:
        with unit_of_work(store) as uow:
            found = uow.transaction.get(RATE_LIMITS, ("baseline", 0))
            assert found is not None
            values = {**found.values, "attempts": n}
            uow.transaction.update(RATE_LIMITS, Row(values))

    return call


def _stores() -> Iterator[tuple[str, Store]]:
    """The memory store, a SQLite file, and a PostgreSQL schema of its own when a server
    is configured; each closed (and dropped) when the next is asked for."""
    yield "memory", MemoryStore()
    with (
        tempfile.TemporaryDirectory() as folder,
        SqlStore(f"sqlite:///{Path(folder) / 'limits.db'}", create=True) as store,
    ):
        yield "sqlite", store
    url = os.environ.get("PORTAL_ACCESS_TEST_DATABASE_URL")
    if not url:
        return
    import psycopg  # noqa: PLC0415

    base = database_url(url)
    schema = f"pa_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(psycopg_conninfo(base), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            scoped = base.update_query_dict({"options": f"-csearch_path={schema}"})
            with SqlStore(scoped.render_as_string(hide_password=False), create=True) as store:
                yield "postgres", store
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _rows(store: Store) -> int:
    with unit_of_work(store) as uow:
        return len(uow.transaction.find(RATE_LIMITS, RATE_LIMITS_BY_EXPIRY, ()))


def main() -> None:
    print(f"{'store':<9} {'hit µs':>8} {'baseline µs':>12} {'ratio':>6} {'rows left':>10}")
    for name, store in _stores():
        limiter = StoreRateLimiter(store, limit=10**9, window=timedelta(minutes=1))
        hit = _median_us(lambda n, limiter=limiter: limiter.hit(f"client:{n % 50}", now=NOW))
        base = _median_us(_baseline(store))
        pruned = StoreRateLimiter(store, limit=5, window=timedelta(minutes=1))
        for window in range(KEYS_WINDOWS):
            at = NOW + timedelta(minutes=10 + window)
            for n in range(KEYS_PER_WINDOW):
                pruned.hit(f"visitor:{window}:{n}", now=at)
        print(f"{name:<9} {hit:>8.0f} {base:>12.0f} {hit / base:>6.2f} {_rows(store):>10}")
    print(f"goal: ratio <= 3; rows left <= {2 * KEYS_PER_WINDOW + 8} (+ the 50 timed keys)")


if __name__ == "__main__":
    main()
