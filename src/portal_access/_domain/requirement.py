"""The paid-access requirement of one contact: the required invoice and what paid it.

It merges gateway snapshots (payments against the required invoice, the tied
subscription) so that duplicated and reordered webhooks converge to one state, and
answers where the requirement stands (:class:`Settlement`).

>>> due = RequiredPayment(invoice_id="inv-1", amount_due=Money(29900, "USD"), gateway="stripe")
>>> ach = PaymentSnapshot(payment_id="pi_1", invoice_id="inv-1",
...     method=PaymentMethodKind.BANK_ACCOUNT, status=PaymentStatus.PROCESSING,
...     amount=Money(29900, "USD"), version=1, gateway="stripe")
>>> due.observe_payment(ach).settlement
<Settlement.ACH_PROCESSING: 'ach_processing'>
>>> cleared = attrs.evolve(ach, status=PaymentStatus.SUCCEEDED, version=2)
>>> due.observe_payment(cleared).observe_payment(ach).settlement   # late duplicate ignored
<Settlement.PAID: 'paid'>
"""

from __future__ import annotations

import enum

import attrs

from portal_access._domain.errors import ValidationError
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentSnapshot, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionSnapshot
from portal_access._domain.validation import identifier, instance_of, optional, tuple_of

__all__ = ["RECEIVED", "RequiredPayment", "Settlement"]

#: Statuses of a payment whose money arrived (a refund or dispute comes after success).
RECEIVED = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED})


class Settlement(enum.Enum):
    """Where a required payment stands, before any policy is applied."""

    OPEN = "open"  # nothing paid or under way
    PROCESSING = "processing"  # a non-bank payment is pending
    ACH_PROCESSING = "ach_processing"  # a bank (ACH) payment is pending clearing
    FAILED = "failed"  # the last attempts failed; the invoice stays open
    PAID = "paid"  # succeeded payments cover the amount due
    WAIVED = "waived"  # staff cancelled the required payment (invoice void)
    REFUNDED = "refunded"  # what paid it was refunded in full
    DISPUTED = "disputed"  # what paid it is disputed (chargeback)


@attrs.frozen
class RequiredPayment:
    """A contact's required invoice and the gateway's reports about paying it.

    Args:
        invoice_id: the required invoice (the first paid-access invoice, seed 000).
        amount_due: its total.
        gateway: the offer's gateway; the invoice is paid through it.
        plan_id: the subscription plan tied to paid access, or ``None``.
        waived: staff cancelled the required payment (seed 000: the invoice is void and
            the contact gets access).
        payments: the newest snapshot of every payment against the invoice, by id.
        subscription: the newest snapshot of the tied subscription.
    """

    invoice_id: str = attrs.field(validator=identifier)
    amount_due: Money = attrs.field(validator=instance_of(Money))
    gateway: str = attrs.field(validator=identifier)
    plan_id: str | None = attrs.field(default=None, validator=optional(identifier))
    waived: bool = attrs.field(default=False, validator=instance_of(bool))
    payments: tuple[PaymentSnapshot, ...] = attrs.field(
        default=(), validator=tuple_of(PaymentSnapshot)
    )
    subscription: SubscriptionSnapshot | None = attrs.field(
        default=None, validator=optional(instance_of(SubscriptionSnapshot))
    )

    def observe_payment(self, snapshot: PaymentSnapshot) -> RequiredPayment:
        """Merge a payment snapshot; an older or duplicate one changes nothing.

        Raises:
            ValidationError: the snapshot is for another invoice or currency.
        """
        if snapshot.invoice_id != self.invoice_id:
            raise ValidationError(
                f"payment is for invoice {snapshot.invoice_id}, not {self.invoice_id}",
                field="invoice_id",
            )
        if snapshot.amount.currency != self.amount_due.currency:
            raise ValidationError(
                f"payment is in {snapshot.amount.currency}, invoice in {self.amount_due.currency}",
                field="amount.currency",
            )
        by_id = {payment.payment_id: payment for payment in self.payments}
        current = by_id.get(snapshot.payment_id)
        if current is not None and not snapshot.supersedes(current):
            return self
        by_id[snapshot.payment_id] = snapshot
        return attrs.evolve(self, payments=tuple(by_id[key] for key in sorted(by_id)))

    def observe_subscription(self, snapshot: SubscriptionSnapshot) -> RequiredPayment:
        """Merge a subscription snapshot; the newest subscription's newest state wins."""
        current = self.subscription
        if current is not None and not snapshot.supersedes(current):
            return self
        return attrs.evolve(self, subscription=snapshot)

    def waive(self) -> RequiredPayment:
        """Staff "cancel required payment" (seed 000): access no longer waits for payment."""
        return attrs.evolve(self, waived=True)

    @property
    def settlement(self) -> Settlement:
        """Where the requirement stands; see :class:`Settlement`."""
        if self.waived:
            return Settlement.WAIVED
        paid = sum(p.amount.amount for p in self.payments if p.status is PaymentStatus.SUCCEEDED)
        if paid >= self.amount_due.amount:
            return Settlement.PAID
        statuses = {p.status for p in self.payments}
        if PaymentStatus.DISPUTED in statuses:
            return Settlement.DISPUTED
        if PaymentStatus.REFUNDED in statuses:
            return Settlement.REFUNDED
        if PaymentStatus.PROCESSING in statuses:
            if any(
                p.status is PaymentStatus.PROCESSING and p.method is PaymentMethodKind.BANK_ACCOUNT
                for p in self.payments
            ):
                return Settlement.ACH_PROCESSING
            return Settlement.PROCESSING
        if PaymentStatus.FAILED in statuses:
            return Settlement.FAILED
        return Settlement.OPEN

    @property
    def received(self) -> Money:
        """What the payer paid at some point: succeeded payments, and refunded or
        disputed ones (only a payment that succeeded can be refunded or disputed)."""
        amounts = (p.amount for p in self.payments if p.status in RECEIVED)
        return Money.total(amounts, self.amount_due.currency)

    @property
    def settled(self) -> bool:
        """Paid in full at some point, or waived: the moment onboarding may start
        (seed 000). A later refund does not undo that it was paid, so the answer is the
        same whether the refund's report arrives before or after the payment's."""
        return self.waived or self.received >= self.amount_due
