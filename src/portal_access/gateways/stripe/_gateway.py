"""The Stripe gateway: :class:`~portal_access.ports.PaymentGateway` on ``stripe.StripeClient``.

Hosted Checkout pays the required invoice: ``mode=payment`` for one-time lines only,
``mode=subscription`` for a plan (with the one-time lines on the first invoice only,
seed 000), ``mode=setup`` to save a payment method. Every POST carries an idempotency
key derived from ours, so a retry (the SDK's or the host's) never charges, opens or
creates twice; customers are found by ``metadata['contact_id']`` before one is made.

Re-subscribing never makes a second live subscription: a past-due, unpaid or
incomplete subscription is paid back on its open invoice's hosted page (with
``payment_settings.save_default_payment_method=on_subscription``, so the new method
bills later renewals); a canceled (or missing) one is replaced by a new Checkout
subscription.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import stripe

from portal_access._domain.autopay import SavedMethodCharge
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest, CheckoutSession
from portal_access._domain.errors import (
    ConfigurationError,
    GatewayRejectedError,
    WebhookVerificationError,
)
from portal_access._domain.gateway_events import GatewayEvent
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentSnapshot
from portal_access.gateways._kit import (
    DEFAULT_TOLERANCE,
    Fields,
    WebhookSettings,
    positive_seconds,
    retry_count,
)
from portal_access.gateways.stripe import _webhooks as webhooks
from portal_access.gateways.stripe._checkout import (
    chargeable,
    checkout_params,
    idempotent,
    pay_back_page,
    upsert_customer,
)
from portal_access.gateways.stripe._errors import translate
from portal_access.gateways.stripe._mapping import (
    VERSION_SCALE,
    Lookups,
    event_from,
    intent_payments,
)
from portal_access.gateways.stripe._objects import (
    PaymentOwner,
    invoice_owner,
    our_metadata,
    stripe_money,
)
from portal_access.ports import Clock

__all__ = ["StripeGateway"]

log = logging.getLogger("portal_access.gateways.stripe")
_T = TypeVar("_T")


class StripeGateway:
    """Stripe, through its official SDK.

    Args:
        client: a ready ``stripe.StripeClient`` (its retries and timeouts are yours).
        api_key: or a secret key: the client is built here, with telemetry off
            (``stripe.enable_telemetry``, process-wide), ``timeout`` seconds per request
            and ``max_network_retries`` (safe: every POST carries an idempotency key).
        webhook_secret: the endpoint's signing secret, or several while rotating.
        name: the gateway's name as offers use it.
        tolerance: how far a signature's timestamp may be from now, either way.
        clock: the time for that check (default: the system clock).
        api_base: another API address (a local test server).
        max_network_retries: see ``api_key``.
        timeout: see ``api_key``.

    Raises:
        ConfigurationError: naming the field: neither or both of ``client`` and
            ``api_key``; no secret or a blank one; a blank name; a tolerance that is not a
            ``timedelta`` of zero or more; a negative ``max_network_retries``; a
            ``timeout`` that is not a positive number of seconds.

    No network call happens here:

    >>> gateway = StripeGateway(api_key="sk_test_123", webhook_secret="whsec_123",
    ...                         api_base="http://127.0.0.1:9")
    >>> gateway.name
    'stripe'
    """

    def __init__(
        self,
        *,
        client: stripe.StripeClient | None = None,
        api_key: str | None = None,
        webhook_secret: str | Sequence[str],
        name: str = "stripe",
        tolerance: timedelta = DEFAULT_TOLERANCE,
        clock: Clock | None = None,
        api_base: str | None = None,
        max_network_retries: int = 2,
        timeout: float = 30.0,
    ) -> None:
        self._settings = WebhookSettings.build(
            name=name, webhook_secret=webhook_secret, tolerance=tolerance, clock=clock
        )
        retries = retry_count(max_network_retries, field="max_network_retries")
        seconds = positive_seconds(timeout, field="timeout")
        if (client is None) == (api_key is None):
            raise ConfigurationError("give either client or api_key", field="client")
        if client is None:
            assert api_key is not None
            stripe.enable_telemetry = False  # no telemetry header, no id file written
            client = stripe.StripeClient(
                api_key,
                base_addresses={"api": api_base} if api_base else None,
                max_network_retries=retries,
                http_client=stripe.RequestsClient(timeout=seconds),
            )
        self._client, self._name = client, name
        #: What the event mapping may ask of the API (made once: every webhook uses it).
        self._lookups = Lookups(resolve=self._resolve, fee=self._balance_transaction,
                                refunds=self._charge_refunds,
                                invoice_charges=self._invoice_charges)  # fmt: skip

    @property
    def name(self) -> str:
        """The gateway's name (``"stripe"`` unless told otherwise)."""
        return self._name

    @property
    def client(self) -> stripe.StripeClient:
        """The SDK client calls go through."""
        return self._client

    def _call(self, call: Callable[[], _T]) -> _T:
        try:
            return call()
        except stripe.StripeError as exc:
            raise translate(exc, gateway=self._name) from exc

    # -- checkout ------------------------------------------------------------------------

    def start_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a hosted page; the same ``idempotency_key`` returns the same page (Stripe
        replays an idempotent POST for 24 hours).

        Raises:
            GatewayError: Stripe refused or could not be reached; re-subscribing to a
                subscription that is active (``code="subscription_active"``); an amount
                Stripe cannot count (``code="amount_not_chargeable"``: a fraction of an
                ariary, Stripe's MGA having no decimals), before anything is sent.
        """
        client, name = self._client, self._name
        for charged in (*request.lines, *((request.plan,) if request.plan else ())):
            chargeable(charged.amount, gateway=name)  # refused before anything is sent
        customer = upsert_customer(client, name, request) if request.contact_id else None
        old = request.replaces_subscription_id
        if request.purpose is CheckoutPurpose.RESUBSCRIBE and old is not None:
            page = pay_back_page(client, name, old)
            if page is not None:
                return page
        params: Any = checkout_params(request, customer, gateway=name)
        options = idempotent("checkout", request.idempotency_key)
        session = self._call(lambda: client.v1.checkout.sessions.create(params, options))
        expires = datetime.fromtimestamp(session.expires_at, UTC) if session.expires_at else None
        assert session.url is not None
        return CheckoutSession(self._name, session.id, session.url, expires)

    def expire_checkout(self, session_id: str) -> None:
        """Expire an open Checkout Session; one expired or complete is left as it is. A
        hosted invoice page (``in_...``, re-subscribe) stays: it is the subscription's debt.

        Raises:
            GatewayError: Stripe refused (an unknown session) or could not be reached.
        """
        if session_id.startswith("in_"):
            return
        sessions = self._client.v1.checkout.sessions
        self._close(
            lambda: sessions.expire(session_id, options=idempotent("expire", session_id)),
            lambda: sessions.retrieve(session_id).status,
            done=("expired", "complete"),
        )

    # -- webhooks and events -------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        """Verify ``Stripe-Signature`` (see :mod:`._webhooks`), then map the event.

        Raises:
            WebhookVerificationError: reason ``header``, ``signature``, ``timestamp`` or
                ``body``; nothing was parsed before the signature matched.
            GatewayError: a charge or dispute without our metadata could not be looked
                up (Stripe will retry the delivery).
        """
        return webhooks.parse_webhook(headers, body, self._settings, lookups=self._lookups)

    def _settled_charge(self, charge_id: str) -> stripe.Charge:
        """A charge with its ``balance_transaction`` expanded (``None`` while it has none:
        a bank debit not yet settled)."""
        _stripe_id(charge_id, "charge")
        params: Any = {"expand": ["balance_transaction"]}
        return self._call(lambda: self._client.v1.charges.retrieve(charge_id, params))

    def _balance_transaction(self, charge_id: str) -> Fields | None:
        """A charge's balance transaction (what Stripe kept: its ``fee``), or ``None``
        while it has none."""
        transaction = self._settled_charge(charge_id).balance_transaction
        if not isinstance(transaction, stripe.BalanceTransaction):
            return None
        return Fields(transaction.to_dict(), gateway=self._name)

    def _invoice_charges(self, invoice_id: str) -> list[Fields]:
        """The charges that paid an invoice, each with its ``balance_transaction``
        expanded (what Stripe kept: its ``fee``). At the pinned API version an invoice
        names no payment, so its paid invoice payments are listed (their payment intents
        expanded), and each one's charge (the intent's ``latest_charge``, or the charge
        itself) is asked for."""
        _stripe_id(invoice_id, "invoice")
        query: Any = {"invoice": invoice_id, "status": "paid", "limit": 100,
                      "expand": ["data.payment.payment_intent"]}  # fmt: skip
        listed = self._client.v1.invoice_payments
        paid = self._call(lambda: list(listed.list(query).auto_paging_iter()))
        found = []
        for invoice_payment in paid:
            paying = invoice_payment.payment  # only its type's field may be there
            intent, charge = (getattr(paying, key, None) for key in ("payment_intent", "charge"))
            if isinstance(intent, stripe.PaymentIntent):
                charge = intent.latest_charge
            charge_id = charge.id if isinstance(charge, stripe.Charge) else charge
            if isinstance(charge_id, str):
                settled = self._settled_charge(charge_id)
                found.append(Fields(settled.to_dict(), gateway=self._name))
        return found

    def _charge_refunds(self, charge_id: str) -> list[Fields]:
        """Every refund of a charge, each with its own id and amount."""
        _stripe_id(charge_id, "charge")
        params: Any = {"charge": charge_id, "limit": 100}
        listed = self._client.v1.refunds
        found = self._call(lambda: [r.to_dict() for r in listed.list(params).auto_paging_iter()])
        return [Fields(refund, gateway=self._name) for refund in found]

    def _resolve(self, intent_id: str) -> PaymentOwner | None:
        """Whose payment an intent is: its metadata, else the invoice it paid.

        Raises:
            WebhookVerificationError: the id is no Stripe id (Stripe's are ASCII); the
                SDK would fail to quote it into the URL.
        """
        _stripe_id(intent_id, "payment_intent")
        intent = self._call(lambda: self._client.v1.payment_intents.retrieve(intent_id))
        unbooked = self._lookups.unbooked
        found_intent = Fields(intent.to_dict(), gateway=self._name, path="payment_intent")
        invoice_id = our_metadata(found_intent, unbooked).get("invoice_id")
        if invoice_id:
            amount = stripe_money(found_intent, "amount", "currency")
            return PaymentOwner(intent.id, invoice_id, amount)
        by_intent: Any = {"type": "payment_intent", "payment_intent": intent_id}
        query: Any = {"payment": by_intent, "expand": ["data.invoice"]}
        found = self._call(lambda: self._client.v1.invoice_payments.list(query))
        for payment in found.data:
            if isinstance(payment.invoice, stripe.Invoice):
                invoice = Fields(payment.invoice.to_dict(), gateway=self._name, path="invoice")
                return invoice_owner(invoice, unbooked)
        return None

    def list_events(self, *, since: datetime) -> Iterator[GatewayEvent]:
        """Events created at or after ``since`` (Stripe keeps 30 days), oldest first:
        every page is read (newest first, as Stripe lists), then replayed in reverse.

        Raises:
            GatewayError: Stripe refused or could not be reached.
        """
        params: Any = {"created": {"gte": int(since.timestamp())}, "limit": 100}
        listed = self._client.v1.events
        events = self._call(lambda: [e.to_dict() for e in listed.list(params).auto_paging_iter()])
        for document in reversed(events):
            yield event_from(Fields(document, gateway=self._name), lookups=self._lookups)

    # -- money back and endings ----------------------------------------------------------

    def charge_saved_method(self, charge: SavedMethodCharge) -> PaymentSnapshot:
        """Charge a saved payment method off-session (autopay): a confirmed
        ``PaymentIntent`` with ``off_session=true`` for the method's customer, our
        ``invoice_id`` and ``contact_id`` in its metadata; one charge per idempotency key.

        A decline is Stripe's ``card_error`` (402): :class:`~portal_access.PaymentDeclinedError`
        (its ``payment_intent.payment_failed`` webhook records the failed payment).

        Raises:
            GatewayRejectedError: no such method, or it belongs to another contact's
                customer (``code="method_owner"``).
                An amount Stripe cannot count (``code="amount_not_chargeable"``), before
                anything is sent.
            PaymentDeclinedError: the bank declined.
            GatewayUnavailableError: Stripe could not be reached (retry with the same key).
        """
        client, name = self._client, self._name
        counted = chargeable(charge.amount, gateway=name)
        method = self._call(lambda: client.v1.payment_methods.retrieve(charge.method_id))
        customer_id = method.customer if isinstance(method.customer, str) else None
        owner = None
        if customer_id is not None:
            owner = self._call(lambda: client.v1.customers.retrieve(customer_id))
        metadata = owner.metadata if owner is not None else None
        contact = metadata.to_dict().get("contact_id") if metadata is not None else None
        if customer_id is None or contact != charge.contact_id:
            raise GatewayRejectedError("the saved method is not this contact's", gateway=name,
                                       code="method_owner")  # fmt: skip
        params: Any = {
            "amount": counted,
            "currency": charge.amount.currency.lower(),
            "customer": customer_id,
            "payment_method": charge.method_id,
            "payment_method_types": [method.type],
            "off_session": True,
            "confirm": True,
            "metadata": {"invoice_id": charge.invoice_id, "contact_id": charge.contact_id},
        }
        options = idempotent("autopay", charge.idempotency_key)
        intent = self._call(lambda: client.v1.payment_intents.create(params, options))
        found = intent_payments(
            Fields(intent.to_dict(), gateway=name), intent.created * VERSION_SCALE
        )
        if not found:
            raise GatewayRejectedError("Stripe answered no payment for the invoice", gateway=name)
        return found[0]

    def refund(self, payment_id: str, *, amount: Money | None, idempotency_key: str) -> None:
        """Refund a payment intent (``pi_...``) or the intent that paid an invoice
        (``in_...``), in full when ``amount`` is ``None``.

        Raises:
            GatewayError: Stripe refused (unknown payment, too much) or was unreachable;
                an amount Stripe cannot count (``code="amount_not_chargeable"``), before
                anything is sent.
        """
        counted = None if amount is None else chargeable(amount, gateway=self._name)
        intent = payment_id
        if payment_id.startswith("in_"):
            paid = self._call(
                lambda: self._client.v1.invoice_payments.list(
                    {"invoice": payment_id, "status": "paid", "limit": 1}
                )
            )
            found = [p.payment.payment_intent for p in paid.data if p.payment.payment_intent]
            if not found:
                raise GatewayRejectedError(
                    f"invoice {payment_id} has no paid intent", gateway=self._name,
                    code="no_such_payment")  # fmt: skip
            paying = found[0]
            intent = paying if isinstance(paying, str) else paying.id
        params: Any = {"payment_intent": intent}
        if counted is not None:
            params["amount"] = counted
        options = idempotent("refund", idempotency_key)
        self._call(lambda: self._client.v1.refunds.create(params, options))

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> None:
        """Cancel now; one already canceled is left as it is.

        Raises:
            GatewayError: Stripe refused (no such subscription) or was unreachable.
        """
        subscriptions = self._client.v1.subscriptions
        options = idempotent("cancel", idempotency_key)
        self._close(
            lambda: subscriptions.cancel(subscription_id, options=options),
            lambda: subscriptions.retrieve(subscription_id).status,
            done=("canceled", "incomplete_expired"),
        )

    def _close(
        self, close: Callable[[], object], state: Callable[[], str | None], *, done: tuple[str, ...]
    ) -> None:
        """Close something; Stripe refusing is fine when ``state()`` says it is ``done``.

        Raises:
            GatewayError: Stripe refused and it is not done, or could not be reached.
        """
        try:
            close()
        except stripe.InvalidRequestError as exc:
            if self._call(state) not in done:
                raise translate(exc, gateway=self._name) from exc
        except stripe.StripeError as exc:
            raise translate(exc, gateway=self._name) from exc


def _stripe_id(value: str, field: str) -> None:
    """Refuse an id the SDK could not quote into a URL (Stripe's are printable ASCII).

    Raises:
        WebhookVerificationError: reason ``"body"``.
    """
    if not (value.isascii() and value.isprintable()):
        raise WebhookVerificationError(f"{field} is not a Stripe id", reason="body")
