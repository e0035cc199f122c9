"""A :class:`~portal_access._domain.checkout.CheckoutRequest` as Stripe Checkout parameters.

- ``SAVE_PAYMENT_METHOD``: ``mode=setup`` (nothing is charged);
- a plan: ``mode=subscription``, the one-time lines on the first invoice only (Stripe
  adds one-time prices of a subscription session to its first invoice: seed 000's
  "first invoice both, later only the subscription");
- otherwise ``mode=payment``.

``allowed_payment_method_types`` (the current API's filter; ``payment_method_types``
is no longer a request parameter) comes from ``request.payment_methods`` (card,
``us_bank_account`` for ACH). Our ``invoice_id`` and ``contact_id`` go in the metadata
of the session, and of the payment intent (``payment_intent_data``) or the subscription
(``subscription_data``, with ``plan_id``), so every webhook finds its way back.
"""

from __future__ import annotations

import hashlib
from typing import Any

import stripe

from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest, CheckoutSession
from portal_access._domain.errors import GatewayRejectedError
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind
from portal_access.gateways.stripe._errors import translate
from portal_access.gateways.stripe._objects import stripe_amount

__all__ = ["chargeable", "checkout_params", "idempotent", "pay_back_page", "upsert_customer"]

_METHOD = {PaymentMethodKind.CARD: "card", PaymentMethodKind.BANK_ACCOUNT: "us_bank_account"}
_REACTIVATE = ("past_due", "unpaid", "incomplete")


def idempotent(*parts: str) -> Any:
    """Request options carrying the idempotency key ``portal-access:<parts>``."""
    return {"idempotency_key": ":".join(("portal-access", *parts))}


def chargeable(amount: Money, *, gateway: str) -> int:
    """``amount`` as Stripe's API counts it (see
    :func:`~portal_access.gateways.stripe._objects.stripe_amount`).

    Raises:
        GatewayRejectedError: ``code="amount_not_chargeable"``: Stripe cannot count it (a
            fraction of an ariary: Stripe's MGA has no decimals); nothing was sent.
    """
    counted = stripe_amount(amount)
    if counted is None:
        raise GatewayRejectedError(
            f"Stripe charges {amount.currency} in whole units only, not {amount}",
            gateway=gateway,
            code="amount_not_chargeable",
        )
    return counted


def _line(
    description: str, amount: Money, recurring: dict[str, Any] | None, gateway: str
) -> dict[str, Any]:
    price: dict[str, Any] = {
        "currency": amount.currency.lower(),
        "product_data": {"name": description},
        "unit_amount": chargeable(amount, gateway=gateway),
    }
    if recurring is not None:
        price["recurring"] = recurring
    return {"price_data": price, "quantity": 1}


def checkout_params(
    request: CheckoutRequest, customer: str | None, *, gateway: str = "stripe"
) -> dict[str, Any]:
    """The ``POST /v1/checkout/sessions`` parameters for ``request``, its amounts as
    Stripe counts them (ISK in hundredths, MGA in whole ariary).

    Raises:
        GatewayRejectedError: an amount Stripe cannot count (see :func:`chargeable`).

    >>> from portal_access._domain.checkout import CheckoutRequest
    >>> request = CheckoutRequest(purpose=CheckoutPurpose.SAVE_PAYMENT_METHOD,
    ...     currency="USD", success_url="https://p.example/ok", cancel_url="https://p.example",
    ...     idempotency_key="setup-1", contact_id="c-1", save_payment_method=True)
    >>> checkout_params(request, "cus_1")["mode"]
    'setup'
    """
    meta = {"purpose": request.purpose.value, "contact_id": request.contact_id,
            "invoice_id": request.invoice_id, "invoice_number": request.invoice_number}  # fmt: skip
    metadata = {key: value for key, value in meta.items() if value}
    methods = sorted(_METHOD[m] for m in request.payment_methods if m in _METHOD) or ["card"]
    params: dict[str, Any] = {
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "allowed_payment_method_types": methods,
        "metadata": metadata,
        "currency": request.currency.lower(),
    }
    if request.invoice_id or request.contact_id:
        params["client_reference_id"] = request.invoice_id or request.contact_id
    if customer is not None:
        params["customer"] = customer
    elif request.customer_email is not None:
        params["customer_email"] = str(request.customer_email)
    if request.purpose is CheckoutPurpose.SAVE_PAYMENT_METHOD:
        return {**params, "mode": "setup", "setup_intent_data": {"metadata": metadata}}
    lines = [_line(line.description, line.amount, None, gateway) for line in request.lines]
    if request.plan is not None:
        interval = request.plan.interval
        recurring = {"interval": interval.unit.value, "interval_count": interval.count}
        lines.append(_line(request.plan.name, request.plan.amount, recurring, gateway))
        subscription = {"metadata": {**metadata, "plan_id": request.plan.id}}
        return {**params, "mode": "subscription", "line_items": lines,
                "subscription_data": subscription}  # fmt: skip
    intent: dict[str, Any] = {"metadata": metadata}
    if request.invoice_number:
        intent["description"] = f"Invoice {request.invoice_number}"
    if request.save_payment_method and customer is not None:
        intent["setup_future_usage"] = "off_session"
    return {**params, "mode": "payment", "line_items": lines, "payment_intent_data": intent}


