"""Applying gateway events: verified webhooks and reconciled events take one path.

The peers' most reported bugs are duplicate and out-of-order webhooks and the app's
own create call racing the webhook into two rows. Here:

- the gateway verifies the signature before anything is parsed (a bad one is a
  :class:`~portal_access.WebhookVerificationError`, logged with the reason);
- the event id is recorded in the same unit of work as its effects: a failed apply
  rolls the record back too, so the vendor's retry is processed (dj-stripe #832);
- every vendor object is upserted under ``(gateway, vendor id)`` and only a newer
  snapshot replaces the stored one, so duplicates and stale reports change nothing;
- the object's *state* is applied, never the event's verb;
- a report applies only to invoices, subscriptions and contacts of the gateway that
  signed it (:mod:`~portal_access._service.webhook_trust`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Protocol, TypeAlias

import attrs

from portal_access._domain.access import AccessState, decide
from portal_access._domain.audit import Actor
from portal_access._domain.autopay import SavedPaymentMethod
from portal_access._domain.billing import (
    Invoice,
    InvoiceLine,
    InvoicePurpose,
    InvoiceStatus,
    LineKind,
    renewal_invoice_lines,
)
from portal_access._domain.capabilities import Capability
from portal_access._domain.errors import (
    StaleStateError,
    ValidationError,
    WebhookVerificationError,
)
from portal_access._domain.events import (
    InvoicePaid,
    PaymentRecorded,
    SavedPaymentMethodRemoved,
    SubscriptionChanged,
    WebhookProcessed,
)
from portal_access._domain.gateway_events import (
    RENEWAL_PREFIX,
    GatewayEvent,
    RenewalInvoiceReport,
    SavedMethodRemoval,
    SubscriptionReport,
    resubscribed_invoice_id,
)
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentSnapshot, PaymentStatus
from portal_access._domain.requirement import RECEIVED
from portal_access._domain.subscriptions import SubscriptionSnapshot
from portal_access._service import accounting, duplicates
from portal_access._service.access_states import change_access
from portal_access._service.context import ServiceContext, Work, run
from portal_access._service.mailings import send_email, template_values
from portal_access._service.webhook_trust import trusted_part
from portal_access.repositories import PaymentRecord, event_recorded

__all__ = [
    "HeaderItems",
    "WebhookHeaders",
    "WebhookResult",
    "apply_event",
    "apply_payment",
    "handle_webhook",
]


class HeaderItems(Protocol):
    """Headers with ``items()`` of ``(name, value)`` pairs, a repeated name once per
    value: Werkzeug's ``request.headers`` (Flask), and any multi-dict like it."""

    def items(self) -> Iterable[tuple[str, str]]:
        """Every ``(name, value)`` pair."""
        ...


#: The headers of a webhook delivery, as hosts have them: a mapping (a ``dict``,
#: Django's ``request.headers``), a multi-dict with ``items()`` (Werkzeug's
#: ``request.headers``), or a list of ``(name, value)`` pairs (ASGI's raw headers,
#: decoded). Names are matched case-insensitively; a repeated name's values are
#: comma-joined.
WebhookHeaders: TypeAlias = Mapping[str, str] | HeaderItems | Iterable[tuple[str, str]]

log = logging.getLogger("portal_access.webhooks")

APPLIED = "applied"
DUPLICATE = "duplicate"
DEFERRED = "deferred"


@attrs.frozen
class WebhookResult:
    """What became of one gateway event.

    ``outcome`` is ``"applied"``, ``"duplicate"`` (processed before), or
    ``"ignored: <why>"`` (verified, recorded, but nothing of ours: an unknown invoice,
    a stale snapshot, an event type we do not act on).
    """

    gateway: str
    event_id: str
    event_type: str
    outcome: str

    @property
    def applied(self) -> bool:
        """Whether the event changed anything."""
        return self.outcome == APPLIED

    @property
    def retry_later(self) -> bool:
        """The event names an object we have not seen yet (a renewal invoice whose own
        event is still on its way): nothing was applied or recorded, and the endpoint
        should answer so that the vendor retries (HTTP 409 or 503)."""
        return self.outcome.startswith(DEFERRED)


