"""``manage.py portal_access_prune --messages-days N --events-days M``.

Deletes outbox messages delivered more than ``--messages-days`` days ago and records of
gateway events processed more than ``--events-days`` days ago (at least 30, so neither
a vendor's retry nor ``portal_access_reconcile`` applies an event twice), in batches,
on the portal's clock (:meth:`~portal_access.PortalAccess.prune`); never an undelivered
message. Run it from cron; a run cut short can simply run again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal_access import PortalAccessError, Retention, ValidationError
from portal_access.contrib.django._settings import portal

__all__ = ["Command"]


class Command(BaseCommand):
    """Delete delivered outbox messages and processed-event records past retention."""

    help = "Delete delivered outbox messages and processed gateway-event records past retention."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--messages-days``, ``--events-days`` (both required: no silent default)."""
        parser.add_argument(
            "--messages-days",
            type=float,
            required=True,
            help="keep delivered outbox messages this many days after delivery",
        )
        parser.add_argument(
            "--events-days",
            type=float,
            required=True,
            help="keep processed gateway-event records this many days (at least 30)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Prune once and say what was deleted."""
        try:
            retention = Retention(
                delivered_messages=timedelta(days=options["messages_days"]),
                processed_events=timedelta(days=options["events_days"]),
            )
        except ValidationError as exc:
            raise CommandError(str(exc)) from exc
        try:
            done = portal().prune(retention)
        except PortalAccessError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"pruned {done.messages} delivered message(s) and {done.events} processed event(s)"
        )
