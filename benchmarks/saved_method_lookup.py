"""What a "method removed" report that names no contact (Stripe's
``payment_method.detached``) costs to find the saved method, as the number of contacts
with a saved method grows.

Run: ``.venv/bin/python benchmarks/saved_method_lookup.py [--sizes 1000 100000]``
(PostgreSQL too when ``PORTAL_ACCESS_TEST_DATABASE_URL`` is set).

For each database and size it prints the median time per call, in one read-only unit of
work each, of

- ``uow.saved_methods.holding(gateway, method_id)``: one lookup of
  ``ix_saved_methods_method`` (gateway, method id);
- the scan it replaced: every method the gateway keeps (``for_gateway``), filtered in
  Python (what ``holding`` did before schema revision 0009).

Rows are bulk-inserted (documents as the repository writes them) to keep setup short;
each figure is the median of several calls timed with ``time.perf_counter_ns``, after
one warm-up call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from portal_access import PaymentMethodKind
from portal_access._domain.autopay import SavedPaymentMethod
from portal_access._domain.serialization import to_json
from portal_access.repositories import UnitOfWork, unit_of_work
from portal_access.storage.sql import SqlStore
from portal_access.storage.sql import _schema as schema
from portal_access.storage.sql._urls import database_url

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
_BATCH = 5_000


def _method(n: int) -> SavedPaymentMethod:
    return SavedPaymentMethod(contact_id=f"c-{n:07}", gateway="stripe",
                              method_id=f"pm_{n:07}", kind=PaymentMethodKind.CARD,
                              version=1, saved_at=NOW, label="VISA ending 4242")  # fmt: skip


def _fill(store: SqlStore, size: int) -> None:
    table = schema.TABLE["saved_methods"]
    rows = (
        {
            "contact_id": m.contact_id,
            "gateway": m.gateway,
            "method_id": m.method_id,
            "doc": to_json(m),
        }
        for m in map(_method, range(size))
    )
    with store._engine.begin() as connection:
        batch: list[dict[str, str]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == _BATCH:
                connection.execute(sa.insert(table), batch)
                batch = []
        if batch:
            connection.execute(sa.insert(table), batch)


def _scan(uow: UnitOfWork, method_id: str) -> SavedPaymentMethod | None:
    found = uow.saved_methods.for_gateway("stripe")
    return next((m for m in found if m.method_id == method_id), None)


def _holding(uow: UnitOfWork, method_id: str) -> SavedPaymentMethod | None:
    return uow.saved_methods.holding("stripe", method_id)


def _median_ms(
    store: SqlStore, size: int, find: Callable[[UnitOfWork, str], object], runs: int
) -> float:
    times = []
    for run in range(runs + 1):
        wanted = f"pm_{(run * 7919) % size:07}"
        start = time.perf_counter_ns()
        with unit_of_work(store) as uow:
            assert find(uow, wanted) is not None
        if run:  # the first call warms up
            times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1e6


@contextmanager
def _database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'saved-{uuid.uuid4().hex[:8]}.db'}"
        return
    base = database_url(os.environ["PORTAL_ACCESS_TEST_DATABASE_URL"])
    name = f"pa_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield base.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


def main() -> None:
    """Print the median time per lookup, indexed and scanning, per database and size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--runs", type=int, default=15)
    arguments = parser.parse_args()
    kinds = ["sqlite"] + (["postgres"] if os.environ.get("PORTAL_ACCESS_TEST_DATABASE_URL") else [])
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'database':<10} {'methods':>9} {'holding ms':>11} {'scan ms':>10} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as directory:
        for kind in kinds:
            for size in arguments.sizes:
                with _database(kind, Path(directory)) as url, SqlStore(url, create=True) as store:
                    _fill(store, size)
                    indexed = _median_ms(store, size, _holding, arguments.runs)
                    scan_runs = max(3, arguments.runs // (1 + size // 10_000))
                    scanned = _median_ms(store, size, _scan, scan_runs)
                    print(f"{kind:<10} {size:>9,} {indexed:>11.3f} {scanned:>10.1f} "
                          f"{scanned / indexed:>7.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
