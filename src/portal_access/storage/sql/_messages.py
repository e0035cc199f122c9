"""SQL repositories for processed gateway events, the outbox and idempotency results.

A processed event is a row under the unique key ``(gateway, event_id)``, inserted with
``ON CONFLICT DO NOTHING`` in the same transaction as the event's effects: of two
workers applying the same event, the second finds the row (PostgreSQL makes it wait for
the first's commit) and its unit of work is retried, then sees a duplicate.

An outbox message's ``delivered`` flag and ``attempts`` count live in their own columns
(the document holds the rest), so two workers delivering at once never lose a count:
``attempts = attempts + 1`` is one statement. Marking a message delivered is one
``UPDATE`` too, except for an email, whose document is rewritten without its payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
import sqlalchemy as sa

from portal_access._domain.errors import ConflictError, NotFoundError, StaleStateError
from portal_access._domain.events import EmailRequested, OutboxMessage
from portal_access._domain.serialization import to_json
from portal_access._domain.validation import ensure_aware
from portal_access.storage._documents import load
from portal_access.storage.sql import _schema as schema
from portal_access.storage.sql._statements import Statement, insert_new, key_condition
from portal_access.storage.sql._transaction import SqlRepository, SqlTransaction

__all__ = [
    "CLEARED_PAYLOAD",
    "SqlGatewayEventRepository",
    "SqlIdempotencyRepository",
    "SqlOutboxRepository",
]

#: What a delivered email's payload becomes (its body held single-use links).
CLEARED_PAYLOAD = {"cleared": True}

_EVENTS, _OUTBOX, _IDEMPOTENCY = schema.gateway_events, schema.outbox, schema.idempotency
_RECORD_EVENT = insert_new(_EVENTS)
_EVENT_OUTCOME = Statement(sa.select(_EVENTS.c.outcome).where(key_condition(_EVENTS)))
_ADD_MESSAGE = insert_new(_OUTBOX)
_MESSAGES = sa.select(_OUTBOX.c.id, _OUTBOX.c.delivered, _OUTBOX.c.attempts, _OUTBOX.c.doc)
_MESSAGE = Statement(_MESSAGES.where(_OUTBOX.c.id == sa.bindparam("id")))
_PENDING = Statement(
    _MESSAGES.where(_OUTBOX.c.delivered == sa.false())
    .order_by(_OUTBOX.c.occurred_at, _OUTBOX.c.id)
    .limit(sa.bindparam("limit"))
)
_DELIVERED_NOT_EMAIL = Statement(
    sa.update(_OUTBOX)
    .where(
        _OUTBOX.c.id == sa.bindparam("key"),
        _OUTBOX.c.topic != sa.bindparam("email_topic", EmailRequested.topic),
    )
    .values(delivered=sa.true())
)
_DELIVERED_EMAIL = Statement(
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id == sa.bindparam("key"))
    .values(delivered=sa.true(), doc=sa.bindparam("doc"))
)
_FAILED = Statement(
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id == sa.bindparam("key"))
    .values(attempts=_OUTBOX.c.attempts + 1)
)
_RESULT = Statement(
    sa.select(_IDEMPOTENCY.c.result).where(_IDEMPOTENCY.c.key == sa.bindparam("key"))
)
_PUT_RESULT = insert_new(_IDEMPOTENCY)


class SqlGatewayEventRepository(SqlRepository):
    """Processed gateway events (:class:`portal_access.ports.GatewayEventRepository`)."""

    def record(self, gateway: str, event_id: str, outcome: str, at: datetime) -> bool:
        """Record the event; ``False`` (and nothing written) when already recorded.

        Raises:
            ValidationError: ``at`` is naive.
        """
        ensure_aware(at, field="at")
        values = {"gateway": gateway, "event_id": event_id, "outcome": outcome, "processed_at": at}
        return self._tx.count(_RECORD_EVENT, values) == 1

    def outcome(self, gateway: str, event_id: str) -> str | None:
        """The recorded outcome, or ``None`` when never processed."""
        row = self._tx.first(_EVENT_OUTCOME, {"gateway": gateway, "event_id": event_id})
        return None if row is None else str(row[0])


class SqlOutboxRepository(SqlRepository):
    """Messages waiting for delivery (:class:`portal_access.ports.OutboxRepository`).

    A message's payload is a ``dict`` (mutable), so messages are encoded and decoded
    without the store's :class:`~portal_access.storage._documents.DocumentCache`.
    """

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
        if self._tx.count(_ADD_MESSAGE, values) != 1:
            raise ConflictError(f"outbox message {message.id!r} exists")

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, delivered or not, or ``None``."""
        found = self._select(_MESSAGE, {"id": message_id})
        return found[0] if found else None

    def pending(self, limit: int) -> Sequence[OutboxMessage]:
        """Up to ``limit`` undelivered messages, oldest first (then by id)."""
        return self._select(_PENDING, {"limit": max(limit, 0)})

    def mark_delivered(self, message_id: str) -> None:
        """Mark delivered and clear the payload of emails (they hold single-use links).

        Raises:
            NotFoundError: no message has this id.
        """
        if self._tx.count(_DELIVERED_NOT_EMAIL, {"key": message_id}) == 1:
            return
        message = self.get(message_id)
        if message is None:
            raise NotFoundError("outbox message", message_id)
        assert message.topic == EmailRequested.topic
        cleared = to_json(attrs.evolve(message, payload=dict(CLEARED_PAYLOAD)))
        self._tx.count(_DELIVERED_EMAIL, {"key": message_id, "doc": cleared})

    def mark_failed(self, message_id: str) -> None:
        """Count one failed delivery attempt; the message stays pending.

        Raises:
            NotFoundError: no message has this id.
        """
        if self._tx.count(_FAILED, {"key": message_id}) != 1:
            raise NotFoundError("outbox message", message_id)

    def _select(self, statement: Statement, values: dict[str, object]) -> tuple[OutboxMessage, ...]:
        return tuple(
            attrs.evolve(
                load(doc, OutboxMessage, message_id),
                delivered=bool(delivered),
                attempts=int(attempts),
            )
            for message_id, delivered, attempts, doc in self._tx.all(statement, values)
        )


class SqlIdempotencyRepository(SqlRepository):
    """Use-case results by key (:class:`portal_access.ports.IdempotencyRepository`)."""

    def __init__(self, tx: SqlTransaction) -> None:
        super().__init__(tx)
        self._seen_missing: set[str] = set()

    def get(self, key: str) -> str | None:
        """The stored result (JSON text), or ``None``."""
        row = self._tx.first(_RESULT, {"key": key})
        if row is None:
            self._seen_missing.add(key)
            return None
        return str(row[0])

    def put(self, key: str, result: str) -> None:
        """Store the result under ``key``.

        Raises:
            StaleStateError: ``get`` found no result under ``key`` in this unit of work,
                but a concurrent one has since stored one: run the use case again to
                return it (a :class:`~portal_access.ConflictError` too).
            ConflictError: the key is taken.
        """
        if self._tx.count(_PUT_RESULT, {"key": key, "result": result}) == 1:
            return
        if key in self._seen_missing:
            raise StaleStateError(f"idempotency key {key!r} was taken by a concurrent request")
        raise ConflictError(f"idempotency key {key!r} is taken")
