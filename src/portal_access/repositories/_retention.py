"""Pruning: delivered outbox messages and processed-event records past their retention.

Deletes in batches, one short unit of work each, so a large backlog never holds a long
transaction; an undelivered message is never deleted, however old.

>>> from datetime import UTC, datetime, timedelta
>>> from portal_access._domain.events import OutboxMessage
>>> from portal_access.storage.memory import MemoryStore
>>> from portal_access.repositories import unit_of_work
>>> store, then = MemoryStore(), datetime(2026, 1, 1, tzinfo=UTC)
>>> with unit_of_work(store) as uow:
...     for n in range(3):
...         uow.outbox.add(OutboxMessage(id=f"m-{n}", occurred_at=then, topic="t", payload={}))
...     uow.outbox.mark_delivered("m-0", at=then)
...     uow.outbox.mark_delivered("m-1", at=then + timedelta(days=9))
>>> prune(store, messages_before=then + timedelta(days=1), events_before=then)
Pruned(messages=1, events=0)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from portal_access.ports import Store
from portal_access.repositories._unit_of_work import unit_of_work

__all__ = ["PRUNE_BATCH", "Pruned", "prune"]

#: How many rows one unit of work of :func:`prune` deletes at most.
PRUNE_BATCH = 500


@attrs.frozen
class Pruned:
    """What :func:`prune` deleted.

    Attributes:
        messages: delivered outbox messages.
        events: processed gateway-event records.
    """

    messages: int = 0
    events: int = 0


def prune(
    store: Store,
    *,
    messages_before: datetime,
    events_before: datetime,
    batch: int = PRUNE_BATCH,
    progress: Callable[[Pruned], object] | None = None,
) -> Pruned:
    """Delete the messages delivered before ``messages_before`` and the records of
    events processed before ``events_before``, ``batch`` rows per unit of work; call
    ``progress`` with the running totals after each one.

    Raises:
        ValidationError: a naive moment.
        StorageError: the store failed (what earlier units of work deleted stays deleted;
            run it again).
    """
    done = Pruned()
    for kind in ("messages", "events"):
        while True:
            with unit_of_work(store) as uow:
                if kind == "messages":
                    deleted = uow.outbox.prune(messages_before, batch)
                else:
                    deleted = uow.gateway_events.prune(events_before, batch)
            done = attrs.evolve(done, **{kind: getattr(done, kind) + deleted})
            if progress is not None:
                progress(done)
            if deleted < batch:
                break
    return done
