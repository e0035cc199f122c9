"""A second payment that landed anyway: recorded, never credited twice, raised to the host.

Seed 000_07c53b15302458c1.txt charges the required invoice once. Checkout refuses a
second page while a payment is processing or succeeded, but a page opened earlier can
still be paid (two tabs, a page the vendor could not close, a bank payment that clears
after staff waived the invoice). When a gateway report makes a payment surplus (see
:mod:`portal_access._domain.duplicate_payments`), the unit of work that records it also
emits ``payment.duplicate``; a second live subscription of the tied plan emits
``subscription.duplicate``. Both show in the account summary until resolved.

With ``PortalPolicy(refund_duplicates=True)`` the portal subscribes
:func:`refund_duplicate` and :func:`cancel_duplicate` to those topics: after commit,
from the outbox (at least once, retried by ``deliver_outbox``), with an idempotency key
per payment or subscription, so the vendor acts once. Never inside a unit of work.
"""

from __future__ import annotations

import logging
from typing import Any

from portal_access._domain.access import AccessState
from portal_access._domain.audit import Actor, AuditAction
from portal_access._domain.billing import Invoice
from portal_access._domain.duplicate_payments import duplicate_subscriptions
from portal_access._domain.errors import GatewayRejectedError
from portal_access._domain.events import (
    DomainEvent,
    OutboxMessage,
    PaymentDuplicated,
    SubscriptionDuplicated,
)
from portal_access._domain.gateway_events import SubscriptionReport
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentStatus
from portal_access._service import audit_trail
from portal_access._service.context import ServiceContext, Work
from portal_access._service.payment_history import credit_order, duplicates_of
from portal_access.repositories import PaymentRecord

__all__ = ["cancel_duplicate", "note_payment", "note_subscription", "refund_duplicate"]

log = logging.getLogger("portal_access.duplicates")

_POLICY = "refund_duplicates policy"


def note_payment(
    work: Work, invoice: Invoice, saved: PaymentRecord, previous: PaymentRecord | None
) -> None:
    """After ``saved`` replaced ``previous`` (``None``: a new payment) in this unit of
    work: emit ``payment.duplicate`` for every payment of ``invoice`` this made surplus.

    Only succeeded payments hold money (see ``duplicate_payments``), so when neither
    ``saved`` nor ``previous`` succeeded nothing became surplus, and the invoice's other
    payments are not read."""
    if saved.snapshot.status is not PaymentStatus.SUCCEEDED and (
        previous is None or previous.snapshot.status is not PaymentStatus.SUCCEEDED
    ):
        return
    records = [
        r
        for r in work.uow.payments.for_account(invoice.account_id)
        if r.snapshot.invoice_id == invoice.id
    ]
    key = (saved.snapshot.gateway, saved.snapshot.payment_id)
    others = [r for r in records if (r.snapshot.gateway, r.snapshot.payment_id) != key]
    before = duplicates_of(invoice, credit_order(others + ([previous] if previous else [])))
    known = {(d.gateway, d.payment_id, d.surplus) for d in before}
    automatic = work.context.policy.refund_duplicates
    for duplicate in duplicates_of(invoice, credit_order([*others, saved])):
        if (duplicate.gateway, duplicate.payment_id, duplicate.surplus) in known:
            continue
        log.warning(
            "payment %s (%s) brought %s beyond what invoice %s asks: refund it",
            duplicate.payment_id,
            duplicate.gateway,
            duplicate.surplus,
            invoice.number,
        )
        event = PaymentDuplicated(
            gateway=duplicate.gateway,
            payment_id=duplicate.payment_id,
            invoice_id=invoice.id,
            contact_id=invoice.contact_id,
            amount=duplicate.amount.amount,
            surplus=duplicate.surplus.amount,
            currency=duplicate.surplus.currency,
            refund_automatically=automatic,
        )
        _report(
            work,
            event,
            AuditAction.REFUND_PAYMENT,
            contact_id=invoice.contact_id,
            account_id=invoice.account_id,
            invoice_id=invoice.id,
            payment_id=f"{duplicate.gateway}:{duplicate.payment_id}",
            details={"amount": str(duplicate.surplus)},
        )


