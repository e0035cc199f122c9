"""``manage.py portal_access_deliver_outbox [--once] [--interval SECONDS]``.

The outbox worker: delivers the emails and signals whose delivery after commit failed
(the mail server was down, a receiver raised), pass after pass. ``--once`` makes one
pass and exits (for cron). SIGTERM or SIGINT ends it cleanly: the pass under way
finishes, its outcomes are written, and the command exits 0.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from portal_access import PortalAccessError
from portal_access.contrib.django._settings import portal

__all__ = ["Command"]


class Command(BaseCommand):
    """Deliver pending outbox messages, once or in a loop."""

    help = "Deliver the portal's emails and signals whose earlier delivery failed."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--once``, ``--interval``."""
        parser.add_argument("--once", action="store_true", help="one pass, then exit (cron)")
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="seconds between passes (default 5)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run passes until ``--once`` is done or a stop signal arrives."""
        interval: float = options["interval"]
        if interval <= 0:
            raise CommandError("--interval must be a positive number of seconds")
        stop = threading.Event()
        previous = self._trap(stop) if not options["once"] else {}
        if not options["once"] and options["verbosity"] >= 2:
            self.stdout.write(f"delivering the outbox every {interval:g}s; SIGTERM stops")
            self.stdout.flush()
        try:
            while True:
                close_old_connections()  # as a request would: no connection outlives its age
                try:
                    delivered = portal().deliver_outbox()
                except PortalAccessError as exc:
                    if options["once"]:
                        raise CommandError(str(exc)) from exc
                    self.stderr.write(f"delivery failed, will retry: {exc}")
                    delivered = 0
                if delivered or options["once"]:
                    self.stdout.write(f"delivered {delivered} message(s)")
                if options["once"] or stop.wait(interval):
                    break
            if stop.is_set():
                self.stdout.write("stopped")
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _trap(self, stop: threading.Event) -> dict[int, Any]:
        """Make SIGTERM and SIGINT set ``stop``; the handlers they replace, to restore."""
        if threading.current_thread() is not threading.main_thread():
            return {}  # signals reach the main thread only

        def request_stop(_number: int, _frame: FrameType | None) -> None:
            stop.set()

        previous: dict[int, Any] = {}
        for number in (signal.SIGTERM, signal.SIGINT):
            previous[number] = signal.signal(number, request_stop)
        return previous
