"""What every use case works with: the ports, the policy, and a unit-of-work runner.

:func:`run` is the one way a use case touches the store: it opens a unit of work,
retries the whole use case when the store reports a lost race (row versions), writes
events to the outbox inside the same transaction, and delivers the outbox after commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import quote

import attrs

from portal_access._domain.access import PortalPolicy
from portal_access._domain.audit import Actor
from portal_access._domain.documents import DOCUMENT_LINK_LIFETIME
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ConfigurationError, StaleStateError, StorageError
from portal_access._domain.events import DomainEvent, EmailRequested, OutboxMessage
from portal_access._domain.serialization import unstructure
from portal_access._service.emails import EmailTemplates
from portal_access.ports import (
    BackgroundRunner,
    Clock,
    DocumentRenderer,
    Mailer,
    PasswordHasher,
    PaymentGateway,
    RateLimiter,
    Store,
    TokenSource,
)
from portal_access.repositories import UnitOfWork, unit_of_work

__all__ = ["PortalLinks", "ServiceContext", "Subscriber", "Work", "run"]

T = TypeVar("T")
Subscriber = Callable[[OutboxMessage], object]
log = logging.getLogger("portal_access")

#: How often a use case is retried after losing a race on a row version.
MAX_ATTEMPTS = 8
#: How many pending outbox messages one delivery takes.
DELIVERY_BATCH = 100
_DUMMY_PASSWORD = "portal-access timing equaliser"  # noqa: S105 - not a credential

#: How many times one delivery goes back for messages its own subscribers caused.
DELIVERY_ROUNDS = 10

#: Whether this thread is delivering the outbox now: a subscriber that runs a use case
#: must not have the message it is handling delivered to it again (recursively), so a
#: use case run from inside a delivery leaves its events to that delivery's next round.
_delivery = threading.local()


@attrs.frozen
class PortalLinks:
    """Where single-use links point. Each path gets ``?token=...`` appended.

    Args:
        base_url: the portal's root (seed 001 "Customer portal URL").
        invitation: accept an invitation / set the first password (GET shows a confirm form).
        set_password: set a password from "send portal instructions" (seed 003).
        reset_password: choose a new password ("Having trouble?").
        resubscribe: the re-subscribe page (seed 000).
        document: a document (invoice, statement) after login; its links are signed,
            reusable until they expire (seed 004).
    """

    base_url: str = "https://portal.invalid"
    invitation: str = "/portal/invitation"
    set_password: str = "/portal/set-password"  # noqa: S105 - a path
    reset_password: str = "/portal/reset-password"  # noqa: S105 - a path
    resubscribe: str = "/portal/resubscribe"
    document: str = "/portal/document"

    def link(self, path: str, token: str) -> str:
        """The absolute URL of ``path`` carrying ``token``."""
        return f"{self.base_url.rstrip('/')}{path}?token={quote(token, safe='')}"


@attrs.define
class ServiceContext:
    """The ports and settings a :class:`~portal_access.PortalAccess` was built from."""

    store: Store
    gateways: Mapping[str, PaymentGateway]
    mailer: Mailer
    clock: Clock
    ids: TokenSource
    hasher: PasswordHasher
    limiter: RateLimiter
    policy: PortalPolicy
    templates: EmailTemplates
    links: PortalLinks
    business_name: str
    background: BackgroundRunner
    document_link_key: bytes | None = attrs.field(default=None, repr=False)
    document_link_lifetime: timedelta = DOCUMENT_LINK_LIFETIME
    renderer: DocumentRenderer | None = None
    subscribers: list[tuple[str | None, Subscriber]] = attrs.field(factory=list)
    _dummy_hash: str | None = attrs.field(default=None, init=False, repr=False)

    def dummy_hash(self) -> str:
        """A hash of no one's password, computed once: verified against when no login
        matches, so a miss costs the same one hash check as a hit."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(_DUMMY_PASSWORD)
        return self._dummy_hash

    def receives(self, topic: str) -> bool:
        """Whether delivering a ``topic`` message calls anyone: the mailer for emails,
        and every subscriber of the topic or of all topics."""
        return topic == EmailRequested.topic or any(
            wanted is None or wanted == topic for wanted, _ in self.subscribers
        )

    def gateway(self, name: str) -> PaymentGateway:
        """The configured gateway called ``name``.

        Raises:
            ConfigurationError: no such gateway was given to the portal.
        """
        given: object = name  # a host may pass anything; never repr() what is not text
        found = self.gateways.get(given) if isinstance(given, str) else None
        if found is None:
            shown = repr(given)[:80] if isinstance(given, str) else "(not a name)"
            raise ConfigurationError(
                f"no gateway {shown} configured; have {sorted(self.gateways)}", field="gateway"
            )
        return found


