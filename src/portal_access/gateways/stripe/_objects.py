"""Stripe's vocabularies, and whose payment an invoice or a payment intent is.

Read with the kit's :class:`~portal_access.gateways._kit.Fields`: a webhook body, or an
SDK object's ``to_dict()``; anything not shaped as Stripe documents it is a
:class:`~portal_access.WebhookVerificationError` with reason ``"body"``.

>>> SUBSCRIPTION_STATUS["incomplete_expired"]
<SubscriptionStatus.CANCELED: 'canceled'>
>>> method_kind("us_bank_account")
<PaymentMethodKind.BANK_ACCOUNT: 'bank_account'>
>>> offered_method(["card", "us_bank_account"], delayed=True)
<PaymentMethodKind.BANK_ACCOUNT: 'bank_account'>
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.gateway_events import renewal_invoice_id
from portal_access._domain.money import CURRENCY_EXPONENTS, Money
from portal_access._domain.payments import (
    DisputeOutcome,
    PaymentDispute,
    PaymentMethodKind,
    PaymentRefund,
    PaymentStatus,
)
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.gateways._kit import Fields, Unbooked

__all__ = [
    "DISPUTE_OUTCOME",
    "DISPUTE_SETTLED",
    "REFUND_COUNTED",
    "FeeLookup",
    "InvoiceChargeLookup",
    "RefundLookup",
    "dispute_of",
    "fee_of",
    "from_stripe",
    "stripe_amount",
    "stripe_money",
    "foreign_fees",
    "fractional_fees",
    "refunds_of",
    "renews_ours",
    "INVOICE_STATUS",
    "OUR_KEYS",
    "STRIPE_EXPONENTS",
    "SUBSCRIPTION_STATUS",
    "PaymentOwner",
    "Resolver",
    "invoice_owner",
    "method_kind",
    "offered_method",
    "our_metadata",
    "subscription_details",
]

SUBSCRIPTION_STATUS = {
    "incomplete": SubscriptionStatus.INCOMPLETE,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "trialing": SubscriptionStatus.ACTIVE,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.UNPAID,
    "paused": SubscriptionStatus.UNPAID,
    "canceled": SubscriptionStatus.CANCELED,
}
INVOICE_STATUS = {
    "open": InvoiceStatus.OPEN,
    "uncollectible": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "void": InvoiceStatus.VOID,
}
#: A dispute's ``status`` that leaves its payment paid: won; an inquiry closed; and
#: ``prevented`` (Stripe's dispute prevention blocked or resolved it before it became a
#: chargeback: no funds withdrawn, no dispute fee; a resolution refunds the payment,
#: reported as a refund of its own).
DISPUTE_SETTLED = {"won": PaymentStatus.SUCCEEDED, "warning_closed": PaymentStatus.SUCCEEDED,
                   "prevented": PaymentStatus.SUCCEEDED}  # fmt: skip
#: A dispute's ``status`` -> its outcome (any other status: still open).
DISPUTE_OUTCOME = {"won": DisputeOutcome.WON, "lost": DisputeOutcome.LOST}
#: A refund's ``status`` that has given (or is giving) the money back; ``failed`` and
#: ``canceled`` ones have not.
REFUND_COUNTED = frozenset({"succeeded", "pending", "requires_action"})
#: The metadata keys that name our objects (invoice, contact, plan).
OUR_KEYS = ("invoice_id", "contact_id", "plan_id")
_BANK = {"us_bank_account", "acss_debit", "sepa_debit", "bacs_debit", "au_becs_debit"}
_WALLET = {"link", "cashapp", "paypal", "amazon_pay", "revolut_pay", "apple_pay", "google_pay"}


@attrs.frozen
class PaymentOwner:
    """Whose payment a payment intent is: our payment id, our invoice, its amount."""

    payment_id: str
    invoice_id: str
    amount: Money | None = None


#: Payment intent id -> its owner, asked of the API when an object lacks our metadata.
Resolver = Callable[[str], PaymentOwner | None]
#: Charge id -> its balance transaction (``expand``-ed), asked of the API for the fee.
FeeLookup = Callable[[str], "Fields | None"]
#: Invoice id -> the charges that paid it (its paid invoice payments'), each with its
#: ``balance_transaction`` expanded, asked of the API for the fee and the method.
InvoiceChargeLookup = Callable[[str], "Sequence[Fields]"]
#: Charge id -> its refunds (each a Refund object), asked of the API when the charge
#: does not carry them (it does not at the API versions since 2022-11-15).
RefundLookup = Callable[[str], "Sequence[Fields]"]


#: Where Stripe's minor unit is not ISO 4217's: Stripe counts ISK in hundredths (it is
#: two-decimal in Stripe's API "for backwards compatibility", every amount a multiple of
#: 100) where ISO gives it no decimals, and MGA in whole ariary where ISO gives it two.
#: Every other currency Stripe takes has ISO's exponent (the three-decimal BHD, JOD, KWD,
#: OMR and TND too, whose last digit Stripe wants to be 0).
STRIPE_EXPONENTS = {"ISK": 2, "MGA": 0}


def stripe_amount(money: Money) -> int | None:
    """``money`` counted as Stripe's API counts it (an ``amount``, a ``unit_amount``);
    ``None`` where Stripe cannot count it (a fraction of an ariary).

    >>> stripe_amount(Money(5000, "ISK")), stripe_amount(Money(12300, "MGA"))
    (500000, 123)
    >>> stripe_amount(Money(12345, "MGA")) is None, stripe_amount(Money(2500, "USD"))
    (True, 2500)
    """
    return _shifted(money.amount, STRIPE_EXPONENTS.get(money.currency, money.exponent)
                    - money.exponent)  # fmt: skip


def from_stripe(amount: int, currency: str) -> int | None:
    """Stripe's ``amount`` of ``currency`` in ISO 4217's minor units (ours); ``None``
    where it is no whole number of them (a fraction of a króna, which Stripe has refused
    in charges and refunds since April 2023).

    >>> from_stripe(500000, "isk"), from_stripe(123, "MGA"), from_stripe(4010, "ISK")
    (5000, 12300, None)
    """
    code = currency.upper()
    exponent = CURRENCY_EXPONENTS.get(code, 0)
    return _shifted(amount, exponent - STRIPE_EXPONENTS.get(code, exponent))


def _shifted(amount: int, digits: int) -> int | None:
    """``amount`` with ``digits`` more decimal places (fewer, when negative); ``None``
    where dropping them would drop a part."""
    scale: int = 10 ** abs(digits)
    if digits >= 0:
        return amount * scale
    whole, part = divmod(amount, scale)
    return None if part else whole


def stripe_money(fields: Fields, amount_key: str, currency_key: str) -> Money:
    """:meth:`Fields.money <portal_access.gateways._kit.Fields.money>` read in Stripe's
    units (see :data:`STRIPE_EXPONENTS`).

    Raises:
        WebhookVerificationError: as ``Fields.money``, or no whole number of the
            currency's ISO minor units.
    """
    money = fields.money(amount_key, currency_key)
    minor = from_stripe(money.amount, money.currency)
    if minor is None:
        raise fields.error(amount_key, f"is no whole number of {money.currency}'s minor units")
    return Money(minor, money.currency)


def fee_of(balance_transaction: Fields, currency: str) -> Money | None:
    """What Stripe kept of a charge: its balance transaction's ``fee``, when it is in
    the charge's currency (a fee settled in another currency is not an entry of the
    payment's; ``None``: see :func:`foreign_fees`), a whole number of its ISO minor
    units (see :func:`fractional_fees`), and more than zero."""
    fee = balance_transaction.money("fee", "currency")
    minor = from_stripe(fee.amount, currency) if fee.currency == currency else None
    return Money(minor, currency) if minor else None


def foreign_fees(balance_transactions: Iterable[Fields], currency: str) -> tuple[str, ...]:
    """The currencies, other than ``currency``, in which these balance transactions
    carry a fee (Stripe settles in the account's currency, which may not be the
    charge's): fees no entry of the payment can hold, sorted."""
    return tuple(
        sorted(
            {
                found
                for transaction in balance_transactions
                if (found := transaction.text("currency").upper()) != currency
                and transaction.integer("fee")
            }
        )
    )


def fractional_fees(balance_transactions: Iterable[Fields], currency: str) -> tuple[str, ...]:
    """The fees in ``currency`` these balance transactions carry that are no whole number
    of its ISO minor units (Stripe counts ISK in hundredths: a fee of 145.30 krónur), as
    Stripe states them: no entry can hold them."""
    return tuple(
        f"{fee} {currency} hundredths"
        for transaction in balance_transactions
        if transaction.text("currency").upper() == currency
        and (fee := transaction.integer("fee"))
        and from_stripe(fee, currency) is None
    )


def refunds_of(refunds: Iterable[Fields], currency: str) -> tuple[PaymentRefund, ...]:
    """Refund objects as ours: those that gave the money back, in the charge's currency."""
    found = []
    for refund in refunds:
        amount = stripe_money(refund, "amount", "currency")
        if (
            refund.optional_text("status") in REFUND_COUNTED
            and amount
            and (amount.currency == currency)
        ):
            found.append(
                PaymentRefund(refund.text("id"), amount, refund.optional_moment("created"))
            )
    return tuple(found)


def dispute_of(dispute: Fields, unbooked: Unbooked | None = None) -> tuple[PaymentDispute, ...]:
    """A Dispute object as ours (an inquiry, ``warning_*``, and a ``prevented`` dispute
    move no money: none).

    Its fee is read from its own ``balance_transactions`` (the event carries them, each
    whole): a transaction's positive ``fee`` is charged (Stripe's dispute fee, with the
    funds withdrawn), a negative one given back (with the funds reinstated). Only fees
    in the dispute's currency count (see :func:`foreign_fees`), and no more is given back
    than was charged: ``unbooked`` warns, once, about a return beyond it.
    """
    status = dispute.optional_text("status") or ""
    amount = stripe_money(dispute, "amount", "currency")
    if status.startswith("warning_") or status == "prevented" or not amount:
        return ()
    outcome = DISPUTE_OUTCOME.get(status, DisputeOutcome.OPEN)
    charged = returned = 0
    for transaction in dispute.objects("balance_transactions"):
        if transaction.text("currency").upper() != amount.currency:
            continue
        fee = from_stripe(transaction.integer("fee"), amount.currency)
        if fee is None:
            continue  # see fractional_fees
        if fee > 0:
            charged += fee
        else:
            returned -= fee
    # a return beyond what these transactions charged (the charge in another currency,
    # say) has no fee of this dispute's to offset: what the books can hold is booked, the
    # rest is said, and the webhook is not refused for it
    if returned > charged and unbooked is not None:
        unbooked.warn(
            ("dispute fee returned", dispute.text("id")),
            "stripe dispute %s: %s of fee given back beyond the %s its transactions "
            "charged: not booked",
            dispute.text("id"), Money(returned - charged, amount.currency),
            Money(charged, amount.currency),
        )  # fmt: skip
    returned = min(returned, charged)
    fee_money = Money(charged, amount.currency) if charged else None
    back = Money(returned, amount.currency) if returned else None
    return (PaymentDispute(dispute.text("id"), amount, outcome, fee=fee_money, fee_returned=back),)


def method_kind(type_text: str | None) -> PaymentMethodKind:
    """Our kind for a Stripe payment method type (``us_bank_account`` is ACH)."""
    if type_text == "card":
        return PaymentMethodKind.CARD
    if type_text in _BANK:
        return PaymentMethodKind.BANK_ACCOUNT
    return PaymentMethodKind.WALLET if type_text in _WALLET else PaymentMethodKind.OTHER


def offered_method(offered: Sequence[str], *, delayed: bool) -> PaymentMethodKind:
    """The method of a payment from the types it offered: the only one; a bank for a
    delayed (processing) payment when a bank was offered; else a card if offered."""
    if len(offered) == 1:
        return method_kind(offered[0])
    if delayed:
        bank = next((t for t in offered if t in _BANK), None)
        return method_kind(bank) if bank else PaymentMethodKind.OTHER
    return PaymentMethodKind.CARD if "card" in offered else PaymentMethodKind.OTHER


def our_metadata(obj: Fields, unbooked: Unbooked | None = None) -> dict[str, str]:
    """Our entries of an object's ``metadata`` (:data:`OUR_KEYS`). Stripe takes any text
    of up to 500 characters there, and another app on the account may use the same
    keys: a value that could be no id of ours reads as absent (the object is not ours),
    and ``unbooked`` warns about it once."""
    return obj.ids("metadata", OUR_KEYS, unbooked=unbooked)


def renews_ours(metadata: Mapping[str, str]) -> bool:
    """Whether a subscription's (our) metadata is one of ours that renews: it names our
    contact and plan (a renewal invoice of ours is raised for them)."""
    return bool(metadata.get("contact_id") and metadata.get("plan_id"))


def subscription_details(invoice: Fields) -> Fields | None:
    """An invoice's ``parent.subscription_details`` (its subscription and metadata)."""
    parent = invoice.optional_object("parent")
    return parent.optional_object("subscription_details") if parent else None


def invoice_owner(invoice: Fields, unbooked: Unbooked | None = None) -> PaymentOwner | None:
    """Whose payment an invoice is: the first invoice of our subscription pays our
    invoice (``invoice_id`` in the subscription's metadata); any other invoice of our
    subscription (its metadata names our contact and plan) is a renewal. Not ours: an
    invoice without a subscription, one of a subscription another app made on the
    account (its renewal payment would name a renewal invoice no report of ours raises,
    and wait for it for as long as Stripe retries), and one whose ``total`` is negative:
    a credit to the customer's balance (a downgrade's proration invoiced at once, a
    negative invoice item), which nobody pays."""
    details = subscription_details(invoice)
    if details is None or invoice.integer("total") < 0:
        return None
    invoice_id, meta = invoice.text("id"), our_metadata(details, unbooked)
    if invoice.optional_text("billing_reason") == "subscription_create" and meta.get("invoice_id"):
        ours = meta["invoice_id"]
    elif details.optional_text("subscription") is not None and renews_ours(meta):
        ours = renewal_invoice_id(invoice.gateway, invoice_id)
    else:
        return None  # not ours: its money is not even read
    return PaymentOwner(invoice_id, ours, stripe_money(invoice, "total", "currency"))
