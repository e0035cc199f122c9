"""What verifying and committing one Stripe webhook costs, against the bare minimum.

Run: ``.venv/bin/python benchmarks/webhooks.py [--events N] [--store sql|memory] [--subscribe]``.

- **ours**: ``PortalAccess.handle_webhook("stripe", headers, body)``: the
  ``Stripe-Signature`` check (through the SDK), parsing and mapping, the unit of work
  that records the event id, merges the payment snapshot into the contact's access
  state and writes the outbox, committed to SQLite (``SqlStore(path, create=True)``).
  With ``--subscribe`` a host subscriber receives every event, so each webhook also
  pays the delivery after commit (one more unit of work, marking the events delivered);
  without it the events have no recipient and are written as delivered.
- **bare**: the SDK's ``stripe.Webhook.construct_event`` plus one ``INSERT`` of the
  event in a ``sqlite3`` transaction on a file, with the same journal settings as
  ``SqlStore`` (WAL, ``synchronous=FULL``: one ``fsync`` per commit), so that both sides
  pay the same durability. The ratio is against this baseline.
- **bare, sqlite3 defaults** (for reference, not the goal's baseline): the same with
  ``sqlite3``'s own settings (a rollback journal, ``synchronous=FULL``), which ``fsync``s
  several times per commit and so costs several times the WAL baseline.

Both run in one process, on the same signed bodies (a ``payment_intent.processing`` of
one payment with a newer ``created`` each time, so every delivery is applied, none is a
duplicate), interleaved: ``--rounds`` rounds each run a slice of ours, then a slice of
bare, then a slice of bare with defaults, so that the disk's ``fsync`` time, which
drifts over a run, weighs on every side alike. Prints the time per webhook of each, the
ratio of the totals (goal: at most 1.5x) and the spread of the rounds' ratios. With
``--store memory`` ours runs on ``MemoryStore`` (no disk), for comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import stripe

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


def portal_with_a_client(store: object) -> tuple[PortalAccess, str]:
    # the API is never called: every event carries our metadata
    gateway = StripeGateway(api_key="sk_test_bench", webhook_secret=SECRET,
                            api_base="http://127.0.0.1:9")  # fmt: skip
    portal = PortalAccess(store=store, gateways=[gateway], hasher=ScryptPasswordHasher(n=16),  # type: ignore[arg-type]
                          policy=PortalPolicy(ach=AchPolicy.GRANT_ON_CLEARING))  # fmt: skip
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


def bare_side(
    path: Path, stack: contextlib.ExitStack, *, same_journal: bool = True
) -> Callable[[Batch], float]:
    """A function timing ``construct_event`` plus one ``INSERT`` per delivery, committed,
    on a ``sqlite3`` connection to ``path`` opened once (closed with ``stack``)."""
    connection = stack.enter_context(
        contextlib.closing(sqlite3.connect(path, isolation_level=None))
    )
    if same_journal:  # as SqlStore sets up every SQLite connection
        connection.execute(f"PRAGMA journal_mode={SQLITE_JOURNAL_MODE}")
        connection.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT, body TEXT)"
    )

    def run(batch: Batch) -> float:
        start = time.perf_counter()
        for headers, body in batch:
            event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
            connection.execute("BEGIN")
            connection.execute(
                "INSERT INTO events VALUES (?, ?, ?)", (event.id, event.type, body.decode())
            )
            connection.execute("COMMIT")
        return time.perf_counter() - start

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="webhooks per side")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds")
    parser.add_argument("--store", choices=["sql", "memory"], default="sql")
    parser.add_argument("--subscribe", action="store_true", help="a subscriber to every event")
    args = parser.parse_args()
    per_round = max(args.events // args.rounds, 1)
    warm = 50
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        directory = Path(tmp)
        portal, invoice_id = portal_with_a_client(make_store(args.store, directory))
        if args.subscribe:
            portal.subscribe(lambda message: None)
        batch = deliveries(invoice_id, warm + per_round * args.rounds)
        bare = bare_side(directory / "bare.db", stack)
        defaults = bare_side(directory / "defaults.db", stack, same_journal=False)
        run_ours(portal, batch[:warm])  # warm up imports and caches
        bare(batch[:warm])
        defaults(batch[:warm])
        totals, ratios = {"ours": 0.0, "bare": 0.0, "defaults": 0.0}, []
        for n in range(args.rounds):
            deliveries_of_round = batch[warm + n * per_round : warm + (n + 1) * per_round]
            ours_s = run_ours(portal, deliveries_of_round)
            bare_s = bare(deliveries_of_round)
            totals["ours"] += ours_s
            totals["bare"] += bare_s
            totals["defaults"] += defaults(deliveries_of_round)
            ratios.append(ours_s / bare_s)
    count = per_round * args.rounds
    ours, bare_us, defaults_us = (totals[side] / count * 1e6 for side in totals)
    store = "SqlStore on SQLite (file)" if args.store == "sql" else "MemoryStore"
    store += ", a subscriber to every event" if args.subscribe else ""
    journal = f"journal_mode={SQLITE_JOURNAL_MODE}, synchronous={SQLITE_SYNCHRONOUS}"
    print(f"ours ({store}): {ours:8.1f} us per webhook")
    print(f"bare (construct_event + INSERT in sqlite3, {journal}): {bare_us:8.1f} us")
    print(
        f"ratio: {ours / bare_us:.2f}x (goal <= 1.5x), {count} events each in {args.rounds}"
        f" interleaved rounds; rounds' ratios min {min(ratios):.2f}, median"
        f" {statistics.median(ratios):.2f}, max {max(ratios):.2f}"
    )
    print(
        f"for reference, bare with sqlite3's defaults (rollback journal): {defaults_us:8.1f} us"
        f" (ours is {ours / defaults_us:.2f}x that)"
    )


if __name__ == "__main__":
    main()
