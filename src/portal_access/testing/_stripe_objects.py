"""Stripe's objects as the local Stripe API and the webhook factory build them.

Shaped for the API version the installed SDK pins (``stripe.api_version``): an invoice
names its subscription in ``parent.subscription_details``, a subscription's period is on
its items, payment intents and charges name no invoice (``invoice_payment`` links
them). Only fields Stripe's objects have (the test suite checks every object against
the SDK's own classes); ids come from the caller.

>>> charge = charge_object(charge_id="ch_1", intent_id="pi_1", amount=Money(500, "USD"),
...                        status="pending", method_type="us_bank_account", created=0)
>>> charge["paid"], charge["payment_method_details"]
(False, {'type': 'us_bank_account'})
"""

from __future__ import annotations

from typing import Any

import stripe

from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind
from portal_access._domain.subscriptions import SubscriptionStatus

__all__ = [
    "METHOD_TYPES",
    "as_stripe_counts",
    "charge_object",
    "balance_transaction_object",
    "dispute_balance_transaction",
    "dispute_object",
    "event_object",
    "invoice_line",
    "invoice_object",
    "invoice_payment_object",
    "payment_intent_object",
    "subscription_object",
]

Obj = dict[str, Any]

#: The Stripe payment method type each kind is reported as.
METHOD_TYPES = {
    PaymentMethodKind.CARD: "card",
    PaymentMethodKind.BANK_ACCOUNT: "us_bank_account",
    PaymentMethodKind.WALLET: "link",
    PaymentMethodKind.OTHER: "alipay",
}
_SUBSCRIPTION_TEXT = {
    SubscriptionStatus.INCOMPLETE: "incomplete",
    SubscriptionStatus.ACTIVE: "active",
    SubscriptionStatus.PAST_DUE: "past_due",
    SubscriptionStatus.UNPAID: "unpaid",
    SubscriptionStatus.CANCELED: "canceled",
}


#: Stripe's decimal places where they are not ISO 4217's (Stripe's currency reference:
#: ISK is two-decimal in its API, MGA zero-decimal).
_STRIPE_DECIMALS = {"ISK": 2, "MGA": 0}


def as_stripe_counts(amount: Money) -> Money:
    """``amount`` as Stripe counts it (its ``amount`` fields), still carried in a
    ``Money``: the builders here write ``amount.amount`` as Stripe's count.

    >>> as_stripe_counts(Money(5000, "ISK")), as_stripe_counts(Money(12300, "MGA"))
    (Money(amount=500000, currency='ISK'), Money(amount=123, currency='MGA'))

    Raises:
        ValueError: Stripe cannot count it (a fraction of an ariary).
    """
    shift = _STRIPE_DECIMALS.get(amount.currency, amount.exponent) - amount.exponent
    count, rest = divmod(amount.amount * 10 ** max(shift, 0), 10 ** max(-shift, 0))
    if rest:
        raise ValueError(f"Stripe cannot count {amount}")
    return Money(count, amount.currency)


def _decline(method_type: str, payment_method: str) -> Obj:
    return {
        "type": "card_error" if method_type == "card" else "invalid_request_error",
        "code": "payment_method_provider_decline",
        "message": "The payment was declined.",
        "payment_method": {"id": payment_method, "object": "payment_method", "type": method_type},
    }


def payment_intent_object(
    *,
    intent_id: str,
    amount: Money,
    status: str,
    method: PaymentMethodKind,
    metadata: dict[str, str],
    created: int = 0,
    customer: str | None = None,
    latest_charge: str | None = None,
) -> Obj:
    """A PaymentIntent as Stripe sends it; a failed one (``requires_payment_method``)
    carries ``last_payment_error`` naming the method that failed."""
    method_type = METHOD_TYPES[method]
    failed = status == "requires_payment_method"
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount.amount,
        "amount_received": amount.amount if status == "succeeded" else 0,
        "currency": amount.currency.lower(),
        "created": created,
        "customer": customer,
        "latest_charge": latest_charge or f"ch_{intent_id}",
        "livemode": False,
        "metadata": metadata,
        "payment_method": f"pm_{intent_id}",
        "payment_method_types": [method_type],
        "status": status,
        "processing": None,
        "last_payment_error": _decline(method_type, f"pm_{intent_id}") if failed else None,
    }


