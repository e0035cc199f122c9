"""The calls the gateway makes through ``square.Square``, each with our request options,
its errors translated, and its answer as a plain ``dict`` (the shape webhooks carry).

Retries are set deliberately: the SDK retries every request (POST included) on 408,
409, 429 and 5xx, sleeping between attempts (one second, then two, with jitter), two
times unless told otherwise. Every call here passes ``max_retries`` explicitly; every
POST that creates something carries an idempotency key, so a retried one never creates
twice, and the rest (searches, cancels) are safe to repeat.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import square
from square.core.api_error import ApiError
from square.core.request_options import RequestOptions

from portal_access.gateways.square._errors import SDK_ERRORS, translate
from portal_access.gateways.square._objects import LIVE_SUBSCRIPTIONS, Obj

__all__ = ["SquareApi", "plain"]

_T = TypeVar("_T")


def plain(model: Any) -> dict[str, Any]:
    """An SDK object as the JSON Square sent (by Square's field names, unset left out)."""
    document: dict[str, Any] = model.dict()
    return document


class SquareApi:
    """The SDK client, our request options and our errors.

    Args:
        client: the SDK client.
        gateway: the gateway's name (for errors).
        location_id: the Square location every order, invoice and subscription uses.
        max_retries: the SDK's retries per request.
        timeout: seconds per request.
    """

    def __init__(
        self,
        client: square.Square,
        *,
        gateway: str,
        location_id: str,
        max_retries: int,
        timeout: float,
    ) -> None:
        self.client, self.gateway, self.location_id = client, gateway, location_id
        self.options: RequestOptions = {
            "max_retries": max_retries,
            "timeout_in_seconds": math.ceil(timeout),
        }

    def call(self, method: Callable[..., _T], *args: Any, **params: Any) -> _T:
        """``method(*args, **params)`` with our request options; SDK errors become ours.

        Raises:
            GatewayError: see :mod:`~portal_access.gateways.square._errors`.
        """
        try:
            return method(*args, **params, request_options=self.options)
        except SDK_ERRORS as exc:
            raise translate(exc, gateway=self.gateway) from exc

    def find(self, method: Callable[..., _T], *args: Any, **params: Any) -> _T | None:
        """Like :meth:`call`, but ``None`` when Square knows no such object (404)."""
        try:
            return method(*args, **params, request_options=self.options)
        except ApiError as exc:
            if exc.status_code == 404:
                return None
            raise translate(exc, gateway=self.gateway) from exc
        except SDK_ERRORS as exc:
            raise translate(exc, gateway=self.gateway) from exc

    # -- reads ---------------------------------------------------------------------------

    def order(self, order_id: str) -> Obj | None:
        """``GET /v2/orders/{id}``."""
        found = self.find(self.client.orders.get, order_id)
        return plain(found.order) if found is not None and found.order is not None else None

    def payment(self, payment_id: str) -> Obj | None:
        """``GET /v2/payments/{id}``."""
        found = self.find(self.client.payments.get, payment_id)
        return plain(found.payment) if found is not None and found.payment is not None else None

    def invoice(self, invoice_id: str) -> Obj | None:
        """``GET /v2/invoices/{id}``."""
        found = self.find(self.client.invoices.get, invoice_id)
        return plain(found.invoice) if found is not None and found.invoice is not None else None

    def subscription(self, subscription_id: str) -> Obj | None:
        """``GET /v2/subscriptions/{id}``."""
        found = self.find(self.client.subscriptions.get, subscription_id)
        if found is None or found.subscription is None:
            return None
        return plain(found.subscription)

    def contact_of(self, customer_id: str) -> str | None:
        """``GET /v2/customers/{id}``: its ``reference_id`` (our contact id)."""
        found = self.find(self.client.customers.get, customer_id)
        customer = found.customer if found is not None else None
        return customer.reference_id if customer is not None else None

    def customer_with_reference(self, reference_id: str) -> str | None:
        """``POST /v2/customers/search`` by exact ``reference_id``: the oldest match's id."""
        query: Any = {
            "filter": {"reference_id": {"exact": reference_id}},
            "sort": {"field": "CREATED_AT", "order": "ASC"},
        }
        found = self.call(self.client.customers.search, query=query, limit=1)
        return found.customers[0].id if found.customers else None

    def card(self, card_id: str) -> Obj | None:
        """``GET /v2/cards/{id}``: a card on file."""
        found = self.find(self.client.cards.get, card_id)
        return plain(found.card) if found is not None and found.card is not None else None

    def newest_card(self, customer_id: str) -> str | None:
        """``GET /v2/cards``: the customer's newest enabled card on file."""
        pager = self.call(self.client.cards.list, customer_id=customer_id, sort_order="DESC")
        return next((card.id for card in pager.items or () if card.enabled), None)

    def live_subscription(self, customer_id: str, variation_id: str) -> Obj | None:
        """``POST /v2/subscriptions/search``: the customer's pending or active subscription
        to ``variation_id`` at our location, if any."""
        query: Any = {"filter": {"customer_ids": [customer_id], "location_ids": [self.location_id]}}
        found = self.call(self.client.subscriptions.search, query=query)
        for subscription in found.subscriptions or ():
            live = subscription.status in LIVE_SUBSCRIPTIONS
            if live and subscription.plan_variation_id == variation_id:
                return plain(subscription)
        return None

    def events(self, query: Any) -> Iterator[Obj]:
        """``POST /v2/events``, every page, in the order Square lists them."""
        cursor: str | None = None
        while True:
            after: dict[str, Any] = {"cursor": cursor} if cursor else {}  # never a null cursor
            page = self.call(self.client.events.search_events, query=query, limit=100, **after)
            yield from (plain(event) for event in page.events or ())
            cursor = page.cursor
            if not cursor:
                return

    def payments_updated(self, *, begin: str, end: str) -> Iterator[Obj]:
        """``GET /v2/payments`` at our location updated in ``[begin, end)``, oldest first."""
        pager = self.call(
            self.client.payments.list,
            updated_at_begin_time=begin,
            updated_at_end_time=end,
            sort_field="UPDATED_AT",
            sort_order="ASC",
            location_id=self.location_id,
            limit=100,
        )
        pages = pager.iter_pages()  # later pages are asked for with the first call's options
        while True:
            try:
                page = next(pages, None)
            except SDK_ERRORS as exc:
                raise translate(exc, gateway=self.gateway) from exc
            if page is None:
                return
            yield from (plain(payment) for payment in page.items or ())
