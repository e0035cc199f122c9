"""The Square gateway: :class:`~portal_access.ports.PaymentGateway` on ``square.Square``.

A contact pays the required invoice on a Square invoice page (card or ACH; the plan's
first period on the same invoice, seed 000), a guest on a payment link; a paid first
invoice with a plan starts the Square subscription for the following periods. A card
saved on file (on an invoice page, or from a Web Payments SDK nonce) is charged by
autopay. See :mod:`~portal_access.gateways.square._checkout` for why, and
``docs/gateways/square.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import square
from square.core.api_error import ApiError
from square.environment import SquareEnvironment

from portal_access._domain.autopay import SavedMethodCharge, SavedMethodSetup, SavedPaymentMethod
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest, CheckoutSession
from portal_access._domain.errors import ConfigurationError, GatewayRejectedError
from portal_access._domain.gateway_events import GatewayEvent
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentSnapshot
from portal_access.gateways._kit import WebhookSettings, positive_seconds, retry_count
from portal_access.gateways.square import _checkout as checkout
from portal_access.gateways.square import _webhooks as webhooks
from portal_access.gateways.square._checkout import (
    SquareVendor,
    charge_card,
    open_invoice_page,
    open_payment_link,
    pay_back_page,
    request_kind,
    save_card,
    upsert_customer,
    variation,
)
from portal_access.gateways.square._errors import SDK_ERRORS, translate
from portal_access.gateways.square._mapping import MAPPED_EVENT_TYPES, Mapper
from portal_access.gateways.square._objects import Obj, micros
from portal_access.gateways.square._rest import SquareApi
from portal_access.ports import Clock

__all__ = ["EVENT_WINDOW", "SquareGateway"]

log = logging.getLogger("portal_access.gateways.square")

#: How far back Square's Events API reaches.
EVENT_WINDOW = timedelta(days=28)
_ENVIRONMENTS = {"sandbox": SquareEnvironment.SANDBOX, "production": SquareEnvironment.PRODUCTION}
_CLOSABLE = ("UNPAID", "SCHEDULED", "PARTIALLY_PAID")


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _notification_url(value: object) -> str:
    if (
        not _text(value)
        or not str(value).startswith("https://")
        or any(c.isspace() for c in str(value))
    ):
        raise ConfigurationError(
            "must be the https URL registered with Square, exactly", field="notification_url"
        )
    return str(value)


def _variations(value: Mapping[str, str] | None) -> dict[str, str]:
    given = dict(value or {})
    if not all(_text(k) and _text(v) for k, v in given.items()):
        raise ConfigurationError("plan ids and variation ids must be text", field="plan_variations")
    if len(set(given.values())) != len(given):
        raise ConfigurationError("one variation per plan", field="plan_variations")
    return given


def _zone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigurationError("not an IANA time zone", field="timezone", value=value) from None


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


class SquareGateway:
    """Square, through its official SDK (``pip install "portal-access[square]"``).

    Args:
        client: a ready ``square.Square``; or give ``access_token``.
        access_token: the seller's access token: the client is built here.
        environment: ``"sandbox"`` or ``"production"`` (required with ``access_token``
            unless ``base_url`` is given).
        base_url: another API address (a local test server).
        location_id: the Square location orders, invoices and subscriptions belong to.
        webhook_secret: the webhook subscription's signature key, or several while one
            is replaced (any may match).
        notification_url: the webhook subscription's notification URL, exactly as
            registered with Square (it is part of what Square signs).
        plan_variations: the Square subscription plan variation id for each of our plan
            ids (its cadence must be the plan's interval; the plan's amount is billed).
        name: the gateway's name as offers use it.
        timezone: the location's time zone (IANA), for invoice due dates.
        clock: the time (default: the system clock).
        max_retries: the SDK's retries per request (POST included; safe, see ``_rest``).
        timeout: seconds per request.

    Raises:
        ConfigurationError: neither or both of ``client`` and ``access_token``; no
            environment; a blank location; no signature key or a blank one; a
            notification URL that is not https; a variation shared by two plans; an
            unknown time zone; a negative retry count; a non-positive timeout.

    No network call happens here:

    >>> gateway = SquareGateway(access_token="EAAAtest", environment="sandbox",
    ...     location_id="L1", webhook_secret="sig-key",
    ...     notification_url="https://portal.example/webhooks/square")
    >>> gateway.name
    'square'
    """

    def __init__(
        self,
        *,
        client: square.Square | None = None,
        access_token: str | None = None,
        environment: str | None = None,
        base_url: str | None = None,
        location_id: str,
        webhook_secret: str | Sequence[str],
        notification_url: str,
        plan_variations: Mapping[str, str] | None = None,
        name: str = "square",
        timezone: str = "UTC",
        clock: Clock | None = None,
        max_retries: int = 2,
        timeout: float = 30.0,
    ) -> None:
        self._settings = WebhookSettings.build(
            name=name, webhook_secret=webhook_secret, clock=clock
        )
        self._url = _notification_url(notification_url)
        if not _text(location_id):
            raise ConfigurationError("must not be blank", field="location_id")
        self._variations = _variations(plan_variations)
        self._zone = _zone(timezone)
        retries = retry_count(max_retries, field="max_retries")
        seconds = positive_seconds(timeout, field="timeout")
        if (client is None) == (access_token is None):
            raise ConfigurationError("give either client or access_token", field="client")
        if client is None:
            if not _text(access_token):
                raise ConfigurationError("must not be blank", field="access_token")
            if base_url is None and environment not in _ENVIRONMENTS:
                raise ConfigurationError(
                    'say "sandbox" or "production"', field="environment", value=environment
                )
            where = _ENVIRONMENTS.get(environment or "", SquareEnvironment.SANDBOX)
            client = square.Square(
                token=access_token, environment=where, base_url=base_url, timeout=seconds
            )
        self._api = SquareApi(
            client, gateway=name, location_id=location_id, max_retries=retries, timeout=seconds
        )
        self._mapper = Mapper(
            name,
            SquareVendor(self._api, self._variations),
            {v: k for k, v in self._variations.items()},
        )

    @property
    def name(self) -> str:
        """The gateway's name (``"square"`` unless told otherwise)."""
        return self._settings.name

    @property
    def client(self) -> square.Square:
        """The SDK client calls go through."""
        return self._api.client

    # -- checkout ------------------------------------------------------------------------

    def start_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a hosted page: an invoice page for a contact, a payment link for a guest;
        the same ``idempotency_key`` returns the same page (every object is created under
        a key derived from it).

        Raises:
            ConfigurationError: the plan has no Square plan variation.
            GatewayRejectedError: saving a payment method (``code="unsupported_purpose"``:
                Square has no hosted page for it); re-subscribing to a subscription that
                owes nothing (``code="subscription_active"``).
            GatewayError: Square refused or could not be reached.
        """
        kind = request_kind(request)
        if kind == "unsupported":
            raise GatewayRejectedError(
                "Square has no hosted page that saves a payment method without a payment; "
                "a contact who may save one is offered it on every invoice page",
                gateway=self.name,
                code="unsupported_purpose",
            )
        if request.plan is not None:
            variation(self._variations, request.plan.id)  # refuse before creating anything
        if kind == "link":
            return open_payment_link(self._api, request)
        customer = upsert_customer(self._api, request)
        old = request.replaces_subscription_id
        if request.purpose is CheckoutPurpose.RESUBSCRIBE and old is not None:
            page = pay_back_page(self._api, old)
            if page is not None:
                return page
        today = self._settings.clock.now().astimezone(self._zone).date()
        return open_invoice_page(self._api, request, customer, due=today)

    def expire_checkout(self, session_id: str) -> None:
        """Close a page: cancel an open invoice of ours (delete a draft), delete a
        payment link. A paid, canceled or pending invoice is left as it is, and so is a
        subscription's own invoice (a re-subscribe page: it is the subscription's debt);
        a payment link Square no longer knows counts as deleted already.

        Raises:
            GatewayRejectedError: no such invoice.
            GatewayError: Square refused or could not be reached.
        """
        api = self._api
        if not session_id.startswith("inv:"):
            links = api.client.checkout.payment_links
            api.find(links.delete, session_id)
            return
        invoice = api.invoice(session_id)
        if invoice is None:
            raise GatewayRejectedError(
                f"no invoice {session_id}", gateway=self.name, code="not_found"
            )
        status, version = invoice.get("status"), int(invoice.get("version") or 0)
        if invoice.get("subscription_id"):
            return
        invoices = api.client.invoices
        if status == "DRAFT":
            api.call(invoices.delete, session_id, version=version)
        elif status in _CLOSABLE:
            api.call(invoices.cancel, session_id, version=version)

    # -- webhooks and events -------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        """Verify ``x-square-hmacsha256-signature`` over the notification URL and the raw
        body (see :mod:`~._webhooks`), then normalise the event.

        Raises:
            WebhookVerificationError: reason ``header``, ``signature`` or ``body``;
                nothing was parsed before the signature matched.
            GatewayError: an object the event names could not be looked up, or the
                subscription a paid invoice bought could not be made (Square retries
                the delivery).
        """
        webhooks.verify_signature(
            headers, body, secrets=self._settings.secrets, notification_url=self._url
        )
        return webhooks.parse_event(self._mapper, body)

    def list_events(self, *, since: datetime) -> Iterator[GatewayEvent]:
        """Events since ``since``, oldest first, through the same mapping as webhooks.

        Square's Events API reaches back 28 days (:data:`EVENT_WINDOW`). For an older
        ``since``, the payments updated between ``since`` and the window's start are read
        from the Payments API first (as ``payment.updated`` reports); invoices and
        subscriptions older than the window are covered by their later events only.

        Raises:
            GatewayError: Square refused or could not be reached.
        """
        start = self._settings.clock.now() - EVENT_WINDOW
        if since < start:
            log.warning(
                "Square keeps events for %s: payments updated from %s to %s are read from "
                "the Payments API",
                EVENT_WINDOW,
                since.isoformat(),
                start.isoformat(),
            )
            for payment in self._api.payments_updated(begin=_rfc3339(since), end=_rfc3339(start)):
                yield self._mapper.event(_payment_event(payment))
            since = start
        query: Any = {
            "filter": {
                "event_types": sorted(MAPPED_EVENT_TYPES),
                "created_at": {"start_at": _rfc3339(since)},
            },
            "sort": {"field": "DEFAULT", "order": "ASC"},
        }
        for event in self._api.events(query):
            yield self._mapper.event(event)

    # -- saved cards (autopay) -----------------------------------------------------------

    def save_method(self, setup: SavedMethodSetup) -> SavedPaymentMethod:
        """Store the card a Web Payments SDK nonce (``setup.token``) stands for on file
        for the contact's customer profile (``CreateCard``), without a payment; the same
        ``idempotency_key`` stores it once. Square reports it again as ``card.created``
        (the same method, kept once).

        Raises:
            GatewayRejectedError: Square refused the nonce (used, expired, unknown).
            PaymentDeclinedError: the issuer refused the card's verification.
            GatewayError: Square could not be reached.
        """
        version = micros(self._settings.clock.now())
        return save_card(self._api, setup, version=version)

    def charge_saved_method(self, charge: SavedMethodCharge) -> PaymentSnapshot:
        """Charge a card on file off-session (autopay): ``CreatePayment`` with the card as
        ``source_id``, the contact's customer profile, ``autocomplete``, on an order that
        names our invoice; one charge per idempotency key.

        A decline is :class:`~portal_access.PaymentDeclinedError` with Square's code
        (``CARD_DECLINED``, ``INSUFFICIENT_FUNDS``...), as Stripe's adapter gives; the
        failed payment's ``payment.created`` webhook records it.

        Raises:
            GatewayRejectedError: no such card, another contact's
                (``code="method_owner"``), or disabled.
            PaymentDeclinedError: the issuer declined.
            GatewayUnavailableError: Square could not be reached (retry with the same key).
        """
        return charge_card(self._api, charge)

    # -- money back and endings ----------------------------------------------------------

    def refund(self, payment_id: str, *, amount: Money | None, idempotency_key: str) -> None:
        """Refund a payment, or the payment that paid a renewal invoice (``inv:...``);
        in full (what is left of it) when ``amount`` is ``None``, which does nothing once
        nothing is left.

        Raises:
            GatewayRejectedError: no such payment (``code="no_such_payment"``).
            GatewayError: Square refused (too much, another currency) or was unreachable.
        """
        api = self._api
        paying = self._paying(payment_id) if payment_id.startswith("inv:") else payment_id
        payment = api.payment(paying) if paying is not None else None
        if payment is None:
            raise GatewayRejectedError(
                f"no payment {payment_id}", gateway=self.name, code="no_such_payment"
            )
        total = payment.get("total_money") or payment["amount_money"]
        refunded = (payment.get("refunded_money") or {}).get("amount", 0)
        value = Money(int(total["amount"]) - int(refunded), str(total["currency"]))
        if amount is None and not value:
            return
        refund: Any = {"amount": (amount or value).amount, "currency": (amount or value).currency}
        key = checkout.idempotency_key("refund", idempotency_key)
        refunds = api.client.refunds
        api.call(
            refunds.refund_payment,
            idempotency_key=key,
            amount_money=refund,
            payment_id=payment["id"],
        )

    def _paying(self, invoice_id: str) -> str | None:
        """The payment that paid an invoice: a tender of its order."""
        invoice = self._api.invoice(invoice_id)
        order = self._api.order(str(invoice.get("order_id"))) if invoice is not None else None
        tenders = (order or {}).get("tenders") or ()
        return next((t["payment_id"] for t in tenders if t.get("payment_id")), None)

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> None:
        """Cancel: Square ends the subscription at the end of the period it was paid for
        (``canceled_date``), then reports it ``CANCELED``; asking again is not an error.

        Raises:
            GatewayError: Square refused (no such subscription) or was unreachable.
        """
        del idempotency_key  # Square's cancel takes none; asking again changes nothing
        api = self._api
        try:
            api.client.subscriptions.cancel(subscription_id, request_options=api.options)
        except ApiError as exc:
            current = api.subscription(subscription_id) if exc.status_code == 400 else None
            ended = current is not None and (
                current.get("status") == "CANCELED" or bool(current.get("canceled_date"))
            )
            if not ended:
                raise translate(exc, gateway=self.name) from exc
        except SDK_ERRORS as exc:
            raise translate(exc, gateway=self.name) from exc


def _payment_event(payment: Obj) -> Obj:
    """A payment read from the Payments API as a ``payment.updated`` event."""
    return {
        "event_id": f"payment-{payment['id']}-{payment.get('updated_at')}",
        "type": "payment.updated",
        "created_at": payment.get("updated_at"),
        "data": {"type": "payment", "id": payment["id"], "object": {"payment": payment}},
    }
