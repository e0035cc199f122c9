"""Repositories of processed gateway events, the outbox and idempotency results.

A processed event is a row under ``(gateway, event_id)``, inserted in the same unit of
work as the event's effects: a failed apply rolls it back and the vendor's retry is
processed; of two workers applying one event, the second finds the row.

An outbox message's payload is a ``dict`` (mutable), so messages are encoded and decoded
afresh every time, never shared through the document cache; its ``delivered`` flag and
``attempts`` count live in their columns. Delivering an email clears its payload, which
held single-use links.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from portal_access._domain.errors import ConflictError, NotFoundError, StaleStateError
from portal_access._domain.events import EmailRequested, OutboxMessage
from portal_access._domain.serialization import to_json
from portal_access._domain.validation import ensure_aware
from portal_access.ports import Lock, Row, Scalar
from portal_access.repositories._base import Repository
from portal_access.repositories._documents import load
from portal_access.repositories._tables import (
    GATEWAY_EVENTS,
    IDEMPOTENCY,
    OUTBOX,
    OUTBOX_PENDING,
)

__all__ = [
    "CLEARED_PAYLOAD",
    "GatewayEventRepository",
    "IdempotencyRepository",
    "OutboxRepository",
]

#: What a delivered email's payload becomes.
CLEARED_PAYLOAD: Mapping[str, bool] = types.MappingProxyType({"cleared": True})


class GatewayEventRepository(Repository):
    """Which gateway events were processed: written in the same unit of work as their
    effects, so a failed apply rolls it back and the vendor's retry is processed."""

    table = GATEWAY_EVENTS

    def record(self, gateway: str, event_id: str, outcome: str, at: datetime) -> bool:
        """Record the event; ``False`` (and nothing written) when already recorded.

        Raises:
            ValidationError: ``at`` is naive.
        """
        ensure_aware(at, field="at")
        values = {"gateway": gateway, "event_id": event_id, "outcome": outcome}
        return self.transaction.insert(self.table, Row({**values, "processed_at": at}))

    def outcome(self, gateway: str, event_id: str) -> str | None:
        """The recorded outcome, or ``None`` when never processed."""
        row = self.transaction.get(self.table, (gateway, event_id))
        return None if row is None else str(row.values["outcome"])


class OutboxRepository(Repository):
    """Events waiting for delivery to the mailer and the host's subscribers."""

    table = OUTBOX

    def add(self, message: OutboxMessage) -> None:
        """Append a message. One added as ``delivered`` is kept, and never pending.

        Raises:
            ConflictError: a message with this id exists.
        """
        if not self.transaction.insert(self.table, self._message_row(message)):
            raise ConflictError(f"outbox message {message.id!r} exists")

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, delivered or not, or ``None``."""
        row = self.transaction.get(self.table, (message_id,))
        return None if row is None else _message(row)

    def pending(self, limit: int) -> Sequence[OutboxMessage]:
        """Up to ``limit`` undelivered messages, oldest first (then by id)."""
        rows = self.transaction.find(self.table, OUTBOX_PENDING, (False,), limit=max(limit, 0))
        return tuple(_message(row) for row in rows)

    def mark_delivered(self, message_id: str) -> None:
        """Mark delivered and clear the payload of emails (they hold single-use links):
        an ``email.requested`` message's payload becomes ``{"cleared": True}``.

        Raises:
            NotFoundError: no message has this id.
        """
        message = self._locked(message_id)
        if message.topic == EmailRequested.topic:
            message = attrs.evolve(message, payload=dict(CLEARED_PAYLOAD))
        self.transaction.update(
            self.table, self._message_row(attrs.evolve(message, delivered=True))
        )

    def mark_failed(self, message_id: str) -> None:
        """Count one failed delivery attempt; the message stays pending.

        Raises:
            NotFoundError: no message has this id.
        """
        message = self._locked(message_id)
        failed = attrs.evolve(message, attempts=message.attempts + 1)
        self.transaction.update(self.table, self._message_row(failed))

    def _locked(self, message_id: str) -> OutboxMessage:
        row = self.transaction.get(self.table, (message_id,), lock=Lock.WAIT)
        if row is None:
            raise NotFoundError("outbox message", message_id)
        return _message(row)

    @staticmethod
    def _message_row(message: OutboxMessage) -> Row:
        values: dict[str, Scalar] = {
            "id": message.id,
            "occurred_at": message.occurred_at,
            "topic": message.topic,
            "delivered": message.delivered,
            "attempts": message.attempts,
        }
        return Row(values, to_json(message))


def _message(row: Row) -> OutboxMessage:
    assert row.doc is not None
    values = row.values
    attempts = values["attempts"]
    assert isinstance(attempts, int)
    message = load(row.doc, OutboxMessage, values["id"])
    return attrs.evolve(message, delivered=bool(values["delivered"]), attempts=attempts)


class IdempotencyRepository(Repository):
    """Results of use cases run under an idempotency key."""

    table = IDEMPOTENCY

    def get(self, key: str) -> str | None:
        """The stored result (JSON text), or ``None``."""
        row = self._read((key,))
        return None if row is None else str(row.values["result"])

    def put(self, key: str, result: str) -> None:
        """Store the result under ``key``.

        Raises:
            StaleStateError: ``get`` found no result under ``key`` in this unit of work,
                but a concurrent one has since stored one: run the use case again to
                return it (a :class:`~portal_access.ConflictError` too).
            ConflictError: the key is taken.
        """
        if self.transaction.insert(self.table, Row({"key": key, "result": result})):
            return
        if (key,) in self._missing:
            raise StaleStateError(f"idempotency key {key!r} was taken by a concurrent request")
        raise ConflictError(f"idempotency key {key!r} is taken")
