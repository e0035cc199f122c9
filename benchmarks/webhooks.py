"""What verifying and committing one Stripe webhook costs, against its floor, and how
many webhooks several workers handle.

Run: ``.venv/bin/python benchmarks/webhooks.py [--events N] [--rounds R] [--stream N]
[--workers 1,2,4,8] [--store sql|memory] [--only one|several] [--pg-options ...]``.
With ``PORTAL_ACCESS_TEST_DATABASE_URL`` set
(``postgresql://postgres@127.0.0.1:5432/test``) the workers also run on PostgreSQL, in
a schema of their own made for the run and dropped after it.

One process, one worker:

- **ours**: ``PortalAccess.handle_webhook("stripe", headers, body)``: the
  ``Stripe-Signature`` check (through the SDK), parsing and mapping, the unit of work
  that records the event id, merges the payment snapshot into the contact's access
  state and writes the outbox, committed to SQLite (``SqlStore(path, create=True)``).
- **ours, subscribed**: the same on a second portal (its own database file) whose host
  subscribes to every event, so each webhook also writes its events to the outbox and
  delivers them after commit (their delivered marks ride the next webhook's commit).
- **floor**: the job's bare minimum: the SDK's signature check
  (``stripe.WebhookSignature.verify_header``), ``json.loads`` of the body and one
  ``INSERT`` of the event committed in a ``sqlite3`` transaction on a file with the
  same settings as ``SqlStore`` (WAL, ``synchronous=FULL``: one ``fsync`` per commit).
- **floor, sqlite3 defaults** (for reference only): the same with ``sqlite3``'s own
  settings (a rollback journal), which ``fsync``s several times per commit.

All run on the same signed bodies (a ``payment_intent.processing`` of one payment with
a newer ``created`` each time, so every delivery is applied, none is a duplicate),
interleaved: ``--rounds`` rounds each run a slice of every side, so that the disk's
``fsync`` time, which drifts over a run (the machine may be shared), weighs on every
side alike. Prints the time per webhook of each, the ratios ours/floor of the totals
(goal: at most 1.5x, with and without a subscriber) with the spread of the rounds'
ratios, and the statements, committed reads and commits of one webhook (counted by a
SQLAlchemy listener on a separate run, since listening slows the statements down).

Several workers: a stream of ``--stream`` deliveries (64 clients, each paying one
invoice through a series of ``payment_intent`` snapshots, every event delivered three
times, shuffled) is dealt round-robin to 1, 2, 4 and 8 workers, each on a new
database: threads of one process sharing one ``SqlStore`` on SQLite; processes each with
its own ``SqlStore`` on one SQLite file (as a host's web workers would be, though the
docs advise PostgreSQL for them); and processes on PostgreSQL (as a host's web workers
are), spawned, warmed up by one delivery each and started together at a barrier. Prints webhooks/s
(deliveries, duplicates and stale ones included, over the wall time from the workers'
common start to the last one's end) and the speed-up over one worker; the CPU time per
webhook of the workers and, for PostgreSQL on this machine, of the server (the
processes serving the workers' connections, found by their ``application_name``, and
the server's own: WAL writer, checkpointer, autovacuum), read from ``/proc``; how many
cores the run kept busy and how many other processes kept busy meanwhile
(``/proc/stat``: a shared machine shows there), and the most webhooks/s all cores
would give at this run's CPU per webhook (the bound of the speed-up on this machine),
and what bounds the run (the machine's cores, one core for threads, or waits); how
often a worker waited (a round trip, a lock) and was preempted, per webhook.
``--pg-options '-c commit_delay=100 -c commit_siblings=2'`` gives the PostgreSQL
workers' sessions server settings, to measure them without changing the server.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import multiprocessing
import os
import random
import resource
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import stripe
from sqlalchemy.engine import make_url

from portal_access import AccountClass, AchPolicy, Charge, Money, PaymentMethodKind, PortalPolicy
from portal_access._portal import PortalAccess
from portal_access._service.signup import KickoffForm
from portal_access.adapters._passwords import ScryptPasswordHasher
from portal_access.gateways.stripe import StripeGateway
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql._engine import SQLITE_JOURNAL_MODE, SQLITE_SYNCHRONOUS
from portal_access.testing.stripe import payment_intent_object

SECRET = "whsec_bench"
#: Signed deliveries: (headers, body) as the endpoint receives them.
Batch = list[tuple[dict[str, str], bytes]]


def make_store(kind: str, directory: Path) -> object:
    if kind == "memory":
        return MemoryStore()
    from portal_access.storage.sql import SqlStore  # noqa: PLC0415 - only when asked for

    return SqlStore(directory / "portal.db", create=True)


def portal_for(store: object) -> PortalAccess:
    """A portal on ``store`` (the API is never called: every event carries our metadata)."""
    gateway = StripeGateway(api_key="sk_test_bench", webhook_secret=SECRET,
                            api_base="http://127.0.0.1:9")  # fmt: skip
    return PortalAccess(store=store, gateways=[gateway], hasher=ScryptPasswordHasher(n=16),  # type: ignore[arg-type]
                        policy=PortalPolicy(ach=AchPolicy.GRANT_ON_CLEARING),
                        development=True)  # fmt: skip


def portal_with_a_client(store: object) -> tuple[PortalAccess, str]:
    portal = portal_for(store)
    portal.save_account_class(AccountClass(id="retail", name="Retail"))
    setup_fee = Charge("Setup fee", Money(25000, "USD"))
    portal.create_offer("Onboarding", gateway="stripe", currency="USD", one_time=setup_fee,
                        account_class_id="retail", offer_id="offer-1")  # fmt: skip
    signup = portal.submit_kickoff_form(
        "offer-1", KickoffForm(first_name="Ann", last_name="Lee", email="ann@example.com")
    )
    assert signup.invoice_id is not None
    return portal, signup.invoice_id


def deliveries(invoice_id: str, count: int) -> Batch:
    now, signed = int(time.time()), []
    for n in range(count):
        intent = payment_intent_object(
            intent_id="pi_bench", amount=Money(25000, "USD"), status="processing",
            method=PaymentMethodKind.BANK_ACCOUNT,
            metadata={"invoice_id": invoice_id, "contact_id": "c"},
        )  # fmt: skip
        event = {"id": f"evt_bench_{n:06d}", "object": "event", "created": now - count + n,
                 "type": "payment_intent.processing", "api_version": stripe.api_version,
                 "data": {"object": intent}, "livemode": False}  # fmt: skip
        body = json.dumps(event).encode()
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET, now)
        signed.append(({"Stripe-Signature": header}, body))
    return signed


def run_ours(portal: PortalAccess, batch: Batch) -> float:
    """Seconds to handle every delivery of ``batch``."""
    start = time.perf_counter()
    for headers, body in batch:
        result = portal.handle_webhook("stripe", headers, body)
        assert result.outcome == "applied", result
    return time.perf_counter() - start


def floor_side(
    path: Path, stack: contextlib.ExitStack, *, same_journal: bool = True
) -> Callable[[Batch], float]:
    """A function timing the floor of each delivery (``verify_header``, ``json.loads``,
    one ``INSERT`` committed) on a ``sqlite3`` connection to ``path`` opened once
    (closed with ``stack``)."""
    connection = stack.enter_context(
        contextlib.closing(sqlite3.connect(path, isolation_level=None))
    )
    if same_journal:  # as SqlStore sets up every SQLite connection
        connection.execute(f"PRAGMA journal_mode={SQLITE_JOURNAL_MODE}")
        connection.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT, body TEXT)"
    )
    verify = stripe.WebhookSignature.verify_header

    def run(batch: Batch) -> float:
        start = time.perf_counter()
        for headers, body in batch:
            text = body.decode()
            verify(text, headers["Stripe-Signature"], SECRET, 300)
            event = json.loads(text)
            connection.execute("BEGIN")
            connection.execute(
                "INSERT INTO events VALUES (?, ?, ?)", (event["id"], event["type"], text)
            )
            connection.execute("COMMIT")
        return time.perf_counter() - start

    return run


def count_statements(kind: str, directory: Path, *, subscribe: bool) -> tuple[float, float, float]:
    """Statements of the unit of work, committed reads before it (the processed-event
    record's, on the store's own connection) and commits per webhook, steady state (a
    listener on the engine, a wrapper around ``read_committed``)."""
    if kind != "sql":
        return float("nan"), float("nan"), float("nan")
    import sqlalchemy as sa  # noqa: PLC0415 - only for the SQL store

    directory.mkdir()
    store: Any = make_store(kind, directory)
    portal, invoice_id = portal_with_a_client(store)
    if subscribe:
        portal.subscribe(lambda message: None)
    portal.deliver_outbox()  # the signup's email: its mark written, as in a steady state
    batch = deliveries(invoice_id, 30)
    run_ours(portal, batch[:10])
    statements, commits, reads = [0], [0], [0]
    read = store.read_committed

    def counted_read(*args: Any) -> Any:
        reads[0] += 1
        return read(*args)

    store.read_committed = counted_read

    def counted(*_args: object) -> None:
        statements[0] += 1

    def committed(*_args: object) -> None:
        commits[0] += 1

    sa.event.listen(store._engine, "before_cursor_execute", counted)
    sa.event.listen(store._engine, "commit", committed)
    run_ours(portal, batch[10:])
    store.close()
    return statements[0] / 20, reads[0] / 20, commits[0] / 20


def single_worker(args: argparse.Namespace) -> None:
    per_round = max(args.events // args.rounds, 1)
    warm = 50
    sides = ("ours", "subscribed", "floor", "defaults")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        directory = Path(tmp)
        (directory / "plain").mkdir()
        (directory / "subscribed").mkdir()
        portal, invoice_id = portal_with_a_client(make_store(args.store, directory / "plain"))
        subscribed, subscribed_invoice = portal_with_a_client(
            make_store(args.store, directory / "subscribed")
        )
        received: list[object] = []
        subscribed.subscribe(received.append)
        batch = deliveries(invoice_id, warm + per_round * args.rounds)
        batch_subscribed = deliveries(subscribed_invoice, warm + per_round * args.rounds)
        run: dict[str, Callable[[Batch], float]] = {
            "ours": lambda part: run_ours(portal, part),
            "subscribed": lambda part: run_ours(subscribed, part),
            "floor": floor_side(directory / "floor.db", stack),
            "defaults": floor_side(directory / "defaults.db", stack, same_journal=False),
        }
        for side in sides:  # warm up imports and caches
            run[side](batch_subscribed[:warm] if side == "subscribed" else batch[:warm])
        totals = dict.fromkeys(sides, 0.0)
        ratios: dict[str, list[float]] = {"ours": [], "subscribed": []}
        for n in range(args.rounds):
            part = slice(warm + n * per_round, warm + (n + 1) * per_round)
            seconds = {
                side: run[side](batch_subscribed[part] if side == "subscribed" else batch[part])
                for side in sides
            }
            for side in sides:
                totals[side] += seconds[side]
            for side, spread in ratios.items():
                spread.append(seconds[side] / seconds["floor"])
        assert len(received) >= 2 * per_round * args.rounds, "every event reached the subscriber"
        statements = {
            side: count_statements(
                args.store, directory / f"count-{side}", subscribe=side != "ours"
            )
            for side in ratios
        }
    count = per_round * args.rounds
    us = {side: totals[side] / count * 1e6 for side in sides}
    store = "SqlStore on SQLite (file)" if args.store == "sql" else "MemoryStore"
    journal = f"journal_mode={SQLITE_JOURNAL_MODE}, synchronous={SQLITE_SYNCHRONOUS}"
    print(f"one worker, {count} webhooks per side in {args.rounds} interleaved rounds")
    for side, label in (("ours", "no subscriber"), ("subscribed", "a subscriber to every event")):
        made, reads, commits = statements[side]
        print(
            f"  ours ({store}, {label}): {us[side]:8.1f} us per webhook,"
            f" {made:.1f} statements (BEGIN included) after {reads:.1f} committed read,"
            f" {commits:.2f} commits"
        )
    print(
        f"  floor (verify_header + json.loads + INSERT, sqlite3, {journal}): {us['floor']:8.1f} us"
    )
    for side, label in (("ours", "no subscriber"), ("subscribed", "a subscriber")):
        spread = ratios[side]
        print(
            f"  ratio ours/floor, {label}: {us[side] / us['floor']:.2f}x (goal <= 1.5x);"
            f" rounds' ratios min {min(spread):.2f}, median {statistics.median(spread):.2f},"
            f" max {max(spread):.2f}"
        )
    print(
        f"  for reference, the floor with sqlite3's defaults (rollback journal):"
        f" {us['defaults']:8.1f} us (ours is {us['ours'] / us['defaults']:.2f}x that)"
    )


# --- several workers ------------------------------------------------------------------

CLIENTS = 64


def stream_of(url: str, length: int, *, seed: int = 20) -> Batch:
    """Set up :data:`CLIENTS` clients on a new database at ``url`` and return a shuffled
    stream of about ``length`` signed deliveries paying their invoices, each event three
    times."""
    from portal_access.storage.sql import SqlStore  # noqa: PLC0415

    with SqlStore(url, create=True) as store:
        portal = portal_for(store)
        portal.save_account_class(AccountClass(id="retail", name="Retail"))
        setup_fee = Charge("Setup fee", Money(25000, "USD"))
        portal.create_offer("Onboarding", gateway="stripe", currency="USD", one_time=setup_fee,
                            account_class_id="retail", offer_id="offer-1")  # fmt: skip
        invoices = []
        for n in range(CLIENTS):
            form = KickoffForm(first_name="Ann", last_name=f"Lee{n}", email=f"ann{n}@example.com")
            signup = portal.submit_kickoff_form("offer-1", form)
            assert signup.invoice_id is not None
            invoices.append(signup.invoice_id)
    per_client = max(length // (3 * CLIENTS), 1)
    now, signed = int(time.time()), []
    for client, invoice_id in enumerate(invoices):
        for n in range(per_client):
            intent = payment_intent_object(
                intent_id=f"pi_bench_{client}", amount=Money(25000, "USD"), status="processing",
                method=PaymentMethodKind.BANK_ACCOUNT,
                metadata={"invoice_id": invoice_id, "contact_id": "c"},
            )  # fmt: skip
            event = {"id": f"evt_{client}_{n:05d}", "object": "event",
                     "created": now - per_client + n, "type": "payment_intent.processing",
                     "api_version": stripe.api_version, "data": {"object": intent},
                     "livemode": False}  # fmt: skip
            body = json.dumps(event).encode()
            header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET, now)
            signed += [({"Stripe-Signature": header}, body)] * 3
    random.Random(seed).shuffle(signed)
    return signed


def handle_share(portal: PortalAccess, share: Batch) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for headers, body in share:
        outcomes[portal.handle_webhook("stripe", headers, body).outcome.split(":")[0]] += 1
    return outcomes


@dataclasses.dataclass
class Run:
    """One run of the stream: its wall time, what the workers handled, and the CPU time
    (seconds) the workers, the database server and the whole machine used meanwhile."""

    elapsed: float
    outcomes: Counter[str]
    workers: float
    machine: float
    #: How many times the workers gave up the CPU to wait (voluntary context switches:
    #: a round trip that had to wait, a lock) and were taken off it (involuntary).
    waits: int
    preempted: int
    #: The server processes serving the workers' connections (``None``: no server, or
    #: not on this machine), and the server's own processes (WAL writer, checkpointer,
    #: background writer, autovacuum): they work for every client of the server.
    backends: float | None = None
    server_own: float | None = None
    #: Whether a database server worked for the run.
    server: bool = False
    #: Whether the workers were threads of one process (one runs Python at a time).
    threads: bool = False


def machine_cpu() -> float:
    """CPU seconds every process of this machine used so far (``/proc/stat``)."""
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def context_switches() -> tuple[int, int]:
    """This process's context switches so far: (voluntary, involuntary)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw, usage.ru_nivcsw


