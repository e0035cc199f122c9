"""Staff refund a payment (a duplicate the account summary lists, or any other).

The refund is checked in one unit of work, asked of the gateway after it (never inside
one, so no lock is held while the vendor answers), and put on the audit trail in a
second one once the vendor accepted it. The payment's new state arrives as a report like
any other; asking again with the same amount is idempotent at the vendor until the
refund is reported, and a payment may be refunded in several parts (seed 004: each
refund is an accounting entry of its own).
"""

from __future__ import annotations

from portal_access._domain.audit import Actor, AuditAction
from portal_access._domain.errors import ConflictError, NotFoundError, ValidationError
from portal_access._domain.invitations import StaffMember, StaffPermission, authorize
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentStatus
from portal_access._domain.validation import ensure_identifier, ensure_instance, ensure_text
from portal_access._service import audit_trail
from portal_access._service.context import ServiceContext, Work, run
from portal_access.repositories import PaymentRecord

__all__ = ["refund_payment"]


def _check(
    work: Work,
    gateway: str,
    payment_id: str,
    amount: Money | None,
    staff: StaffMember,
    *,
    reason: str,
) -> PaymentRecord:
    authorize(staff, StaffPermission.REFUND_PAYMENTS)
    ensure_text(reason, field="reason")  # checked before the money moves
    work.context.gateway(gateway)  # configured, or ConfigurationError
    record = work.uow.payments.get(gateway, ensure_identifier(payment_id, field="payment_id"))
    if record is None:
        raise NotFoundError("payment", f"{gateway}:{payment_id}")
    snapshot = record.snapshot
    left = snapshot.amount - snapshot.refunded
    if snapshot.status is not PaymentStatus.SUCCEEDED or not left:
        raise ConflictError(
            f"payment {payment_id} is {snapshot.status.value}"
            f"{' (refunded in full)' if not left else ''}; only a succeeded payment with "
            "money left to refund can be refunded"
        )
    if amount is not None:
        ensure_instance(amount, Money, field="amount")
    if amount is not None and (amount.currency != left.currency or not amount or amount > left):
        raise ValidationError(f"must be more than zero and at most {left}", field="amount")
    return record


def refund_payment(
    context: ServiceContext,
    gateway: str,
    payment_id: str,
    *,
    staff: StaffMember,
    amount: Money | None = None,
    reason: str = "",
) -> None:
    """Refund ``payment_id`` at ``gateway``: what is left of it when ``amount`` is
    ``None``; a payment partly refunded may be refunded again, up to what is left.

    Raises:
        AccessDeniedError: the staff member lacks ``REFUND_PAYMENTS``.
        ConfigurationError: no such gateway is configured.
        NotFoundError: no such payment.
        ConflictError: the payment has not succeeded (or was refunded in full already).
        ValidationError: ``amount`` is not Money, zero, in another currency or more than
            what is left of the payment; ``payment_id`` is not an id.
        GatewayError: the vendor refused or could not be reached (nothing is recorded).
    """
    record = run(
        context, lambda work: _check(work, gateway, payment_id, amount, staff, reason=reason)
    )
    snapshot = record.snapshot
    before = snapshot.refunded  # a second refund of the same amount is another key
    left = snapshot.amount - before
    whole = amount is None or amount == left
    refunded = left if whole or amount is None else amount
    key = f"staff-refund:{gateway}:{payment_id}:{refunded.amount}"
    if before:
        key += f":after:{before.amount}"
    context.gateway(gateway).refund(
        payment_id, amount=None if whole else refunded, idempotency_key=key
    )

    def audit(work: Work) -> None:
        work.actor = Actor.staff(staff)
        audit_trail.record(
            work,
            AuditAction.REFUND_PAYMENT,
            reason=reason,
            contact_id=record.contact_id,
            account_id=record.account_id,
            invoice_id=record.snapshot.invoice_id,
            payment_id=f"{gateway}:{payment_id}",
            details={"amount": str(refunded)},
        )

    run(context, audit)
