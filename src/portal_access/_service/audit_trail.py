"""The audit trail's hook: every staff action and every access change calls :func:`record`.

A use case names who acts by setting ``work.actor`` (staff use cases: the staff member;
gateway events: the gateway and event id; otherwise the library itself), then calls
:func:`record` in the same unit of work as the change, so an entry exists exactly when
the change committed.

Today the entry goes to the outbox as an ``audit.recorded`` event (delivered after
commit, at least once, to the host's subscribers); keeping it in the store, readable and
exportable through the public API, is the store's next table: this function is the one
place that will write it.
"""

from __future__ import annotations

from collections.abc import Mapping

from portal_access._domain.audit import Actor, AuditAction, AuditRecord
from portal_access._domain.events import AuditRecorded
from portal_access._service.context import Work

__all__ = ["record"]


def record(
    work: Work,
    action: AuditAction,
    *,
    reason: str = "",
    contact_id: str | None = None,
    account_id: str | None = None,
    invoice_id: str | None = None,
    payment_id: str | None = None,
    subscription_id: str | None = None,
    details: Mapping[str, str] | None = None,
    actor: Actor | None = None,
) -> AuditRecord:
    """Add one entry, by ``actor`` (default ``work.actor``), at the clock's now, to this
    unit of work."""
    entry = AuditRecord(
        id=work.context.ids.new_id("au_"),
        occurred_at=work.context.clock.now(),
        actor=actor or work.actor,
        action=action,
        reason=reason,
        contact_id=contact_id,
        account_id=account_id,
        invoice_id=invoice_id,
        payment_id=payment_id,
        subscription_id=subscription_id,
        details=dict(details or {}),
    )
    work.emit(AuditRecorded(record=entry))
    return entry
