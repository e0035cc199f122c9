"""Reading Square's objects: vocabularies, versions, and whose payment an order is.

Plain ``dict`` in (a webhook body, or an SDK object's ``dict()``), read through the kit's
:class:`~portal_access.gateways._kit.Fields`, so anything not shaped as Square documents
it is a :class:`~portal_access.WebhookVerificationError` with reason ``"body"`` naming
the field.

**Whose payment.** Square's payments, invoices and subscriptions carry no metadata of
ours; orders do. Every order the gateway creates (for an invoice page or a payment link)
carries :class:`Owner` in its ``metadata``: our invoice, the contact, why it was opened,
and the plan the payment starts. A payment names its order (``order_id``).

>>> from portal_access.gateways._kit import Fields, Unbooked, shown
>>> order = Fields({"metadata": {"invoice_id": "inv-1", "contact_id": "c-1",
...     "purpose": "required_payment", "plan_id": "p-1", "plan_amount": "4900 USD",
...     "plan_interval": "month/1", "card_on_file": "allowed"}}, gateway="square")
>>> owner = owner_of(order)
>>> owner.invoice_id, owner.plan_amount, owner.plan_interval.unit.value, owner.card_on_file
('inv-1', Money(amount=4900, currency='USD'), 'month', True)
>>> micros(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC))
1000005
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import attrs

from portal_access._domain.autopay import SavedPaymentMethod
from portal_access._domain.billing import BillingInterval, IntervalUnit, InvoiceStatus
from portal_access._domain.errors import ValidationError
from portal_access._domain.money import Money
from portal_access._domain.payments import (
    DisputeOutcome,
    PaymentDispute,
    PaymentMethodKind,
    PaymentRefund,
    PaymentStatus,
)
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.gateways._kit import Fields, Unbooked, shown

__all__ = [
    "DISPUTE_OUTCOME",
    "DISPUTE_STATUS",
    "REFUND_COUNTED",
    "dispute_of",
    "processing_fee",
    "refund_of",
    "LIVE_SUBSCRIPTIONS",
    "PAYMENT_STATUS",
    "RENEWAL_INVOICE_STATUS",
    "RENEWAL_PAYMENT_STATUS",
    "SUBSCRIPTION_STATUS",
    "Obj",
    "Owner",
    "arrears_since",
    "invoice_amount",
    "invoice_due",
    "invoice_method",
    "method_kind",
    "micros",
    "owner_metadata",
    "owner_of",
    "payment_status",
    "saved_card",
    "start_of",
]

Obj = Mapping[str, Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: ``Payment.status`` -> ours (a completed payment refunded in full is refunded).
PAYMENT_STATUS = {
    "APPROVED": PaymentStatus.PROCESSING,  # authorised, not captured yet
    "PENDING": PaymentStatus.PROCESSING,  # ACH: for days, until the bank clears it
    "COMPLETED": PaymentStatus.SUCCEEDED,
    "CANCELED": PaymentStatus.FAILED,
    "FAILED": PaymentStatus.FAILED,
}

#: ``Dispute.state`` -> the disputed payment's status: won, or an inquiry closed without
#: a chargeback, leaves it paid; every other state (lost and accepted included) is disputed.
DISPUTE_STATUS = {
    "WON": PaymentStatus.SUCCEEDED,
    "INQUIRY_CLOSED": PaymentStatus.SUCCEEDED,
    "INQUIRY_EVIDENCE_REQUIRED": PaymentStatus.DISPUTED,
    "INQUIRY_PROCESSING": PaymentStatus.DISPUTED,
    "EVIDENCE_REQUIRED": PaymentStatus.DISPUTED,
    "PROCESSING": PaymentStatus.DISPUTED,
    "LOST": PaymentStatus.DISPUTED,
    "ACCEPTED": PaymentStatus.DISPUTED,
}

#: A dispute's ``state`` -> its outcome; an inquiry (``INQUIRY_*``) moves no money and
#: is no dispute in the books; any other state is open.
DISPUTE_OUTCOME = {"WON": DisputeOutcome.WON, "LOST": DisputeOutcome.LOST,
                   "ACCEPTED": DisputeOutcome.LOST}  # fmt: skip
#: A refund's ``status`` that gives the money back (``REJECTED``, ``FAILED`` do not).
REFUND_COUNTED = frozenset({"COMPLETED", "PENDING"})


def processing_fee(
    payment: Fields, currency: str, unbooked: Unbooked | None = None
) -> Money | None:
    """What Square charged for a payment: the sum of the ``processing_fee`` lines in the
    payment's currency that assess a fee, when more than zero.

    Square's lines are signed: a negative ``amount_money`` gives fee back (an
    ``ADJUSTMENT``). The fee is what Square charged; what it gave back is not taken off
    it (the fee is booked once, so a return after that would be lost without a word),
    nor is a line in another currency booked: ``unbooked`` warns about both once per
    payment. A line with no ``amount_money`` holds nothing.
    """
    charged, left_out = 0, []
    for line in payment.objects("processing_fee"):
        money = line.optional_object("amount_money")
        if money is None:
            continue
        amount, code = money.integer("amount"), money.text("currency").upper()
        if code == currency and amount >= 0:
            charged += amount
        elif amount:
            left_out.append(shown(amount, code))
    if left_out and unbooked is not None:
        unbooked.warn(
            ("fee", payment.text("id"), tuple(left_out)),
            "square payment %s: its processing fee lines of %s (fee given back, or in "
            "another currency than the payment's %s) are not booked",
            payment.text("id"), ", ".join(left_out), currency,
        )  # fmt: skip
    return Money(charged, currency) if charged else None


def refund_of(
    refund: Fields, payment_amount: Money, unbooked: Unbooked | None = None
) -> tuple[PaymentRefund, ...]:
    """A PaymentRefund object as ours, when it gives the money back.

    Square refunds up to a payment's ``total_money``: its ``amount_money`` and its
    ``tip_money``. The books hold the payment's ``amount_money`` (what paid the invoice)
    and not its tip, so a refund beyond the payment's amount is booked up to it and the
    rest (tip given back) is not: ``unbooked`` warns about it once.
    """
    amount = refund.object("amount_money").money("amount", "currency")
    if refund.optional_text("status") not in REFUND_COUNTED or not amount:
        return ()
    if amount.currency != payment_amount.currency:
        return ()
    if amount > payment_amount:
        if unbooked is not None:
            unbooked.warn(
                ("refund", refund.text("id")),
                "square refund %s of payment %s: %s of its %s is beyond the payment's %s "
                "(a tip given back; tips are not booked): not booked",
                refund.text("id"), refund.optional_text("payment_id"),
                amount - payment_amount, amount, payment_amount,
            )  # fmt: skip
        amount = payment_amount
        if not amount:
            return ()
    at = refund.optional_instant("created_at")
    return (PaymentRefund(refund.text("id"), amount, at),)


def dispute_of(dispute: Fields) -> tuple[PaymentDispute, ...]:
    """A Dispute object as ours (an inquiry: none)."""
    state = dispute.optional_text("state") or ""
    amount = dispute.object("amount_money").money("amount", "currency")
    if state.startswith("INQUIRY_") or not amount:
        return ()
    dispute_id = dispute.optional_text("id") or dispute.text("dispute_id")
    return (PaymentDispute(dispute_id, amount, DISPUTE_OUTCOME.get(state, DisputeOutcome.OPEN)),)


#: ``Subscription.status`` -> ours, before its invoices are looked at. ``PENDING`` (starts
#: on a later date: its first period was paid on our invoice) is in good standing;
#: ``DEACTIVATED`` (Square stopped billing it) and ``PAUSED`` are kept but not billing.
SUBSCRIPTION_STATUS = {
    "PENDING": SubscriptionStatus.ACTIVE,
    "ACTIVE": SubscriptionStatus.ACTIVE,
    "CANCELED": SubscriptionStatus.CANCELED,
    "DEACTIVATED": SubscriptionStatus.UNPAID,
    "PAUSED": SubscriptionStatus.UNPAID,
}

#: Subscriptions that bill (or will): a customer has at most one per plan variation.
LIVE_SUBSCRIPTIONS = frozenset({"PENDING", "ACTIVE"})

#: ``Invoice.status`` of a renewal (a subscription's invoice) -> ours.
RENEWAL_INVOICE_STATUS = {
    "DRAFT": InvoiceStatus.OPEN,
    "SCHEDULED": InvoiceStatus.OPEN,
    "UNPAID": InvoiceStatus.OPEN,
    "PARTIALLY_PAID": InvoiceStatus.OPEN,
    "PAYMENT_PENDING": InvoiceStatus.OPEN,
    "PAID": InvoiceStatus.PAID,
    "PARTIALLY_REFUNDED": InvoiceStatus.PAID,
    "REFUNDED": InvoiceStatus.PAID,
    "CANCELED": InvoiceStatus.VOID,
    "FAILED": InvoiceStatus.VOID,  # Square canceled it for suspicious activity
}

#: ``Invoice.status`` of a renewal -> the status of the payment it records (keyed by the
#: invoice's id); the other statuses record no payment.
RENEWAL_PAYMENT_STATUS = {
    "PAYMENT_PENDING": PaymentStatus.PROCESSING,
    "PAID": PaymentStatus.SUCCEEDED,
    "PARTIALLY_REFUNDED": PaymentStatus.SUCCEEDED,
    "REFUNDED": PaymentStatus.REFUNDED,
}

_UNPAID = frozenset({"UNPAID", "PARTIALLY_PAID"})
_AUTOMATIC = frozenset({"CARD_ON_FILE", "BANK_ON_FILE"})
_METHOD = {
    "CARD": PaymentMethodKind.CARD,
    "BANK_ACCOUNT": PaymentMethodKind.BANK_ACCOUNT,  # ACH
    "WALLET": PaymentMethodKind.WALLET,  # Apple Pay, Google Pay, Cash App Pay
}
_UNITS = {unit.value: unit for unit in IntervalUnit}


def micros(instant: datetime) -> int:
    """An instant as whole microseconds since 1970 (the domain's version unit)."""
    return (instant - _EPOCH) // timedelta(microseconds=1)


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time(), tzinfo=UTC)


