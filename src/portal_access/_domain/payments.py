"""Payments as the gateway reports them: method, status, and a version for ordering.

Webhooks arrive duplicated and out of order, so a payment is never changed by an
event's verb: each report is a *snapshot* of the vendor object with the vendor's
version (event time or sequence), and the newest snapshot wins. Ties (two reports in
the same second) go to the later lifecycle stage, so any delivery order converges.

>>> processing = PaymentSnapshot(payment_id="pi_1", invoice_id="inv-1",
...     method=PaymentMethodKind.BANK_ACCOUNT, status=PaymentStatus.PROCESSING,
...     amount=Money(29900, "USD"), version=100)
>>> cleared = attrs.evolve(processing, status=PaymentStatus.SUCCEEDED, version=100)
>>> cleared.supersedes(processing), processing.supersedes(cleared)
(True, False)
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from portal_access._domain.errors import ValidationError
from portal_access._domain.money import Money
from portal_access._domain.validation import (
    aware_datetime,
    identifier,
    instance_of,
    int64,
    optional,
    tuple_of,
)

__all__ = [
    "AchPolicy",
    "DisputeOutcome",
    "PaymentDispute",
    "PaymentMethodKind",
    "PaymentRefund",
    "PaymentSnapshot",
    "PaymentStatus",
]


class PaymentMethodKind(enum.Enum):
    """How a payment is made. ``BANK_ACCOUNT`` is ACH: it clears days later (seed 000)."""

    CARD = "card"
    BANK_ACCOUNT = "bank_account"
    WALLET = "wallet"
    OTHER = "other"


class PaymentStatus(enum.Enum):
    """Where a payment is in its life."""

    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


# Lifecycle stage, used only to break ties between snapshots of the same version.
_STAGE = {
    PaymentStatus.PROCESSING: 0,
    PaymentStatus.FAILED: 1,
    PaymentStatus.SUCCEEDED: 2,
    PaymentStatus.REFUNDED: 3,
    PaymentStatus.DISPUTED: 4,
}


class AchPolicy(enum.Enum):
    """When an ACH payment opens the portal (seed 000, Office > Settings > Paid Portal Access).

    ``GRANT_ON_INITIATION`` grants while the bank payment is processing;
    ``GRANT_ON_CLEARING`` waits until it clears. Either way a processing payment that
    then fails takes access back to pay-invoice-only and leaves the invoice open.
    """

    GRANT_ON_INITIATION = "grant_on_initiation"
    GRANT_ON_CLEARING = "grant_on_clearing"


class DisputeOutcome(enum.Enum):
    """Where a dispute (a chargeback) is: open, or closed won (the money comes back) or
    lost (it stays with the payer)."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


