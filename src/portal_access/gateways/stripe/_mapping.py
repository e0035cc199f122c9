"""Stripe events -> our values: the one mapping webhooks and reconcile share.

Shapes follow the API version the installed SDK pins (``stripe.api_version``): an
invoice names its subscription in ``parent.subscription_details`` (with the
subscription's metadata), not at its top; payment intents and charges no longer name
an invoice.

**Which payment.** A hosted page in ``payment`` mode pays with a PaymentIntent: the
payment id is ``pi_...`` (the session's ``payment_intent``, the intent itself, a
charge's or dispute's ``payment_intent``). In ``subscription`` mode the first invoice
is the payment: the id is ``in_...`` (the session's ``invoice``, the invoice itself).
Renewal invoices of our subscriptions are paid as ``in_...`` against
:func:`renewal_invoice_id`. A charge or dispute without our metadata is resolved through
``resolve`` (the gateway asks the API whose payment intent it is). An object that is not
ours (another app's on the same account) is not read further: its money may be in any
currency Stripe takes, its metadata any text.

**Which state.** The object's state decides: a session's ``payment_status``, an
intent's ``status``, an invoice's ``status``, a charge's ``refunded``, a dispute's
``status``, a subscription's ``status``. Stripe says two things only through the
type, and only there is the type read: a session's *failed* delayed payment
(``checkout.session.async_payment_failed``: the session stays ``unpaid``) and an
invoice's failed attempt (``invoice.payment_failed``: the invoice stays ``open``).

**Ordering.** A snapshot's version is the event's ``created`` (seconds) times
:data:`VERSION_SCALE`. Stripe's clock has one-second steps, so events of one second
tie and the domain's lifecycle order breaks the tie (processing < failed <
succeeded < refunded < disputed): a duplicate or an older report never wins, and
same-second reports converge whatever their arrival order.

**Money for the books** (seed 004). No payment event carries a fee: a succeeded intent's
``latest_charge`` is asked of the API with its ``balance_transaction`` expanded, and
the transaction's ``fee`` is the payment's fee. A paid subscription invoice (``in_...``)
names no payment at this API version (its ``charge`` and ``payment_intent`` are gone;
``payments`` is included only when asked for): its paid invoice payments are listed
through the API, and the charges that paid it give its fee (their balance
transactions') and its method (the invoice lists only the methods it offered). A
``charge.refunded`` charge carries the running total (``amount_refunded``), not the
refunds, at this API version: its refunds are read from the charge when it carries
them, else listed through the API, each with its own id and amount. A dispute event's
dispute is itself the dispute (an inquiry, ``warning_*``, and a ``prevented`` dispute
move no money), and carries its ``balance_transactions``: their fees are the dispute's
fee and its return.

**What the books cannot hold** is left out with a warning (once per object, on
:class:`~portal_access.gateways._kit.Unbooked`), never a refused webhook: a fee Stripe
settled in another currency than the payment's (no exchange rate is assumed:
:class:`~portal_access.gateways._kit.ForeignMoney`), a dispute fee given back beyond
what was charged, an invoice
whose negative total credits the customer's balance (no payment, no renewal), a
metadata value that could be no id of ours (read as absent).

>>> from portal_access.gateways._kit import Fields, gateway_event
>>> event = Fields({"id": "evt_1", "type": "customer.created", "created": 1,
...                 "data": {"object": {"object": "customer", "id": "cus_1"}}}, gateway="stripe")
>>> event_from(event).actionable
False
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import attrs

from portal_access._domain.autopay import SavedPaymentMethod
from portal_access._domain.errors import ValidationError
from portal_access._domain.gateway_events import (
    GatewayEvent,
    RenewalInvoiceReport,
    SavedMethodRemoval,
    SubscriptionReport,
    renewal_invoice_id,
)
from portal_access._domain.money import Money
from portal_access._domain.payments import (
    PaymentMethodKind,
    PaymentRefund,
    PaymentSnapshot,
    PaymentStatus,
)
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus
from portal_access.gateways._kit import Fields, ForeignMoney, Unbooked, gateway_event, shown
from portal_access.gateways.stripe._objects import (
    DISPUTE_SETTLED,
    INVOICE_STATUS,
    SUBSCRIPTION_STATUS,
    FeeLookup,
    InvoiceChargeLookup,
    PaymentOwner,
    RefundLookup,
    Resolver,
    dispute_of,
    fee_of,
    foreign_fees,
    fractional_fees,
    invoice_owner,
    method_kind,
    offered_method,
    our_metadata,
    refunds_of,
    renews_ours,
    stripe_money,
    subscription_details,
)

__all__ = [
    "MAPPED_EVENT_TYPES",
    "VERSION_SCALE",
    "Lookups",
    "event_from",
    "intent_payments",
]

log = logging.getLogger("portal_access.gateways.stripe")

VERSION_SCALE = 1_000_000  # event seconds -> microseconds (the domain's version unit)

#: Event types whose object is mapped; every other type is acknowledged and ignored.
MAPPED_EVENT_TYPES = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "payment_intent.processing",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "invoice.paid",
        "invoice.payment_failed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
        "setup_intent.succeeded",
        "payment_method.detached",
    }
)
_ARREARS = (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)

Payments = tuple[PaymentSnapshot, ...]


def _warn_fees(
    ask: Lookups, what: str, payment: PaymentSnapshot, transactions: tuple[Fields, ...]
) -> None:
    """Warn, once, about the fees of ``transactions`` that ``payment``'s entries cannot
    hold: in another currency (:class:`~portal_access.gateways._kit.ForeignMoney`), or
    no whole number of its currency's minor units (Stripe counts ISK in hundredths)."""
    currency = payment.amount.currency
    foreign = foreign_fees(transactions, currency)
    if foreign:
        ask.foreign.warn(what, payment.payment_id, currency, foreign)
    fractional = fractional_fees(transactions, currency)
    if fractional:
        ask.unbooked.warn(
            (what, "fraction", payment.payment_id),
            "stripe payment %s: its %s of %s is no whole number of %s: not booked",
            payment.payment_id, what, ", ".join(fractional), currency,
        )  # fmt: skip


