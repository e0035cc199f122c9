"""``manage.py portal_access_demo``: seed 000's paid-access story on your database.

The same narrated story as ``python -m portal_access demo`` (sign-up, ACH that clears,
a failed renewal and the re-subscribe link, a cancelled required payment, a site-level
contact; then the same under the other ACH policy), run through the ORM store on the
``PORTAL_ACCESS["DATABASE"]`` database with the in-process sandbox vendor. Each story
runs inside ``transaction.atomic`` and is rolled back at its end: the database is left
as it was, and its migrations must be applied. That block is the story's own, not a
host's: the story's emails go to the story's own mailer in this process, read as they
are sent, so its store delivers without waiting for a commit that never comes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import transaction

from portal_access import PortalAccessError
from portal_access._demo import grant_on_clearing, grant_on_initiation
from portal_access.contrib.django._settings import DjangoSettings
from portal_access.contrib.django._store import DjangoStore, DjangoTransaction

__all__ = ["Command"]


class _Lines:
    """The story's ``write(text)`` calls, each ending its own line, on the command's stdout."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> int:
        self.out.write(text, ending="")
        return len(text)


class _StoryStore(DjangoStore):
    """The ORM store of a story that runs in one atomic block of its own, rolled back at
    its end: each unit of work is a savepoint of it, and counts as committed."""

    @contextmanager
    def transaction(self) -> Iterator[DjangoTransaction]:
        """:meth:`DjangoStore.transaction`, its outcomes written in it as if it committed."""
        with super().transaction() as tx:
            tx.joined = False
            yield tx

    def after_commit(self, callback: Callable[[], object]) -> None:
        """At once: the story's mail stays in this process, and the story reads it."""
        callback()


class _RollBack(Exception):  # noqa: N818 - a signal, not an error
    """Leaves a story's atomic block so that it rolls back."""


class Command(BaseCommand):
    """Narrate seed 000's story on the host's database, then roll it back."""

    help = "Run seed 000's paid portal access story on this database (rolled back after)."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--database``."""
        parser.add_argument(
            "--database", help="the DATABASES alias (default: PORTAL_ACCESS['DATABASE'])"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run both stories, each rolled back."""
        try:
            using = options["database"] or DjangoSettings.read().database
        except PortalAccessError as exc:
            raise CommandError(str(exc)) from exc
        store = _StoryStore(using=using)
        self.stdout.write(f"portal-access demo: seed 000's paid portal access (database {using!r})")
        for story in (grant_on_clearing, grant_on_initiation):
            try:
                with transaction.atomic(using=using):
                    story(store, cast(TextIO, _Lines(self.stdout)))
                    raise _RollBack
            except _RollBack:
                pass
            except PortalAccessError as exc:
                raise CommandError(f"the demo failed: {exc}") from exc
        self.stdout.write("\ndone; nothing was kept.")