def method_kind(source_type: str | None) -> PaymentMethodKind:
    """Our kind for a ``Payment.source_type`` (``BANK_ACCOUNT`` is ACH); a source type
    Square adds later is ``OTHER``, never an error."""
    return _METHOD.get(source_type or "", PaymentMethodKind.OTHER)


def payment_status(payment: Fields) -> PaymentStatus:
    """A payment's status; a completed one whose ``refunded_money`` covers its total is
    refunded (a part refund leaves it succeeded)."""
    status = payment.status("status", PAYMENT_STATUS)
    refunded = payment.optional_object("refunded_money")
    total = payment.optional_object("total_money") or payment.object("amount_money")
    if refunded is None or status is not PaymentStatus.SUCCEEDED:
        return status
    full = refunded.integer("amount") >= total.integer("amount") > 0
    return PaymentStatus.REFUNDED if full else status


@attrs.frozen
class Owner:
    """What an order of ours is for (its ``metadata``).

    Args:
        invoice_id: our invoice the payment is for.
        contact_id: the paying contact (``None`` for a guest).
        purpose: the :class:`~portal_access._domain.checkout.CheckoutPurpose` value.
        plan_id: the plan a paid order starts, if any.
        plan_amount: what the plan bills each period.
        plan_interval: how often.
        card_on_file: whether the contact may have the subscription charge a saved card.
    """

    invoice_id: str
    contact_id: str | None
    purpose: str
    plan_id: str | None = None
    plan_amount: Money | None = None
    plan_interval: BillingInterval | None = None
    card_on_file: bool = False


