"""Pruning what the outbox and the webhook pipeline keep (the host's retention)."""

from __future__ import annotations

from collections.abc import Callable

from portal_access._domain.outbox import Retention
from portal_access._domain.validation import ensure_instance
from portal_access._service.context import ServiceContext
from portal_access.repositories import Pruned, prune

__all__ = ["prune_kept_records"]


def prune_kept_records(
    context: ServiceContext,
    retention: Retention,
    *,
    progress: Callable[[Pruned], object] | None = None,
) -> Pruned:
    """Delete delivered outbox messages and processed gateway-event records older than
    ``retention`` says, counted from the clock's now; never an undelivered message.

    Raises:
        ValidationError: ``retention`` is not a :class:`~portal_access.Retention`.
    """
    ensure_instance(retention, Retention, field="retention")
    messages_before, events_before = retention.cutoffs(context.clock.now())
    return prune(
        context.store,
        messages_before=messages_before,
        events_before=events_before,
        progress=progress,
    )
