"""What every use case works with: the ports, the policy, and a unit-of-work runner.

:func:`run` is the one way a use case touches the store: it opens a unit of work,
retries the whole use case when the store reports a lost race (row versions), writes
events to the outbox inside the same transaction, and delivers the outbox after commit.

What became of the messages a process delivered is not a commit of its own: the
outcomes wait in the process (:class:`WaitingOutcomes`) and are written by the next
unit of work that writes anyway, the next use case's or the next claim's. The messages
stay claimed by their delivery until then, so no other worker takes them. Outcomes are
written in a small unit of work of their own when they cannot wait: a failed delivery
(its retry is the backoff's), outcomes that waited half their lease (checked after
each delivery, and in an idle process by a watcher that queues the write on the
portal's background runner), the batch of :func:`deliver_outbox` before it returns,
and what still waits when the interpreter exits. A process that dies first loses only
its outcomes: the lease ends and the messages are delivered again, with the same ids
(at least once, as before).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar
from urllib.parse import quote

import attrs

from portal_access._domain.access import PortalPolicy
from portal_access._domain.audit import Actor
from portal_access._domain.documents import DOCUMENT_LINK_LIFETIME
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import (
    ConfigurationError,
    NotFoundError,
    StaleStateError,
    StorageError,
)
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

__all__ = [
    "Claim",
    "Outcome",
    "PortalLinks",
    "ServiceContext",
    "Subscriber",
    "WaitingOutcomes",
    "Work",
    "deliver_outbox",
    "run",
    "write_outcomes",
]

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


@attrs.frozen
class Outcome:
    """What became of one delivered message, waiting to be written: delivered at ``at``,
    or (``failed``) its delivery raised at ``at`` and it is due again after a wait."""

    message: OutboxMessage
    claim: Claim
    at: datetime
    failed: bool = False


class WaitingOutcomes:
    """The outcomes of one portal's deliveries in this process, not written yet.

    :func:`run` takes them all into its unit of work (and puts them back if that unit
    of work does not commit); :meth:`due` says when the oldest has waited half its
    claim's lease, so that it is written before another worker may claim its message.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[Outcome] = []
        #: A flush of these outcomes is queued on the background runner.
        self.queued = False

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, outcomes: Sequence[Outcome]) -> None:
        """Keep ``outcomes`` until a unit of work takes them."""
        with self._lock:
            self._waiting.extend(outcomes)

    def take(self) -> list[Outcome]:
        """Every waiting outcome, oldest first; they wait no more."""
        if not self._waiting:  # the usual case without deliveries: no lock to take
            return []
        with self._lock:
            taken, self._waiting = self._waiting, []
        return taken

    def restore(self, outcomes: Sequence[Outcome]) -> None:
        """Put back ``outcomes`` a unit of work took but did not commit."""
        if outcomes:
            with self._lock:
                self._waiting[:0] = outcomes

    def due(self, now: datetime, lease: timedelta) -> bool:
        """Whether an outcome has waited so long that its claim's lease is half over."""
        with self._lock:
            waiting = list(self._waiting)
        return any(now + lease / 2 >= outcome.claim.until for outcome in waiting)


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
    #: Outcomes of this process's deliveries, waiting for a unit of work to carry them.
    outcomes: WaitingOutcomes = attrs.field(
        factory=WaitingOutcomes, init=False, repr=False, eq=False
    )
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


def write_outcomes(context: ServiceContext, uow: UnitOfWork, outcomes: Sequence[Outcome]) -> None:
    """Write ``outcomes`` in ``uow``: delivered messages marked so (one statement where
    the store serves it), failed ones counted and due again after their wait, unless
    another worker has claimed them since (its attempt decides). A message deleted
    meanwhile needs no outcome."""
    delivered = [(outcome.message, outcome.at) for outcome in outcomes if not outcome.failed]
    if delivered:
        uow.outbox.mark_all_delivered(delivered)
    for outcome in outcomes:
        if outcome.failed:
            message = outcome.message
            retry_at = outcome.at + context.outbox.retry_delay(message.attempts + 1)
            try:
                uow.outbox.mark_failed(message.id, retry_at=retry_at, claim=outcome.claim.id)
            except NotFoundError:
                continue


def _carry(context: ServiceContext, uow: UnitOfWork, outcomes: Sequence[Outcome]) -> bool:
    """Write ``outcomes`` in ``uow`` if it commits a write anyway (a store transaction
    that cannot say, having no ``wrote``, is taken to write); whether they were."""
    if not outcomes or not getattr(uow.transaction, "wrote", True):
        return False
    write_outcomes(context, uow, outcomes)
    return True