def owner_metadata(owner: Owner) -> dict[str, str]:
    """The order ``metadata`` that records ``owner`` (string values, at most 10 keys).

    >>> owner_metadata(Owner("inv-1", None, "quick_pay"))
    {'invoice_id': 'inv-1', 'purpose': 'quick_pay'}
    """
    entries = {
        "invoice_id": owner.invoice_id,
        "contact_id": owner.contact_id,
        "purpose": owner.purpose,
        "plan_id": owner.plan_id,
    }
    if owner.plan_amount is not None and owner.plan_interval is not None:
        entries["plan_amount"] = f"{owner.plan_amount.amount} {owner.plan_amount.currency}"
        entries["plan_interval"] = f"{owner.plan_interval.unit.value}/{owner.plan_interval.count}"
    if owner.card_on_file:
        entries["card_on_file"] = "allowed"
    return {key: value for key, value in entries.items() if value}


def owner_of(order: Fields, unbooked: Unbooked | None = None) -> Owner | None:
    """The owner an order's metadata records; ``None`` for an order that is not ours
    (a renewal's, or one made in Square's dashboard). An id there that could be no id of
    ours (blank, a control character) reads as absent, and ``unbooked`` warns once."""
    meta = order.string_map("metadata")
    ids = order.ids("metadata", ("invoice_id", "contact_id", "plan_id"), unbooked=unbooked)
    invoice_id = ids.get("invoice_id")
    if not invoice_id:
        return None
    plan_id = ids.get("plan_id")
    amount = interval = None
    if plan_id and meta.get("plan_amount") and meta.get("plan_interval"):
        minor, _, currency = meta["plan_amount"].partition(" ")
        unit, _, count = meta["plan_interval"].partition("/")
        try:
            amount = Money(int(minor), currency)
            interval = BillingInterval(_UNITS[unit], int(count))
        except (KeyError, ValueError, ValidationError):
            raise order.error("metadata", "has a plan that is not ours") from None
    return Owner(
        invoice_id=invoice_id,
        contact_id=ids.get("contact_id"),
        purpose=meta.get("purpose", ""),
        plan_id=plan_id,
        plan_amount=amount,
        plan_interval=interval,
        card_on_file=meta.get("card_on_file") == "allowed",
    )


