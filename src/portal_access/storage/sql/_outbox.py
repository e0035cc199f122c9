"""The SQL store's outbox repository: marking delivered messages in one statement.

A delivering worker marks every message it delivered (``mark_all_delivered``) inside the
next unit of work that commits anyway (see :func:`portal_access._service.context.run`).
The library's repository reads each message under a lock and writes it back (two or
three statements a message); here one ``UPDATE`` of the flag and the instant, run by the
driver's ``executemany`` for all of them, does it: nothing is read, and a non-email's
document is left as it is (its ``delivered`` flag lives in its column). An email's
payload, which held single-use links, is cleared as the library's repository clears it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa

from portal_access._domain.events import EmailRequested, OutboxMessage
from portal_access._domain.serialization import to_json
from portal_access._domain.validation import ensure_aware
from portal_access.repositories import OutboxRepository
from portal_access.repositories._messages import CLEARED_PAYLOAD
from portal_access.storage.sql._schema import TABLE
from portal_access.storage.sql._statements import Statement
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


class SqlOutboxRepository(OutboxRepository):
    """:class:`~portal_access.repositories.OutboxRepository` with
    :meth:`mark_all_delivered` in one statement."""

    def mark_all_delivered(self, delivered: Sequence[tuple[OutboxMessage, datetime]]) -> None:
        """Mark each message delivered at its instant in one ``UPDATE`` (run for each; a
        message deleted meanwhile matches no row).

        Raises:
            ValidationError: an instant is naive.
        """
        rows: list[dict[str, Any]] = []
        for message, at in delivered:
            ensure_aware(at, field="at")
            cleared = None
            if message.topic == EmailRequested.topic:
                email = attrs.evolve(message, payload=dict(CLEARED_PAYLOAD), delivered=True)
                cleared = to_json(email)
            rows.append({"key": message.id, "at": at, "cleared": cleared})
        transaction = self.transaction
        assert isinstance(transaction, SqlTransaction)
        transaction.run_many(_MARK_DELIVERED, rows)