def server_process_cpu(pid: int) -> float | None:
    """CPU seconds (user and system) the PostgreSQL process ``pid`` used so far, or
    ``None`` when it is not on this machine (or gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            line = stat.read()
    except OSError:
        return None
    name, fields = line.split("(", 1)[1].rsplit(")", 1)
    if not name.startswith("postgres"):  # another machine's pid: not the server's
        return None
    utime, stime = fields.split()[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


class ServerProcesses:
    """The PostgreSQL server's processes serving the connections named ``application``
    (the workers'), and its own (``backend_type`` other than a client's), found in
    ``pg_stat_activity``: their CPU time read from ``/proc`` (a server on this machine)."""

    def __init__(self, url: str, application: str) -> None:
        import psycopg  # noqa: PLC0415

        from portal_access.storage.sql._urls import database_url, psycopg_conninfo  # noqa: PLC0415

        self._admin = psycopg.connect(psycopg_conninfo(database_url(url)), autocommit=True)
        self._application = application

    def cpu(self) -> tuple[dict[int, float | None], dict[int, float | None]]:
        """Each process's CPU seconds so far: (the workers' backends, the server's own)."""
        rows = self._admin.execute(
            "SELECT pid, application_name = %s FROM pg_stat_activity"
            " WHERE application_name = %s OR backend_type <> 'client backend'",
            (self._application, self._application),
        ).fetchall()
        backends = {pid: server_process_cpu(pid) for pid, ours in rows if ours}
        own = {pid: server_process_cpu(pid) for pid, ours in rows if not ours}
        return backends, own

    def close(self) -> None:
        self._admin.close()


