"""One invoice, paid once: what stops a second checkout, and what a second payment is.

Seed 000_07c53b15302458c1.txt charges the required invoice once ("the first generated
Invoice will include both charges"). The peers' users report the opposite: a bank (ACH)
payment is processing, the payer sees the invoice still open, pays again by card, and is
charged twice with two live subscriptions. So:

- :func:`checkout_refusal`: while any payment of an invoice is processing or has
  succeeded, no new checkout page opens for it, on any gateway, under either ACH policy.
- :func:`duplicate_payments`: a payment that lands anyway (a page opened before, paid
  after; a bank payment that clears after staff waived the invoice) is never credited a
  second time. Payments are credited in the order they were first recorded; whatever a
  succeeded payment brings beyond what the invoice still asks is *surplus*, for staff
  (or the ``refund_duplicates`` policy) to refund.
- :func:`duplicate_subscriptions`: a second live subscription of the contact's tied
  plan, besides the one access follows (the newest), is surplus too.

>>> from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
>>> def paid(pid, status=PaymentStatus.SUCCEEDED, method=PaymentMethodKind.CARD):
...     return PaymentSnapshot(payment_id=pid, invoice_id="inv-1", method=method,
...         status=status, amount=Money(29900, "USD"), version=1, gateway="stripe")
>>> ach = paid("py_1", PaymentStatus.PROCESSING, PaymentMethodKind.BANK_ACCOUNT)
>>> checkout_refusal("inv-1", [ach]).reason
'bank_payment_processing'
>>> [(d.payment_id, str(d.surplus)) for d in duplicate_payments(
...     Money(29900, "USD"), [paid("py_1"), paid("py_2")])]
[('py_2', '299.00 USD')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import attrs

from portal_access._domain.errors import PaymentInProgressError
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentSnapshot, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus
from portal_access._domain.validation import identifier, instance_of

__all__ = [
    "DuplicatePayment",
    "checkout_refusal",
    "duplicate_payments",
    "duplicate_subscriptions",
    "live_subscription_refusal",
]

#: Subscriptions that bill (or are about to): a second one of these is a double charge.
_LIVE = frozenset(
    {SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID}
)
#: Subscriptions that stop a re-subscribe: billing normally, or starting (first payment
#: pending).
_STARTED = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.INCOMPLETE})


def _pending_bank(payment: PaymentSnapshot) -> bool:
    pending = payment.status is PaymentStatus.PROCESSING
    return pending and payment.method is PaymentMethodKind.BANK_ACCOUNT


#: What stops a checkout, first match wins: (reason, what to tell the payer, which payments).
_REFUSALS: tuple[tuple[str, str, Callable[[PaymentSnapshot], bool]], ...] = (
    (
        "bank_payment_processing",
        "your bank payment is processing; it takes a few days to clear",
        _pending_bank,
    ),
    (
        "payment_processing",
        "your payment is processing",
        lambda p: p.status is PaymentStatus.PROCESSING,
    ),
    ("paid", "this invoice has been paid", lambda p: p.status is PaymentStatus.SUCCEEDED),
)


def checkout_refusal(
    invoice_id: str, payments: Iterable[PaymentSnapshot]
) -> PaymentInProgressError | None:
    """Why no checkout may open for the invoice, or ``None`` when one may.

    ``payments`` are the invoice's payments, from every gateway. A pending bank payment
    is named first (the payer's likeliest reason to try again), then any pending one,
    then a succeeded one. Failed, refunded and disputed payments do not stop a checkout
    (the access rules decide whether one is due).
    """
    found = sorted(payments, key=lambda p: (p.gateway, p.payment_id))
    for reason, message, stops in _REFUSALS:
        stopping = [p for p in found if stops(p)]
        if stopping:
            return PaymentInProgressError(
                message, reason=reason, invoice_id=invoice_id, payment_id=stopping[0].payment_id
            )
    return None


def live_subscription_refusal(
    plan_id: str, subscriptions: Iterable[SubscriptionSnapshot]
) -> PaymentInProgressError | None:
    """Why re-subscribing to ``plan_id`` must not open a page: a subscription of the plan
    is active or starting (its first payment pending); ``None`` when none is.

    >>> live = SubscriptionSnapshot(subscription_id="sub_2", plan_id="p-1",
    ...     status=SubscriptionStatus.INCOMPLETE, version=1)
    >>> live_subscription_refusal("p-1", [live]).subscription_id
    'sub_2'
    """
    started = sorted(
        (s for s in subscriptions if s.plan_id == plan_id and s.status in _STARTED),
        key=lambda s: s.order_key,
    )
    if not started:
        return None
    return PaymentInProgressError(
        "a subscription is already active or starting; nothing to re-subscribe to",
        reason="subscription_live",
        subscription_id=started[-1].subscription_id,
    )


@attrs.frozen
class DuplicatePayment:
    """A payment that brought more than its invoice asked: the part to refund.

    Args:
        gateway: the gateway that took it.
        payment_id: the vendor's payment id.
        invoice_id: the invoice it paid.
        amount: what the payment was.
        surplus: what it brought beyond what the invoice still asked (``amount`` when the
            invoice was paid already or void).
    """

    gateway: str = attrs.field(validator=identifier)
    payment_id: str = attrs.field(validator=identifier)
    invoice_id: str = attrs.field(validator=identifier)
    amount: Money = attrs.field(validator=instance_of(Money))
    surplus: Money = attrs.field(validator=instance_of(Money))

    @property
    def whole(self) -> bool:
        """Whether all of the payment is surplus (refund it in full)."""
        return self.surplus == self.amount


def duplicate_payments(
    owed: Money, payments: Sequence[PaymentSnapshot]
) -> tuple[DuplicatePayment, ...]:
    """The succeeded payments of one invoice that bring more than ``owed``.

    Args:
        owed: what the invoice asks (its total; zero when it is void).
        payments: its payments in the order they were first recorded (ties: by gateway
            and payment id). The order is fixed once recorded, so a payment once found
            surplus stays so while the same money is held, whatever order the vendor's
            reports arrive in.

    Only succeeded payments hold money: a refunded payment gave it back, a disputed
    one is with the bank, a pending one may never arrive.

    >>> from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
    >>> part = PaymentSnapshot(payment_id="py_1", invoice_id="inv-1",
    ...     method=PaymentMethodKind.CARD, status=PaymentStatus.SUCCEEDED,
    ...     amount=Money(20000, "USD"), version=1)
    >>> rest = attrs.evolve(part, payment_id="py_2")
    >>> [str(d.surplus) for d in duplicate_payments(Money(30000, "USD"), [part, rest])]
    ['100.00 USD']
    """
    credited = 0
    found: list[DuplicatePayment] = []
    for payment in payments:
        if payment.status is not PaymentStatus.SUCCEEDED:
            continue
        amount = payment.amount
        taken = min(max(owed.amount - credited, 0), amount.amount)
        credited += taken
        if taken < amount.amount:
            surplus = Money(amount.amount - taken, amount.currency)
            found.append(
                DuplicatePayment(
                    payment.gateway, payment.payment_id, payment.invoice_id, amount, surplus
                )
            )
    return tuple(found)


def duplicate_subscriptions(
    plan_id: str,
    current: SubscriptionSnapshot | None,
    subscriptions: Iterable[SubscriptionSnapshot],
) -> tuple[SubscriptionSnapshot, ...]:
    """Live subscriptions of ``plan_id`` besides ``current`` (the one access follows:
    the newest), oldest first. Cancelling these leaves access as it is. While
    ``current`` is not live itself (its first payment is pending, or it ended) there is
    no duplicate: the older one may still be the one that bills.

    >>> old = SubscriptionSnapshot(subscription_id="sub_1", plan_id="p-1",
    ...     status=SubscriptionStatus.ACTIVE, version=3, created=1)
    >>> new = attrs.evolve(old, subscription_id="sub_2", created=2)
    >>> [s.subscription_id for s in duplicate_subscriptions("p-1", new, [old, new])]
    ['sub_1']
    """
    if current is None or current.status not in _LIVE:
        return ()
    keep = (current.gateway, current.subscription_id)
    return tuple(
        sorted(
            (
                s
                for s in subscriptions
                if s.plan_id == plan_id
                and s.status in _LIVE
                and (s.gateway, s.subscription_id) != keep
            ),
            key=lambda s: s.order_key,
        )
    )
