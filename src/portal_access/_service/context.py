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
from portal_access._domain.outbox import OutboxSettings
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

__all__ = ["Claim", "PortalLinks", "ServiceContext", "Subscriber", "Work", "deliver_outbox", "run"]

T = TypeVar("T")
Subscriber = Callable[[OutboxMessage], object]
log = logging.getLogger("portal_access")

#: How often a use case is retried after losing a race on a row version.
MAX_ATTEMPTS = 8
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
    business_name: str | None
    background: BackgroundRunner
    document_link_key: bytes | None = attrs.field(default=None, repr=False)
    document_link_lifetime: timedelta = DOCUMENT_LINK_LIFETIME
    renderer: DocumentRenderer | None = None
    outbox: OutboxSettings = attrs.field(factory=OutboxSettings)
    #: Topics stored whether or not this process subscribes to them (another process
    #: delivers them: the host's worker).
    kept_topics: frozenset[str] = frozenset()
    subscribers: list[tuple[str | None, Subscriber]] = attrs.field(factory=list)
    _dummy_hash: str | None = attrs.field(default=None, init=False, repr=False)

    def dummy_hash(self) -> str:
        """A hash of no one's password, computed once: verified against when no login
        matches, so a miss costs the same one hash check as a hit."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(_DUMMY_PASSWORD)
        return self._dummy_hash

    def receives(self, topic: str) -> bool:
        """Whether delivering a ``topic`` message here calls anyone: the mailer for
        emails, and every subscriber of the topic or of all topics."""
        return topic == EmailRequested.topic or any(
            wanted is None or wanted == topic for wanted, _ in self.subscribers
        )

    def delivers(self) -> frozenset[str] | None:
        """The topics this process delivers (``None``: every topic): a message of any
        other topic is left for a process that subscribes to it."""
        if any(wanted is None for wanted, _ in self.subscribers):
            return None
        return frozenset({EmailRequested.topic, *(t for t, _ in self.subscribers if t)})

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
    #: The claim this unit of work's own messages are written under, when the worker
    #: running it delivers them right after commit (see :func:`run`).
    claim: Claim | None = None
    #: The messages emitted under :attr:`claim`, to deliver after commit.
    emitted: list[OutboxMessage] = attrs.field(factory=list)

    def emit(self, event: DomainEvent) -> None:
        """Write ``event`` to the outbox, in this unit of work, for delivery after commit.

        An event nobody receives (not an email, no subscriber of its topic or of every
        topic, and not among the topics the host keeps, ``PortalAccess(topics=...)``) is
        not written: the outbox holds what is to be delivered, and delivering it would
        call no one. Its facts are in the rows the use case wrote (the payment, the
        access state, the processed gateway event).
        """
        here = self.context.receives(event.topic)
        if not here and event.topic not in self.context.kept_topics:
            return
        message = OutboxMessage(
            id=self.context.ids.new_id("ev_"),
            occurred_at=self.context.clock.now(),
            topic=event.topic,
            payload=unstructure(event),
        )
        claim = self.claim
        if claim is None or not here:  # not here: a process that subscribes delivers it
            self.uow.outbox.add(message)
            return
        self.uow.outbox.add(message, due_at=claim.until, claimed_by=claim.id)
        self.emitted.append(message)


@attrs.frozen
class Claim:
    """One delivery's claim on outbox messages: its id, and when its lease ends."""

    id: str
    until: datetime

    @classmethod
    def new(cls, context: ServiceContext) -> Claim:
        """A claim with a fresh id, whose lease starts now."""
        until = context.clock.now() + context.outbox.lease
        return cls(context.ids.new_id("claim_"), until)


