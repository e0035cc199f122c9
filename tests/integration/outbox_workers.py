"""An outbox worker process for the outbox worker tests: its own store and portal (as
each worker of a host has), delivering the shared outbox until nothing is due.

Each worker's mailer appends the id of every message it sends to a file of its own
(written through before ``send`` returns), so the test counts sends even of a worker it
killed. It lives outside the test module so that ``multiprocessing``'s spawn start
method imports only this small module in each child.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from portal_access import EmailAddress, OutboxSettings, PortalAccess, PortalLinks
from portal_access.storage.sql import SqlStore

__all__ = ["FileMailer", "deliver_until_done", "portal_for"]


class FileMailer:
    """Appends each sent message's id to ``path``; with ``hang_on``, the send of that
    many-th message records the id, reports on ``stuck`` and never returns."""

    def __init__(self, path: Path, *, hang_on: int | None = None, stuck: Any = None) -> None:
        self.path = path
        self.hang_on = hang_on
        self.stuck = stuck
        self.sent = 0

    def send(
        self,
        *,
        message_id: str,
        to: Sequence[EmailAddress],
        subject: str,
        text: str,
        html: str,
    ) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(message_id + "\n")
            out.flush()
            os.fsync(out.fileno())
        self.sent += 1
        if self.sent == self.hang_on:
            self.stuck.put(("stuck", message_id))
            while True:  # mid-send: the test kills this process here
                time.sleep(60)


def portal_for(store: SqlStore, mailer: Any, settings: OutboxSettings) -> PortalAccess:
    """A worker's portal on its own store."""
    return PortalAccess(
        store=store,
        gateways=[],
        mailer=mailer,
        links=PortalLinks(base_url="https://portal.example.com"),
        outbox=settings,
        background=lambda job: job(),
    )


def deliver_until_done(
    index: int,
    url: str,
    directory: str,
    hang_on: int | None,
    start: Any,
    results: Any,
) -> None:
    """Wait for every worker, then deliver until a round delivers nothing; report
    ``(index, delivered)`` (or the traceback)."""
    try:
        mailer = FileMailer(Path(directory) / f"worker-{index}.txt", hang_on=hang_on, stuck=results)
        portal = portal_for(SqlStore(url), mailer, OutboxSettings(batch=3))
        start.wait(timeout=120)
        delivered = 0
        while (count := portal.deliver_outbox()) > 0:
            delivered += count
        results.put((index, delivered))
    except Exception:
        results.put((index, traceback.format_exc()))
