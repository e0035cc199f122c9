"""Memory repositories for processed gateway events, the outbox and idempotency results.

Outbox payloads are dicts, the one mutable thing a store keeps: they are copied on the
way in and on the way out, so no caller can change a committed message in place.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from portal_access._domain.errors import ConflictError, NotFoundError
from portal_access._domain.events import EmailRequested, OutboxMessage
from portal_access._domain.validation import aware_datetime, instance_of
from portal_access.storage.memory._tables import Repository, Transaction

__all__ = [
    "CLEARED_PAYLOAD",
    "MemoryGatewayEventRepository",
    "MemoryIdempotencyRepository",
    "MemoryOutboxRepository",
    "ProcessedEvent",
]

#: What a delivered email's payload becomes (its body held single-use links).
CLEARED_PAYLOAD: Mapping[str, bool] = types.MappingProxyType({"cleared": True})


@attrs.frozen
class ProcessedEvent:
    """A gateway event as recorded: its outcome and when it was processed."""

    outcome: str = attrs.field(validator=instance_of(str))
    at: datetime = attrs.field(validator=aware_datetime)


class MemoryGatewayEventRepository(Repository):
    """Processed gateway events (:class:`portal_access.ports.GatewayEventRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "gateway_events")

    def record(self, gateway: str, event_id: str, outcome: str, at: datetime) -> bool:
        """Record the event; ``False`` (and nothing written) when already recorded.

        Raises:
            ValidationError: ``at`` is naive.
        """
        if (gateway, event_id) in self._rows():
            return False
        self._writable()[(gateway, event_id)] = ProcessedEvent(outcome=outcome, at=at)
        return True

    def outcome(self, gateway: str, event_id: str) -> str | None:
        """The recorded outcome, or ``None`` when never processed."""
        found: ProcessedEvent | None = self._rows().get((gateway, event_id))
        return None if found is None else found.outcome


class MemoryOutboxRepository(Repository):
    """Messages waiting for delivery (:class:`portal_access.ports.OutboxRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "outbox")

    def add(self, message: OutboxMessage) -> None:
        """Append a message.

        Raises:
            ConflictError: a message with this id exists.
        """
        if message.id in self._rows():
            raise ConflictError(f"outbox message {message.id!r} exists")
        self._writable()[message.id] = _copied(message)

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, delivered or not, or ``None``."""
        found: OutboxMessage | None = self._rows().get(message_id)
        return None if found is None else _copied(found)

    def pending(self, limit: int) -> Sequence[OutboxMessage]:
        """Up to ``limit`` undelivered messages, oldest first (then by id)."""
        messages: list[OutboxMessage] = list(self._rows().values())
        waiting = sorted((m for m in messages if not m.delivered), key=_age)
        return tuple(_copied(m) for m in waiting[: max(limit, 0)])

    def mark_delivered(self, message_id: str) -> None:
        """Mark delivered and clear the payload of emails (they hold single-use links).

        Raises:
            NotFoundError: no message has this id.
        """
        message = self._get(message_id)
        emailed = message.topic == EmailRequested.topic
        payload = dict(CLEARED_PAYLOAD) if emailed else message.payload
        self._writable()[message_id] = attrs.evolve(message, delivered=True, payload=payload)

    def mark_failed(self, message_id: str) -> None:
        """Count one failed delivery attempt; the message stays pending.

        Raises:
            NotFoundError: no message has this id.
        """
        message = self._get(message_id)
        self._writable()[message_id] = attrs.evolve(message, attempts=message.attempts + 1)

    def _get(self, message_id: str) -> OutboxMessage:
        found: OutboxMessage | None = self._rows().get(message_id)
        if found is None:
            raise NotFoundError("outbox message", message_id)
        return found


class MemoryIdempotencyRepository(Repository):
    """Use-case results by key (:class:`portal_access.ports.IdempotencyRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "idempotency")

    def get(self, key: str) -> str | None:
        """The stored result (JSON text), or ``None``."""
        found: str | None = self._rows().get(key)
        return found

    def put(self, key: str, result: str) -> None:
        """Store the result under ``key``.

        Raises:
            ConflictError: the key is taken.
        """
        if key in self._rows():
            raise ConflictError(f"idempotency key {key!r} is taken")
        self._writable()[key] = result


def _age(message: OutboxMessage) -> tuple[datetime, str]:
    return message.occurred_at, message.id


def _copied(message: OutboxMessage) -> OutboxMessage:
    return attrs.evolve(message, payload=copy.deepcopy(message.payload))