def invoice_amount(invoice: Fields) -> Money:
    """What an invoice asks for: the sum of its payment requests' computed amounts."""
    amounts = [
        request.object("computed_amount_money").money("amount", "currency")
        for request in invoice.objects("payment_requests")
        if request.has("computed_amount_money")
    ]
    if not amounts:
        return invoice.object("next_payment_amount_money").money("amount", "currency")
    return Money.total(amounts, amounts[0].currency)


def invoice_due(invoice: Fields) -> date:
    """The earliest due date of an invoice's payment requests."""
    days = [request.day("due_date") for request in invoice.objects("payment_requests")]
    if not days:
        raise invoice.error("payment_requests", "has no due date")
    return min(days)


def invoice_method(invoice: Fields) -> PaymentMethodKind:
    """How an invoice was (or will be) paid, from what its page accepts: a bank account
    only is ACH; a card otherwise."""
    accepted = invoice.optional_object("accepted_payment_methods")
    card = accepted is not None and accepted.flag("card")
    bank = accepted is not None and accepted.flag("bank_account")
    if bank and not card:
        return PaymentMethodKind.BANK_ACCOUNT
    return PaymentMethodKind.CARD if card else PaymentMethodKind.OTHER


def arrears_since(invoice: Fields, *, charge_failed: bool = False) -> date | None:
    """The due date of a subscription invoice the subscriber failed to pay, else ``None``.

    An invoice is in arrears when it is unpaid (``UNPAID`` or ``PARTIALLY_PAID``) and no
    automatic payment is still to come: none of its payment requests charges a card (or
    bank) on file, or Square reported that scheduled charge failed (``charge_failed``;
    Square then emails the invoice for payment). A ``SCHEDULED`` invoice, or one whose
    card-on-file charge is still ahead, is not in arrears.
    """
    if invoice.text("status") not in _UNPAID:
        return None
    requests = invoice.objects("payment_requests")
    sources = {request.optional_text("automatic_payment_source") for request in requests}
    if sources & _AUTOMATIC and not charge_failed:
        return None
    return invoice_due(invoice)


def saved_card(card: Fields, contact_id: str, *, version: int) -> SavedPaymentMethod:
    """A card on file of ``contact_id``'s customer profile as the contact's saved method
    (its id, ``ccof:...``, is what a payment's ``source_id`` names); its label is the
    brand and last digits Square reports.

    >>> card = Fields({"id": "ccof:1", "card_brand": "VISA", "last_4": "1111"},
    ...               gateway="square")
    >>> saved_card(card, "c-1", version=5).label
    'VISA ending 1111'
    """
    brand, last_4 = card.optional_text("card_brand"), card.optional_text("last_4")
    label = " ".join(part for part in (brand, f"ending {last_4}" if last_4 else None) if part)
    return SavedPaymentMethod(
        contact_id=contact_id,
        gateway=card.gateway,
        method_id=card.text("id"),
        kind=PaymentMethodKind.CARD,
        version=version,
        label=label or "card",
    )