def charge_object(
    *,
    charge_id: str,
    intent_id: str,
    amount: Money,
    status: str,
    method_type: str,
    created: int,
    customer: str | None = None,
    balance_transaction: str | None = None,
) -> Obj:
    """A Charge: ``status`` ``pending`` (a bank debit on its way), ``succeeded`` or
    ``failed``; no metadata (Stripe does not copy the intent's); its
    ``balance_transaction`` (the id, unexpanded) once money moved."""
    failed = status == "failed"
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount.amount,
        "amount_captured": amount.amount if status == "succeeded" else 0,
        "amount_refunded": 0,
        "balance_transaction": balance_transaction,
        "captured": status == "succeeded",
        "created": created,
        "currency": amount.currency.lower(),
        "customer": customer,
        "disputed": False,
        "failure_code": "generic_decline" if failed else None,
        "failure_message": "The payment was declined." if failed else None,
        "livemode": False,
        "metadata": {},
        "paid": status == "succeeded",
        "payment_intent": intent_id,
        "payment_method_details": {"type": method_type},
        "refunded": False,
        "status": status,
    }


def balance_transaction_object(*, transaction_id: str, charge: Obj, fee: int, created: int) -> Obj:
    """The BalanceTransaction of a succeeded charge: ``fee`` is what Stripe kept (one
    ``stripe_fee`` line), ``net`` what is left."""
    return {
        "id": transaction_id,
        "object": "balance_transaction",
        "amount": charge["amount"],
        "available_on": created + 2 * 86400,
        "balance_type": "payments",
        "created": created,
        "currency": charge["currency"],
        "description": None,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": [{"amount": fee, "application": None, "currency": charge["currency"],
                         "description": "Stripe processing fees", "type": "stripe_fee"}],
        "net": charge["amount"] - fee,
        "reporting_category": "charge",
        "source": charge["id"],
        "status": "pending",
        "type": "charge",
    }  # fmt: skip


def dispute_balance_transaction(
    *, transaction_id: str, dispute: Obj, fee: int, created: int, reinstated: bool
) -> Obj:
    """A BalanceTransaction a dispute adds: the disputed amount withdrawn with Stripe's
    dispute ``fee`` (a positive fee), or, ``reinstated`` once won, the amount given back
    with the fee returned (a negative fee)."""
    sign = 1 if reinstated else -1
    amount, kept = sign * dispute["amount"], -sign * fee
    what = "reversal" if reinstated else "withdrawal"
    return {
        "id": transaction_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created,
        "balance_type": "payments",
        "created": created,
        "currency": dispute["currency"],
        "description": f"Chargeback {what} for {dispute['charge']}",
        "exchange_rate": None,
        "fee": kept,
        "fee_details": [{"amount": kept, "application": None, "currency": dispute["currency"],
                         "description": "Dispute fee", "type": "stripe_fee"}],
        "net": amount - kept,
        "reporting_category": "dispute_reversal" if reinstated else "dispute",
        "source": dispute["id"],
        "status": "available",
        "type": "adjustment",
    }  # fmt: skip


def dispute_object(*, dispute_id: str, charge: Obj, status: str, created: int) -> Obj:
    """A Dispute of ``charge`` (``needs_response`` while open; ``won`` or ``lost``), with
    no balance transaction yet (see :func:`dispute_balance_transaction`)."""
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": charge["amount"],
        "balance_transactions": [],
        "currency": charge["currency"],
        "charge": charge["id"],
        "payment_intent": charge["payment_intent"],
        "created": created,
        "payment_method_details": {"type": charge["payment_method_details"]["type"]},
        "reason": "fraudulent",
        "status": status,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
    }


