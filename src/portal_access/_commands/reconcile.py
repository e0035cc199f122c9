"""``python -m portal_access reconcile``: replay a gateway's events the host missed.

::

    python -m portal_access reconcile --gateway stripe \\
        --since 2026-01-01T00:00:00Z --app mymodule:build_portal

``--app`` names a callable returning the host's :class:`~portal_access._portal.PortalAccess`
(or such an object itself) as ``module:attribute``. Progress goes to stderr (a bar on a
terminal, plain lines when piped); the summary (seen, repaired, duplicates, ignored and
why) to stdout. Exit status: 0 done, 1 the gateway failed (safe to run again), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import datetime
from importlib import import_module

from portal_access._domain.errors import GatewayError, PortalAccessError
from portal_access._portal import PortalAccess
from portal_access._service.reconcile import ReconcileReport
from portal_access.adapters import Progress

__all__ = ["load_app", "main", "parse_since", "summary"]


def parse_since(text: str) -> datetime:
    """An ISO 8601 moment with its offset (``Z`` for UTC).

    >>> parse_since("2026-01-01T00:00:00Z").isoformat()
    '2026-01-01T00:00:00+00:00'

    Raises:
        ValueError: not ISO 8601, or no offset (a naive time is ambiguous).
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (add Z or +HH:MM)")
    return moment


def load_app(target: str) -> PortalAccess:
    """The ``PortalAccess`` named by ``module:attribute`` (called when callable).

    Raises:
        ValueError: not ``module:attribute``, or it is not a PortalAccess.
        ImportError, AttributeError: no such module or attribute.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--app wants module:attribute, not {target!r}")
    value: object = import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    app = value() if callable(value) and not isinstance(value, PortalAccess) else value
    if not isinstance(app, PortalAccess):
        raise ValueError(f"{target} gave {type(app).__name__}, not a PortalAccess")
    return app


def summary(report: ReconcileReport) -> str:
    """What a run repaired, for people."""
    lines = [
        f"reconciled {report.gateway} since {report.since.isoformat()}",
        f"  seen:       {report.seen}",
        f"  repaired:   {report.repaired}",
        f"  duplicates: {report.duplicates}",
        f"  ignored:    {report.ignored}",
    ]
    reasons = Counter(
        r.outcome.removeprefix("ignored: ")
        for r in report.results
        if r.outcome.startswith("ignored")
    )
    lines += [f"    {count} x {reason}" for reason, count in sorted(reasons.items())]
    repaired = [r for r in report.results if r.applied]
    lines += [f"  repaired {r.event_id} ({r.event_type})" for r in repaired]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Run the command; the exit status (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m portal_access reconcile",
        description="Replay a payment gateway's events since a moment, through the webhook path.",
    )
    parser.add_argument("--gateway", required=True, help="the gateway's name, e.g. stripe")
    parser.add_argument(
        "--since", required=True, help="ISO 8601 with offset, e.g. 2026-01-01T00:00:00Z"
    )
    parser.add_argument("--app", required=True, help="module:callable returning your PortalAccess")
    try:
        args = parser.parse_args(argv)
        since = parse_since(args.since)
        portal = load_app(args.app)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    except (ValueError, ImportError, AttributeError) as exc:
        sys.stderr.write(f"reconcile: {exc}\n")
        return 2
    bar = Progress(sys.stderr, "events")
    try:
        report = portal.reconcile(
            args.gateway, since=since, progress=lambda count, _result: bar.update(count)
        )
    except GatewayError as exc:
        sys.stderr.write(f"\nreconcile: {exc} (retry-safe: {exc.retry_safe}; run it again)\n")
        return 1
    except PortalAccessError as exc:
        sys.stderr.write(f"\nreconcile: {exc}\n")
        return 2
    bar.done(report.seen, f"{report.repaired} repaired")
    sys.stdout.write(summary(report))
    return 0
