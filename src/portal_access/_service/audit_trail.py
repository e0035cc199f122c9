"""The audit trail's hook: every staff action and every access change calls :func:`record`.

A use case names who acts by setting ``work.actor`` (staff use cases: the staff member;
gateway events: the gateway and event id; otherwise the library itself), then calls
:func:`record` in the same unit of work as the change, so an entry exists exactly when
the change committed.

The entry is a row of the store's audit trail (``uow.audit_trail``), so it commits or
rolls back with the change; it also goes to the outbox as an ``audit.recorded`` event
when a host subscribes to that topic. :func:`entries` reads the trail and
:func:`export` writes it out as CSV or JSON lines (``docs/service.md``).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from portal_access._domain.audit import (
    AUDIT_CSV_COLUMNS,
    Actor,
    AuditAction,
    AuditExportFormat,
    AuditRecord,
    audit_csv_cells,
)
from portal_access._domain.errors import ValidationError
from portal_access._domain.events import AuditRecorded
from portal_access._service.context import ServiceContext, Work, run

__all__ = ["TextSink", "entries", "export", "record"]


class TextSink(Protocol):
    """Where an export goes: anything with ``write(str)`` (a file opened in text mode
    with ``newline=""``, ``io.StringIO``, a streaming response's buffer)."""

    def write(self, text: str, /) -> object:
        """Write ``text``."""


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
    """Add one entry, by ``actor`` (default ``work.actor``), to this unit of work; every
    entry of a unit of work has the time of its first (the clock's now then)."""
    if work.audited_at is None:
        work.audited_at = work.context.clock.now()
    entry = AuditRecord(
        id=work.context.ids.new_id("au_"),
        occurred_at=work.audited_at,
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
    work.uow.audit_trail.add(entry)
    work.emit(AuditRecorded(record=entry))
    return entry


def entries(
    work: Work,
    *,
    contact_id: str | None = None,
    account_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> tuple[AuditRecord, ...]:
    """The trail's entries about the contact and/or the account (all without either),
    at or after ``since`` and before ``until``; oldest first unless ``newest_first``;
    at most ``limit``.

    Raises:
        ValidationError: a bad id, a naive time, a negative ``limit``.
    """
    if not isinstance(newest_first, bool):
        raise ValidationError("must be True or False", field="newest_first", value=newest_first)
    return work.uow.audit_trail.entries(
        contact_id=contact_id,
        account_id=account_id,
        since=since,
        until=until,
        limit=limit,
        newest_first=newest_first,
    )


def export(
    context: ServiceContext,
    out: TextSink,
    *,
    format: AuditExportFormat | str,
    contact_id: str | None = None,
    account_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Write the entries :func:`entries` selects, oldest first, to ``out`` as ``format``;
    how many were written. They are read in one unit of work, then written (no
    transaction stays open while ``out`` is written).

    Raises:
        ValidationError: ``format`` is not an :class:`AuditExportFormat` or its value,
            ``out`` has no ``write``, or as :func:`entries`.
    """
    try:
        format = AuditExportFormat(format)
    except (ValueError, TypeError):
        raise ValidationError("must be 'csv' or 'jsonl'", field="format", value=format) from None
    if not callable(getattr(out, "write", None)):
        raise ValidationError("must have a write(str) method", field="out")
    found = run(
        context,
        lambda work: entries(
            work, contact_id=contact_id, account_id=account_id, since=since, until=until
        ),
        deliver=False,
    )
    if format is AuditExportFormat.JSON_LINES:
        for entry in found:
            out.write(entry.to_json_line() + "\n")
    else:
        writer = csv.writer(out)
        writer.writerow(AUDIT_CSV_COLUMNS)
        writer.writerows(audit_csv_cells(entry) for entry in found)
    return len(found)
