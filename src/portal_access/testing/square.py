"""Square in *your* tests: signed webhooks, and a local Square API to run the gateway on.

- :class:`SquareWebhooks` builds Square-shaped events signed with Square's scheme
  (``x-square-hmacsha256-signature`` over the notification URL and the body), and is the
  Square :class:`~portal_access.testing._gateway_contract.WebhookFactory`;
- :class:`FakeSquareApi` is a local Square API on 127.0.0.1 for the real SDK
  (``SquareGateway(base_url=api.url, ...)``), with the payer's and Square's side as
  methods: pay an invoice by card or ACH, settle the bank payment, renew a subscription
  (the card charged or declined), end it, dispute a payment.

A host's test of the whole subscription offer::

    with FakeSquareApi(clock=clock) as api:
        gateway = SquareGateway(access_token="test", base_url=api.url,
                                location_id=api.location_id, webhook_secret=KEY,
                                notification_url=URL, plan_variations={"monthly": "VAR1"},
                                clock=clock, max_retries=0)
        webhooks = SquareWebhooks(secret=KEY, notification_url=URL, api=api,
                                  plan_variations={"monthly": "VAR1"})
        page = portal.start_checkout(contact_id, success_url=..., cancel_url=...)
        api.pay_invoice(page.session_id, method="bank")      # ACH: pending for days
        webhooks.deliver(lambda h, b: portal.handle_webhook("square", h, b))

It needs no vendor file at run time: every object is built here, shaped after Square's
API reference (the project's own tests check them against Square's published OpenAPI
description).

>>> webhooks = SquareWebhooks(secret="sig-key",
...     notification_url="https://portal.example/webhooks/square")
>>> headers, body = webhooks.unknown(event_id="e-1")
>>> sorted(headers)
['x-square-hmacsha256-signature']
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.testing._square_api import Exchange, FakeSquareApi
from portal_access.testing._square_objects import SquareLedger

if TYPE_CHECKING:  # the contract module imports pytest; this one does not need it
    from portal_access.testing._gateway_contract import WebhookFactory

__all__ = ["SOURCE_TYPES", "Exchange", "FakeSquareApi", "SquareLedger", "SquareWebhooks"]

Delivery = tuple[dict[str, str], bytes]

#: The ``Payment.source_type`` each kind is reported as.
SOURCE_TYPES = {
    PaymentMethodKind.CARD: "CARD",
    PaymentMethodKind.BANK_ACCOUNT: "BANK_ACCOUNT",
    PaymentMethodKind.WALLET: "WALLET",
    PaymentMethodKind.OTHER: "EXTERNAL",
}
_PAYMENT_STATUS = {
    PaymentStatus.PROCESSING: "PENDING",
    PaymentStatus.SUCCEEDED: "COMPLETED",
    PaymentStatus.FAILED: "FAILED",
    PaymentStatus.REFUNDED: "COMPLETED",
    PaymentStatus.DISPUTED: "COMPLETED",
}
_SUBSCRIPTION_STATUS = {
    SubscriptionStatus.ACTIVE: "ACTIVE",
    SubscriptionStatus.PAST_DUE: "ACTIVE",  # Square keeps it active; its invoice says more
    SubscriptionStatus.UNPAID: "DEACTIVATED",
    SubscriptionStatus.CANCELED: "CANCELED",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(seconds: int) -> str:
    return (_EPOCH + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


class SquareWebhooks:
    """Builds Square webhook deliveries, signed as Square signs them.

    Args:
        secret: the webhook subscription's signature key.
        notification_url: its notification URL (part of what is signed).
        api: a fake API: the objects the scenarios need are kept there (the gateway looks
            payments, orders and subscriptions up), and :meth:`deliveries` takes its events.
        plan_variations: the Square plan variation of each of our plans (as the gateway
            is told), for :meth:`subscription`.
    """

    def __init__(
        self,
        *,
        secret: str,
        notification_url: str,
        api: FakeSquareApi | None = None,
        plan_variations: Mapping[str, str] | None = None,
    ) -> None:
        self._secret, self._url, self._api = secret, notification_url, api
        self._variations = dict(plan_variations or {})

    @property
    def api(self) -> FakeSquareApi:
        """The fake API the scenarios keep their objects in."""
        if self._api is None:
            raise ValueError("this scenario needs SquareWebhooks(api=FakeSquareApi(...))")
        return self._api

    # -- signing -------------------------------------------------------------------------

    def sign(self, body: bytes) -> dict[str, str]:
        """Valid headers for any ``body``."""
        return self.sign_with(body, self._secret)

    def sign_with(
        self, body: bytes, secret: str, *, notification_url: str | None = None
    ) -> dict[str, str]:
        """Headers for ``body`` signed with ``secret`` (and another URL, if given)."""
        url = self._url if notification_url is None else notification_url
        return {SIGNATURE_HEADER: _square_signature(body, key=secret, notification_url=url)}

    def stale(self, body: bytes) -> dict[str, str]:
        """Square's signature has no timestamp, so nothing can be stale: skips the test."""
        import pytest  # noqa: PLC0415 - only the contract suite calls this

        pytest.skip("Square's signature carries no timestamp; replays are duplicate event ids")

    def delivery(self, event: Mapping[str, Any]) -> Delivery:
        """One event as Square delivers it: its JSON body and signed headers."""
        body = json.dumps(event).encode()
        return self.sign(body), body

    def deliveries(self) -> list[Delivery]:
        """The fake API's events not delivered yet, signed, oldest first."""
        return [self.delivery(event) for event in self.api.take_events()]

    def deliver(self, handler: Callable[[dict[str, str], bytes], Any]) -> list[Any]:
        """Hand every pending event to ``handler`` (the host's endpoint), until none is
        left (handling one may make more, as Square does); returns what it returned."""
        results: list[Any] = []
        while pending := self.deliveries():
            results.extend(handler(headers, body) for headers, body in pending)
        return results

    # -- contract scenarios --------------------------------------------------------------

    def event(
        self,
        event_type: str,
        kind: str,
        obj: dict[str, Any],
        *,
        event_id: str,
        created_at: str | None = None,
    ) -> Delivery:
        """One event about ``obj``, kept in the fake API's event list (not delivered)."""
        api = self.api
        document = api.event(event_type, kind, obj, event_id=event_id, created_at=created_at)
        api.record(document, deliver=False)
        return self.delivery(document)

    def payment(
        self,
        *,
        event_id: str,
        payment_id: str,
        invoice_id: str,
        contact_id: str,
        status: PaymentStatus,
        method: PaymentMethodKind,
        amount: Money,
        version: int,
    ) -> Delivery:
        """An event about a payment on an order of ours, ``updated_at`` ``version`` seconds
        after 1970: ``payment.updated`` (processing is ACH ``PENDING``, or a card
        ``APPROVED``), ``refund.updated`` for a refunded one, ``dispute.created`` for a
        disputed one (the gateway looks the payment and its order up)."""
        api, at = self.api, _instant(version)
        owner = {"invoice_id": invoice_id, "contact_id": contact_id, "purpose": "required_payment"}
        order = api.order_for(owner, amount, order_id=f"ORDER-{payment_id}")
        word = _PAYMENT_STATUS[status]
        if status is PaymentStatus.PROCESSING and method is not PaymentMethodKind.BANK_ACCOUNT:
            word = "APPROVED"
        payment = api.payment_for(
            order,
            amount,
            source_type=SOURCE_TYPES[method],
            status=word,
            payment_id=payment_id,
            at=at,
        )
        if status is PaymentStatus.REFUNDED:
            payment["refunded_money"] = {"amount": amount.amount, "currency": amount.currency}
            refund = api.refund_for(payment, amount, at=at)
            return self.event("refund.updated", "refund", refund, event_id=event_id)
        if status is PaymentStatus.DISPUTED:
            dispute = api.dispute_for(payment, state="EVIDENCE_REQUIRED", at=at)
            return self.event("dispute.created", "dispute", dispute, event_id=event_id)
        return self.event("payment.updated", "payment", payment, event_id=event_id)

    def subscription(
        self,
        *,
        event_id: str,
        subscription_id: str,
        contact_id: str,
        plan_id: str,
        status: SubscriptionStatus,
        version: int,
        created: int,
        renewal_failed_at: datetime | None,
    ) -> Delivery:
        """An event about a subscription of ``contact_id``'s customer, at ``version``
        seconds after 1970: ``invoice.scheduled_charge_failed`` for one past due (its
        renewal invoice due at ``renewal_failed_at``), ``subscription.updated`` otherwise
        (with that invoice unpaid as its newest when ``renewal_failed_at`` is given).

        Raises:
            ValueError: ``INCOMPLETE`` (Square reports no such state) or a plan with no
                variation.
        """
        if status not in _SUBSCRIPTION_STATUS:
            raise ValueError(f"Square reports no {status.value} subscription")
        api, at = self.api, _instant(version)
        customer = api.customer_for(contact_id)
        subscription = api.subscription_for(
            customer["id"],
            self._variations[plan_id],
            status=_SUBSCRIPTION_STATUS[status],
            created_at=_instant(created),
            subscription_id=subscription_id,
        )
        if renewal_failed_at is not None:
            invoice = api.renewal_invoice_for(subscription, due=renewal_failed_at.date(), at=at)
            subscription["invoice_ids"] = [invoice["id"]]
            if status is SubscriptionStatus.PAST_DUE:
                return self.event(
                    "invoice.scheduled_charge_failed",
                    "invoice",
                    invoice,
                    event_id=event_id,
                    created_at=at,
                )
        return self.event(
            "subscription.updated", "subscription", subscription, event_id=event_id, created_at=at
        )

    def unknown(self, *, event_id: str) -> Delivery:
        """A ``customer.created`` event: acknowledged, not acted on (needs no API)."""
        customer = {
            "id": "CUSTUNKNOWN",
            "created_at": _instant(0),
            "updated_at": _instant(0),
            "given_name": "Ann",
            "version": 0,
        }
        document = {
            "merchant_id": "MPORTALTEST01",
            "type": "customer.created",
            "event_id": event_id,
            "created_at": _instant(0),
            "data": {"type": "customer", "id": customer["id"], "object": {"customer": customer}},
        }
        return self.delivery(document)


def _conforms(factory: SquareWebhooks) -> WebhookFactory:  # mypy checks the Protocol
    return factory


#: The header Square signs deliveries in.
SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def _square_signature(body: bytes, *, key: str, notification_url: str) -> str:
    """What Square sends: base64 HMAC-SHA256 under the subscription's signature key over
    the notification URL followed by the raw body (the vendor's side of the check)."""
    digest = hmac.new(key.encode(), notification_url.encode("utf-8") + body, hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")