def subscription_object(
    *,
    subscription_id: str,
    status: SubscriptionStatus,
    created: int,
    metadata: dict[str, str],
    period_start: int | None = None,
    period_end: int | None = None,
    failed: bool = False,
    customer: str = "cus_test",
    price: Obj | None = None,
    latest_invoice: str | None = None,
) -> Obj:
    """A Subscription as Stripe sends it: the period on its item (current API), a
    cancellation for failed payments when ``failed`` and canceled."""
    start = period_start if period_start is not None else created
    canceled = status is SubscriptionStatus.CANCELED
    reason = ("payment_failed" if failed else "cancellation_requested") if canceled else None
    item = {
        "id": f"si_{subscription_id}",
        "object": "subscription_item",
        "created": created,
        "current_period_start": start,
        "current_period_end": period_end if period_end is not None else start + 30 * 86400,
        "metadata": {},
        "quantity": 1,
        "subscription": subscription_id,
    }
    if price is not None:
        item["price"] = price
    return {
        "id": subscription_id,
        "object": "subscription",
        "created": created,
        "start_date": created,
        "customer": customer,
        "status": _SUBSCRIPTION_TEXT[status],
        "metadata": metadata,
        "cancellation_details": {"comment": None, "feedback": None, "reason": reason},
        "canceled_at": created if canceled else None,
        "latest_invoice": latest_invoice,
        "items": {
            "object": "list",
            "data": [item],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={subscription_id}",
        },
        "collection_method": "charge_automatically",
        "livemode": False,
    }


def invoice_line(
    *,
    line_id: str,
    invoice_id: str,
    amount: Money,
    description: str,
    subscription_id: str,
    period: tuple[int, int],
    subscription_item: str | None = None,
) -> Obj:
    """One line of an invoice: a subscription item's period (``subscription_item``) or a
    one-time item billed with it."""
    if subscription_item is not None:
        parent = {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
                "subscription_item": subscription_item,
            },
        }
    else:
        parent = {
            "type": "invoice_item_details",
            "subscription_item_details": None,
            "invoice_item_details": {
                "invoice_item": f"ii_{line_id}",
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
            },
        }
    return {
        "id": line_id,
        "object": "line_item",
        "amount": amount.amount,
        "currency": amount.currency.lower(),
        "description": description,
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": parent,
        "period": {"start": period[0], "end": period[1]},
        "quantity": 1,
        "subtotal": amount.amount,
    }


def invoice_object(
    *,
    invoice_id: str,
    customer: str | None,
    subscription_id: str,
    metadata: dict[str, str],
    billing_reason: str,
    lines: list[Obj],
    currency: str,
    created: int,
    period: tuple[int, int],
    method_types: list[str] | None = None,
) -> Obj:
    """An open, finalized subscription invoice with its ``lines`` and hosted page."""
    total = sum(line["amount"] for line in lines)
    return {
        "id": invoice_id,
        "object": "invoice",
        "status": "open",
        "created": created,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "customer": customer,
        "currency": currency.lower(),
        "livemode": False,
        "subtotal": total,
        "total": total,
        "amount_due": total,
        "amount_paid": 0,
        "amount_remaining": total,
        "attempt_count": 0,
        "attempted": False,
        "due_date": None,
        "next_payment_attempt": None,
        "metadata": {},
        "hosted_invoice_url": f"https://invoice.stripe.com/i/{invoice_id}",
        "period_start": period[0],
        "period_end": period[1],
        "payment_settings": {"payment_method_types": method_types},
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"subscription": subscription_id, "metadata": metadata},
        },
    }


def invoice_payment_object(
    *, payment_id: str, invoice: Obj, intent_id: str, status: str, created: int
) -> Obj:
    """The link between an invoice and the payment intent that pays it."""
    return {
        "id": payment_id,
        "object": "invoice_payment",
        "invoice": invoice["id"],
        "amount_requested": invoice["amount_due"],
        "amount_paid": invoice["amount_due"] if status == "paid" else None,
        "currency": invoice["currency"],
        "created": created,
        "is_default": True,
        "livemode": False,
        "status": status,
        "payment": {"type": "payment_intent", "payment_intent": intent_id},
        "status_transitions": {
            "canceled_at": None,
            "paid_at": created if status == "paid" else None,
        },
    }


def event_object(*, event_id: str, event_type: str, obj: Obj, created: int) -> Obj:
    """An Event carrying a copy of ``obj`` as it is now."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": stripe.api_version,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
