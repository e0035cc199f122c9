"""A :class:`~portal_access._domain.checkout.CheckoutRequest` as PayPal request bodies.

- one-time lines only (a one-time offer, quick pay): an **order** (``intent=CAPTURE``),
  one purchase unit whose ``custom_id`` is our invoice id and ``invoice_id`` the
  invoice's number, approved on PayPal's page and captured by us afterwards;
- a plan (with or without one-time lines; a re-subscribe): a **subscription** whose
  setup fee is everything due now (the one-time lines plus the first period, seed 000's
  "first invoice carries both") and whose regular cycles start one interval later, so
  one approval pays the first invoice and every later payment is a renewal. It fails
  whole: ``setup_fee_failure_action=CANCEL``. ``payment_failure_threshold=1`` makes
  PayPal suspend it at the first failed renewal (seed 000's restriction);
- saving a method: a vault **setup token** for the PayPal wallet.

Every POST carries a ``PayPal-Request-Id`` from :func:`request_id`, so a retry returns
what the first call made.

>>> paypal_money(Money(25000, "USD")), paypal_money(Money(500, "JPY"))
({'currency_code': 'USD', 'value': '250.00'}, {'currency_code': 'JPY', 'value': '500'})
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from portal_access._domain.autopay import SavedMethodCharge, SavedMethodSetup
from portal_access._domain.billing import Plan
from portal_access._domain.checkout import CheckoutRequest
from portal_access._domain.errors import ValidationError
from portal_access._domain.money import Money
from portal_access.gateways.paypal._objects import Ours

__all__ = [
    "autopay_order_body",
    "order_body",
    "paypal_money",
    "plan_body",
    "plan_fingerprint",
    "payment_token_body",
    "product_id",
    "request_id",
    "setup_token_body",
    "subscription_body",
]

_MAX_REQUEST_ID = 100
_MAX_CUSTOM_ID = 127


def paypal_money(amount: Money) -> dict[str, str]:
    """PayPal's money object: the ISO code and a decimal string in major units."""
    return {"currency_code": amount.currency, "value": f"{amount.major:.{amount.exponent}f}"}


def request_id(*parts: str) -> str:
    """The ``PayPal-Request-Id`` for ``parts`` (hashed when it would be too long).

    >>> request_id("order", "required:inv_1:p0:2026-03-02")
    'portal-access:order:required:inv_1:p0:2026-03-02'
    """
    text = ":".join(("portal-access", *parts))
    if len(text) <= _MAX_REQUEST_ID:
        return text
    return f"portal-access:{parts[0]}:{hashlib.sha256(text.encode()).hexdigest()}"


def _experience(request: CheckoutRequest, brand_name: str | None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "return_url": request.success_url,
        "cancel_url": request.cancel_url,
        "shipping_preference": "NO_SHIPPING",
    }
    if brand_name:
        context["brand_name"] = brand_name[:127]
    return context


def order_body(request: CheckoutRequest, *, brand_name: str | None = None) -> dict[str, Any]:
    """The ``POST /v2/checkout/orders`` body for one-time lines."""
    total = Money.total((line.amount for line in request.lines), request.currency)
    unit: dict[str, Any] = {
        "reference_id": "default",
        "amount": {**paypal_money(total), "breakdown": {"item_total": paypal_money(total)}},
        "items": [
            {
                "name": line.description[:127],
                "quantity": "1",
                "unit_amount": paypal_money(line.amount),
                "category": "DIGITAL_GOODS",
            }
            for line in request.lines
        ],
    }
    if request.invoice_id:
        unit["custom_id"] = request.invoice_id
    if request.invoice_number:
        unit["invoice_id"] = request.invoice_number[:127]
        unit["description"] = f"Invoice {request.invoice_number}"[:127]
    experience = {**_experience(request, brand_name), "user_action": "PAY_NOW"}
    return {
        "intent": "CAPTURE",
        "purchase_units": [unit],
        "payment_source": {"paypal": {"experience_context": experience}},
    }


def product_id(plan: Plan) -> str:
    """Our catalog product for a plan: stable, 6 to 50 characters."""
    return f"PORTAL-ACCESS-{hashlib.sha256(plan.id.encode()).hexdigest()[:24].upper()}"


