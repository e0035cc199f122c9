"""Reading PayPal's JSON objects: statuses, amounts, times, and whose payment it is.

Plain ``dict`` in (a webhook's ``resource``, or an API answer decoded from its text),
domain values out, through the kit's :class:`~portal_access.gateways._kit.Fields`, so a
body of another shape is a :class:`~portal_access.WebhookVerificationError` with reason
``"body"`` naming the field.

**Our ids at PayPal.** An order's purchase unit carries our invoice id in ``custom_id``
(and the invoice number in ``invoice_id``, which PayPal shows the payer); a subscription
carries :class:`Ours` (contact, plan, invoice) packed in its ``custom_id``. A closed
order's ``custom_id`` is rewritten to :data:`CLOSED_PREFIX` + the invoice id, so its
approval is never captured.

**Ordering.** A snapshot's version is the object's ``update_time`` in microseconds since
the epoch (:func:`version_of`): PayPal's own clock for that object, so a duplicate or an
older report never wins.

>>> ours = Ours(contact_id="c-1", plan_id="plan-monthly", invoice_id="inv_1")
>>> Ours.unpack(ours.pack()) == ours
True
>>> capture_method(Fields({"status": "PENDING", "status_details": {"reason": "ECHECK"}},
...                       gateway="paypal"))
<PaymentMethodKind.BANK_ACCOUNT: 'bank_account'>
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from portal_access._domain.autopay import SavedPaymentMethod
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
from portal_access._domain.validation import ensure_identifier
from portal_access.gateways._kit import Fields

__all__ = [
    "CAPTURE_STATUS",
    "CLOSED_PREFIX",
    "DISPUTE_FEE_REASONS",
    "REFUND_COUNTED",
    "SALE_REFUND_COUNTED",
    "Fee",
    "dispute_of",
    "foreign_fees",
    "paypal_fee",
    "refund_of",
    "sale_fee",
    "sale_refund_of",
    "SALE_STATUS",
    "SUBSCRIPTION_STATUS",
    "Obj",
    "Ours",
    "capture_method",
    "dispute_status",
    "link",
    "our_invoice",
    "sale_method",
    "saved_wallet",
    "subscription_status",
    "token_owner",
    "version_of",
]

Obj = Mapping[str, Any]

#: What a closed order's ``custom_id`` starts with: its approval is never captured.
CLOSED_PREFIX = "closed:"

CAPTURE_STATUS = {
    "COMPLETED": PaymentStatus.SUCCEEDED,
    "PENDING": PaymentStatus.PROCESSING,
    "DECLINED": PaymentStatus.FAILED,
    "FAILED": PaymentStatus.FAILED,
    "REFUNDED": PaymentStatus.REFUNDED,
    "PARTIALLY_REFUNDED": PaymentStatus.SUCCEEDED,  # REFUNDED means in full
}
#: A sale's ``state`` (lower case in webhooks; read in any case).
SALE_STATUS = {
    "completed": PaymentStatus.SUCCEEDED,
    "pending": PaymentStatus.PROCESSING,
    "denied": PaymentStatus.FAILED,
    "refunded": PaymentStatus.REFUNDED,
    "partially_refunded": PaymentStatus.SUCCEEDED,
}
SUBSCRIPTION_STATUS = {
    "APPROVAL_PENDING": SubscriptionStatus.INCOMPLETE,
    "APPROVED": SubscriptionStatus.INCOMPLETE,
    "ACTIVE": SubscriptionStatus.ACTIVE,
    "SUSPENDED": SubscriptionStatus.UNPAID,  # PayPal suspends after the failure threshold
    "CANCELLED": SubscriptionStatus.CANCELED,
    "EXPIRED": SubscriptionStatus.CANCELED,
}
_DISPUTE_SETTLED = {"RESOLVED_SELLER_FAVOUR", "CANCELED_BY_BUYER", "DENIED"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@attrs.frozen
class Ours:
    """Our ids on a PayPal subscription (its ``custom_id``)."""

    contact_id: str
    plan_id: str
    invoice_id: str | None = None

    def pack(self) -> str:
        """The ``custom_id`` text: compact JSON, ASCII only (PayPal's pattern)."""
        return json.dumps(
            {"c": self.contact_id, "p": self.plan_id, "i": self.invoice_id}, separators=(",", ":")
        )

    @classmethod
    def unpack(cls, text: str | None) -> Ours | None:
        """The ids in a ``custom_id``, or ``None`` when it is not one of ours."""
        try:
            value = json.loads(text or "")
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        contact, plan, invoice = value.get("c"), value.get("p"), value.get("i")
        if not (isinstance(contact, str) and contact and isinstance(plan, str) and plan):
            return None
        return cls(contact, plan, invoice if isinstance(invoice, str) and invoice else None)


def our_invoice(custom_id: str | None) -> str | None:
    """The invoice of ours a capture's (or purchase unit's) ``custom_id`` names: none
    when it is absent, closed (:data:`CLOSED_PREFIX`), or text no id of ours could be
    (PayPal takes any 127 characters there: another integration's blanks or tabs are
    not a payment of ours, and not a body to refuse).

    >>> our_invoice("inv_1"), our_invoice("closed:inv_1"), our_invoice("Order 12\\tgift")
    ('inv_1', None, None)
    """
    if not custom_id or custom_id.startswith(CLOSED_PREFIX):
        return None
    try:
        return ensure_identifier(custom_id, field="custom_id")
    except ValidationError:
        return None


def version_of(moment: datetime) -> int:
    """An instant as microseconds since the epoch (the domain's version unit)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def link(obj: Fields, rel: str) -> str | None:
    """The ``href`` of the object's HATEOAS link ``rel``, if any."""
    for item in obj.objects("links"):
        if item.optional_text("rel") == rel:
            return item.optional_text("href")
    return None


def capture_method(capture: Fields) -> PaymentMethodKind:
    """How a capture was paid: a card answers through a processor; an eCheck says so
    while it is pending; anything else went through the payer's PayPal wallet."""
    if capture.has("processor_response"):
        return PaymentMethodKind.CARD
    details = capture.optional_object("status_details")
    if details is not None and details.optional_text("reason") == "ECHECK":
        return PaymentMethodKind.BANK_ACCOUNT
    return PaymentMethodKind.WALLET


def sale_method(sale: Fields) -> PaymentMethodKind:
    """How a subscription payment (a sale) was paid: ``payment_mode`` ``ECHECK`` is a bank."""
    echeck = "ECHECK" in (sale.optional_text("payment_mode"), sale.optional_text("reason_code"))
    return PaymentMethodKind.BANK_ACCOUNT if echeck else PaymentMethodKind.WALLET


def subscription_status(subscription: Fields) -> SubscriptionStatus:
    """Our status for a subscription: ``ACTIVE`` with failed payments is past due."""
    status = subscription.status("status", SUBSCRIPTION_STATUS)
    billing = subscription.optional_object("billing_info")
    failed = billing.optional_integer("failed_payments_count") if billing is not None else None
    if status is SubscriptionStatus.ACTIVE and failed:
        return SubscriptionStatus.PAST_DUE
    return status


#: A refund's ``status`` that gives the money back (``CANCELLED``, ``FAILED`` do not).
REFUND_COUNTED = frozenset({"COMPLETED", "PENDING"})


@attrs.frozen
class Fee:
    """A fee as a PayPal object reports it: ``kept`` when it is in the payment's currency
    and more than zero; ``foreign``, the other currency it is in (not booked: no
    exchange rate is assumed); neither when there is none."""

    kept: Money | None = None
    foreign: str | None = None


_ZERO = re.compile(r"[+-]?0*\.?0*")


def _fee(money: Fields | None, currency: str, *, value: str, code: str) -> Fee:
    """The fee in ``money`` (its amount in ``value``, its currency in ``code``); one in
    another currency is not read further (its amount is never booked)."""
    if money is None:
        return Fee()
    found = money.text(code).upper()
    if found != currency:
        return Fee(foreign=found) if not _ZERO.fullmatch(money.text(value)) else Fee()
    kept = money.decimal_money(value, code)
    return Fee(kept=kept) if kept else Fee()


def paypal_fee(capture: Fields, currency: str) -> Fee:
    """What PayPal kept of a capture: ``seller_receivable_breakdown.paypal_fee``."""
    breakdown = capture.optional_object("seller_receivable_breakdown")
    fee = breakdown.optional_object("paypal_fee") if breakdown is not None else None
    return _fee(fee, currency, value="value", code="currency_code")


def sale_fee(sale: Fields, currency: str) -> Fee:
    """What PayPal kept of a sale (a subscription's payment): its ``transaction_fee``
    (the v1 form, ``{"currency", "value"}``).

    >>> sale = Fields({"transaction_fee": {"currency": "CAD", "value": "0.72"}}, gateway="paypal")
    >>> sale_fee(sale, "CAD"), sale_fee(sale, "USD")
    (Fee(kept=Money(amount=72, currency='CAD'), foreign=None), Fee(kept=None, foreign='CAD'))
    """
    fee = sale.optional_object("transaction_fee")
    return _fee(fee, currency, value="value", code="currency")


def refund_of(refund: Fields, currency: str) -> tuple[PaymentRefund, ...]:
    """A Refund resource as ours, when it gives the money back."""
    amount = refund.object("amount").decimal_money("value", "currency_code")
    if refund.optional_text("status") not in REFUND_COUNTED or not amount:
        return ()
    if amount.currency != currency:
        return ()
    return (PaymentRefund(refund.text("id"), amount, refund.optional_instant("create_time")),)


#: A v1 refund's ``state`` (a sale's refund) that gives the money back (``failed``,
#: ``cancelled`` do not); read in any case.
SALE_REFUND_COUNTED = frozenset({"completed", "pending"})


def sale_refund_of(refund: Fields) -> PaymentRefund | None:
    """A sale's refund (the v1 Refund resource: ``amount.total`` and ``.currency``, a
    lower-case ``state``) as ours, when it gives money back. PayPal's own event sample
    shows the total negative (money going out): its size is what was given back.

    >>> refund = Fields({"id": "6YX43824R4443062K", "state": "completed",
    ...                  "amount": {"total": "-0.01", "currency": "USD"}}, gateway="paypal")
    >>> sale_refund_of(refund).amount
    Money(amount=1, currency='USD')
    """
    amount = refund.object("amount")
    total = amount.text("total").strip().removeprefix("-")
    try:
        money = Money.parse(total, amount.text("currency").upper())
    except ValidationError as exc:
        raise amount.error("total", f"is not an amount: {exc.message}") from None
    if (refund.optional_text("state") or "").lower() not in SALE_REFUND_COUNTED or not money:
        return None
    return PaymentRefund(refund.text("id"), money, refund.optional_instant("create_time"))


#: A dispute's money movement ``reason`` that is a fee for handling it (PayPal's dispute
#: fee, a chargeback fee, a settlement's fee); ``DISPUTE_SETTLEMENT`` is the disputed
#: money itself, which the dispute's own entry books.
DISPUTE_FEE_REASONS = frozenset({"DISPUTE_FEE", "CHARGEBACK_FEE", "DISPUTE_SETTLEMENT_FEE"})


def _seller_fees(dispute: Fields) -> Iterator[tuple[bool, Fields]]:
    """The dispute's money movements that are fees the seller paid (``True``) or got
    back (``False``), each with its ``amount`` (one with only an ``asset``, a
    cryptocurrency, moves no money of ours)."""
    for movement in dispute.objects("money_movements"):
        if movement.optional_text("affected_party") != "SELLER":
            continue
        if movement.optional_text("reason") not in DISPUTE_FEE_REASONS:
            continue
        kind, amount = movement.optional_text("type"), movement.optional_object("amount")
        if kind in ("DEBIT", "CREDIT") and amount is not None:
            yield kind == "DEBIT", amount


def dispute_of(dispute: Fields) -> tuple[PaymentDispute, ...]:
    """A Dispute resource as ours: resolved for the merchant, won; otherwise resolved,
    lost; else open.

    Its fee is read from its ``money_movements``: the seller's debits of a fee reason
    (:data:`DISPUTE_FEE_REASONS`) are charged, its credits of those reasons given back.
    Only movements in the dispute's currency count (see :func:`foreign_fees`), and no
    more is given back than was charged (a return beyond that has no fee of this
    dispute's to offset: what the books can hold is booked, and the webhook is not
    refused for it).
    """
    amount_field = dispute.optional_object("dispute_amount")
    if amount_field is None:
        return ()
    amount = amount_field.decimal_money("value", "currency_code")
    if not amount:
        return ()
    outcome = DisputeOutcome.OPEN
    if dispute.optional_text("status") == "RESOLVED":
        settled = dispute_status(dispute) is PaymentStatus.SUCCEEDED
        outcome = DisputeOutcome.WON if settled else DisputeOutcome.LOST
    charged = returned = 0
    for paid, money in _seller_fees(dispute):
        if money.text("currency_code").upper() != amount.currency:
            continue
        fee = money.decimal_money("value", "currency_code").amount
        if paid:
            charged += fee
        else:
            returned += fee
    returned = min(returned, charged)
    fee_money = Money(charged, amount.currency) if charged else None
    back = Money(returned, amount.currency) if returned else None
    return (PaymentDispute(dispute.text("dispute_id"), amount, outcome, fee=fee_money,
                           fee_returned=back),)  # fmt: skip


def foreign_fees(dispute: Fields, currency: str) -> tuple[str, ...]:
    """The currencies, other than ``currency``, of the dispute's fee movements that
    move money: fees no entry of the payment can hold, sorted."""
    return tuple(
        sorted(
            {
                found
                for _paid, money in _seller_fees(dispute)
                if (found := money.text("currency_code").upper()) != currency
                and not _ZERO.fullmatch(money.text("value"))
            }
        )
    )


def dispute_status(dispute: Fields) -> PaymentStatus:
    """A dispute the merchant won (or the buyer dropped) leaves the payment succeeded;
    any other dispute, open or lost, is a disputed payment."""
    if dispute.optional_text("status") != "RESOLVED":
        return PaymentStatus.DISPUTED
    outcome = dispute.optional_object("dispute_outcome")
    code = outcome.optional_text("outcome_code") if outcome is not None else None
    return PaymentStatus.SUCCEEDED if code in _DISPUTE_SETTLED else PaymentStatus.DISPUTED


def token_owner(token: Fields) -> str | None:
    """Our contact a vault payment token was saved for: its customer's
    ``merchant_customer_id`` (the setup token we made named the contact so)."""
    customer = token.optional_object("customer")
    return customer.optional_text("merchant_customer_id") if customer is not None else None


def saved_wallet(token: Fields, contact_id: str, *, version: int) -> SavedPaymentMethod:
    """A vault payment token as the contact's saved method (its id is what an order's
    ``payment_source.paypal.vault_id`` names); a saved card is a card, anything else (a
    PayPal wallet, Venmo) a wallet.

    >>> token = Fields({"id": "8kk8451t", "payment_source": {"paypal": {
    ...     "email_address": "ann@example.com"}}}, gateway="paypal")
    >>> method = saved_wallet(token, "c-1", version=1)
    >>> method.kind.value, method.label
    ('wallet', 'PayPal ann@example.com')
    """
    source = token.optional_object("payment_source")
    card = source.optional_object("card") if source is not None else None
    wallet = source.optional_object("paypal") if source is not None else None
    if card is not None:
        brand, last = card.optional_text("brand"), card.optional_text("last_digits")
        kind, label = (
            PaymentMethodKind.CARD,
            " ".join(filter(None, (brand, last and f"ending {last}"))),
        )
    else:
        email = wallet.optional_text("email_address") if wallet is not None else None
        kind, label = PaymentMethodKind.WALLET, " ".join(filter(None, ("PayPal", email)))
    return SavedPaymentMethod(
        contact_id=contact_id,
        gateway=token.gateway,
        method_id=token.text("id"),
        kind=kind,
        version=version,
        label=label or "PayPal",
    )