def used(before: dict[int, float | None], after: dict[int, float | None]) -> float | None:
    """CPU seconds the processes used between two readings (one that started meanwhile:
    all of its time); ``None`` when none could be read."""
    spent = [cpu - (before.get(pid) or 0.0) for pid, cpu in after.items() if cpu is not None]
    return sum(spent) if spent else None


def process_worker(url: str, share: Batch, start: Any, finish: Any, results: Any) -> None:
    """One worker process: its own store and portal, started at the barrier; it keeps
    its connection until the parent has read the server's CPU time (``finish``)."""
    from portal_access.storage.sql import SqlStore  # noqa: PLC0415

    try:
        with SqlStore(url) as store:
            portal = portal_for(store)
            portal.handle_webhook("stripe", *share[0])  # connect and warm up before the clock
            start.wait(timeout=120)
            began, cpu, switches = time.time(), time.process_time(), context_switches()
            outcomes = handle_share(portal, share[1:])
            spent = time.process_time() - cpu
            waits, preempted = (b - a for a, b in zip(switches, context_switches(), strict=True))
            results.put((began, time.time(), spent, dict(outcomes), waits, preempted, None))
            finish.wait(timeout=120)
    except Exception as exc:  # report it rather than hang the parent
        start.abort()
        finish.abort()
        results.put((0.0, 0.0, 0.0, {}, 0, 0, repr(exc)))