@attrs.frozen
class Lookups:
    """What the mapping may ask of the API (none: it asks nothing, and reads only what
    the event carries), and where it warns about what it leaves out of the books."""

    resolve: Resolver | None = None
    fee: FeeLookup | None = None
    refunds: RefundLookup | None = None
    invoice_charges: InvoiceChargeLookup | None = None
    unbooked: Unbooked = attrs.field(factory=lambda: Unbooked(log))
    foreign: ForeignMoney = attrs.field(factory=lambda: ForeignMoney("stripe", log))


def event_from(
    event: Fields, *, resolve: Resolver | None = None, lookups: Lookups | None = None
) -> GatewayEvent:
    """One Stripe event (a verified webhook body, or a listed event as a plain dict).

    Raises:
        WebhookVerificationError: ``reason="body"``: not a Stripe event's shape.
        GatewayError: a lookup could not ask the API.
    """
    kind, occurred_at = event.text("type"), event.moment("created")
    obj = event.object("data").object("object")
    ask = lookups or Lookups(resolve=resolve)
    try:  # an unmapped type is acknowledged, ignored
        reports = {}
        if kind in MAPPED_EVENT_TYPES:
            reports = _reports(kind, obj, event.integer("created") * VERSION_SCALE, ask)
        return gateway_event(event, occurred_at=occurred_at, **reports)
    except ValidationError as exc:  # a value the domain refuses (a blank id, a bad currency)
        raise event.error("", str(exc)) from exc