def note_subscription(
    work: Work,
    saved: SubscriptionReport,
    previous: SubscriptionReport | None,
    before: AccessState,
    after: AccessState,
) -> None:
    """After ``saved`` replaced ``previous`` and the contact's state went from ``before``
    to ``after``: emit ``subscription.duplicate`` for every live subscription of the tied
    plan, besides the one access follows, that this made a duplicate."""
    requirement = after.effective_requirement
    if requirement is None or requirement.plan_id is None:
        return
    plan_id = requirement.plan_id
    key = (saved.snapshot.gateway, saved.snapshot.subscription_id)
    others = [
        r.snapshot
        for r in work.uow.subscriptions.for_contact(saved.contact_id)
        if (r.snapshot.gateway, r.snapshot.subscription_id) != key
    ]
    was = before.effective_requirement
    earlier = duplicate_subscriptions(
        plan_id,
        was.subscription if was is not None else None,
        others + ([previous.snapshot] if previous else []),
    )
    known = {(s.gateway, s.subscription_id) for s in earlier}
    current = requirement.subscription
    automatic = work.context.policy.refund_duplicates
    for duplicate in duplicate_subscriptions(plan_id, current, [*others, saved.snapshot]):
        if (duplicate.gateway, duplicate.subscription_id) in known:
            continue
        assert current is not None
        log.warning(
            "contact %s has a second live subscription %s (%s): cancel it",
            saved.contact_id,
            duplicate.subscription_id,
            duplicate.gateway,
        )
        event = SubscriptionDuplicated(
            gateway=duplicate.gateway,
            subscription_id=duplicate.subscription_id,
            contact_id=saved.contact_id,
            plan_id=plan_id,
            kept_subscription_id=current.subscription_id,
            cancel_automatically=automatic,
        )
        _report(
            work,
            event,
            AuditAction.CANCEL_SUBSCRIPTION,
            contact_id=saved.contact_id,
            account_id=after.account_id,
            subscription_id=f"{duplicate.gateway}:{duplicate.subscription_id}",
        )


def _report(work: Work, event: DomainEvent, action: AuditAction, **subjects: Any) -> None:
    """Emit ``event``; when the policy acts on it, put that on the audit trail too."""
    work.emit(event)
    if work.context.policy.refund_duplicates:
        audit_trail.record(work, action, reason=_POLICY, actor=Actor.system(), **subjects)


def refund_duplicate(context: ServiceContext, message: OutboxMessage) -> None:
    """Refund what a ``payment.duplicate`` message names, once (the idempotency key is
    the payment and the surplus). A refusal the vendor will repeat (the payment cannot
    be refunded there) is logged and left to staff; anything else raises, so the outbox
    tries again.

    Raises:
        GatewayError: the vendor could not be reached (retried from the outbox).
    """
    payload = message.payload
    if not payload.get("refund_automatically"):
        return
    gateway, payment_id = payload["gateway"], payload["payment_id"]
    surplus = Money(payload["surplus"], payload["currency"])
    whole = payload["surplus"] == payload["amount"]
    try:
        context.gateway(gateway).refund(
            payment_id,
            amount=None if whole else surplus,
            idempotency_key=f"duplicate:{gateway}:{payment_id}:{surplus.amount}",
        )
    except GatewayRejectedError:
        log.warning(
            "%s refused to refund duplicate payment %s; staff must refund it",
            gateway,
            payment_id,
            exc_info=True,
        )


def cancel_duplicate(context: ServiceContext, message: OutboxMessage) -> None:
    """Cancel the subscription a ``subscription.duplicate`` message names, once.

    Raises:
        GatewayError: the vendor could not be reached (retried from the outbox).
    """
    payload = message.payload
    if not payload.get("cancel_automatically"):
        return
    gateway, subscription_id = payload["gateway"], payload["subscription_id"]
    try:
        context.gateway(gateway).cancel_subscription(
            subscription_id, idempotency_key=f"duplicate:{gateway}:{subscription_id}"
        )
    except GatewayRejectedError:
        log.warning(
            "%s refused to cancel duplicate subscription %s; staff must cancel it",
            gateway,
            subscription_id,
            exc_info=True,
        )