def run_processes(url: str, shares: list[Batch], *, options: str = "") -> Run:
    """The workers as processes. On PostgreSQL each names its connections for the run
    (so that the server's processes serving them are found) and adds ``options`` to
    theirs; on SQLite they share the database file, as a host's web workers would."""
    postgres = make_url(url).get_backend_name() == "postgresql"
    named = url
    if postgres:
        application = f"pa_bench_{uuid.uuid4().hex[:8]}"
        found = make_url(url)
        query = {"application_name": application}
        if options:
            query["options"] = f"{found.query.get('options', '')} {options}".strip()
        named = found.update_query_dict(query).render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    parties = len(shares) + 1  # the parent reads the CPU times as the workers start
    start, finish = context.Barrier(parties), context.Barrier(parties)
    results = context.Queue()
    workers = [
        context.Process(target=process_worker, args=(named, share, start, finish, results))
        for share in shares
    ]
    for worker in workers:
        worker.start()
    server = ServerProcesses(url, application) if postgres else None
    no_server: dict[int, float | None] = {}
    try:
        with contextlib.suppress(threading.BrokenBarrierError):  # a worker failed: below
            start.wait(timeout=300)
        machine = machine_cpu()
        backends, own = server.cpu() if server else (no_server, no_server)
        reports = [results.get(timeout=900) for _ in workers]
        machine = machine_cpu() - machine
        backends_after, own_after = server.cpu() if server else (no_server, no_server)
        with contextlib.suppress(threading.BrokenBarrierError):
            finish.wait(timeout=60)
    finally:
        if server:
            server.close()
    for worker in workers:
        worker.join(timeout=60)
    errors = [report[-1] for report in reports if report[-1]]
    assert not errors, errors
    outcomes: Counter[str] = Counter()
    for report in reports:
        outcomes.update(report[3])
    return Run(
        elapsed=max(r[1] for r in reports) - min(r[0] for r in reports),
        outcomes=outcomes,
        workers=sum(r[2] for r in reports),
        machine=machine,
        waits=sum(r[4] for r in reports),
        preempted=sum(r[5] for r in reports),
        backends=used(backends, backends_after),
        server_own=used(own, own_after),
        server=postgres,
    )


