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


def deliver_then_hang(url: str, path: str, results: Any) -> None:
    """Run use cases whose events a subscriber receives (each id appended to ``path``,
    written through), report ``("delivered", ids)`` and wait to be killed: the marks of
    what it delivered wait in this process, unwritten."""
    try:
        from portal_access import Account, AccountClass, Contact, EmailAddress  # noqa: PLC0415

        store = SqlStore(url)
        portal = PortalAccess(
            store=store,
            gateways=[],
            mailer=FileMailer(Path(path).with_suffix(".mail")),
            links=PortalLinks(base_url="https://portal.example.com"),
            background=lambda job: job(),
        )
        sent: list[str] = []

        def subscriber(message: Any) -> None:
            with Path(path).open("a", encoding="utf-8") as out:
                out.write(message.id + "\n")
                out.flush()
                os.fsync(out.fileno())
            sent.append(message.id)

        kind = AccountClass(id="k-1", name="Gym")
        portal.save_account_class(kind)
        portal.save_account(Account(id="a-1", number="1", name="Gym", account_class=kind))
        portal.subscribe(subscriber, topic="contact.created")
        for n in range(3):
            email = EmailAddress.parse(f"c{n}@example.com")
            portal.create_contact(Contact(id=f"c-{n}", account_id="a-1", first_name="C",
                                          email=email))  # fmt: skip
        results.put(("delivered", sent))
        while True:  # killed here, before any unit of work carries the last marks
            time.sleep(60)
    except Exception:
        results.put(("failed", traceback.format_exc()))