def flush_outcomes(context: ServiceContext) -> None:
    """Write the waiting outcomes in a unit of work of their own (none waiting: nothing).

    Raises:
        StorageError: the store failed (the outcomes wait on, for the next unit of work).
    """
    outcomes = context.outcomes.take()
    if not outcomes:
        return
    try:
        with unit_of_work(context.store) as uow:
            write_outcomes(context, uow, outcomes)
    except BaseException:
        context.outcomes.restore(outcomes)
        raise


def run(context: ServiceContext, use_case: Callable[[Work], T], *, deliver: bool = True) -> T:
    """Run ``use_case`` in one unit of work, retrying lost races, then deliver the outbox.

    The unit of work also writes the outcomes of earlier deliveries that wait in the
    process (see the module), when it writes anyway and ``deliver`` is true, so they
    cost no commit of their own. The use case's own
    messages are written already claimed by this delivery, and the unit of work ends by
    claiming what else is due (left by an earlier failure or by a request that did not
    deliver), so delivering after commit needs no second read; the outcomes then wait
    for the next unit of work. With ``deliver=False`` (an anonymous visitor's request,
    whose time must not depend on what it found) nothing is claimed or delivered: the
    outbox waits for the next use case or :func:`deliver_outbox`. A use case run by a
    subscriber during a delivery leaves its messages to that delivery's next round.

    A failure leaves the store as it was: the unit of work rolls back, events included
    (and the outcomes it carried wait for the next one). On a store whose transaction
    may be a savepoint of the host's (:class:`~portal_access.ports.AfterCommit`), the
    delivery waits for the host's commit, and is dropped when the host rolls back.
    """
    claiming = deliver and not getattr(_delivery, "active", False)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claim = Claim.new(context) if claiming else None
        # an anonymous visitor's request (deliver=False) carries none: its work must not
        # depend on anything but what it was asked
        outcomes = context.outcomes.take() if deliver else []
        try:
            with unit_of_work(context.store) as uow:
                work = Work(uow, context, claim=claim)
                result = use_case(work)
                # outcomes before the claim: a failed message may be due again now
                carried = _carry(context, uow, outcomes)
                claimed = _claim(context, uow, claim) if claim is not None else []
            if not carried:
                context.outcomes.restore(outcomes)
            break
        except StaleStateError:
            context.outcomes.restore(outcomes)
            if attempt == MAX_ATTEMPTS:
                raise
            log.info("portal_access: lost a race (attempt %d); retrying", attempt)
        except BaseException:
            context.outcomes.restore(outcomes)
            raise
    if claim is not None:
        first = (claim, [*work.emitted, *(claimed or [])])
        # a store whose block may be a savepoint of the host's transaction delivers once
        # that commits (ports.AfterCommit); any other has committed
        after_commit = getattr(context.store, "after_commit", None)
        if after_commit is None:
            _deliver_committed(context, first, reread=claimed is None)
        else:
            after_commit(partial(_deliver_committed, context, first, reread=claimed is None))
    elif deliver:
        _delivery.more = True  # inside a delivery: its next round takes our messages
    return result


def _deliver_committed(
    context: ServiceContext, first: tuple[Claim, list[OutboxMessage]], *, reread: bool
) -> None:
    """Deliver what :func:`run` committed and claimed (``reread``: a stored message could
    not be read; read again, and report)."""
    try:
        _deliver_rounds(context, first)
        if reread:
            _deliver_rounds(context, None)
    except Exception:  # committed is committed: delivery is retried by deliver_outbox()
        log.exception("portal_access: outbox delivery failed after commit; will retry")


