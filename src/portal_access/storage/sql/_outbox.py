"""The SQL store's outbox repository: claiming and marking messages in few statements.

A claim reads only the messages due now (``due_at <= now`` in the statement, on the
index of pending messages, so a claim that finds nothing due reads no row: the library's
repository reads up to a batch of pending messages, due or not, and keeps the due ones),
and claims them all in one ``UPDATE`` run for each (the library's repository writes each
row back whole).

A delivering worker marks every message it delivered (``mark_all_delivered``) inside the
next unit of work that commits anyway (see :func:`portal_access._service.context.run`).
The library's repository reads each message under a lock and writes it back (two or
three statements a message); here one ``UPDATE`` of the flag and the instant, run by the
driver's ``executemany`` for all of them, does it: nothing is read, and a non-email's
document is left as it is (its ``delivered`` flag lives in its column). An email's
payload, which held single-use links, is cleared as the library's repository clears it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal_access._domain.events import OutboxMessage
from portal_access._domain.validation import ensure_aware
from portal_access.ports import Lock
from portal_access.repositories import OUTBOX, OutboxRepository
from portal_access.storage.sql._schema import TABLE
from portal_access.storage.sql._statements import Statement, statements_of
from portal_access.storage.sql._transaction import SqlTransaction

__all__ = ["SqlOutboxRepository"]

_OUTBOX = TABLE["outbox"]
#: ``UPDATE outbox SET delivered = true, due_at = :at, doc = COALESCE(:doc, doc)``: an
#: email's cleared document, or ``NULL`` to keep the stored one.
_MARK_DELIVERED = Statement(
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id == sa.bindparam("key"))
    .values(
        delivered=sa.true(),
        due_at=sa.bindparam("at", type_=_OUTBOX.c.due_at.type),
        doc=sa.func.coalesce(sa.bindparam("cleared", type_=sa.Text), _OUTBOX.c.doc),
    )
)


_STATEMENTS = statements_of(OUTBOX)
_DUE_NOW = (
    sa.select(*_STATEMENTS.selected)
    .where(
        _OUTBOX.c.delivered == sa.false(),
        _OUTBOX.c.due_at <= sa.bindparam("now", type_=_OUTBOX.c.due_at.type),
    )
    .order_by(_OUTBOX.c.due_at, _OUTBOX.c.id)
    .limit(sa.bindparam("row_limit", type_=sa.Integer))
)
#: The due messages, soonest first; on PostgreSQL those another transaction is claiming
#: are skipped (``FOR UPDATE SKIP LOCKED``; SQLite's writers are serialised already).
_DUE = Statement(
    {
        "postgresql": _DUE_NOW.with_for_update(skip_locked=True),
        "sqlite": _DUE_NOW,
    }
)
_CLAIM = Statement(
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id == sa.bindparam("key"), _OUTBOX.c.delivered == sa.false())
    .values(
        due_at=sa.bindparam("until", type_=_OUTBOX.c.due_at.type),
        claimed_by=sa.bindparam("claim", type_=_OUTBOX.c.claimed_by.type),
    )
)


class SqlOutboxRepository(OutboxRepository):
    """:class:`~portal_access.repositories.OutboxRepository` with :meth:`claim` and
    :meth:`mark_all_delivered` in one statement each (plus the claim's read)."""

    def claim(
        self,
        *,
        now: datetime,
        until: datetime,
        claim: str,
        limit: int,
        topics: Collection[str] | None = None,
    ) -> Sequence[OutboxMessage]:
        """As the library's :meth:`~portal_access.repositories.OutboxRepository.claim`:
        up to ``limit`` due messages (of ``topics``), claimed until ``until``.

        Raises:
            ValidationError: ``now`` or ``until`` is naive.
            StorageError: a due message cannot be read (nothing is claimed).
        """
        transaction = self.transaction
        if not isinstance(transaction, SqlTransaction):  # a wrapped store's: as the library
            return super().claim(now=now, until=until, claim=claim, limit=limit, topics=topics)
        ensure_aware(now, field="now")
        ensure_aware(until, field="until")
        read = _STATEMENTS.reader(transaction.dialect)
        due = {"now": now, "row_limit": max(limit, 0)}
        found = transaction.select(_DUE, due, lock=Lock.SKIP)  # on PostgreSQL
        rows = [read(raw) for raw in found]
        if topics is not None:
            rows = [row for row in rows if row.values["topic"] in topics]
        messages = [self._decoded(row) for row in rows]  # a damaged one fails before any write
        transaction.run_many(
            _CLAIM, [{"key": message.id, "until": until, "claim": claim} for message in messages]
        )
        return tuple(messages)

    def mark_all_delivered(self, delivered: Sequence[tuple[OutboxMessage, datetime]]) -> None:
        """Mark each message delivered at its instant in one ``UPDATE`` (run for each; a
        message deleted meanwhile matches no row).

        Raises:
            ValidationError: an instant is naive.
        """
        transaction = self.transaction
        if not isinstance(transaction, SqlTransaction):  # a wrapped store's: as the library
            super().mark_all_delivered(delivered)
            return
        rows: list[dict[str, Any]] = []
        for message, at in delivered:
            ensure_aware(at, field="at")
            cleared = self._delivered_document(message)
            rows.append({"key": message.id, "at": at, "cleared": cleared})
        transaction.run_many(_MARK_DELIVERED, rows)
