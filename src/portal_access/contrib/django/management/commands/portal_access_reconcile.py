"""``manage.py portal_access_reconcile --gateway NAME --since WHEN``.

Replays a gateway's events since WHEN (ISO 8601 with an offset) through the webhook
path, repairing what missed webhooks left undone. Progress goes to stderr as a bar
redrawn per event, the summary (seen, repaired, duplicates, ignored and why) to
stdout. A gateway that fails is a ``CommandError`` saying the command is safe to run
again.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from portal_access import GatewayError, PortalAccessError, ReconcileReport, WebhookResult
from portal_access.contrib.django._settings import portal

__all__ = ["Command"]

_WIDTH = 24


def _since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--since: {text!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        raise CommandError(f"--since: {text!r} has no UTC offset (add Z or +HH:MM)")
    return moment


class _Progress:
    """``\\r[####....] 12 events, 3 repaired`` on a stream, redrawn per event."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.repaired = 0

    def __call__(self, count: int, result: WebhookResult) -> None:
        self.repaired += result.applied
        filled = count % (_WIDTH + 1)
        self._draw(count, "#" * filled + "." * (_WIDTH - filled))

    def done(self, count: int) -> None:
        self._draw(count, "#" * _WIDTH)
        self.stream.write("")

    def _draw(self, count: int, bar: str) -> None:
        self.stream.write(f"\r[{bar}] {count} events, {self.repaired} repaired", ending="")
        self.stream.flush()


def summary(report: ReconcileReport) -> list[str]:
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
    lines += [f"  repaired {r.event_id} ({r.event_type})" for r in report.results if r.applied]
    return lines


class Command(BaseCommand):
    """Replay a gateway's events since a moment."""

    help = "Replay a payment gateway's events since a moment, through the webhook path."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--gateway``, ``--since``."""
        parser.add_argument("--gateway", required=True, help="the gateway's name, e.g. stripe")
        parser.add_argument(
            "--since", required=True, help="ISO 8601 with an offset, e.g. 2026-01-01T00:00:00Z"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Reconcile, drawing progress, then print the summary."""
        since = _since(options["since"])
        progress = _Progress(self.stderr)
        try:
            report = portal().reconcile(options["gateway"], since=since, progress=progress)
        except GatewayError as exc:
            self.stderr.write("")
            raise CommandError(f"{exc} (nothing is lost: run the command again)") from exc
        except PortalAccessError as exc:
            self.stderr.write("")
            raise CommandError(str(exc)) from exc
        progress.done(report.seen)
        for line in summary(report):
            self.stdout.write(line)
