"""``python -m portal_access deliver-outbox``: an outbox worker.

::

    python -m portal_access deliver-outbox --app mymodule:build_portal
    python -m portal_access deliver-outbox --app mymodule:build_portal --once

Delivers what is due, batch after batch, until nothing is; then waits ``--interval``
seconds (default 5) and looks again, until SIGTERM or Ctrl-C, which it answers by
finishing the batch in hand and exiting 0. ``--once`` stops when nothing is due. Run as
many as you like: each message is claimed by one worker (see
:class:`~portal_access.OutboxSettings`). ``--app`` names a callable returning the
host's ``PortalAccess`` (built with its mailer and subscribers), as for ``reconcile``.

Progress goes to stderr (a bar on a terminal, a line per batch when piped). Exit
status: 0 done or stopped, 1 the store failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from portal_access._commands.reconcile import load_app
from portal_access._domain.errors import PortalAccessError
from portal_access._portal import PortalAccess
from portal_access.adapters import Progress

__all__ = ["main", "work"]


def work(
    portal: PortalAccess,
    *,
    once: bool,
    interval: float,
    stop: threading.Event,
    progress: Progress,
) -> int:
    """Deliver until nothing is due (``once``) or ``stop`` is set; how many went out.

    Raises:
        PortalAccessError: the store failed.
    """
    total = 0
    while not stop.is_set():
        sent = portal.deliver_outbox()
        total += sent
        if sent:
            progress.update(total)
            continue
        if once:
            break
        stop.wait(interval)
    return total


def main(argv: list[str]) -> int:
    """Run the worker; the exit status (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m portal_access deliver-outbox",
        description="Deliver the outbox: claim due messages and send them, until stopped.",
    )
    parser.add_argument("--app", required=True, help="module:callable returning your PortalAccess")
    parser.add_argument("--once", action="store_true", help="stop when nothing is due")
    parser.add_argument(
        "--interval",
        type=float,
        default=5.0,
        help="seconds to wait when nothing is due (default 5)",
    )
    try:
        args = parser.parse_args(argv)
        if not args.interval > 0:
            raise ValueError("--interval must be a positive number of seconds")
        portal = load_app(args.app)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    except (ValueError, ImportError, AttributeError) as exc:
        sys.stderr.write(f"deliver-outbox: {exc}\n")
        return 2
    stop = threading.Event()
    restore = _stop_on_signals(stop)
    progress = Progress(sys.stderr, "messages", every=1)
    try:
        total = work(portal, once=args.once, interval=args.interval, stop=stop, progress=progress)
    except PortalAccessError as exc:
        sys.stderr.write(f"\ndeliver-outbox: {exc}\n")
        return 1
    finally:
        restore()
    progress.done(total, "(stopped)" if stop.is_set() else "")
    return 0


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """Set ``stop`` on SIGTERM and SIGINT; what restores the previous handlers."""

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach the main thread only
    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
