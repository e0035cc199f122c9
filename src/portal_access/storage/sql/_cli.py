"""``python -m portal_access db``: create, upgrade and inspect a SQL store's schema.

::

    python -m portal_access db upgrade --url sqlite:///portal.db
    python -m portal_access db current --url postgresql://app@db/portal
    python -m portal_access db prune --url URL --messages-days 14 --events-days 90

``upgrade`` creates or upgrades the database to the newest revision this version of
portal-access knows. ``current`` prints the database's revision and exits 0 when it is
the one this version needs, 1 otherwise (so deploy scripts can check before starting).
``prune`` deletes outbox messages delivered more than ``--messages-days`` days ago and
records of gateway events processed more than ``--events-days`` days ago (at least 30),
in batches, showing progress on stderr; never an undelivered message.

>>> import tempfile, pathlib
>>> url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'portal.db'}"
>>> main(["db", "current", "--url", url])
sqlite:///...: no schema (empty database); run `python -m portal_access db upgrade --url ...`
1
>>> main(["db", "upgrade", "--url", url])
sqlite:///...: schema revision 0009 (head)
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta

from portal_access._domain.errors import PortalAccessError, ValidationError
from portal_access._domain.outbox import Retention
from portal_access.adapters import Progress, SystemClock
from portal_access.repositories import Pruned, prune
from portal_access.storage.sql._migrations import (
    current_revision,
    head_revision,
    known_revision,
    upgrade,
)
from portal_access.storage.sql._store import SqlStore
from portal_access.storage.sql._urls import database_url, safe_url

__all__ = ["main"]

_PROG = "python -m portal_access db"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG, description="Create, upgrade and inspect the SQL store's schema."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (
        ("upgrade", "create or upgrade the database to the newest schema revision"),
        ("current", "print the database's schema revision (exit 1 unless it is the newest)"),
        ("prune", "delete delivered outbox messages and processed-event records past retention"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "--url",
            required=True,
            help="a SQLite file path or sqlite:///path, or postgresql://user@host/database",
        )
        if name == "prune":
            command.add_argument(
                "--messages-days",
                type=float,
                required=True,
                help="keep delivered outbox messages this many days after delivery",
            )
            command.add_argument(
                "--events-days",
                type=float,
                required=True,
                help="keep processed gateway-event records this many days (at least 30)",
            )
    return parser


def main(argv: Sequence[str]) -> int:
    """Run one ``db`` command; return the exit status.

    Args:
        argv: the arguments after ``python -m portal_access``, starting with ``db``
            (``["db", "upgrade", "--url", URL]``); a leading ``"db"`` may be left out.
    """
    arguments = list(argv[1:] if argv[:1] == ["db"] else argv)
    try:
        options = _parser().parse_args(arguments)
    except SystemExit as exc:  # argparse printed the usage or the help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        where = safe_url(database_url(options.url))
        if options.command == "upgrade":
            _say(f"{where}: schema revision {upgrade(options.url)} (head)")
            return 0
        if options.command == "prune":
            return _prune(options)
        return _report(where, current_revision(options.url))
    except (PortalAccessError, ImportError) as exc:
        sys.stderr.write(f"{_PROG} {options.command}: {exc}\n")
        return 1


def _prune(options: argparse.Namespace) -> int:
    try:
        retention = Retention(
            delivered_messages=timedelta(days=options.messages_days),
            processed_events=timedelta(days=options.events_days),
        )
    except ValidationError as exc:
        sys.stderr.write(f"{_PROG} prune: {exc}\n")
        return 2
    messages_before, events_before = retention.cutoffs(SystemClock().now())
    progress = Progress(sys.stderr, "rows deleted", every=1)

    def show(done: Pruned) -> None:
        progress.update(done.messages + done.events)

    store = SqlStore(options.url)
    try:
        done = prune(
            store, messages_before=messages_before, events_before=events_before, progress=show
        )
    finally:
        store.close()
    progress.done(done.messages + done.events)
    _say(f"pruned {done.messages} delivered message(s) and {done.events} processed event(s)")
    return 0


def _report(where: str, found: str | None) -> int:
    head = head_revision()
    fix = f"run `{_PROG} upgrade --url ...`"
    if found == head:
        _say(f"{where}: schema revision {found} (head)")
        return 0
    if found is None:
        _say(f"{where}: no schema (empty database); {fix}")
    elif known_revision(found):
        _say(f"{where}: schema revision {found}, older than {head} which this version needs; {fix}")
    else:
        _say(
            f"{where}: schema revision {found}, newer than {head} which this version knows; "
            "upgrade portal-access"
        )
    return 1


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