def _reports(kind: str, obj: Fields, version: int, ask: Lookups) -> dict[str, Any]:
    """What the event's object reports; the type says only which object it is."""
    unbooked = ask.unbooked
    if kind.startswith("checkout.session."):
        return {"payments": _session(kind, obj, version, unbooked),
                "checkout_session_id": obj.text("id")}  # fmt: skip
    if kind.startswith("payment_intent."):
        return {"payments": _with_fee(_intent(obj, version, unbooked), obj, ask)}
    if kind == "setup_intent.succeeded":
        return {"saved_methods": _saved_method(obj, version, unbooked)}
    if kind == "payment_method.detached":
        return {"removed_methods": _removed_method(obj, version, unbooked)}
    if kind.startswith("invoice."):
        return _invoice(kind, obj, version, ask)
    if kind.startswith("customer.subscription."):
        return {"subscriptions": _subscription(obj, version, unbooked)}
    if kind == "charge.refunded":
        refunded = PaymentStatus.REFUNDED if obj.flag("refunded") else PaymentStatus.SUCCEEDED
        payments = _charge_like(obj, version, ask, refunded)
        refunds = _charge_refunds(obj, payments[0].amount, ask.refunds) if payments else ()
        listed = refunds is not None
        return {"payments": tuple(attrs.evolve(p, refunds=refunds or (), itemized=listed)
                                  for p in payments)}  # fmt: skip
    disputed = DISPUTE_SETTLED.get(obj.optional_text("status") or "", PaymentStatus.DISPUTED)
    payments = _charge_like(obj, version, ask, disputed)
    # charge.dispute.*: an inquiry or a prevented dispute itemizes none, moves nothing
    disputes = dispute_of(obj, unbooked) if payments else ()
    payments = tuple(attrs.evolve(p, disputes=disputes) for p in payments)
    if disputes:
        transactions = tuple(obj.objects("balance_transactions"))
        for payment in payments:
            _warn_fees(ask, "dispute fee", payment, transactions)
    return {"payments": tuple(attrs.evolve(p, itemized=True) for p in payments)}


def _with_fee(payments: Payments, intent: Fields, ask: Lookups) -> Payments:
    """A succeeded intent's snapshot with what Stripe kept of its charge (asked of the
    API: no event carries the balance transaction)."""
    charge = intent.optional_text("latest_charge")
    if ask.fee is None or charge is None or not payments:
        return payments
    if payments[0].status is not PaymentStatus.SUCCEEDED:
        return payments
    transaction = ask.fee(charge)
    return _charged_fee(payments, (transaction,) if transaction else (), ask)


def _paid_by(payments: Payments, charges: Iterable[Fields], ask: Lookups) -> Payments:
    """A paid invoice's snapshot with what the charges that paid it say (asked of the
    API: the invoice names none): the method they were paid with (the invoice only
    lists the methods it offered) and what Stripe kept of them."""
    charges = tuple(charges)
    details = charges[0].optional_object("payment_method_details") if charges else None
    paid_with = details.optional_text("type") if details else None
    if paid_with is not None:
        payments = (attrs.evolve(payments[0], method=method_kind(paid_with)), *payments[1:])
    transactions = [t for c in charges if (t := c.optional_object("balance_transaction"))]
    return _charged_fee(payments, transactions, ask)


def _charged_fee(payments: Payments, transactions: Iterable[Fields], ask: Lookups) -> Payments:
    """``payments[0]`` with the fees of its charges' balance transactions: those in its
    currency summed; any other currency warned about
    (:class:`~portal_access.gateways._kit.ForeignMoney`), not booked."""
    payment, transactions = payments[0], tuple(transactions)
    currency = payment.amount.currency
    kept = [found for t in transactions if (found := fee_of(t, currency))]
    _warn_fees(ask, "fee", payment, transactions)
    if not kept:
        return payments
    return (attrs.evolve(payment, fee=Money.total(kept, currency)), *payments[1:])


def _charge_refunds(
    charge: Fields, amount: Money, lookup: RefundLookup | None
) -> tuple[PaymentRefund, ...] | None:
    """A refunded charge's refunds (of our payment of ``amount``): those it carries (a
    complete list), else the API's; ``None`` where neither can say."""
    currency = amount.currency
    carried = charge.optional_object("refunds")
    if carried is not None and not carried.flag("has_more"):
        return refunds_of(carried.objects("data"), currency)
    if lookup is None:
        return None
    return refunds_of(lookup(charge.text("id")), currency)