def upsert_customer(client: stripe.StripeClient, gateway: str, request: CheckoutRequest) -> str:
    """The contact's customer: found by ``metadata['contact_id']``, else created under
    an idempotency key derived from the contact and the details sent (a retry within
    Stripe's 24 hours gets the same customer back; later, search finds it).

    Raises:
        GatewayError: Stripe refused or could not be reached.
    """
    contact = request.contact_id
    assert contact is not None
    quoted = contact.replace("\\", "\\\\").replace("'", "\\'")
    params: Any = {"metadata": {"contact_id": contact}}
    if request.customer_email is not None:
        params["email"] = str(request.customer_email)
    if request.customer_name:
        params["name"] = request.customer_name
    digest = hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:16]
    try:
        query: Any = {"query": f"metadata['contact_id']:'{quoted}'", "limit": 1}
        found = client.v1.customers.search(query)
        if found.data:
            return found.data[0].id
        return client.v1.customers.create(params, idempotent("customer", contact, digest)).id
    except stripe.StripeError as exc:
        raise translate(exc, gateway=gateway) from exc


def pay_back_page(
    client: stripe.StripeClient, gateway: str, subscription_id: str
) -> CheckoutSession | None:
    """Re-subscribing without a second subscription: the hosted page of the open invoice
    of a past-due, unpaid or incomplete subscription (which then bills the new method:
    ``save_default_payment_method=on_subscription``); ``None`` when it is canceled or
    gone, so that a new subscription is made.

    Raises:
        GatewayRejectedError: the subscription is active (``code="subscription_active"``)
            or has no open invoice (``code="no_open_invoice"``).
        GatewayError: Stripe refused or could not be reached.
    """
    try:
        expand: Any = {"expand": ["latest_invoice"]}
        subscription = client.v1.subscriptions.retrieve(subscription_id, expand)
        status = subscription.status
        invoice = subscription.latest_invoice
        if status in ("canceled", "incomplete_expired"):
            return None
        if status not in _REACTIVATE:
            message, code = f"subscription {subscription_id} is {status}", "subscription_active"
            raise GatewayRejectedError(message, gateway=gateway, code=code)
        if not isinstance(invoice, stripe.Invoice) or not invoice.hosted_invoice_url:
            message, code = f"subscription {subscription_id} has no open invoice", "no_open_invoice"
            raise GatewayRejectedError(message, gateway=gateway, code=code)
        settings: Any = {"payment_settings": {"save_default_payment_method": "on_subscription"}}
        options = idempotent("pay-back", subscription_id, invoice.id)
        client.v1.subscriptions.update(subscription_id, settings, options)
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return None
        raise translate(exc, gateway=gateway) from exc
    except stripe.StripeError as exc:
        raise translate(exc, gateway=gateway) from exc
    return CheckoutSession(gateway, invoice.id, invoice.hosted_invoice_url, None)