def _positive_money(_instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    instance_of(Money)(_instance, attribute, value)
    if isinstance(value, Money) and value.amount <= 0:
        raise ValidationError("must be more than zero", field=attribute.name, value=value)


@attrs.frozen
class PaymentRefund:
    """One refund of a payment, as the gateway itemizes it (seed 004: each is an
    accounting entry of its own).

    Args:
        refund_id: the vendor's id of this refund (one payment may have several).
        amount: how much this refund gave back (not the running total).
        refunded_at: when the vendor made it, when it says.
    """

    refund_id: str = attrs.field(validator=identifier)
    amount: Money = attrs.field(validator=_positive_money)
    refunded_at: datetime | None = attrs.field(default=None, validator=optional(aware_datetime))


@attrs.frozen
class PaymentDispute:
    """One dispute of a payment, as the gateway reports it.

    Args:
        dispute_id: the vendor's id of the dispute.
        amount: how much the payer's bank took back.
        outcome: open, won or lost.
        fee: what the gateway charged for handling the dispute (Stripe's dispute fee),
            when it reports one in the dispute's currency; ``None``: none reported.
        fee_returned: what of that fee the gateway gave back (a dispute won, where the
            gateway returns its fee); at most ``fee``.

    Both fees are accounting entries of their own (seed 004):

    >>> won = PaymentDispute("dp_1", Money(5000, "USD"), DisputeOutcome.WON,
    ...                      fee=Money(1500, "USD"), fee_returned=Money(1500, "USD"))
    >>> won.fee == won.fee_returned
    True
    >>> PaymentDispute("dp_2", Money(5000, "USD"), DisputeOutcome.OPEN,
    ...                fee_returned=Money(1500, "USD"))
    Traceback (most recent call last):
    ...
    portal_access.ValidationError: fee_returned: a fee was returned that was never charged
    """

    dispute_id: str = attrs.field(validator=identifier)
    amount: Money = attrs.field(validator=_positive_money)
    outcome: DisputeOutcome = attrs.field(validator=instance_of(DisputeOutcome))
    fee: Money | None = attrs.field(default=None, validator=optional(_positive_money))
    fee_returned: Money | None = attrs.field(default=None, validator=optional(_positive_money))

    def __attrs_post_init__(self) -> None:
        currency = self.amount.currency
        for name, part in (("fee", self.fee), ("fee_returned", self.fee_returned)):
            if part is not None and part.currency != currency:
                raise ValidationError(f"must be in the dispute's currency {currency}", field=name)
        if self.fee_returned is not None and self.fee is None:
            raise ValidationError("a fee was returned that was never charged",
                                  field="fee_returned")  # fmt: skip
        if self.fee_returned is not None and self.fee is not None and self.fee_returned > self.fee:
            raise ValidationError(f"returns {self.fee_returned} of a fee of {self.fee}",
                                      field="fee_returned")  # fmt: skip


def _version(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    int64(_instance, attribute, value)


@attrs.frozen
class PaymentSnapshot:
    """One gateway report of a payment against an invoice.

    Args:
        payment_id: the vendor's payment id (unique per gateway).
        invoice_id: our invoice the payment is for.
        method: card, bank account (ACH), wallet...
        status: processing, succeeded, failed, refunded (in full), disputed.
        amount: the amount of the payment.
        version: the vendor's ordering for this object (event time in microseconds, or
            a sequence number); a higher version is newer.
        gateway: the gateway that reported it.
        fee: what the gateway kept of it, when it reports that (an accounting entry
            of its own, seed 004).
        refunds: the refunds the report itemizes (a partial refund leaves the payment
            ``succeeded``; each is an accounting entry of its own).
        disputes: the disputes the report names, with their outcome.
        itemized: the gateway reports each refund and dispute by its own id (in this
            report or in another one): a refunded or disputed status then implies no
            accounting entry by itself.
    """

    payment_id: str = attrs.field(validator=identifier)
    invoice_id: str = attrs.field(validator=identifier)
    method: PaymentMethodKind = attrs.field(validator=instance_of(PaymentMethodKind))
    status: PaymentStatus = attrs.field(validator=instance_of(PaymentStatus))
    amount: Money = attrs.field(validator=instance_of(Money))
    version: int = attrs.field(validator=_version)
    gateway: str = attrs.field(default="sandbox", validator=identifier)
    fee: Money | None = attrs.field(default=None, validator=optional(instance_of(Money)))
    refunds: tuple[PaymentRefund, ...] = attrs.field(default=(), validator=tuple_of(PaymentRefund))
    disputes: tuple[PaymentDispute, ...] = attrs.field(
        default=(), validator=tuple_of(PaymentDispute)
    )
    itemized: bool = attrs.field(default=False, validator=instance_of(bool))

    def __attrs_post_init__(self) -> None:
        currency = self.amount.currency
        parts = [("fee", self.fee), *(("refunds", r.amount) for r in self.refunds),
                 *(("disputes", d.amount) for d in self.disputes)]  # fmt: skip
        for name, part in parts:
            if part is not None and part.currency != currency:
                raise ValidationError(f"must be in the payment's currency {currency}", field=name)
        if self.refunds and self.refunded > self.amount:
            raise ValidationError(f"refunds of {self.refunded} exceed the payment of "
                                  f"{self.amount}", field="refunds")  # fmt: skip

    @property
    def refunded(self) -> Money:
        """What the itemized refunds gave back so far."""
        return Money.total((r.amount for r in self.refunds), self.amount.currency)

    @property
    def order_key(self) -> tuple[int, int, int]:
        """The total order snapshots of one payment are merged by (a tie in version and
        stage goes to the report that has seen more refunded: refunds only add up)."""
        # the refunds' minor units summed as they are: one currency, checked on creation
        return (self.version, _STAGE[self.status], sum(r.amount.amount for r in self.refunds))

    def supersedes(self, other: PaymentSnapshot) -> bool:
        """Whether this snapshot is newer than ``other`` (of the same payment)."""
        return self.order_key > other.order_key