def deliver_outbox(context: ServiceContext) -> int:
    """Claim the outbox messages due now (a batch) and deliver them to the mailer and
    subscribers, then what their subscribers' use cases added; return how many went out.

    Delivery is at least once: a message whose delivery raised stays pending (its
    attempt count grows) and is due again after a wait that doubles with each failure
    (:class:`~portal_access.OutboxSettings`); a worker that died mid-send holds its
    claim until the lease ends. The outcomes waiting in the process ride the claim's
    unit of work, and this batch's are written before it returns (one more unit of
    work, when anything was delivered).

    Called inside a transaction of the host's that the store joins
    (:class:`~portal_access.ports.AfterCommit`: Django's ``atomic``), it claims and
    delivers once that transaction commits, and returns 0: claims and outcomes written
    in it would be rolled back with it after their messages went out.
    """
    delivered: list[int] = []

    def deliver() -> None:
        delivered.append(_deliver_rounds(context, None))
        flush_outcomes(context)

    after_commit = getattr(context.store, "after_commit", None)
    if after_commit is None:
        deliver()
    else:
        after_commit(deliver)
    return delivered[0] if delivered else 0


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
    """Deliver ``first`` (``None``: claim a batch, writing the waiting outcomes in the
    same unit of work), then what the subscribers' own use cases added meanwhile, for up
    to :data:`DELIVERY_ROUNDS` rounds; how many were delivered.

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
                outcomes = context.outcomes.take()
                try:
                    with unit_of_work(context.store) as uow:
                        write_outcomes(context, uow, outcomes)  # a failed one may be due now
                        batch = (claim, _claim(context, uow, claim, report=True) or [])
                except BaseException:
                    context.outcomes.restore(outcomes)
                    raise
            delivered += _deliver_all(context, *batch)
            if not _delivery.more:
                break
            batch = None
        return delivered
    finally:
        _delivery.active = False


def _deliver_all(context: ServiceContext, claim: Claim, claimed: Sequence[OutboxMessage]) -> int:
    """Deliver ``claimed`` (committed messages ``claim`` holds) and keep the outcomes for
    the next unit of work; how many were delivered. They are written now when they
    cannot wait: a delivery failed (its retry is due after its wait, whatever this
    process does next: failures are rare, and their timing is the backoff's), or a slow
    delivery used half the lease."""
    if not claimed:
        return 0
    delivered = 0
    failed: list[OutboxMessage] = []
    for message in claimed:
        try:
            _deliver(context, message)
        except Exception:  # a host subscriber or mailer failed: keep it for a retry
            log.exception("portal_access: delivering %s %s failed", message.topic, message.id)
            failed.append(message)
        else:
            delivered += 1
    now = context.clock.now()
    context.outcomes.add(
        [Outcome(message, claim, now, failed=message in failed) for message in claimed]
    )
    if failed or context.outcomes.due(now, context.outbox.lease):
        flush_outcomes(context)
    else:
        _WATCHER.watch(context)
    return delivered


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


# -- outcomes that must not wait longer -----------------------------------------------

#: How often the process's watcher looks for outcomes that waited half their lease.
WATCH_SECONDS = 1.0


class _Watcher:
    """One daemon thread per process that, while some portal has outcomes waiting,
    looks every :data:`WATCH_SECONDS` (on the portal's own clock) for outcomes that
    waited half their lease with no unit of work to carry them (an idle process), and
    queues their flush on the portal's background runner. It holds the portals weakly,
    and writes what still waits when the interpreter exits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, weakref.ref[ServiceContext]] = {}
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._registered = False

    def watch(self, context: ServiceContext) -> None:
        """Watch ``context`` until its outcomes are written."""
        key = id(context)
        found = self._watched.get(key)
        if found is not None and found() is context and self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread is not ours
                self._watched, self._thread, self._pid = {}, None, os.getpid()
            # no callback: a collected portal is dropped by the next look (a callback
            # could run in a collection while this lock is held)
            self._watched[key] = weakref.ref(context)
            if not self._registered:
                atexit.register(self.flush_all)
                self._registered = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="portal-access-outcomes", daemon=True
                )
                self._thread.start()

    def _contexts(self) -> list[ServiceContext]:
        with self._lock:
            refs = list(self._watched.items())
        found = []
        for key, ref in refs:
            context = ref()
            if context is None or not len(context.outcomes):
                with self._lock:
                    if self._watched.get(key) is ref:
                        del self._watched[key]
            else:
                found.append(context)
        return found

    def _work(self) -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            for context in self._contexts():
                try:
                    _flush_if_due(context)
                except Exception:  # a broken clock or runner must not stop the watcher
                    log.exception("portal_access: checking waiting outbox outcomes failed")

    def flush_all(self) -> None:
        """Write every watched portal's waiting outcomes now (at exit: best effort)."""
        if self._pid != os.getpid():
            return
        for context in self._contexts():
            try:
                flush_outcomes(context)
            except Exception:  # the store may be gone at exit: the leases will end
                log.debug("portal_access: writing outbox outcomes at exit failed", exc_info=True)


def _flush_if_due(context: ServiceContext) -> None:
    """Queue a flush of ``context``'s outcomes on its background runner when the oldest
    waited half its lease (once: until that flush ran)."""
    outcomes = context.outcomes
    if outcomes.queued or not outcomes.due(context.clock.now(), context.outbox.lease):
        return
    outcomes.queued = True

    def flush() -> None:
        outcomes.queued = False
        try:
            flush_outcomes(context)
        except Exception:  # they wait on: the next unit of work or check writes them
            log.exception("portal_access: writing waiting outbox outcomes failed")

    try:
        context.background(flush)
    except BaseException:
        outcomes.queued = False
        raise


_WATCHER = _Watcher()