def run_threads(url: str, shares: list[Batch]) -> Run:
    from portal_access.storage.sql import SqlStore  # noqa: PLC0415

    with SqlStore(url) as store:
        portal = portal_for(store)
        for share in shares:
            portal.handle_webhook("stripe", *share[0])  # warm up before the clock
        outcomes: Counter[str] = Counter()
        errors: list[BaseException] = []
        lock = threading.Lock()

        def work(share: Batch) -> None:
            try:
                found = handle_share(portal, share[1:])
            except BaseException as exc:  # reported below
                errors.append(exc)
                raise
            with lock:
                outcomes.update(found)

        threads = [threading.Thread(target=work, args=(share,)) for share in shares]
        began, cpu, machine = time.perf_counter(), time.process_time(), machine_cpu()
        switches = context_switches()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        machine = machine_cpu() - machine
        waits, preempted = (b - a for a, b in zip(switches, context_switches(), strict=True))
    assert not errors, errors
    return Run(elapsed, outcomes, cpu, machine, waits, preempted, threads=True)


@contextlib.contextmanager
def postgres_database(base: str) -> Iterator[str]:
    """A URL whose ``search_path`` is a new schema of this run's own, dropped afterwards."""
    import psycopg  # noqa: PLC0415

    from portal_access.storage.sql._urls import database_url, psycopg_conninfo  # noqa: PLC0415

    url = database_url(base)
    name = f"pa_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(psycopg_conninfo(url), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
        try:
            options = {"options": f"-csearch_path={name}"}
            yield url.update_query_dict(options).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')