def _snapshot(
    obj: Fields,
    owner: PaymentOwner | None,
    status: PaymentStatus | None,
    *,
    method: PaymentMethodKind,
    amount: Money,
    version: int,
) -> Payments:
    if owner is None or status is None:
        return ()
    amount = owner.amount if owner.amount is not None else amount
    return (
        PaymentSnapshot(
            owner.payment_id, owner.invoice_id, method, status, amount, version, obj.gateway
        ),
    )


def _session(kind: str, obj: Fields, version: int, unbooked: Unbooked) -> Payments:
    invoice_id = our_metadata(obj, unbooked).get("invoice_id")
    payment_id = obj.optional_text(
        "payment_intent" if obj.optional_text("mode") == "payment" else "invoice"
    )
    paid = obj.optional_text("payment_status") in ("paid", "no_payment_required")
    if not invoice_id or payment_id is None or obj.optional_text("status") != "complete":
        return ()
    status = PaymentStatus.SUCCEEDED if paid else PaymentStatus.PROCESSING
    if not paid and kind == "checkout.session.async_payment_failed":
        status = PaymentStatus.FAILED
    offered = obj.texts("payment_method_types")
    method = offered_method(offered, delayed=not paid or "async" in kind)
    owner, amount = (
        PaymentOwner(payment_id, invoice_id),
        stripe_money(obj, "amount_total", "currency"),
    )
    return _snapshot(obj, owner, status, method=method, amount=amount, version=version)


def _intent(obj: Fields, version: int, unbooked: Unbooked | None) -> Payments:
    invoice_id = our_metadata(obj, unbooked).get("invoice_id")
    state = obj.text("status")
    error = obj.optional_object("last_payment_error")
    status = {"succeeded": PaymentStatus.SUCCEEDED, "processing": PaymentStatus.PROCESSING}.get(
        state, PaymentStatus.FAILED if error else None
    )
    failed_with = error.optional_object("payment_method") if error else None
    failed_type = failed_with.optional_text("type") if failed_with else None
    offered = obj.texts("payment_method_types")
    method = (
        method_kind(failed_type)
        if failed_type
        else offered_method(offered, delayed=state == "processing")
    )
    if not invoice_id or status is None:
        return ()  # not ours (its money is not even read), or no payment's state yet
    owner, amount = (
        PaymentOwner(obj.text("id"), invoice_id),
        stripe_money(obj, "amount", "currency"),
    )
    return _snapshot(obj, owner, status, method=method, amount=amount, version=version)


def intent_payments(obj: Fields, version: int) -> Payments:
    """A payment intent (an API answer) as our snapshot; none without our invoice."""
    return _intent(obj, version, None)


def _saved_method(obj: Fields, version: int, unbooked: Unbooked) -> tuple[SavedPaymentMethod, ...]:
    """A setup intent that succeeded: the payment method the contact saved."""
    contact_id = our_metadata(obj, unbooked).get("contact_id")
    method_id = obj.optional_text("payment_method")
    if not contact_id or method_id is None or obj.optional_text("status") != "succeeded":
        return ()
    types = obj.texts("payment_method_types")
    kind = method_kind(types[0] if types else None)
    return (
        SavedPaymentMethod(contact_id=contact_id, gateway=obj.gateway, method_id=method_id,
                           kind=kind, version=version, label=types[0] if types else ""),
    )  # fmt: skip


def _removed_method(
    obj: Fields, version: int, unbooked: Unbooked
) -> tuple[SavedMethodRemoval, ...]:
    """A payment method detached from its customer (by the payer in Stripe's customer
    portal, the merchant's dashboard, or the API): Stripe never attaches it again. The
    event's PaymentMethod no longer names the customer (``customer`` is null), so the
    contact is named only by the method's own ``metadata['contact_id']``, when set."""
    if obj.optional_text("customer") is not None:
        return ()  # still attached: not a removal
    contact_id = our_metadata(obj, unbooked).get("contact_id") or None
    return (
        SavedMethodRemoval(gateway=obj.gateway, method_id=obj.text("id"), version=version,
                           contact_id=contact_id),
    )  # fmt: skip