@attrs.define
class Work:
    """A unit of work plus the events the use case emits into it.

    ``actor`` is who the use case acts for, for the audit trail (staff use cases set
    it to the staff member; gateway events to the gateway).
    """

    uow: UnitOfWork
    context: ServiceContext
    actor: Actor = attrs.field(factory=Actor.system)
    #: When this unit of work's audit trail entries happened: the clock's reading at
    #: the first one, shared by the rest (``_service/audit_trail.record``).
    audited_at: datetime | None = None

    def emit(self, event: DomainEvent) -> None:
        """Write ``event`` to the outbox, in this unit of work, for delivery after commit.

        An event nobody receives (not an email, and no subscriber of its topic or of
        every topic) is not written: the outbox holds what is to be delivered, and
        delivering it would call no one. Its facts are in the rows the use case wrote
        (the payment, the access state, the processed gateway event).
        """
        if not self.context.receives(event.topic):
            return
        self.uow.outbox.add(
            OutboxMessage(
                id=self.context.ids.new_id("ev_"),
                occurred_at=self.context.clock.now(),
                topic=event.topic,
                payload=unstructure(event),
            )
        )


def run(context: ServiceContext, use_case: Callable[[Work], T], *, deliver: bool = True) -> T:
    """Run ``use_case`` in one unit of work, retrying lost races, then deliver the outbox.

    The unit of work ends by reading what the outbox holds for delivery (the use case's
    events and any left by an earlier failure), so delivering after commit needs no
    second read; only the outcomes are written, in one more unit of work. With
    ``deliver=False`` (an anonymous visitor's request, whose time must not depend on
    what it found) nothing is read or delivered: the outbox waits for the next use case
    or :func:`deliver_outbox`.

    A failure leaves the store as it was: the unit of work rolls back, events included.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with unit_of_work(context.store) as uow:
                result = use_case(Work(uow, context))
                pending = _pending(uow) if deliver else []
            break
        except StaleStateError:
            if attempt == MAX_ATTEMPTS:
                raise
            log.info("portal_access: lost a race (attempt %d); retrying", attempt)
    try:
        _deliver_rounds(context, pending)
    except Exception:  # committed is committed: delivery is retried by deliver_outbox()
        log.exception("portal_access: outbox delivery failed after commit; will retry")
    return result


def deliver_outbox(context: ServiceContext, *, batch: int = DELIVERY_BATCH) -> int:
    """Deliver pending outbox messages to the mailer and subscribers; return how many.

    Delivery is at least once: a message whose delivery raised stays pending (its
    attempt count grows) and is tried again on the next call. Outcomes are written back
    in one unit of work per batch.
    """
    return _deliver_rounds(context, None, batch=batch)


def _deliver_rounds(
    context: ServiceContext, pending: list[OutboxMessage] | None, *, batch: int = DELIVERY_BATCH
) -> int:
    """Deliver ``pending`` (``None``: read them), then what the subscribers' own use cases
    added meanwhile, for up to :data:`DELIVERY_ROUNDS` rounds; how many were delivered.

    Called while this thread is already delivering (a subscriber ran a use case), it
    delivers nothing and asks the delivery under way for another round.
    """
    if getattr(_delivery, "active", False):
        _delivery.more = True
        return 0
    _delivery.active = True
    try:
        delivered = 0
        for _round in range(DELIVERY_ROUNDS):
            _delivery.more = False
            if pending is None:
                with unit_of_work(context.store) as uow:
                    pending = list(uow.outbox.pending(batch))
            delivered += _deliver_all(context, pending)
            if not _delivery.more:
                break
            pending = None
        return delivered
    finally:
        _delivery.active = False


def _pending(uow: UnitOfWork) -> list[OutboxMessage] | None:
    """The messages to deliver once ``uow`` commits; ``None`` when a stored message cannot
    be read (delivery after commit then reads, and reports, on its own)."""
    try:
        return list(uow.outbox.pending(DELIVERY_BATCH))
    except StorageError:
        return None


def _deliver_all(context: ServiceContext, pending: Sequence[OutboxMessage]) -> int:
    """Deliver ``pending`` (committed messages), then record every outcome in one unit of
    work; how many were delivered."""
    if not pending:
        return 0
    delivered: list[str] = []
    failed: list[str] = []
    for message in pending:
        try:
            _deliver(context, message)
        except Exception:  # a host subscriber or mailer failed: keep it for a retry
            log.exception("portal_access: delivering %s %s failed", message.topic, message.id)
            failed.append(message.id)
        else:
            delivered.append(message.id)
    with unit_of_work(context.store) as uow:
        for message_id in delivered:
            uow.outbox.mark_delivered(message_id)
        for message_id in failed:
            uow.outbox.mark_failed(message_id)
    return len(delivered)


def _deliver(context: ServiceContext, message: OutboxMessage) -> None:
    if message.topic == EmailRequested.topic:
        payload = message.payload
        context.mailer.send(
            message_id=message.id,
            to=[EmailAddress.parse(address) for address in payload["to"]],
            subject=payload["subject"],
            text=payload["text"],
            html=payload["html"],
        )
    for wanted, subscriber in context.subscribers:
        if wanted is None or wanted == message.topic:
            subscriber(message)
