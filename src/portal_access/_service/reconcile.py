"""Reconcile with a gateway: replay what the vendor recorded, through the webhook path.

For hosts that missed webhooks (an outage, a wrong endpoint secret): every event since
a moment is applied exactly as a webhook would be, so what was already processed is a
duplicate and what was missed is repaired.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

import attrs

from portal_access._domain.validation import ensure_aware
from portal_access._service.context import ServiceContext
from portal_access._service.webhooks import APPLIED, DUPLICATE, WebhookResult, apply_or_defer

__all__ = ["ReconcileReport", "reconcile"]


@attrs.frozen
class ReconcileReport:
    """What a reconcile run did.

    Args:
        gateway: the gateway.
        since: where the run started.
        seen: events listed by the vendor.
        repaired: events applied now (missed before).
        duplicates: events already processed.
        ignored: events verified but not ours (with why, in ``results``).
        results: every event's result, oldest first.
    """

    gateway: str
    since: datetime
    seen: int
    repaired: int
    duplicates: int
    ignored: int
    results: tuple[WebhookResult, ...]


def reconcile(
    context: ServiceContext,
    gateway_name: str,
    *,
    since: datetime,
    progress: Callable[[int, WebhookResult], object] | None = None,
) -> ReconcileReport:
    """Apply every event the gateway recorded since ``since``.

    Raises:
        ConfigurationError: no such gateway.
        ValidationError: ``since`` is naive.
        GatewayError: the vendor could not list its events.
    """
    ensure_aware(since, field="since")
    gateway = context.gateway(gateway_name)
    results: list[WebhookResult] = []
    for event in gateway.list_events(since=since):
        result = apply_or_defer(context, event)
        results.append(result)
        if progress is not None:
            progress(len(results), result)
    counts = Counter(
        APPLIED if r.outcome == APPLIED else DUPLICATE if r.outcome == DUPLICATE else "ignored"
        for r in results
    )
    return ReconcileReport(
        gateway=gateway_name,
        since=since,
        seen=len(results),
        repaired=counts[APPLIED],
        duplicates=counts[DUPLICATE],
        ignored=counts["ignored"],
        results=tuple(results),
    )