def run(context: ServiceContext, use_case: Callable[[Work], T], *, deliver: bool = True) -> T:
    """Run ``use_case`` in one unit of work, retrying lost races, then deliver the outbox.

    The use case's own messages are written already claimed by this delivery, and the
    unit of work ends by claiming what else is due (left by an earlier failure or by a
    request that did not deliver), so delivering after commit needs no second read;
    only the outcomes are written, in one more unit of work. With ``deliver=False`` (an
    anonymous visitor's request, whose time must not depend on what it found) nothing
    is claimed or delivered: the outbox waits for the next use case or
    :func:`deliver_outbox`. A use case run by a subscriber during a delivery leaves its
    messages to that delivery's next round.

    A failure leaves the store as it was: the unit of work rolls back, events included.
    """
    claiming = deliver and not getattr(_delivery, "active", False)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claim = Claim.new(context) if claiming else None
        try:
            with unit_of_work(context.store) as uow:
                work = Work(uow, context, claim=claim)
                result = use_case(work)
                claimed = _claim(context, uow, claim) if claim is not None else []
            break
        except StaleStateError:
            if attempt == MAX_ATTEMPTS:
                raise
            log.info("portal_access: lost a race (attempt %d); retrying", attempt)
    if claim is not None:
        try:
            _deliver_rounds(context, (claim, [*work.emitted, *(claimed or [])]))
            if claimed is None:  # a stored message could not be read: read again, report
                _deliver_rounds(context, None)
        except Exception:  # committed is committed: delivery is retried by deliver_outbox()
            log.exception("portal_access: outbox delivery failed after commit; will retry")
    elif deliver:
        _delivery.more = True  # inside a delivery: its next round takes our messages
    return result


def deliver_outbox(context: ServiceContext) -> int:
    """Claim the outbox messages due now (a batch) and deliver them to the mailer and
    subscribers, then what their subscribers' use cases added; return how many went out.

    Delivery is at least once: a message whose delivery raised stays pending (its
    attempt count grows) and is due again after a wait that doubles with each failure
    (:class:`~portal_access.OutboxSettings`); a worker that died mid-send holds its
    claim until the lease ends. Outcomes are written back in one unit of work per batch.
    """
    return _deliver_rounds(context, None)


def _claim(
    context: ServiceContext, uow: UnitOfWork, claim: Claim, *, report: bool = False
) -> list[OutboxMessage] | None:
    """Claim, for ``claim``, the messages due now; ``None`` when a stored message cannot
    be read (then nothing is claimed; with ``report``, the error propagates)."""
    try:
        return list(
            uow.outbox.claim(
                now=context.clock.now(),
                until=claim.until,
                claim=claim.id,
                limit=context.outbox.batch,
                topics=context.delivers(),
            )
        )
    except StorageError:
        if report:
            raise
        return None


def _deliver_rounds(
    context: ServiceContext, first: tuple[Claim, list[OutboxMessage]] | None
) -> int:
    """Deliver ``first`` (``None``: claim a batch), then what the subscribers' own use
    cases added meanwhile, for up to :data:`DELIVERY_ROUNDS` rounds; how many were
    delivered.

    Called while this thread is already delivering (a subscriber ran a use case), it
    delivers nothing and asks the delivery under way for another round.
    """
    if getattr(_delivery, "active", False):
        _delivery.more = True
        return 0
    _delivery.active = True
    try:
        delivered = 0
        batch = first
        for _round in range(DELIVERY_ROUNDS):
            _delivery.more = False
            if batch is None:
                claim = Claim.new(context)
                with unit_of_work(context.store) as uow:
                    batch = (claim, _claim(context, uow, claim, report=True) or [])
            delivered += _deliver_all(context, *batch)
            if not _delivery.more:
                break
            batch = None
        return delivered
    finally:
        _delivery.active = False


def _deliver_all(context: ServiceContext, claim: Claim, claimed: Sequence[OutboxMessage]) -> int:
    """Deliver ``claimed`` (committed messages ``claim`` holds), then record every
    outcome in one unit of work; how many were delivered."""
    if not claimed:
        return 0
    delivered: list[str] = []
    failed: list[OutboxMessage] = []
    for message in claimed:
        try:
            _deliver(context, message)
        except Exception:  # a host subscriber or mailer failed: keep it for a retry
            log.exception("portal_access: delivering %s %s failed", message.topic, message.id)
            failed.append(message)
        else:
            delivered.append(message.id)
    now = context.clock.now()
    with unit_of_work(context.store) as uow:
        for message_id in delivered:
            uow.outbox.mark_delivered(message_id, at=now)
        for message in failed:
            retry_at = now + context.outbox.retry_delay(message.attempts + 1)
            uow.outbox.mark_failed(message.id, retry_at=retry_at, claim=claim.id)
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