class _DeferredError(Exception):
    """Roll the unit of work back: part of the event must wait for another event."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def handle_webhook(
    context: ServiceContext, gateway_name: str, headers: WebhookHeaders, body: bytes
) -> WebhookResult:
    """Verify, record once, apply. Safe to call with the same delivery any number of
    times and in any order.

    ``headers``: see :data:`WebhookHeaders`. ``body``: the raw bytes received
    (``bytes``, ``bytearray`` or ``memoryview``), never text: a signature covers the
    bytes, and a decoded-then-encoded body need not be them.

    Raises:
        WebhookVerificationError: unknown gateway, bad signature, stale timestamp or a
            malformed body (a ``str`` body, or header names or values that are not
            ``str``, are ``"body"`` and ``"header"`` failures); nothing was parsed or
            stored.
    """
    given: object = body  # a host may pass anything
    if isinstance(given, (bytearray, memoryview)):
        body = bytes(given)
    received = _delivery_headers(headers, body)
    if not isinstance(gateway_name, str):
        raise WebhookVerificationError("the gateway name must be a str", reason="gateway")
    gateway = context.gateways.get(gateway_name)
    if gateway is None:
        log.warning("webhook for unconfigured gateway %r rejected", gateway_name)
        raise WebhookVerificationError(f"no gateway {gateway_name!r}", reason="gateway")
    try:
        try:
            event = gateway.parse_webhook(received, body)
        except ValidationError as exc:  # verified, but no valid event (an absurd amount...)
            raise WebhookVerificationError(f"not a valid event: {exc}", reason="body") from exc
    except WebhookVerificationError as exc:
        log.warning("webhook from %s rejected: %s (reason: %s)", gateway_name, exc, exc.reason)
        raise
    return apply_or_defer(context, event)


def apply_or_defer(context: ServiceContext, event: GatewayEvent) -> WebhookResult:
    """Apply ``event`` in its own unit of work; an event that must wait for another
    changes nothing and comes back with ``retry_later``.

    An event whose record is committed already (a vendor's retry, most deliveries of a
    busy endpoint) is answered ``duplicate`` from that one read, with no unit of work:
    no write lock taken, nothing claimed. Otherwise the unit of work's first attempt
    does not read the record again: should a concurrent delivery of the same event
    commit meanwhile, recording this one fails on the record's unique key, the attempt
    rolls back whole, and the next attempt reads the record and answers ``duplicate``.
    """
    if event_recorded(context.store, event.gateway, event.event_id):
        return _result(event, DUPLICATE)
    attempts = 0

    def apply(work: Work) -> WebhookResult:
        nonlocal attempts
        attempts += 1
        return apply_event(work, event, unrecorded=attempts == 1)

    try:
        return run(context, apply)
    except _DeferredError as deferred:
        log.info("%s event %s deferred: %s", event.gateway, event.event_id, deferred.why)
        return _result(event, f"{DEFERRED}: {deferred.why}")


def apply_event(work: Work, event: GatewayEvent, *, unrecorded: bool = False) -> WebhookResult:
    """Apply one verified event in ``work``'s unit of work, exactly once by event id.

    ``unrecorded``: the caller has just found no committed record of the event, so it is
    not read again (recording it still fails if a concurrent delivery did meanwhile).

    Raises:
        _DeferredError: a payment names a renewal invoice not seen yet (the unit of work rolls
            back; see :func:`apply_or_defer`).
        StaleStateError: a concurrent delivery recorded the event first (the runner
            retries).
    """
    events = work.uow.gateway_events
    if not unrecorded and events.outcome(event.gateway, event.event_id) is not None:
        return _result(event, DUPLICATE)
    work.actor = Actor.gateway(event.gateway, event.event_id)
    event, outcomes = trusted_part(work, event)
    outcomes += [_apply_renewal(work, report) for report in event.renewals]
    outcomes += [_apply_payment(work, snapshot, event.occurred_at) for snapshot in event.payments]
    outcomes += [
        _apply_saved_method(work, method, event.occurred_at) for method in event.saved_methods
    ]
    outcomes += [
        _apply_removed_method(work, gone, event.occurred_at) for gone in event.removed_methods
    ]
    outcomes += [_apply_subscription(work, report) for report in event.subscriptions]
    if not outcomes:
        outcome = f"ignored: {event.event_type} is not acted on"
    elif APPLIED in outcomes:
        outcome = APPLIED
    else:
        outcome = "ignored: " + "; ".join(sorted(set(outcomes)))
    if not events.record(event.gateway, event.event_id, outcome, work.context.clock.now()):
        raise StaleStateError("a concurrent delivery recorded this event first")
    work.emit(
        WebhookProcessed(
            gateway=event.gateway,
            event_id=event.event_id,
            event_type=event.event_type,
            outcome=outcome,
        )
    )
    log.info("%s event %s (%s): %s", event.gateway, event.event_id, event.event_type, outcome)
    return _result(event, outcome)


def _delivery_headers(headers: object, body: object) -> dict[str, str]:
    """A delivery as the gateway port takes it: ``bytes``, and the headers' ``items()``
    as ``str`` names and values (a repeated name's values comma-joined)."""
    if isinstance(body, str):
        raise WebhookVerificationError(
            "the body must be the raw bytes received (Flask: request.get_data(); Django: "
            "request.body), not text: the signature covers the bytes",
            reason="body",
        )
    if not isinstance(body, bytes):
        raise WebhookVerificationError("the body must be the raw bytes received", reason="body")
    refused = WebhookVerificationError("header names and values must be str", reason="header")
    items = getattr(headers, "items", None)
    if callable(items):
        pairs: Callable[[], object] = items
    elif isinstance(headers, (list, tuple)):
        pairs = lambda: headers  # noqa: E731 - (name, value) pairs as they are
    else:
        raise refused
    joined: dict[str, str] = {}
    try:
        for pair in pairs():  # type: ignore[attr-defined]
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise refused
            name, value = pair
            if not (isinstance(name, str) and isinstance(value, str)):
                raise refused
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
    except (TypeError, ValueError):  # items() of something that is no headers at all
        raise refused from None
    return joined


def _result(event: GatewayEvent, outcome: str) -> WebhookResult:
    return WebhookResult(event.gateway, event.event_id, event.event_type, outcome)


def apply_payment(work: Work, snapshot: PaymentSnapshot, occurred_at: datetime) -> str:
    """Apply one payment report (a webhook's, reconcile's, or a charge's answer) in
    ``work``'s unit of work: the payment, the invoice, access, accounting entries; the
    outcome (``"applied"``, or why nothing was).

    Raises:
        _DeferredError: the payment names a renewal invoice not seen yet.
    """
    return _apply_payment(work, snapshot, occurred_at)


def _apply_payment(work: Work, snapshot: PaymentSnapshot, occurred_at: datetime) -> str:
    uow = work.uow
    stored = uow.payments.get(snapshot.gateway, snapshot.payment_id)
    if stored is not None and not snapshot.supersedes(stored.snapshot):
        # older news, but true: a refund or dispute it reports is in the books (seed 004)
        accounting.record_entries(
            work, snapshot, account_id=stored.account_id, occurred_at=occurred_at
        )
        return f"stale snapshot of payment {snapshot.payment_id}"
    resubscribing = resubscribed_invoice_id(snapshot.invoice_id)  # the subscription's money
    invoice = uow.invoices.get(resubscribing or snapshot.invoice_id)
    if invoice is None:
        if snapshot.invoice_id.startswith(RENEWAL_PREFIX):
            raise _DeferredError(f"renewal invoice {snapshot.invoice_id} not seen yet")
        return f"unknown invoice {snapshot.invoice_id}"
    if invoice.currency != snapshot.amount.currency:
        return f"payment {snapshot.payment_id} is not in the invoice's currency"
    if (
        invoice.status is InvoiceStatus.VOID
        and snapshot.status is PaymentStatus.SUCCEEDED
        and not resubscribing
    ):
        log.warning(
            "payment %s succeeded on void invoice %s: refund it",
            snapshot.payment_id,
            invoice.number,
        )
    record = PaymentRecord(
        snapshot=snapshot,
        account_id=invoice.account_id,
        contact_id=invoice.contact_id,
        recorded_at=stored.recorded_at if stored else work.context.clock.now(),
        site_id=invoice.site_id,
    )
    uow.payments.save(record)
    accounting.record_entries(
        work, snapshot, account_id=invoice.account_id, occurred_at=occurred_at
    )
    if not resubscribing:
        duplicates.note_payment(work, invoice, record, stored)
    work.emit(
        PaymentRecorded(
            gateway=snapshot.gateway,
            payment_id=snapshot.payment_id,
            invoice_id=invoice.id,
            status=snapshot.status.value,
            amount=snapshot.amount.amount,
            currency=snapshot.amount.currency,
        )
    )
    if resubscribing:  # the subscription's reports restore access; the invoice is settled
        return APPLIED
    state = uow.access.get(invoice.contact_id) if invoice.contact_id else None
    requirement = state.requirement if state is not None else None
    if state is not None and requirement is not None and requirement.invoice_id == invoice.id:
        updated = change_access(work, state.contact_id, _observing(snapshot), current=state)
        assert updated.requirement is not None
        if updated.requirement.received >= updated.requirement.amount_due:
            _mark_paid(work, invoice, _paid_total(work, invoice))
    else:
        total = _paid_total(work, invoice)
        if total >= invoice.total:
            _mark_paid(work, invoice, total)
    return APPLIED


def apply_saved_method(work: Work, method: SavedPaymentMethod, occurred_at: datetime) -> str:
    """Apply one saved-method report (a webhook's, or a gateway's answer to
    ``save_payment_method``) in ``work``'s unit of work; the outcome (``"applied"``, or
    why nothing was kept)."""
    return _apply_saved_method(work, method, occurred_at)


def _apply_saved_method(work: Work, method: SavedPaymentMethod, occurred_at: datetime) -> str:
    """Keep a method the contact saved, only where the contact may save one (seed 003)
    through that gateway (seed 004); the newest report of a gateway's method wins.

    A method its gateway already reported removed (the removal delivered first) still
    takes its place by version, but removed: it replaces the older method the contact
    had, and an older report delivered after it stays stale (seed 003: the contact's
    newest choice holds, whatever the delivery order)."""
    uow = work.uow
    state = uow.access.get(method.contact_id)
    if state is None:
        return f"unknown contact {method.contact_id}"
    decision = decide(state, work.context.policy, work.context.clock.now())
    if not decision.can(Capability.SAVE_PAYMENT_METHOD) or method.gateway not in decision.gateways:
        log.warning("contact %s may not save a payment method at %s", method.contact_id,
                    method.gateway)  # fmt: skip
        return f"contact {method.contact_id} may not save a payment method"
    stored = uow.saved_methods.latest(method.contact_id)
    if stored is not None and stored.gateway == method.gateway and stored.version >= method.version:
        return f"stale report of saved method {method.method_id}"
    if uow.gateway_events.method_removed(method.gateway, method.method_id):
        _mark_removed(work, stored, attrs.evolve(method, saved_at=occurred_at), occurred_at)
        return f"saved method {method.method_id} was removed at {method.gateway}"
    uow.saved_methods.save(attrs.evolve(method, saved_at=occurred_at))
    return APPLIED


def _apply_removed_method(work: Work, gone: SavedMethodRemoval, occurred_at: datetime) -> str:
    """A method the gateway no longer keeps is no longer the contact's (seed 003), and
    autopay never charges it (seed 004: the gateway would refuse it).

    The removal is remembered whoever's it was (a report of that method saved, delivered
    later, is kept removed); the contact's method is marked removed only when it is that
    very method of that gateway: a newer method the contact saved since is theirs still.
    """
    uow = work.uow
    uow.gateway_events.record_removed_method(gone.gateway, gone.method_id, occurred_at)
    if gone.contact_id is None:
        holder = uow.saved_methods.holding(gone.gateway, gone.method_id)
        contact_id = holder.contact_id if holder is not None else None
    else:
        contact_id = gone.contact_id
    stored = uow.saved_methods.latest(contact_id) if contact_id is not None else None
    if stored is None or (stored.gateway, stored.method_id) != (gone.gateway, gone.method_id):
        whose = f"contact {contact_id}" if contact_id else "no contact"
        return f"saved method {gone.method_id} is not {whose}'s saved method"
    if stored.removed:
        return f"saved method {gone.method_id} was removed already"
    _mark_removed(work, stored, stored, occurred_at)
    return APPLIED


def _mark_removed(
    work: Work, stored: SavedPaymentMethod | None, method: SavedPaymentMethod, at: datetime
) -> None:
    """Keep ``method`` as the contact's, removed; tell the contact and subscribers when it
    takes away the method they had on file (seed 003)."""
    work.uow.saved_methods.save(attrs.evolve(method, removed_at=at))
    if stored is not None and stored.removed:
        return  # nothing was on file: nothing is taken away
    work.emit(
        SavedPaymentMethodRemoved(
            contact_id=method.contact_id, gateway=method.gateway, method_id=method.method_id
        )
    )
    contact = work.uow.contacts.get(method.contact_id)
    if contact is None or contact.email is None:
        log.warning("saved method removed: contact %s has no email to tell", method.contact_id)
        return
    account = work.uow.accounts.get(contact.account_id)
    values = template_values(work, contact, account, payment_method__label=method.label or None)
    template = work.context.templates.saved_method_removed
    send_email(work, kind="saved_method_removed", template=template, to=(contact.email,),
               values=values, contact_id=contact.id)  # fmt: skip


def _observing(
    snapshot: PaymentSnapshot | SubscriptionSnapshot,
) -> Callable[[AccessState], AccessState]:
    """The change that merges ``snapshot`` into a state's requirement."""

    def change(state: AccessState) -> AccessState:
        requirement = state.requirement
        assert requirement is not None
        if isinstance(snapshot, PaymentSnapshot):
            return attrs.evolve(state, requirement=requirement.observe_payment(snapshot))
        return attrs.evolve(state, requirement=requirement.observe_subscription(snapshot))

    return change


def _paid_total(work: Work, invoice: Invoice) -> Money:
    """What was received against the invoice (refunded and disputed payments included:
    the books record the payment, and the refund or chargeback after it)."""
    received = (
        record.snapshot.amount
        for record in work.uow.payments.for_account(invoice.account_id)
        if record.snapshot.invoice_id == invoice.id and record.snapshot.status in RECEIVED
    )
    return Money.total(received, invoice.currency)


def _mark_paid(work: Work, invoice: Invoice, amount: Money) -> None:
    if invoice.status is not InvoiceStatus.OPEN:
        return  # paid already, or void: the books keep what they said
    # credited once: a second payment's money is surplus (see duplicates), not paid
    work.uow.invoices.save(invoice.mark_paid(min(amount, invoice.total)))
    work.emit(InvoicePaid(invoice_id=invoice.id, contact_id=invoice.contact_id))


def _apply_subscription(work: Work, report: SubscriptionReport) -> str:
    uow, snapshot = work.uow, report.snapshot
    stored = uow.subscriptions.get(snapshot.gateway, snapshot.subscription_id)
    if stored is not None and not snapshot.supersedes(stored.snapshot):
        return f"stale snapshot of subscription {snapshot.subscription_id}"
    state = uow.access.get(report.contact_id)
    if state is None:
        return f"unknown contact {report.contact_id}"
    uow.subscriptions.save(report)
    work.emit(
        SubscriptionChanged(
            gateway=snapshot.gateway,
            subscription_id=snapshot.subscription_id,
            contact_id=report.contact_id,
            status=snapshot.status.value,
        )
    )
    requirement = state.requirement
    if requirement is not None and requirement.plan_id == snapshot.plan_id:
        updated = change_access(work, report.contact_id, _observing(snapshot), current=state)
        duplicates.note_subscription(work, report, stored, state, updated)
    return APPLIED


_STATUS_RANK = {InvoiceStatus.OPEN: 0, InvoiceStatus.PAID: 1, InvoiceStatus.VOID: 1}


def _apply_renewal(work: Work, report: RenewalInvoiceReport) -> str:
    """Upsert the renewal invoice (seed 000: later invoices carry only the subscription)."""
    uow = work.uow
    existing = uow.invoices.get(report.invoice_id)
    if existing is not None:
        if _STATUS_RANK[report.status] <= _STATUS_RANK[existing.status]:
            return f"stale snapshot of invoice {report.vendor_invoice_id}"
        updated = (
            existing.mark_paid(report.amount)
            if report.status is InvoiceStatus.PAID
            else existing.void()
        )
        uow.invoices.save(updated)
        if report.status is InvoiceStatus.PAID:
            work.emit(InvoicePaid(invoice_id=existing.id, contact_id=existing.contact_id))
        return APPLIED
    contact = uow.contacts.get(report.contact_id)
    if contact is None:
        return f"unknown contact {report.contact_id}"
    plan = uow.plans.get(report.plan_id)
    lines = (
        renewal_invoice_lines(plan)
        if plan is not None and plan.amount == report.amount
        else (InvoiceLine("Subscription renewal", report.amount, LineKind.SUBSCRIPTION),)
    )
    invoice = Invoice(
        id=report.invoice_id,
        number=uow.invoices.next_number(),
        account_id=contact.account_id,
        contact_id=contact.id,
        title=lines[0].description,
        currency=report.amount.currency,
        lines=lines,
        issued_on=report.issued_on,
        due_on=max(report.due_on, report.issued_on),
        purpose=InvoicePurpose.RENEWAL,
        gateway=report.gateway,
    )
    if report.status is InvoiceStatus.PAID:
        invoice = invoice.mark_paid(report.amount)
    elif report.status is InvoiceStatus.VOID:
        invoice = invoice.void()
    uow.invoices.save(invoice)
    return APPLIED