def _charge_like(obj: Fields, version: int, ask: Lookups, status: PaymentStatus) -> Payments:
    """A charge's or dispute's payment (``obj`` names its intent), when it is ours: by
    our metadata, else as the API says whose the intent is. One not ours is not read
    further (its money may be in any currency Stripe takes)."""
    intent = obj.optional_text("payment_intent")
    if intent is None:
        return ()
    invoice_id = our_metadata(obj, ask.unbooked).get("invoice_id")
    if invoice_id:
        owner: PaymentOwner | None = PaymentOwner(intent, invoice_id)
    else:
        owner = ask.resolve(intent) if ask.resolve is not None else None
    if owner is None:
        return ()
    details = obj.optional_object("payment_method_details")
    method = method_kind(details.optional_text("type") if details else None)
    amount = stripe_money(obj, "amount", "currency")
    return _snapshot(obj, owner, status, method=method, amount=amount, version=version)


def _invoice(kind: str, obj: Fields, version: int, ask: Lookups) -> dict[str, Any]:
    details = subscription_details(obj)
    meta = our_metadata(details, ask.unbooked) if details else {}
    total = obj.integer("total")
    if total < 0 and meta.get("contact_id"):  # a credit, which nobody pays: see invoice_owner
        ask.unbooked.warn(
            ("credit", obj.text("id")),
            "stripe invoice %s of subscription %s: its total is %s, a credit to the "
            "customer's balance: no payment or renewal booked",
            obj.text("id"), details.optional_text("subscription") if details else None,
            shown(total, obj.text("currency")),
        )  # fmt: skip
    owner = invoice_owner(obj, ask.unbooked)
    if owner is None:
        return {}
    state = obj.optional_text("status") or ""
    status = PaymentStatus.SUCCEEDED if state == "paid" else None
    if state in ("open", "uncollectible") and kind == "invoice.payment_failed":
        status = PaymentStatus.FAILED
    settings = obj.optional_object("payment_settings")
    method = offered_method(
        settings.texts("payment_method_types") if settings else (), delayed=False
    )
    amount = stripe_money(obj, "total", "currency")
    payments = _snapshot(obj, owner, status, method=method, amount=amount, version=version)
    # the charges are asked for only where money moved, on a subscription of ours
    charged = obj.optional_integer("amount_paid") != 0 and bool(meta.get("contact_id"))
    if payments and status is PaymentStatus.SUCCEEDED and charged and ask.invoice_charges:
        payments = _paid_by(payments, ask.invoice_charges(owner.payment_id), ask)
    renewal = owner.invoice_id == renewal_invoice_id(obj.gateway, owner.payment_id)
    if not (details and renewal and state in INVOICE_STATUS and renews_ours(meta)):
        return {"payments": payments}
    issued = obj.moment("created").date()
    due = obj.optional_moment("due_date")
    report = RenewalInvoiceReport(
        contact_id=meta["contact_id"],
        vendor_invoice_id=owner.payment_id,
        subscription_id=details.text("subscription"),
        plan_id=meta["plan_id"],
        amount=amount,
        status=INVOICE_STATUS[state],
        version=version,
        issued_on=issued,
        due_on=due.date() if due else issued,
        gateway=obj.gateway,
    )
    return {"payments": payments, "renewals": (report,)}


def _subscription(obj: Fields, version: int, unbooked: Unbooked) -> tuple[SubscriptionReport, ...]:
    meta = our_metadata(obj, unbooked)
    status = obj.status("status", SUBSCRIPTION_STATUS)
    cancellation = obj.optional_object("cancellation_details")
    reason = cancellation.optional_text("reason") if cancellation else None
    failed = status in _ARREARS or (obj.text("status") == "canceled" and reason == "payment_failed")
    items = obj.optional_object("items")
    first = next(items.objects("data"), None) if items else None
    start = first.optional_moment("current_period_start") if first else None
    if not meta.get("contact_id") or not meta.get("plan_id"):
        return ()
    snapshot = SubscriptionSnapshot(
        subscription_id=obj.text("id"),
        plan_id=meta["plan_id"],
        status=status,
        version=version,
        created=obj.integer("created"),
        renewal_failed_at=start if failed else None,
        gateway=obj.gateway,
    )
    return (SubscriptionReport(meta["contact_id"], snapshot),)
