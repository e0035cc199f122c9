"""The sandbox vendor's books and API: objects, one version counter, events, deliveries.

:class:`SandboxBooks` is what a real vendor keeps on its servers, and the API its SDK
client would call (what :class:`~portal_access.gateways.sandbox.SandboxGateway` calls):
JSON-shaped dicts in and out, a refusal answered ``{"error": {...}}`` as a REST API
answers it. Every change of an object takes the next value of one vendor-wide counter
as its ``version`` and emits one event; every event is kept (``list_events``,
``redeliver``) and queued as a signed webhook delivery.
:class:`~portal_access.testing.sandbox.SandboxVendor` adds what the payer and the
vendor do.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from portal_access._domain.billing import BillingInterval, IntervalUnit, InvoiceStatus, Plan
from portal_access._domain.errors import ConfigurationError
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.adapters import SecretsTokenSource
from portal_access.ports import Clock, TokenSource
from portal_access.testing._deliveries import DeliveryQueue, WebhookSender
from portal_access.testing._sandbox.objects import (
    Checkout,
    Invoice,
    Payment,
    SandboxError,
    Subscription,
    event_body,
)
from portal_access.testing._signing import TimestampedSigner

__all__ = ["ERROR_TYPES", "SESSION_LIFETIME", "SIGNATURE_HEADER", "SandboxBooks"]

#: How long a hosted page takes payment (Stripe Checkout's default).
SESSION_LIFETIME = timedelta(hours=24)
SIGNATURE_HEADER = "Sandbox-Signature"
#: Every ``error.type`` the API answers with.
ERROR_TYPES = frozenset({"invalid_request", "api_error", "rate_limited"})


def refused(code: str, message: str) -> SandboxError:
    """An ``invalid_request`` refusal."""
    return SandboxError("invalid_request", code, message)


class SandboxBooks(WebhookSender):
    """The vendor's books and API (see the module docstring).

    Args:
        webhook_secret: the signing secret, or several while rotating (one ``v1`` each).
        clock: the vendor's time (event ``created``, periods, signatures).
        ids: where ids come from; default random (``cs_sbx_<random>``), so a vendor
            started again never repeats an id a store has seen. Pass
            :class:`~portal_access.adapters.SequentialIds` for readable ids in a test.
        base_url: the hosted pages' base URL.
        fee_basis_points: what the vendor keeps of each succeeded payment, in
            hundredths of a percent (reported as the payment's ``fee``); 0: no fee.

    Raises:
        ConfigurationError: no secret, or a blank one.
    """

    def __init__(
        self,
        *,
        webhook_secret: str | Sequence[str],
        clock: Clock,
        ids: TokenSource | None = None,
        base_url: str = "https://sandbox.portal-access.invalid",
        fee_basis_points: int = 0,
    ) -> None:
        secrets = (webhook_secret,) if isinstance(webhook_secret, str) else tuple(webhook_secret)
        if not secrets or not all(s.strip() for s in secrets):
            raise ConfigurationError("needs one or more non-blank secrets", field="webhook_secret")
        self._clock, self._base_url = clock, base_url.rstrip("/")
        self._ids = ids if ids is not None else SecretsTokenSource()
        self._signer = TimestampedSigner(SIGNATURE_HEADER, secrets, clock)
        self._queue = DeliveryQueue(self._signer.sign)
        self._version = 0
        self._checkouts: dict[str, Checkout] = {}
        self._customers: dict[str, str] = {}
        self._payments: dict[str, Payment] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._invoices: dict[str, Invoice] = {}
        self._events: dict[str, tuple[int, bytes]] = {}
        self._replies: dict[str, tuple[str, dict[str, Any]]] = {}  # idempotency key -> reply
        self._failures: deque[SandboxError] = deque()
        self._fee_basis_points = fee_basis_points
        self._saved: dict[str, tuple[str | None, PaymentMethodKind]] = {}  # setup id -> owner
        self._declining: set[str] = set()  # saved methods the bank now declines

    # -- the API ---------------------------------------------------------------------------

    def create_checkout_session(
        self, params: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Open a hosted page; the same key with the same ``params`` answers the same page,
        with other ``params`` it is refused (``idempotency``). ``params``: ``mode``
        (``payment``, ``subscription``, ``setup``), ``currency``, ``line_items``
        (``[{"description", "amount"}]``), ``plan`` (``{"id", "name", "amount",
        "interval", "interval_count"}``), ``payment_methods``, ``customer`` (our contact:
        one vendor customer each), ``metadata`` (``invoice_id``, ``contact_id``),
        ``replaces_subscription``, ``success_url``, ``cancel_url``."""
        return self._answer(lambda: self._open(params), key=idempotency_key, params=params)

    def expire_checkout_session(self, session_id: str) -> dict[str, Any]:
        """Close an open page (emits ``checkout.expired``); a closed or paid one is
        answered as it is."""
        return self._answer(lambda: self._expire(session_id))

    def create_refund(self, params: Mapping[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Refund ``params["payment"]``: ``amount`` minor units in ``currency``, or all
        that is left when ``amount`` is null. Refunded in full: ``refunded``; in part:
        still ``succeeded``."""
        return self._answer(lambda: self._refund(params), key=idempotency_key, params=params)

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> dict[str, Any]:
        """Cancel now (its open renewal invoice is voided); a canceled one stays as it is."""
        call = lambda: self._cancel(subscription_id)  # noqa: E731
        return self._answer(call, key=idempotency_key, params={"cancel": subscription_id})

    def charge_saved_method(
        self, params: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Charge a saved method off-session: ``params`` ``method`` (a setup's id),
        ``customer`` (our contact: the method's owner), ``amount``, ``currency``,
        ``metadata`` (``invoice_id``). Answers the payment: ``succeeded`` (a card),
        ``processing`` (a bank account) or ``failed`` with ``decline_code`` (a method
        the bank declines, see :meth:`decline_saved_method`); the same key charges once."""
        return self._answer(lambda: self._charge_saved(params), key=idempotency_key, params=params)

    def list_events(self, *, created_gte: int) -> dict[str, Any]:
        """The events created at or after ``created_gte`` (unix seconds), oldest first."""

        def listed() -> dict[str, Any]:
            events = sorted(self._events.values(), key=lambda item: item[0])
            data = [json.loads(body) for created, body in events if created >= created_gte]
            return {"object": "list", "data": data}

        return self._answer(listed)

    def fail_next(self, error_type: str = "api_error", *, times: int = 1) -> None:
        """Answer the next ``times`` API calls with an error of ``error_type`` (one of
        :data:`ERROR_TYPES`), as a vendor that is down or throttling."""
        self._failures.extend([SandboxError(error_type, error_type, "try again later")] * times)

    # -- webhook deliveries (attach, pending_deliveries, deliver, redeliver) ----------------

    def _event_body(self, event_id: str) -> bytes:
        """An emitted event's body.

        Raises:
            SandboxError: no such event.
        """
        if event_id not in self._events:
            raise refused("no_such_event", f"no event {event_id!r}")
        return self._events[event_id][1]

    def customers(self) -> dict[str, str]:
        """The vendor's customers: our contact id -> the vendor's customer id."""
        return dict(self._customers)

    def subscription_ids(self, contact_id: str) -> tuple[str, ...]:
        """The contact's subscriptions at the vendor, oldest first (any status)."""
        mine = [s for s in self._subscriptions.values() if s.contact_id == contact_id]
        return tuple(s.id for s in sorted(mine, key=lambda s: s.created))

    # -- what the API does -----------------------------------------------------------------

    def _answer(
        self,
        call: Callable[[], dict[str, Any]],
        *,
        key: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Run one API call: a failure on demand, a replay for a key seen before, the
        reply (or the refusal) kept for the key, the events it emitted delivered."""
        fingerprint = json.dumps(params, sort_keys=True, default=str)
        try:
            if self._failures:
                raise self._failures.popleft()
            if key is not None and key in self._replies:
                seen, reply = self._replies[key]
                if seen != fingerprint:
                    raise refused("idempotency", "idempotency key reused for another request")
                return reply
            reply = call()
        except SandboxError as error:
            return error.reply()
        if key is not None:
            self._replies[key] = (fingerprint, reply)
        self._queue.flush()
        return reply

    def _open(self, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            checkout = self._checkout(params)
        except (KeyError, TypeError, ValueError) as exc:  # the domain's ValidationError too
            raise refused("parameter_invalid", f"bad checkout parameters: {exc!r}") from exc
        self._checkouts[checkout.id] = checkout
        return checkout.to_json()

    def _checkout(self, params: Mapping[str, Any]) -> Checkout:
        currency, metadata = params["currency"], params.get("metadata") or {}
        plan = None
        if params["mode"] == "subscription":
            p = params["plan"]
            interval = BillingInterval(IntervalUnit(p["interval"]), p["interval_count"])
            plan = Plan(id=p["id"], name=p["name"], amount=Money(p["amount"], currency),
                        interval=interval)  # fmt: skip
            if params.get("customer") is None:
                raise refused("customer_required", "a subscription needs a customer")
        amount = None
        if params["mode"] != "setup":
            total = sum(int(item["amount"]) for item in params.get("line_items", ()))
            amount = Money(total + (plan.amount.amount if plan else 0), currency)
        customer = params.get("customer")
        if customer is not None and customer not in self._customers:
            self._customers[customer] = self._ids.new_id("cus_sbx_")
        checkout_id = self._ids.new_id("cs_sbx_")
        return Checkout(
            checkout_id,
            url=f"{self._base_url}/checkout/{checkout_id}",
            mode=params["mode"],
            amount=amount,
            plan=plan,
            methods=frozenset(PaymentMethodKind(word) for word in params["payment_methods"]),
            contact_id=metadata.get("contact_id"),
            invoice_id=metadata.get("invoice_id"),
            replaces=params.get("replaces_subscription"),
            customer_id=None if customer is None else self._customers[customer],
            expires_at=self._now() + SESSION_LIFETIME,
        )

    def _expire(self, session_id: str) -> dict[str, Any]:
        checkout = self._checkout_of(session_id)
        if checkout.status == "open":
            checkout = self._checkouts[session_id] = attrs.evolve(checkout, status="expired")
            obj = {"object": "checkout_session", "id": session_id, "status": "expired"}
            self._emit("checkout.expired", {**obj, "version": self._next_version()})
        return checkout.to_json()

    def _refund(self, params: Mapping[str, Any]) -> dict[str, Any]:
        payment = self._payment(str(params.get("payment")), PaymentStatus.SUCCEEDED)
        remaining = payment.amount.amount - payment.amount_refunded
        value = remaining if params.get("amount") is None else params["amount"]
        currency = params.get("currency") or payment.amount.currency
        if currency != payment.amount.currency:
            raise refused("currency", f"refund in {currency} of a {payment.amount}")
        if not isinstance(value, int) or not 0 < value <= remaining:
            raise refused("amount", f"cannot refund {value} of {remaining} left")
        full = value == remaining
        refund_id = self._ids.new_id("re_sbx_")
        created = int(self._clock.now().timestamp())
        self._put_payment(
            payment,
            amount_refunded=payment.amount_refunded + value,
            status=PaymentStatus.REFUNDED if full else PaymentStatus.SUCCEEDED,
            event_type="payment.refunded",
            refunds=(*payment.refunds, (refund_id, value, created)),
        )
        return {"object": "refund", "id": refund_id, "payment": payment.id, "amount": value,
                "currency": currency, "status": "succeeded"}  # fmt: skip

    def _charge_saved(self, params: Mapping[str, Any]) -> dict[str, Any]:
        method_id = str(params.get("method"))
        if method_id not in self._saved:
            raise refused("no_such_method", f"no saved payment method {method_id!r}")
        owner, kind = self._saved[method_id]
        if params.get("customer") != owner:
            raise refused("method_owner", "the saved method belongs to another customer")
        amount = params.get("amount")
        if not isinstance(amount, int) or amount <= 0:
            raise refused("amount", f"cannot charge {amount!r}")
        metadata = params.get("metadata") or {}
        if method_id in self._declining:
            status = PaymentStatus.FAILED
        elif kind is PaymentMethodKind.BANK_ACCOUNT:
            status = PaymentStatus.PROCESSING
        else:
            status = PaymentStatus.SUCCEEDED
        payment = Payment(
            self._ids.new_id("py_sbx_"),
            contact_id=owner,
            invoice_id=metadata.get("invoice_id"),
            method=kind,
            status=status,
            amount=Money(amount, str(params.get("currency"))),
            version=0,
        )
        payment = self._put_payment(payment)
        reply = payment.to_json()
        if status is PaymentStatus.FAILED:
            reply["decline_code"] = "card_declined"
        return reply

    def _cancel(self, subscription_id: str) -> dict[str, Any]:
        subscription = self._subscription(subscription_id)
        if subscription.status is not SubscriptionStatus.CANCELED:
            subscription = self._put_subscription(subscription, status=SubscriptionStatus.CANCELED)
            self._void_open_invoices(subscription_id)
        return subscription.to_json()

    # -- the books -------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock.now()

    def _next_version(self) -> int:
        self._version += 1
        return self._version

    def _emit(self, event_type: str, obj: dict[str, object]) -> None:
        event_id = self._ids.new_id("evt_sbx_")
        created = math.floor(self._now().timestamp())
        body = event_body(event_id=event_id, event_type=event_type, created=created, obj=obj)
        self._events[event_id] = (created, body)
        self._queue.push(body)

    def _checkout_of(self, session_id: str) -> Checkout:
        if session_id not in self._checkouts:
            raise refused("no_such_session", f"no checkout session {session_id!r}")
        return self._checkouts[session_id]

    def _payment(self, payment_id: str, *statuses: PaymentStatus) -> Payment:
        payment = self._payments.get(payment_id)
        if payment is None:
            raise refused("no_such_payment", f"no payment {payment_id!r}")
        if statuses and payment.status not in statuses:
            raise refused("payment_state", f"payment {payment_id} is {payment.status.value}")
        return payment

    def _subscription(self, subscription_id: str) -> Subscription:
        if subscription_id not in self._subscriptions:
            raise refused("no_such_subscription", f"no subscription {subscription_id!r}")
        return self._subscriptions[subscription_id]

    def _put_payment(
        self, payment: Payment, event_type: str | None = None, **changes: Any
    ) -> Payment:
        """Store ``payment`` with ``changes`` and a new version; emit its event."""
        payment = attrs.evolve(payment, **changes, version=self._next_version())
        if payment.status is PaymentStatus.SUCCEEDED and payment.fee is None:
            fee = payment.amount.amount * self._fee_basis_points // 10_000
            payment = attrs.evolve(payment, fee=fee if fee else None)
        self._payments[payment.id] = payment
        self._emit(event_type or f"payment.{payment.status.value}", payment.to_json())
        return payment

    def _put_subscription(self, subscription: Subscription, **changes: Any) -> Subscription:
        """Store ``subscription`` with ``changes`` and a new version; emit its event."""
        subscription = attrs.evolve(subscription, **changes, version=self._next_version())
        self._subscriptions[subscription.id] = subscription
        self._emit("subscription.updated", subscription.to_json())
        return subscription

    def _put_invoice(self, invoice: Invoice, **changes: Any) -> Invoice:
        """Store ``invoice`` with ``changes`` and a new version; emit its event."""
        invoice = attrs.evolve(invoice, **changes, version=self._next_version())
        self._invoices[invoice.id] = invoice
        self._emit("invoice.updated", invoice.to_json())
        return invoice

    def _open_invoices(self, subscription_id: str) -> list[Invoice]:
        return [
            invoice
            for invoice in self._invoices.values()
            if invoice.subscription_id == subscription_id and invoice.status is InvoiceStatus.OPEN
        ]

    def _void_open_invoices(self, subscription_id: str) -> None:
        for invoice in self._open_invoices(subscription_id):
            self._put_invoice(invoice, status=InvoiceStatus.VOID)
