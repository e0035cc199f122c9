"""A local Square API on 127.0.0.1, for tests that drive the real ``squareup`` SDK.

It answers the calls :class:`~portal_access.gateways.square.SquareGateway` makes
(customers, orders, invoices, payment links, subscriptions, cards, payments, refunds,
events) from a :class:`~._square_objects.SquareLedger`, replays a POST sent again with
the same ``idempotency_key`` (and refuses the key with other parameters, as Square
does), fails on demand (:meth:`FakeSquareApi.fail_next`) and records every exchange.
It needs nothing but the standard library.

>>> with FakeSquareApi() as api:
...     api.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from portal_access.testing._local_server import Answer, LocalApi, RawRequest
from portal_access.testing._square_objects import Obj, SquareLedger, money

__all__ = ["Exchange", "FakeSquareApi"]

Reply = tuple[int, dict[str, Any]]


@attrs.frozen
class Exchange(RawRequest):
    """One request the fake API answered: as it arrived, its JSON ``body`` decoded, and
    the answer."""

    body: Any
    status: int
    answer: dict[str, Any]


@attrs.frozen
class _Failure:
    reply: Reply
    path: str | None
    lost: bool


def _error(status: int, code: str, detail: str, category: str = "INVALID_REQUEST_ERROR") -> Reply:
    return status, {"errors": [{"category": category, "code": code, "detail": detail}]}


def _missing(kind: str, object_id: object) -> Reply:
    return _error(404, "NOT_FOUND", f"{kind} {object_id} not found")


def _at(text: str | None) -> datetime | None:
    """An RFC 3339 time as an instant (text compares wrongly: ``.5Z`` < ``Z``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _listed(key: str, found: list[Obj]) -> Reply:
    """Square leaves an empty list out of its answer."""
    return 200, {key: found} if found else {}


class FakeSquareApi(SquareLedger, LocalApi):
    """The fake API; use as a context manager (or :meth:`start` / :meth:`stop`).

    Takes :class:`~._square_objects.SquareLedger`'s arguments (``clock``, ``location_id``,
    ``merchant_id``); Square's side (the payer paying, Square renewing...) is the
    ledger's too.
    """

    def __init__(self, **ledger: Any) -> None:
        super().__init__(**ledger)
        self.exchanges: list[Exchange] = []
        self._replies: dict[str, tuple[str, Reply]] = {}
        self._failures: list[_Failure] = []
        route = re.compile
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("POST", route(r"/v2/customers/search"), self._search_customers),
            ("POST", route(r"/v2/customers"), self._create_customer),
            ("GET", route(r"/v2/customers/([^/]+)"), self._get("customer")),
            ("POST", route(r"/v2/orders"), self._create_order),
            ("GET", route(r"/v2/orders/([^/]+)"), self._get("order")),
            ("POST", route(r"/v2/invoices"), self._create_invoice),
            ("POST", route(r"/v2/invoices/([^/]+)/publish"), self._publish_invoice),
            ("POST", route(r"/v2/invoices/([^/]+)/cancel"), self._cancel_invoice),
            ("DELETE", route(r"/v2/invoices/([^/]+)"), self._delete_invoice),
            ("GET", route(r"/v2/invoices/([^/]+)"), self._get("invoice")),
            ("POST", route(r"/v2/online-checkout/payment-links"), self._create_link),
            ("DELETE", route(r"/v2/online-checkout/payment-links/([^/]+)"), self._delete_link),
            ("POST", route(r"/v2/subscriptions/search"), self._search_subscriptions),
            ("POST", route(r"/v2/subscriptions"), self._create_subscription),
            ("POST", route(r"/v2/subscriptions/([^/]+)/cancel"), self._cancel_subscription),
            ("GET", route(r"/v2/subscriptions/([^/]+)"), self._get("subscription")),
            ("GET", route(r"/v2/cards"), self._list_cards),
            ("POST", route(r"/v2/cards"), self._create_card),
            ("GET", route(r"/v2/cards/([^/]+)"), self._get("card")),
            ("POST", route(r"/v2/cards/([^/]+)/disable"), self._disable_card),
            ("GET", route(r"/v2/payments"), self._list_payments),
            ("POST", route(r"/v2/payments"), self._create_payment),
            ("GET", route(r"/v2/payments/([^/]+)"), self._get("payment")),
            ("POST", route(r"/v2/refunds"), self._refund),
            ("POST", route(r"/v2/events"), self._search_events),
        ]

    # -- the server ----------------------------------------------------------------------

    def answer(self, request: RawRequest) -> Answer:
        """Answer one request (called by the server thread) and record the exchange."""
        try:
            body = json.loads(request.data) if request.data else None
        except ValueError:
            body = request.data.decode("utf-8", "replace")
        with self._lock:
            status, answer = self._answer(request.method, request.path, request.query, body)
            arrived = attrs.asdict(request, recurse=False)
            self.exchanges.append(Exchange(**arrived, body=body, status=status, answer=answer))
        return status, answer, {}

    def fail_next(
        self,
        status: int,
        code: str = "INTERNAL_SERVER_ERROR",
        *,
        times: int = 1,
        path: str | None = None,
        lost: bool = False,
    ) -> None:
        """Answer the next ``times`` requests (to ``path``, if given) with ``status`` and one
        error of ``code``; ``lost``: carry the request out first, as when Square did the
        work and the answer was lost on the way back."""
        category = {429: "RATE_LIMIT_ERROR", 402: "PAYMENT_METHOD_ERROR"}.get(status, "API_ERROR")
        reply = _error(status, code, "failing on purpose", category)
        self._failures.extend([_Failure(reply, path, lost)] * times)

    def _answer(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        failure = next((f for f in self._failures if f.path in (None, path)), None)
        if failure is not None:
            self._failures.remove(failure)
            if failure.lost:
                self._carry_out(method, path, query, body)
            return failure.reply
        return self._carry_out(method, path, query, body)

    def _carry_out(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        key = body.get("idempotency_key") if isinstance(body, dict) else None
        if method != "POST" or not key:
            return self._route(method, path, query, body)
        rest = {k: v for k, v in body.items() if k != "idempotency_key"}
        fingerprint = json.dumps([path, rest], sort_keys=True)
        if key in self._replies:
            seen, reply = self._replies[key]
            if seen != fingerprint:
                return _error(400, "IDEMPOTENCY_KEY_REUSED", "the key came with other parameters")
            return copy.deepcopy(reply)
        reply = self._route(method, path, query, body)
        if reply[0] < 500:
            self._replies[key] = (fingerprint, copy.deepcopy(reply))
        return reply

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        for verb, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if verb == method and match:
                return handler(*match.groups(), query=query, body=body or {})
        return _error(404, "NOT_FOUND", f"no route {method} {path}")

    def _get(self, kind: str) -> Callable[..., Reply]:
        def get(object_id: str, **_: Any) -> Reply:
            found = self.objects[kind].get(object_id)
            return (200, {kind: found}) if found is not None else _missing(kind, object_id)

        return get

    # -- endpoints -----------------------------------------------------------------------

    def _search_customers(self, *, body: Obj, **_: Any) -> Reply:
        wanted = body.get("query", {}).get("filter", {}).get("reference_id", {}).get("exact")
        found = [c for c in self.objects["customer"].values() if c.get("reference_id") == wanted]
        return _listed("customers", sorted(found, key=lambda c: c["created_at"])[:1])

    def _create_customer(self, *, body: Obj, **_: Any) -> Reply:
        return 200, {"customer": self.customer_from(body)}

    def _create_order(self, *, body: Obj, **_: Any) -> Reply:
        order = body.get("order", {})
        if order.get("location_id") != self.location_id:
            return _missing("location", order.get("location_id"))
        return 200, {"order": self.order_from(order)}

    def _create_invoice(self, *, body: Obj, **_: Any) -> Reply:
        asked = body["invoice"]
        order = self.objects["order"].get(asked.get("order_id", ""))
        customer = self.objects["customer"].get(asked["primary_recipient"].get("customer_id", ""))
        if order is None or customer is None:
            return _missing("order or customer", asked.get("order_id"))
        return 200, {"invoice": self.invoice_from(asked, order, customer)}

    def _invoice(self, invoice_id: str, version: object) -> Obj | Reply:
        invoice = self.objects["invoice"].get(invoice_id)
        if invoice is None:
            return _missing("invoice", invoice_id)
        if str(invoice["version"]) != str(version):
            return _error(400, "VERSION_MISMATCH", "the invoice changed since that version")
        return invoice

    def _publish_invoice(self, invoice_id: str, *, body: Obj, **_: Any) -> Reply:
        invoice = self._invoice(invoice_id, body.get("version"))
        if isinstance(invoice, tuple):
            return invoice
        if invoice["status"] != "DRAFT":
            return _error(400, "BAD_REQUEST", "only a draft is published")
        self.emit("invoice.published", "invoice", self.publish(invoice))
        return 200, {"invoice": invoice}

    def _cancel_invoice(self, invoice_id: str, *, body: Obj, **_: Any) -> Reply:
        invoice = self._invoice(invoice_id, body.get("version"))
        if isinstance(invoice, tuple):
            return invoice
        if invoice["status"] not in ("UNPAID", "SCHEDULED", "PARTIALLY_PAID"):
            return _error(400, "BAD_REQUEST", f"a {invoice['status']} invoice is not canceled")
        self.emit("invoice.canceled", "invoice", self.touch(invoice, status="CANCELED"))
        return 200, {"invoice": invoice}

    def _delete_invoice(self, invoice_id: str, *, query: dict[str, str], **_: Any) -> Reply:
        invoice = self._invoice(invoice_id, query.get("version"))
        if isinstance(invoice, tuple):
            return invoice
        if invoice["status"] != "DRAFT":
            return _error(400, "BAD_REQUEST", "only a draft is deleted")
        del self.objects["invoice"][invoice_id]
        return 200, {}

    def _create_link(self, *, body: Obj, **_: Any) -> Reply:
        if body["order"].get("location_id") != self.location_id:
            return _missing("location", body["order"].get("location_id"))
        order = self.order_from(body["order"])
        link_id = self.new_id("LINK")
        link = {
            "id": link_id,
            "version": 1,
            "order_id": order["id"],
            "created_at": self.now(),
            "url": f"https://square.link/u/{link_id}",
            "long_url": f"https://checkout.square.site/merchant/{self.merchant_id}/order/"
            f"{order['id']}",
        }
        kept = ("checkout_options", "pre_populated_data", "payment_note", "description")
        link.update({key: body[key] for key in kept if key in body})
        self.put("payment_link", link)
        return 200, {"payment_link": link, "related_resources": {"orders": [order]}}

    def _delete_link(self, link_id: str, **_: Any) -> Reply:
        link = self.objects["payment_link"].pop(link_id, None)
        if link is None:
            return _missing("payment link", link_id)
        self.touch(self.objects["order"][link["order_id"]], state="CANCELED")
        return 200, {"id": link_id, "cancelled_order_id": link["order_id"]}

    def _search_subscriptions(self, *, body: Obj, **_: Any) -> Reply:
        wanted = body.get("query", {}).get("filter", {})
        found = [
            s
            for s in self.objects["subscription"].values()
            if s["customer_id"] in wanted.get("customer_ids", [s["customer_id"]])
            and s["location_id"] in wanted.get("location_ids", [s["location_id"]])
        ]
        return _listed("subscriptions", found)

    def _create_subscription(self, *, body: Obj, **_: Any) -> Reply:
        if body.get("customer_id") not in self.objects["customer"]:
            return _missing("customer", body.get("customer_id"))
        start = body.get("start_date", self.today())
        subscription = self.subscription_for(
            body["customer_id"],
            body["plan_variation_id"],
            price=body.get("price_override_money"),
            status="PENDING" if start > self.today() else "ACTIVE",
            start_date=start,
            card_id=body.get("card_id"),
        )
        self.emit("subscription.created", "subscription", subscription)
        return 200, {"subscription": subscription}

    def _cancel_subscription(self, subscription_id: str, **_: Any) -> Reply:
        subscription = self.objects["subscription"].get(subscription_id)
        if subscription is None:
            return _missing("subscription", subscription_id)
        if subscription["status"] == "CANCELED" or subscription.get("canceled_date"):
            return _error(400, "BAD_REQUEST", "the subscription is canceled already")
        ends = subscription.get("charged_through_date") or self.today()
        subscription.update(canceled_date=ends, version=subscription["version"] + 1)
        if subscription["status"] in ("PENDING", "DEACTIVATED", "PAUSED") or ends <= self.today():
            subscription["status"] = "CANCELED"
        self.emit("subscription.updated", "subscription", subscription)
        action = {"id": self.new_id("ACTION"), "type": "CANCEL", "effective_date": ends}
        return 200, {"subscription": subscription, "actions": [action]}

    def _list_cards(self, *, query: dict[str, str], **_: Any) -> Reply:
        owner = query.get("customer_id")
        cards = [c for c in self.objects["card"].values() if owner in (None, c["customer_id"])]
        return _listed(
            "cards", sorted(cards, key=lambda c: c["id"], reverse=query.get("sort_order") == "DESC")
        )

    def _disable_card(self, card_id: str, **_: Any) -> Reply:
        card = self.disable_card(card_id)
        return (200, {"card": card}) if card is not None else _missing("card", card_id)

    def _create_card(self, *, body: Obj, **_: Any) -> Reply:
        """``CreateCard`` from a nonce: the nonce is used once."""
        nonce, asked = body.get("source_id", ""), body.get("card", {})
        if nonce not in self.nonces:
            return _error(400, "CARD_TOKEN_USED", "the nonce is unknown or used already")
        customer = asked.get("customer_id")
        if customer not in self.objects["customer"]:
            return _missing("customer", customer)
        declines = self.nonces.pop(nonce)
        card_id = self.add_card(customer, reference_id=asked.get("reference_id"))
        card = self.objects["card"][card_id]
        if asked.get("cardholder_name"):
            card["cardholder_name"] = asked["cardholder_name"]
        if declines:
            self.declining.add(card_id)
        return 200, {"card": card}

    def _create_payment(self, *, body: Obj, **_: Any) -> Reply:
        """``CreatePayment`` with a card on file: completed at once (``autocomplete``),
        or declined by the issuer (402, and the failed payment in the answer)."""
        card = self.objects["card"].get(body.get("source_id", ""))
        if card is None or not card["enabled"]:
            return _error(400, "INVALID_CARD", "no such card on file", "PAYMENT_METHOD_ERROR")
        if body.get("customer_id") != card["customer_id"]:
            return _error(400, "INVALID_REQUEST_ERROR", "the card is another customer's")
        order = self.objects["order"].get(body.get("order_id", ""))
        if order is None:
            return _missing("order", body.get("order_id"))
        asked = body["amount_money"]
        if asked != order["total_money"]:
            return _error(400, "INVALID_VALUE", "the amount is not the order's total")
        declined = card["id"] in self.declining
        payment = self.payment_for(
            order,
            asked,
            source_type="CARD",
            status="FAILED"
            if declined
            else "COMPLETED"
            if body.get("autocomplete", True)
            else "APPROVED",
            customer_id=card["customer_id"],
        )
        for key in ("reference_id", "note"):
            if key in body:
                payment[key] = body[key]
        payment["card_details"]["card"] = {
            k: card[k]
            for k in (
                "card_brand",
                "last_4",
                "exp_month",
                "exp_year",
                "fingerprint",
                "card_type",
                "prepaid_type",
                "bin",
            )
        }
        payment["card_details"]["entry_method"] = "ON_FILE"
        self.emit("payment.created", "payment", payment)
        if declined:
            reply = _error(
                402, "CARD_DECLINED", "Authorization error: 'CARD_DECLINED'", "PAYMENT_METHOD_ERROR"
            )
            return reply[0], {**reply[1], "payment": payment}
        tender = {
            "id": self.new_id("TENDER"),
            "type": "CARD",
            "amount_money": dict(asked),
            "payment_id": payment["id"],
            "location_id": self.location_id,
        }
        self.touch(order, tenders=[*order.get("tenders", []), tender], state="COMPLETED")
        return 200, {"payment": payment}

    def _list_payments(self, *, query: dict[str, str], **_: Any) -> Reply:
        begin = _at(query.get("updated_at_begin_time"))
        end = _at(query.get("updated_at_end_time"))
        found = []
        for payment in self.objects["payment"].values():
            at = _at(payment["updated_at"])
            assert at is not None
            if (begin is None or begin <= at) and (end is None or at < end):
                found.append(payment)
        found.sort(key=lambda p: p["updated_at"], reverse=query.get("sort_order") != "ASC")
        return _listed("payments", found)

    def _refund(self, *, body: Obj, **_: Any) -> Reply:
        payment = self.objects["payment"].get(body.get("payment_id", ""))
        if payment is None:
            return _missing("payment", body.get("payment_id"))
        asked, total = body["amount_money"], payment["total_money"]
        refunded = payment.get("refunded_money", money(0, total["currency"]))["amount"]
        if asked["currency"] != total["currency"] or asked["amount"] + refunded > total["amount"]:
            return _error(400, "REFUND_AMOUNT_INVALID", "more than is left", "REFUND_ERROR")
        refund = self.refund_for(payment, asked)
        self.emit("refund.created", "refund", {**refund, "status": "PENDING"})
        self.touch(
            payment,
            refunded_money=money(refunded + asked["amount"], asked["currency"]),
            refund_ids=[*payment.get("refund_ids", []), refund["id"]],
        )
        self.emit("payment.updated", "payment", payment)
        self.emit("refund.updated", "refund", refund)
        return 200, {"refund": refund}

    def _search_events(self, *, body: Obj, **_: Any) -> Reply:
        wanted = body.get("query", {}).get("filter", {})
        types = wanted.get("event_types")
        start = _at(wanted.get("created_at", {}).get("start_at"))
        found = [
            event
            for event in self.events
            if (start is None or start <= _at(event["created_at"]))  # type: ignore[operator]
            and (types is None or event["type"] in types)
        ]
        offset, limit = int(body.get("cursor") or 0), int(body.get("limit", 100))
        page = found[offset : offset + limit]
        metadata = [{"event_id": e["event_id"], "api_version": "2026-09-16"} for e in page]
        answer: Obj = {"events": page, "metadata": metadata} if page else {}
        if offset + limit < len(found):
            answer["cursor"] = str(offset + limit)
        return 200, answer
