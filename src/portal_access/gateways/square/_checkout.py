"""Square's hosted pages, customers and subscriptions, for a
:class:`~portal_access._domain.checkout.CheckoutRequest`.

**Which page.** A contact pays on a Square *invoice* page: an order carrying our lines
(and, with a plan, its first period), an invoice for it, published for its ``public_url``.
It is the one Square-hosted page that takes both cards and ACH bank transfers, and its
order carries any lines, so seed 000's first invoice holds both charges. A guest (quick
pay) pays on a *payment link* instead, which needs no customer profile (card and wallets;
Square's payment links take no bank transfers). Saving a payment method without a charge
has no Square-hosted page: a contact who may save one is offered "save my card" on every
invoice page of theirs (``store_payment_method_enabled``).

**Subscriptions.** Square's subscriptions take no bank transfers and cannot put one-time
lines on their first invoice, so the first period is paid on our invoice (card or ACH)
and the subscription for the following periods is made when that invoice is paid
(:func:`ensure_subscription`, from the webhook that says so): it starts one interval
after the payment, bills our plan's amount (``price_override_money``), and charges the
card on file only where the contact may save payment methods (else Square emails each
renewal invoice).

**Re-subscribing** never makes a second live subscription: an active one whose newest
invoice is unpaid is paid back on that invoice's own page; a canceled (or missing) one
is replaced through a new first invoice; a deactivated or paused one is canceled first.

Every POST that creates something carries an idempotency key derived from ours
(:func:`idempotency_key`): a retry, the SDK's or the host's, returns what the first
attempt made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any

from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest, CheckoutSession
from portal_access._domain.errors import ConfigurationError, GatewayRejectedError
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind
from portal_access.gateways._kit import Fields
from portal_access.gateways.square._objects import (
    Obj,
    Owner,
    invoice_due,
    owner_metadata,
    start_of,
)
from portal_access.gateways.square._rest import SquareApi, plain

__all__ = [
    "SquareVendor",
    "ensure_subscription",
    "idempotency_key",
    "open_invoice_page",
    "open_payment_link",
    "pay_back_page",
    "request_kind",
    "upsert_customer",
    "variation",
]

_UNPAID = ("UNPAID", "PARTIALLY_PAID")


def idempotency_key(*parts: str) -> str:
    """A key Square accepts on every endpoint (at most 45 characters), the same for the
    same parts.

    >>> idempotency_key("checkout", "required:inv-1:p0:2026-03-02")
    'pa-9316d68c09c8cc93672b41fddc08a6bdb7e51e0e'
    """
    return "pa-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _money(amount: Money) -> dict[str, Any]:
    return {"amount": amount.amount, "currency": amount.currency}


def _line(description: str, amount: Money) -> dict[str, Any]:
    return {"name": description[:500], "quantity": "1", "base_price_money": _money(amount)}


def _owner(request: CheckoutRequest) -> Owner:
    plan = request.plan
    return Owner(
        invoice_id=request.invoice_id or "",  # none: the order is not ours to report
        contact_id=request.contact_id,
        purpose=request.purpose.value,
        plan_id=plan.id if plan is not None else None,
        plan_amount=plan.amount if plan is not None else None,
        plan_interval=plan.interval if plan is not None else None,
        card_on_file=request.save_payment_method,
    )


def _order(api: SquareApi, request: CheckoutRequest, customer_id: str | None) -> dict[str, Any]:
    lines = [_line(line.description, line.amount) for line in request.lines]
    if request.plan is not None:  # seed 000: the first invoice carries both charges
        lines.append(_line(request.plan.name, request.plan.amount))
    order: dict[str, Any] = {
        "location_id": api.location_id,
        "line_items": lines,
        "metadata": owner_metadata(_owner(request)),
    }
    if customer_id is not None:
        order["customer_id"] = customer_id
    if request.invoice_number:
        order["reference_id"] = request.invoice_number[:40]
    return order


def _title(request: CheckoutRequest) -> str:
    return f"Invoice {request.invoice_number}" if request.invoice_number else "Payment"


def upsert_customer(api: SquareApi, request: CheckoutRequest) -> str:
    """The contact's customer profile: found by ``reference_id`` (our contact id), else
    created under a key derived from the contact and the details sent.

    Raises:
        GatewayError: Square refused or could not be reached.
    """
    contact = request.contact_id
    assert contact is not None
    found = api.customer_with_reference(contact)
    if found is not None:
        return found
    given, _, family = request.customer_name.strip().rpartition(" ")
    params: dict[str, Any] = {"reference_id": contact}
    if request.customer_email is not None:
        params["email_address"] = str(request.customer_email)
    if given or family:
        params |= {"given_name": given or family, "family_name": family if given else None}
    elif request.customer_email is None:
        params["given_name"] = f"Contact {contact}"[:300]  # Square needs a name or an email
    params = {key: value for key, value in params.items() if value}
    key = idempotency_key("customer", contact, repr(sorted(params.items())))
    customers = api.client.customers
    created = api.call(customers.create, idempotency_key=key, **params)
    customer_id: str | None = created.customer.id if created.customer is not None else None
    assert customer_id is not None
    return customer_id


def open_invoice_page(
    api: SquareApi, request: CheckoutRequest, customer_id: str, *, due: date
) -> CheckoutSession:
    """Order -> invoice -> publish: the invoice's hosted page (card, and ACH where the
    request allows it; "save my card" only where the contact may).

    Raises:
        GatewayError: Square refused or could not be reached.
    """
    base = request.idempotency_key
    order: Any = _order(api, request, customer_id)
    made = api.call(
        api.client.orders.create, order=order, idempotency_key=idempotency_key("order", base)
    )
    assert made.order is not None
    assert made.order.id is not None
    methods = request.payment_methods
    invoice: Any = {
        "location_id": api.location_id,
        "order_id": made.order.id,
        "primary_recipient": {"customer_id": customer_id},
        "payment_requests": [{"request_type": "BALANCE", "due_date": due.isoformat()}],
        "delivery_method": "SHARE_MANUALLY",  # the portal sends the page, not Square
        "accepted_payment_methods": {
            "card": PaymentMethodKind.CARD in methods or not methods,
            "bank_account": PaymentMethodKind.BANK_ACCOUNT in methods,
            "square_gift_card": False,
            "buy_now_pay_later": False,
            "cash_app_pay": False,
        },
        "title": _title(request),
        "store_payment_method_enabled": request.save_payment_method,
    }
    drafted = api.call(
        api.client.invoices.create,
        invoice=invoice,
        idempotency_key=idempotency_key("invoice", base),
    ).invoice
    assert drafted is not None
    assert drafted.id is not None
    draft_id, version = drafted.id, drafted.version or 0
    published = api.call(
        api.client.invoices.publish,
        draft_id,
        version=version,
        idempotency_key=idempotency_key("publish", base),
    ).invoice
    assert published is not None
    assert published.public_url is not None
    return CheckoutSession(api.gateway, draft_id, published.public_url, None)


def open_payment_link(api: SquareApi, request: CheckoutRequest) -> CheckoutSession:
    """A payment link for a guest's one-time payment (quick pay).

    Raises:
        GatewayError: Square refused or could not be reached.
    """
    order: Any = _order(api, request, None)
    options: Any = {"redirect_url": request.success_url}
    prefill: Any = {"buyer_email": str(request.customer_email)} if request.customer_email else None
    links = api.client.checkout.payment_links
    made = api.call(
        links.create,
        idempotency_key=idempotency_key("link", request.idempotency_key),
        order=order,
        checkout_options=options,
        pre_populated_data=prefill,
        payment_note=_title(request),
    ).payment_link
    assert made is not None
    assert made.id is not None
    assert made.url is not None
    return CheckoutSession(api.gateway, made.id, made.url, None)


def pay_back_page(api: SquareApi, subscription_id: str) -> CheckoutSession | None:
    """Re-subscribing to ``subscription_id``: the page of its newest unpaid invoice when
    it is active; ``None`` when it is canceled or gone (a new one is made), after
    canceling a deactivated or paused one.

    Raises:
        GatewayRejectedError: it is active with nothing unpaid (``subscription_active``).
        GatewayError: Square refused or could not be reached.
    """
    found = api.subscription(subscription_id)
    if found is None:
        return None
    status = found.get("status")
    if status in ("DEACTIVATED", "PAUSED"):
        subscriptions = api.client.subscriptions
        api.call(subscriptions.cancel, subscription_id)
        return None
    if status not in ("ACTIVE", "PENDING"):
        return None
    for invoice_id in found.get("invoice_ids") or ():  # newest first
        invoice = api.invoice(invoice_id)
        if invoice is not None and invoice.get("status") in _UNPAID and invoice.get("public_url"):
            return CheckoutSession(api.gateway, invoice_id, invoice["public_url"], None)
    message = f"subscription {subscription_id} is {status} with nothing unpaid"
    raise GatewayRejectedError(message, gateway=api.gateway, code="subscription_active")


def ensure_subscription(api: SquareApi, invoice: Obj, owner: Owner, variation_id: str) -> Obj:
    """The subscription a paid first invoice bought: the customer's live subscription to
    the plan variation if there is one, else a new one starting one interval after the
    later of the invoice's due date and the day it was paid.

    Raises:
        GatewayError: Square refused or could not be reached.
    """
    paid = Fields(invoice, gateway=api.gateway, path="invoice")
    customer_id = paid.object("primary_recipient").text("customer_id")
    live = api.live_subscription(customer_id, variation_id)
    if live is not None:
        return live
    assert owner.plan_amount is not None
    assert owner.plan_interval is not None
    anchor = max(invoice_due(paid), paid.instant("updated_at").date())
    start = owner.plan_interval.advance(start_of(anchor)).date()
    card = api.newest_card(customer_id) if owner.card_on_file else None
    params: dict[str, Any] = {
        "location_id": api.location_id,
        "customer_id": customer_id,
        "plan_variation_id": variation_id,
        "start_date": start.isoformat(),
        "price_override_money": _money(owner.plan_amount),
        "idempotency_key": idempotency_key("subscribe", paid.text("id")),
    }
    if card is not None:
        params["card_id"] = card
    subscriptions = api.client.subscriptions
    made = api.call(subscriptions.create, **params).subscription
    assert made is not None
    return plain(made)


class SquareVendor:
    """What the mapping asks of Square (:class:`~._mapping.Vendor`), over :class:`SquareApi`.

    Args:
        api: the API.
        variations: the Square plan variation id for each of our plan ids.
    """

    def __init__(self, api: SquareApi, variations: Mapping[str, str]) -> None:
        self._api, self._variations = api, variations
        self.order, self.payment, self.invoice = api.order, api.payment, api.invoice
        self.subscription, self.contact_of = api.subscription, api.contact_of

    def subscribe(self, invoice: Obj, owner: Owner) -> Obj:
        """:func:`ensure_subscription` for the owner's plan.

        Raises:
            ConfigurationError: the plan has no Square plan variation.
        """
        assert owner.plan_id is not None
        plan_variation = variation(self._variations, owner.plan_id)
        return ensure_subscription(self._api, invoice, owner, plan_variation)


def variation(variations: Mapping[str, str], plan_id: str) -> str:
    """The Square plan variation of our plan.

    Raises:
        ConfigurationError: none is configured.
    """
    try:
        return variations[plan_id]
    except KeyError:
        raise ConfigurationError(
            f"no Square subscription plan variation for plan {plan_id!r}", field="plan_variations"
        ) from None


def request_kind(request: CheckoutRequest) -> str:
    """``"invoice"``, ``"link"`` or ``"unsupported"``: the page a request gets."""
    if request.purpose is CheckoutPurpose.SAVE_PAYMENT_METHOD:
        return "unsupported"
    if request.purpose is CheckoutPurpose.QUICK_PAY or request.contact_id is None:
        return "link"
    return "invoice"
