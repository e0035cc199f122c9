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

import contextlib
import types
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import attrs

from portal_access._domain.errors import ConflictError, NotFoundError, StaleStateError
from portal_access._domain.events import EmailRequested, OutboxMessage
from portal_access._domain.serialization import to_json
from portal_access._domain.validation import ensure_aware
from portal_access.ports import Lock, Row, Scalar, Store
from portal_access.repositories._base import Repository
from portal_access.repositories._documents import load
from portal_access.repositories._tables import (
    GATEWAY_EVENTS,
    GATEWAY_EVENTS_BY_AGE,
    IDEMPOTENCY,
    OUTBOX,
    OUTBOX_PENDING,
)

__all__ = [
    "CLEARED_PAYLOAD",
    "GatewayEventRepository",
    "IdempotencyRepository",
    "OutboxRepository",
    "event_recorded",
]

#: What a delivered email's payload becomes.
CLEARED_PAYLOAD: Mapping[str, bool] = types.MappingProxyType({"cleared": True})


def event_recorded(store: Store, gateway: str, event_id: str) -> bool:
    """Whether the processed-event record of ``gateway``'s event ``event_id`` is
    committed: one read by key outside any unit of work
    (:meth:`~portal_access.ports.Store.read_committed`). A record once committed stays
    (until pruned), so ``True`` is final; ``False`` may be overtaken by a concurrent
    delivery, which the record's unique key still catches (:meth:`GatewayEventRepository.record`).

    >>> from datetime import datetime, timezone
    >>> from portal_access.repositories import unit_of_work
    >>> from portal_access.storage.memory import MemoryStore
    >>> store = MemoryStore()
    >>> event_recorded(store, "stripe", "evt_1")
    False
    >>> with unit_of_work(store) as uow:
    ...     uow.gateway_events.record("stripe", "evt_1", "applied", datetime.now(timezone.utc))
    True
    >>> event_recorded(store, "stripe", "evt_1")
    True

    Raises:
        StorageError: the store failed.
    """
    return store.read_committed(GATEWAY_EVENTS, (gateway, event_id)) is not None


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

    def record_removed_method(self, gateway: str, method_id: str, at: datetime) -> bool:
        """Remember that ``gateway`` removed the payment method ``method_id``; ``False``
        (nothing written) when remembered already.

        A removal is final at every vendor, and must win over a report of that method
        saved that is delivered after it (a retry, an out-of-order delivery), even when
        it names no contact. It is kept here, beside the events, under a key no vendor's
        event id takes (``removed-method:<id>``), and pruned with them: it outlives every
        delivery it must win over, as the event records do.

        Raises:
            ValidationError: ``at`` is naive.
        """
        return self.record(gateway, _removed_key(method_id), "removed", at)

    def method_removed(self, gateway: str, method_id: str) -> bool:
        """Whether ``gateway`` reported the payment method ``method_id`` removed."""
        return self.outcome(gateway, _removed_key(method_id)) is not None

    def prune(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` records of events processed before ``before``, oldest
        first; how many. (A vendor's retry of a pruned event is processed again: keep
        them longer than any retry or ``reconcile`` reaches back.)

        Raises:
            ValidationError: ``before`` is naive.
        """
        ensure_aware(before, field="before")
        rows = self.transaction.find(self.table, GATEWAY_EVENTS_BY_AGE, (), limit=max(limit, 0))
        deleted = 0
        for row in rows:
            processed = row.values["processed_at"]
            assert isinstance(processed, datetime)
            if processed < before:
                key = (row.values["gateway"], row.values["event_id"])
                deleted += self.transaction.delete(self.table, key)
        return deleted


class OutboxRepository(Repository):
    """Events waiting for delivery to the mailer and the host's subscribers.

    Workers *claim* the messages they deliver (:meth:`claim`): a claimed message is not
    due again until its lease ends, so no other worker claims it meanwhile; on
    PostgreSQL the claim reads with ``FOR UPDATE SKIP LOCKED`` (``Lock.SKIP``), so two
    workers claiming at once take different messages, and stores that run one
    transaction at a time (SQLite, memory) claim in one short write transaction.
    """

    table = OUTBOX

    def add(
        self,
        message: OutboxMessage,
        *,
        due_at: datetime | None = None,
        claimed_by: str | None = None,
    ) -> None:
        """Append a message, due at ``due_at`` (default: when it occurred) and claimed by
        ``claimed_by`` (a worker delivering it right after this unit of work commits).
        One added as ``delivered`` is kept, and never pending.

        Raises:
            ConflictError: a message with this id exists.
            ValidationError: ``due_at`` is naive.
        """
        if due_at is not None:
            ensure_aware(due_at, field="due_at")
        row = _message_row(message, due_at or message.occurred_at, claimed_by)
        if not self.transaction.insert(self.table, row):
            raise ConflictError(f"outbox message {message.id!r} exists")

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, delivered or not, or ``None``."""
        row = self.transaction.get(self.table, (message_id,))
        return None if row is None else _message(row)

    def pending(self, limit: int) -> Sequence[OutboxMessage]:
        """Up to ``limit`` undelivered messages, soonest due first (then by id), whether
        or not they are due yet.

        Raises:
            StorageError: a stored message cannot be read.
        """
        rows = self.transaction.find(self.table, OUTBOX_PENDING, (False,), limit=max(limit, 0))
        return tuple(_message(row) for row in rows)

    def claim(
        self,
        *,
        now: datetime,
        until: datetime,
        claim: str,
        limit: int,
        topics: Collection[str] | None = None,
    ) -> Sequence[OutboxMessage]:
        """Claim up to ``limit`` undelivered messages due at ``now`` (of ``topics`` only,
        when given) for the worker ``claim`` names, until ``until`` (the lease); return
        them, soonest due first. Messages another open transaction is claiming are left
        to it (``Lock.SKIP``).

        Raises:
            ValidationError: ``now`` or ``until`` is naive.
            StorageError: a due message cannot be read (nothing is claimed).
        """
        ensure_aware(now, field="now")
        ensure_aware(until, field="until")
        rows = self.transaction.find(
            self.table, OUTBOX_PENDING, (False,), limit=max(limit, 0), lock=Lock.SKIP
        )
        due_rows = [
            row
            for row in rows
            if not row.values["delivered"]
            and _due(row) <= now
            and (topics is None or row.values["topic"] in topics)
        ]
        messages = [_message(row) for row in due_rows]  # a damaged one fails before any write
        claimed = []
        for row, message in zip(due_rows, messages, strict=True):
            values = {**row.values, "due_at": until, "claimed_by": claim}
            if self.transaction.update(self.table, Row(values, row.doc)):
                claimed.append(message)
        return tuple(claimed)

    def claimed_by(self, message_id: str) -> str | None:
        """The claim of the worker that last claimed the message (``None``: unclaimed,
        or no such message)."""
        row = self.transaction.get(self.table, (message_id,))
        return None if row is None else _optional_str(row.values["claimed_by"])

    def due_at(self, message_id: str) -> datetime | None:
        """When the message is due (undelivered) or was delivered; ``None``: no message."""
        row = self.transaction.get(self.table, (message_id,))
        if row is None:
            return None
        due = row.values["due_at"]
        assert isinstance(due, datetime)
        return due

    def mark_delivered(self, message_id: str, *, at: datetime | None = None) -> None:
        """Mark delivered (at ``at``, from which its retention counts; default: when it
        was last due) and clear the payload of emails (they hold single-use links): an
        ``email.requested`` message's payload becomes ``{"cleared": True}``.

        Raises:
            NotFoundError: no message has this id.
            ValidationError: ``at`` is naive.
        """
        if at is not None:
            ensure_aware(at, field="at")
        row = self._locked(message_id)
        message = _message(row)
        if message.topic == EmailRequested.topic:
            message = attrs.evolve(message, payload=dict(CLEARED_PAYLOAD))
        delivered = attrs.evolve(message, delivered=True)
        due = at if at is not None else row.values["due_at"]
        assert isinstance(due, datetime)
        claimed = _optional_str(row.values["claimed_by"])
        self.transaction.update(self.table, _message_row(delivered, due, claimed))

    def mark_all_delivered(self, delivered: Sequence[tuple[OutboxMessage, datetime]]) -> None:
        """Mark each message delivered at its instant, as :meth:`mark_delivered` does
        (an email's payload cleared), skipping any no longer stored. A store may serve
        it in one statement
        (:class:`~portal_access.storage.sql.SqlStore` does).

        Raises:
            ValidationError: an instant is naive.
        """
        for message, at in delivered:
            with contextlib.suppress(NotFoundError):  # deleted meanwhile: nothing to mark
                self.mark_delivered(message.id, at=at)

    def mark_failed(
        self, message_id: str, *, retry_at: datetime | None = None, claim: str | None = None
    ) -> bool:
        """Count one failed delivery attempt; the message stays pending, due again at
        ``retry_at`` (default: unchanged), and unclaimed. With ``claim``, only while that
        claim still holds the message. ``False``, writing nothing, when the message was
        delivered meanwhile or another worker has claimed it since.

        Raises:
            NotFoundError: no message has this id.
            ValidationError: ``retry_at`` is naive.
        """
        if retry_at is not None:
            ensure_aware(retry_at, field="retry_at")
        row = self._locked(message_id)
        if row.values["delivered"] or (claim is not None and row.values["claimed_by"] != claim):
            return False
        message = _message(row)
        failed = attrs.evolve(message, attempts=message.attempts + 1)
        due = retry_at if retry_at is not None else row.values["due_at"]
        assert isinstance(due, datetime)
        self.transaction.update(self.table, _message_row(failed, due, None))
        return True

    def prune(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` messages delivered before ``before``, first delivered
        first; how many. Undelivered messages are never deleted.

        Raises:
            ValidationError: ``before`` is naive.
        """
        ensure_aware(before, field="before")
        rows = self.transaction.find(self.table, OUTBOX_PENDING, (True,), limit=max(limit, 0))
        deleted = 0
        for row in rows:
            due = row.values["due_at"]
            assert isinstance(due, datetime)
            if row.values["delivered"] and due < before:
                deleted += self.transaction.delete(self.table, (row.values["id"],))
        return deleted

    @staticmethod
    def _decoded(row: Row) -> OutboxMessage:
        """The message in an outbox row (for subclasses that read rows their own way).

        Raises:
            StorageError: the row cannot be read.
        """
        return _message(row)

    @staticmethod
    def _delivered_document(message: OutboxMessage) -> str | None:
        """The document a delivered ``message`` keeps: an email's with its payload
        cleared, ``None`` for any other (its document stays as it is)."""
        if message.topic != EmailRequested.topic:
            return None
        return to_json(attrs.evolve(message, payload=dict(CLEARED_PAYLOAD), delivered=True))

    def _locked(self, message_id: str) -> Row:
        row = self.transaction.get(self.table, (message_id,), lock=Lock.WAIT)
        if row is None:
            raise NotFoundError("outbox message", message_id)
        return row


def _due(row: Row) -> datetime:
    due = row.values["due_at"]
    assert isinstance(due, datetime)
    return due


def _optional_str(value: Scalar) -> str | None:
    return None if value is None else str(value)


def _message_row(message: OutboxMessage, due_at: datetime, claimed_by: str | None) -> Row:
    values: dict[str, Scalar] = {
        "id": message.id,
        "occurred_at": message.occurred_at,
        "topic": message.topic,
        "delivered": message.delivered,
        "attempts": message.attempts,
        "due_at": due_at,
        "claimed_by": claimed_by,
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


def _removed_key(method_id: str) -> str:
    """The event-id column's key of a removed method: no vendor's event id has a colon
    after ``removed-method`` (Stripe's are ``evt_...``, Square's UUIDs, PayPal's
    ``WH-...``, the sandbox's ``evt_sbx_...``)."""
    return f"removed-method:{method_id}"
