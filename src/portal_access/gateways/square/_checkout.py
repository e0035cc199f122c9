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

**Saved cards (autopay).** A card is saved on file for the contact's customer profile
either while paying an invoice page ("save my card", where the contact may) or without
a payment: the payer's browser turns the card into a one-time nonce with Square's Web
Payments SDK and :func:`save_card` stores it (``CreateCard``). Autopay charges it with
:func:`charge_card`: an order carrying our invoice (as every page's order does), then
``CreatePayment`` with the card as ``source_id``, ``autocomplete`` on, both under keys
derived from the autopay attempt, so a retry never charges twice.

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

from portal_access._domain.autopay import SavedMethodCharge, SavedMethodSetup, SavedPaymentMethod
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest, CheckoutSession
from portal_access._domain.errors import ConfigurationError, GatewayRejectedError
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentSnapshot
from portal_access.gateways._kit import Fields
from portal_access.gateways.square._objects import (
    Obj,
    Owner,
    invoice_due,
    method_kind,
    micros,
    owner_metadata,
    payment_status,
    saved_card,
    start_of,
)
from portal_access.gateways.square._rest import SquareApi, plain

__all__ = [
    "AUTOPAY_PURPOSE",
    "SquareVendor",
    "charge_card",
    "customer_for",
    "ensure_subscription",
    "idempotency_key",
    "open_invoice_page",
    "open_payment_link",
    "pay_back_page",
    "request_kind",
    "save_card",
    "upsert_customer",
    "variation",
]

#: The ``purpose`` an autopay charge's order records.
AUTOPAY_PURPOSE = "autopay"

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
    return customer_for(api, contact, request.customer_email, request.customer_name)


def customer_for(api: SquareApi, contact: str, email: object | None, name: str) -> str:
    """The customer profile whose ``reference_id`` is ``contact``: found, else created
    (with ``email`` and ``name``) under a key derived from the contact and the details.

    Raises:
        GatewayError: Square refused or could not be reached.
    """
    found = api.customer_with_reference(contact)
    if found is not None:
        return found
    given, _, family = name.strip().rpartition(" ")
    params: dict[str, Any] = {"reference_id": contact}
    if email is not None:
        params["email_address"] = str(email)
    if given or family:
        params |= {"given_name": given or family, "family_name": family if given else None}
    elif email is None:
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
    # Square refuses ``pre_populated_data: null``; without an email the field is left out
    # (the SDK sends what it is given, ``None`` as ``null``).
    prefill: Any = (
        {"pre_populated_data": {"buyer_email": str(request.customer_email)}}
        if request.customer_email
        else {}
    )
    links = api.client.checkout.payment_links
    made = api.call(
        links.create,
        idempotency_key=idempotency_key("link", request.idempotency_key),
        order=order,
        checkout_options=options,
        payment_note=_title(request),
        **prefill,
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


def save_card(api: SquareApi, setup: SavedMethodSetup, *, version: int) -> SavedPaymentMethod:
    """``CreateCard``: the card a Web Payments SDK nonce (``setup.token``) stands for,
    on file for the contact's customer profile (found, else made), its ``reference_id``
    our contact; the same ``idempotency_key`` stores it once.

    Raises:
        GatewayRejectedError: Square refused the nonce (used, expired, unknown).
        PaymentDeclinedError: the issuer refused the card's verification.
        GatewayError: Square could not be reached.
    """
    customer = customer_for(api, setup.contact_id, setup.customer_email, setup.customer_name)
    card: Any = {"customer_id": customer, "reference_id": setup.contact_id[:128]}
    if setup.customer_name.strip():
        card["cardholder_name"] = setup.customer_name.strip()[:96]
    made = api.call(
        api.client.cards.create,
        idempotency_key=idempotency_key("card", setup.idempotency_key),
        source_id=setup.token,
        card=card,
    ).card
    assert made is not None
    return saved_card(Fields(plain(made), gateway=api.gateway, path="card"), setup.contact_id,
                      version=version)  # fmt: skip


def charge_card(api: SquareApi, charge: SavedMethodCharge) -> PaymentSnapshot:
    """Charge a card on file off-session: the card must be enabled and on file for the
    contact's customer profile; an order carrying our invoice (so the payment's webhooks
    find it), then ``CreatePayment`` with ``autocomplete``, both under keys derived from
    ``charge.idempotency_key``.

    Raises:
        GatewayRejectedError: no such card (``code="no_such_method"``), another
            customer's (``code="method_owner"``), or disabled (``code="method_disabled"``).
        PaymentDeclinedError: the issuer declined (``code`` is Square's:
            ``CARD_DECLINED``, ``INSUFFICIENT_FUNDS``...).
        GatewayError: Square refused otherwise or could not be reached.
    """
    card = api.card(charge.method_id)
    if card is None:
        raise GatewayRejectedError(f"no card {charge.method_id}", gateway=api.gateway,
                                   code="no_such_method")  # fmt: skip
    customer_id = card.get("customer_id")
    owner = api.contact_of(customer_id) if isinstance(customer_id, str) and customer_id else None
    if owner != charge.contact_id:
        raise GatewayRejectedError("the saved card is not this contact's", gateway=api.gateway,
                                   code="method_owner")  # fmt: skip
    if not card.get("enabled"):
        raise GatewayRejectedError("the saved card is disabled", gateway=api.gateway,
                                   code="method_disabled")  # fmt: skip
    assert isinstance(customer_id, str)
    key = charge.idempotency_key
    owner_of_order = Owner(invoice_id=charge.invoice_id, contact_id=charge.contact_id,
                           purpose=AUTOPAY_PURPOSE)  # fmt: skip
    order: Any = {
        "location_id": api.location_id,
        "customer_id": customer_id,
        "line_items": [_line(f"Autopay of invoice {charge.invoice_id}", charge.amount)],
        "metadata": owner_metadata(owner_of_order),
    }
    made = api.call(
        api.client.orders.create, order=order, idempotency_key=idempotency_key("autopay-order", key)
    ).order
    assert made is not None
    assert made.id is not None
    amount: Any = _money(charge.amount)
    payment = api.call(
        api.client.payments.create,
        source_id=charge.method_id,
        idempotency_key=idempotency_key("autopay", key),
        amount_money=amount,
        autocomplete=True,
        order_id=made.id,
        customer_id=customer_id,
        location_id=api.location_id,
        reference_id=charge.invoice_id[:40],
        note=f"Autopay of invoice {charge.invoice_id}"[:500],
    ).payment
    assert payment is not None
    paid = Fields(plain(payment), gateway=api.gateway, path="payment")
    return PaymentSnapshot(
        payment_id=paid.text("id"),
        invoice_id=charge.invoice_id,
        method=method_kind(paid.optional_text("source_type")),
        status=payment_status(paid),
        amount=paid.object("amount_money").money("amount", "currency"),
        version=micros(paid.instant("updated_at")),
        gateway=api.gateway,
    )


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
