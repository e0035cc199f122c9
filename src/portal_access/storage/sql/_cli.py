"""``python -m portal_access db``: create, upgrade and inspect a SQL store's schema.

::

    python -m portal_access db upgrade --url sqlite:///portal.db
    python -m portal_access db current --url postgresql://app@db/portal

``upgrade`` creates or upgrades the database to the newest revision this version of
portal-access knows. ``current`` prints the database's revision and exits 0 when it is
the one this version needs, 1 otherwise (so deploy scripts can check before starting).

>>> import tempfile, pathlib
>>> url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'portal.db'}"
>>> main(["db", "current", "--url", url])
sqlite:///...: no schema (empty database); run `python -m portal_access db upgrade --url ...`
1
>>> main(["db", "upgrade", "--url", url])
sqlite:///...: schema revision 0003 (head)
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from portal_access._domain.errors import PortalAccessError
from portal_access.storage.sql._migrations import (
    current_revision,
    head_revision,
    known_revision,
    upgrade,
)
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
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "--url",
            required=True,
            help="a SQLite file path or sqlite:///path, or postgresql://user@host/database",
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
        return _report(where, current_revision(options.url))
    except (PortalAccessError, ImportError) as exc:
        sys.stderr.write(f"{_PROG} {options.command}: {exc}\n")
        return 1


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