def plan_fingerprint(plan: Plan) -> str:
    """What a PayPal plan made for ``plan`` says in its description: our id and its
    price, so a changed price makes a new PayPal plan."""
    price = paypal_money(plan.amount)
    interval = plan.interval
    text = (
        f"portal-access plan {plan.id}: {price['value']} {price['currency_code']} "
        f"every {interval.count} {interval.unit.value}"
    )
    if len(text) > _MAX_CUSTOM_ID:
        digest = hashlib.sha256(plan.id.encode()).hexdigest()[:16]
        text = f"portal-access plan #{digest}: {price['value']} {price['currency_code']}"
    return text


def _preferences() -> dict[str, Any]:
    return {
        "auto_bill_outstanding": True,
        "setup_fee_failure_action": "CANCEL",
        "payment_failure_threshold": 1,
    }


def plan_body(plan: Plan, product: str) -> dict[str, Any]:
    """The ``POST /v1/billing/plans`` body: one regular cycle, forever."""
    frequency = {
        "interval_unit": plan.interval.unit.value.upper(),
        "interval_count": plan.interval.count,
    }
    return {
        "product_id": product,
        "name": plan.name[:127],
        "description": plan_fingerprint(plan),
        "status": "ACTIVE",
        "billing_cycles": [
            {
                "frequency": frequency,
                "tenure_type": "REGULAR",
                "sequence": 1,
                "total_cycles": 0,
                "pricing_scheme": {"fixed_price": paypal_money(plan.amount)},
            }
        ],
        "payment_preferences": _preferences(),
    }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def subscription_body(
    request: CheckoutRequest, paypal_plan: str, *, now: datetime, brand_name: str | None = None
) -> dict[str, Any]:
    """The ``POST /v1/billing/subscriptions`` body: everything due now as the setup fee,
    the regular cycles from one interval after ``now``.

    Raises:
        ValidationError: our ids do not fit PayPal's ``custom_id`` (127 characters).
    """
    plan, contact = request.plan, request.contact_id
    assert plan is not None
    assert contact is not None
    custom = Ours(contact, plan.id, request.invoice_id).pack()
    if len(custom) > _MAX_CUSTOM_ID:
        raise ValidationError("ids too long for PayPal's custom_id", field="contact_id")
    body: dict[str, Any] = {
        "plan_id": paypal_plan,
        "start_time": _stamp(plan.interval.advance(now)),
        "custom_id": custom,
        "application_context": {**_experience(request, brand_name), "user_action": "SUBSCRIBE_NOW"},
        "plan": {
            "payment_preferences": {
                **_preferences(),
                "setup_fee": paypal_money(request.amount_due_now),
            }
        },
    }
    if request.customer_email is not None:
        body["subscriber"] = {"email_address": str(request.customer_email)}
    return body


def setup_token_body(request: CheckoutRequest, *, brand_name: str | None = None) -> dict[str, Any]:
    """The ``POST /v3/vault/setup-tokens`` body that saves the payer's PayPal wallet."""
    experience = {**_experience(request, brand_name), "vault_instruction": "ON_PAYER_APPROVAL"}
    experience.pop("shipping_preference")
    body: dict[str, Any] = {
        "payment_source": {
            "paypal": {
                "usage_type": "MERCHANT",
                "description": "Saved for later payments in the customer portal",
                "experience_context": experience,
            }
        }
    }
    if request.contact_id:  # the payment token made from it names our contact
        body["customer"] = {"merchant_customer_id": request.contact_id}
    return body


def payment_token_body(setup: SavedMethodSetup) -> dict[str, Any]:
    """The ``POST /v3/vault/payment-tokens`` body that turns the setup token the payer
    approved into a payment token (the saved method)."""
    return {"payment_source": {"token": {"id": setup.token, "type": "SETUP_TOKEN"}}}


def autopay_order_body(charge: SavedMethodCharge) -> dict[str, Any]:
    """The ``POST /v2/checkout/orders`` body that charges a vaulted PayPal wallet without
    the payer (``payment_source.paypal.vault_id``): PayPal completes (captures) it at once.
    Its purchase unit names our invoice in ``custom_id``, as a checkout order does."""
    return {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "reference_id": "default",
                "custom_id": charge.invoice_id,
                "description": "Autopay",
                "amount": paypal_money(charge.amount),
            }
        ],
        "payment_source": {"paypal": {"vault_id": charge.method_id}},
    }
