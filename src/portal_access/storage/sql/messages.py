"""SQL repositories for processed gateway events, the outbox and idempotency results.

A processed event is a row under the unique key ``(gateway, event_id)``, inserted with
``ON CONFLICT DO NOTHING`` in the same transaction as the event's effects: of two
workers applying the same event, the second finds the row (PostgreSQL makes it wait for
the first's commit) and its unit of work is retried, then sees a duplicate.

An outbox message's ``delivered`` flag and ``attempts`` count live in their own columns
(the document holds the rest), so two workers delivering at once never lose a count:
``attempts = attempts + 1`` is one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
import sqlalchemy as sa

from portal_access.domain.errors import ConflictError, NotFoundError, StaleStateError
from portal_access.domain.events import EmailRequested, OutboxMessage
from portal_access.domain.serialization import to_json
from portal_access.domain.validation import ensure_aware
from portal_access.storage.sql import schema
from portal_access.storage.sql.transaction import SqlRepository, SqlTransaction, load

__all__ = [
    "CLEARED_PAYLOAD",
    "SqlGatewayEventRepository",
    "SqlIdempotencyRepository",
    "SqlOutboxRepository",
]

#: What a delivered email's payload becomes (its body held single-use links).
CLEARED_PAYLOAD = {"cleared": True}


class SqlGatewayEventRepository(SqlRepository):
    """Processed gateway events (:class:`portal_access.ports.GatewayEventRepository`)."""

    def record(self, gateway: str, event_id: str, outcome: str, at: datetime) -> bool:
        """Record the event; ``False`` (and nothing written) when already recorded.

        Raises:
            ValidationError: ``at`` is naive.
        """
        ensure_aware(at, field="at")
        values = {"gateway": gateway, "event_id": event_id, "outcome": outcome, "processed_at": at}
        return self._tx.insert_new(schema.gateway_events, values)

    def outcome(self, gateway: str, event_id: str) -> str | None:
        """The recorded outcome, or ``None`` when never processed."""
        table = schema.gateway_events
        row = self._tx.first(
            sa.select(table.c.outcome).where(
                table.c.gateway == gateway, table.c.event_id == event_id
            )
        )
        return None if row is None else str(row.outcome)


class SqlOutboxRepository(SqlRepository):
    """Messages waiting for delivery (:class:`portal_access.ports.OutboxRepository`)."""

    def add(self, message: OutboxMessage) -> None:
        """Append a message.

        Raises:
            ConflictError: a message with this id exists.
        """
        values = {
            "id": message.id,
            "occurred_at": message.occurred_at,
            "topic": message.topic,
            "delivered": message.delivered,
            "attempts": message.attempts,
            "doc": to_json(message),
        }
        if not self._tx.insert_new(schema.outbox, values):
            raise ConflictError(f"outbox message {message.id!r} exists")

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, delivered or not, or ``None``."""
        found = self._select(schema.outbox.c.id == message_id)
        return found[0] if found else None

    def pending(self, limit: int) -> Sequence[OutboxMessage]:
        """Up to ``limit`` undelivered messages, oldest first (then by id)."""
        return self._select(schema.outbox.c.delivered == sa.false(), limit=max(limit, 0))

    def mark_delivered(self, message_id: str) -> None:
        """Mark delivered and clear the payload of emails (they hold single-use links).

        Raises:
            NotFoundError: no message has this id.
        """
        message = self.get(message_id)
        if message is None:
            raise NotFoundError("outbox message", message_id)
        changes: dict[str, object] = {"delivered": True}
        if message.topic == EmailRequested.topic:
            changes["doc"] = to_json(attrs.evolve(message, payload=dict(CLEARED_PAYLOAD)))
        table = schema.outbox
        self._tx.execute(sa.update(table).where(table.c.id == message_id).values(changes))

    def mark_failed(self, message_id: str) -> None:
        """Count one failed delivery attempt; the message stays pending.

        Raises:
            NotFoundError: no message has this id.
        """
        table = schema.outbox
        update = (
            sa.update(table).where(table.c.id == message_id).values(attempts=table.c.attempts + 1)
        )
        if self._tx.execute(update).rowcount != 1:
            raise NotFoundError("outbox message", message_id)

    def _select(
        self, condition: sa.ColumnElement[bool], *, limit: int | None = None
    ) -> tuple[OutboxMessage, ...]:
        table = schema.outbox
        query = (
            sa.select(table.c.id, table.c.delivered, table.c.attempts, table.c.doc)
            .where(condition)
            .order_by(table.c.occurred_at, table.c.id)
            .limit(limit)
        )
        return tuple(
            attrs.evolve(
                load(row.doc, OutboxMessage, row.id),
                delivered=bool(row.delivered),
                attempts=int(row.attempts),
            )
            for row in self._tx.all(query)
        )


class SqlIdempotencyRepository(SqlRepository):
    """Use-case results by key (:class:`portal_access.ports.IdempotencyRepository`)."""

    def __init__(self, tx: SqlTransaction) -> None:
        super().__init__(tx)
        self._seen_missing: set[str] = set()

    def get(self, key: str) -> str | None:
        """The stored result (JSON text), or ``None``."""
        table = schema.idempotency
        row = self._tx.first(sa.select(table.c.result).where(table.c.key == key))
        if row is None:
            self._seen_missing.add(key)
            return None
        return str(row.result)

    def put(self, key: str, result: str) -> None:
        """Store the result under ``key``.

        Raises:
            StaleStateError: ``get`` found no result under ``key`` in this unit of work,
                but a concurrent one has since stored one: run the use case again to
                return it (a :class:`~portal_access.ConflictError` too).
            ConflictError: the key is taken.
        """
        if self._tx.insert_new(schema.idempotency, {"key": key, "result": result}):
            return
        if key in self._seen_missing:
            raise StaleStateError(f"idempotency key {key!r} was taken by a concurrent request")
        raise ConflictError(f"idempotency key {key!r} is taken")