def several_workers(args: argparse.Namespace) -> None:
    counts = [int(n) for n in args.workers.split(",")]
    databases: list[str] = ["sqlite", "sqlite-processes"]
    postgres = os.environ.get("PORTAL_ACCESS_TEST_DATABASE_URL")
    if postgres:
        databases.append("postgres")
    else:
        print("(PostgreSQL skipped: set PORTAL_ACCESS_TEST_DATABASE_URL to measure it)")
    cores = os.cpu_count() or 1
    for database in databases:
        how = "threads of one process" if database == "sqlite" else "processes"
        options = f", server options {args.pg_options!r}" if database == "postgres" else ""
        name = database.split("-")[0]
        print(f"{name}, workers as {how}, a stream of ~{args.stream} deliveries{options}:")
        one: float | None = None
        for workers in counts:
            with contextlib.ExitStack() as stack:
                if database != "postgres":
                    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                    url = f"sqlite:///{tmp / 'portal.db'}"
                else:
                    assert postgres is not None
                    url = stack.enter_context(postgres_database(postgres))
                stream = stream_of(url, args.stream)
                # each share's first delivery is its warm-up, outside the clock
                shares = [stream[n::workers] for n in range(workers)]
                if database == "sqlite":
                    run = run_threads(url, shares)
                else:
                    run = run_processes(url, shares, options=args.pg_options)
            one = report(run, workers, one, cores)


def report(run: Run, workers: int, one: float | None, cores: int) -> float:
    """Print a run's figures; return the rate of one worker (this one's, if first)."""
    handled = sum(run.outcomes.values())
    rate = handled / run.elapsed
    one = one or rate
    shown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(run.outcomes.items()))
    print(
        f"  {workers} worker{'s' if workers > 1 else ' '}: {rate:7.0f} webhooks/s"
        f" ({rate / one:.2f}x one worker); {shown}"
    )
    per, indent = 1e6 / handled, " " * 6
    spent = run.workers + (run.backends or 0.0) + (run.server_own or 0.0)
    if run.backends is not None:
        server = (
            f", the server {(run.backends + (run.server_own or 0.0)) * per:.0f} us"
            f" ({run.backends * per:.0f} serving these workers,"
            f" {(run.server_own or 0.0) * per:.0f} its own processes)"
        )
    else:
        server = " (the server's not counted: not on this machine)" if run.server else ""
    print(f"{indent}CPU per webhook: the workers {run.workers * per:.0f} us{server}")
    ceiling = cores / (spent / handled)
    busy, other = spent / run.elapsed, max(run.machine - spent, 0.0) / run.elapsed
    print(
        f"{indent}cores busy: {busy:.2f} with this run, {other:.2f} with other processes;"
        f" all {cores} would give at most {ceiling:,.0f} webhooks/s"
        f" ({ceiling / one:.1f}x one worker)"
    )
    if busy + other > 0.9 * cores:
        bound = "the machine: all its cores busy"
    elif run.threads and busy > 0.8:
        bound = "one core: the Python threads of a process run one at a time (the GIL)"
    else:
        bound = "the workers' waits (round trips, locks, the disk), not the cores"
    print(f"{indent}bound by {bound}")
    print(
        f"{indent}per webhook, a worker waited {run.waits / handled:.1f} times"
        f" and was preempted {run.preempted / handled:.1f} times"
    )
    return one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="webhooks per side")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds")
    parser.add_argument("--store", choices=["sql", "memory"], default="sql")
    parser.add_argument("--stream", type=int, default=1920, help="deliveries for the workers")
    parser.add_argument("--workers", default="1,2,4,8", help="worker counts, comma-separated")
    parser.add_argument("--only", choices=["one", "several"], help="run one part only")
    parser.add_argument(
        "--pg-options",
        default="",
        help="server settings for the PostgreSQL workers' sessions, e.g. "
        "'-c commit_delay=100 -c commit_siblings=2' (a superuser may set these)",
    )
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
    if args.only != "several":
        single_worker(args)
    if args.only != "one":
        several_workers(args)


if __name__ == "__main__":
    main()
