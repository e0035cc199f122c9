"""A small PayPal API on 127.0.0.1 for tests: the real ``paypal-server-sdk`` talks to it.

It answers what :class:`~portal_access.gateways.paypal.PayPalGateway` calls (OAuth
token, orders, captures, refunds, catalog products, plans, subscriptions, sales (v1),
vault setup tokens, disputes, the webhook events list, verify-webhook-signature) with
JSON shaped like PayPal's published descriptions, keeps what it made, records every
request and answer, replays a POST repeated with its ``PayPal-Request-Id``, and fails on
demand (:meth:`fail_next`). The payer's and PayPal's own actions (approving, an eCheck
clearing, a renewal, a sale refunded from the dashboard, a dispute and its outcome) are
methods, so a test tells the story; it needs no file at run time.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import attrs

from portal_access._domain.money import Money
from portal_access.testing._local_server import Answer, LocalApi, RawRequest

__all__ = ["DISPUTE_FEE", "LocalPayPalApi", "PayPalExchange", "receivable"]

Reply = tuple[int, Any]
_CHECKOUT = "https://www.sandbox.paypal.com"


#: What PayPal keeps of a capture or a sale: 3.49 % + 0.49 (its US list price), in minor
#: units.
FEE_BASIS_POINTS, FEE_FIXED = 349, 49
#: PayPal's dispute fee (its US list price for a dispute it handles), in minor units.
DISPUTE_FEE = 1500


def _kept(gross: Money) -> Money:
    fee = gross.amount * FEE_BASIS_POINTS // 10_000 + FEE_FIXED
    return Money(min(fee, gross.amount), gross.currency)


def _shown(money: Money) -> dict[str, str]:
    return {"currency_code": money.currency, "value": f"{money.major:.{money.exponent}f}"}


def receivable(amount: dict[str, str]) -> dict[str, Any]:
    """A capture's ``seller_receivable_breakdown``: its gross, PayPal's fee, the net."""
    gross = Money.parse(amount["value"], amount["currency_code"])
    fee = _kept(gross)
    return {
        "gross_amount": _shown(gross),
        "paypal_fee": _shown(fee),
        "net_amount": _shown(gross - fee),
    }


@attrs.frozen
class PayPalExchange:
    """One request the local API received, and its answer."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int
    answer: Any


def stamp(moment: datetime) -> str:
    """PayPal's time format (RFC 3339, UTC, seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, name: str, issue: str, message: str) -> Reply:
    return status, {
        "name": name,
        "message": message,
        "debug_id": "0badc0ffee0",
        "details": [{"issue": issue, "description": message}],
    }


def _missing(kind: str, object_id: str) -> Reply:
    return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", f"no {kind} {object_id}")


def _link(href: str, rel: str, method: str = "GET") -> dict[str, str]:
    return {"href": href, "rel": rel, "method": method}


def _money_sum(*amounts: dict[str, str]) -> dict[str, str]:
    total = sum(Decimal(a["value"]) for a in amounts)
    return {"currency_code": amounts[0]["currency_code"], "value": f"{total:.2f}"}


class LocalPayPalApi(LocalApi):
    """The local API; use as a context manager (or :meth:`start` / :meth:`stop`).

    Args:
        now: the time (a test's clock).
        client_id: the REST app credentials it accepts.
        client_secret: see ``client_id``.
    """

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        client_id: str = "test-client",
        client_secret: str = "test-secret",  # noqa: S107 - a test double's credentials
    ) -> None:
        self.now = now
        self.orders: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.sales: dict[str, dict[str, Any]] = {}
        #: each sale's refunds (v1 Refund resources), oldest first
        self.sale_refunds: dict[str, list[dict[str, Any]]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        self.setup_tokens: dict[str, dict[str, Any]] = {}
        self.payment_tokens: dict[str, dict[str, Any]] = {}
        #: payment tokens deleted (``DELETE /v3/vault/payment-tokens/{id}``), as they were
        self.deleted_tokens: dict[str, dict[str, Any]] = {}
        #: payment tokens whose funding source declines every charge
        self.declining: set[str] = set()
        self.events: list[dict[str, Any]] = []
        self.exchanges: list[PayPalExchange] = []
        #: transmission id -> (webhook id, signature) of every delivery signed for it
        self.transmissions: dict[str, tuple[str, str]] = {}
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._basic, self._tokens = f"Basic {basic}", set[str]()
        self._lock, self._ids = threading.Lock(), itertools.count(1)
        self._replies: dict[tuple[str, str], Reply] = {}
        self._failures: deque[Reply] = deque()
        self._routes: list[tuple[str, str, Callable[..., Reply]]] = [
            ("POST", "/v1/oauth2/token", self._token),
            ("POST", "/v2/checkout/orders", self._create_order),
            ("GET", "/v2/checkout/orders/{}", self._get_order),
            ("PATCH", "/v2/checkout/orders/{}", self._patch_order),
            ("POST", "/v2/checkout/orders/{}/capture", self._capture_order),
            ("GET", "/v2/payments/captures/{}", self._get_capture),
            ("POST", "/v2/payments/captures/{}/refund", self._refund),
            ("POST", "/v1/catalogs/products", self._create_product),
            ("GET", "/v1/billing/plans", self._list_plans),
            ("POST", "/v1/billing/plans", self._create_plan),
            ("POST", "/v1/billing/subscriptions", self._create_subscription),
            ("GET", "/v1/billing/subscriptions/{}", self._get_subscription),
            ("POST", "/v1/billing/subscriptions/{}/cancel", self._cancel_subscription),
            ("GET", "/v1/payments/sale/{}", self._get_sale),
            ("GET", "/v1/customer/disputes/{}", self._get_dispute),
            ("POST", "/v3/vault/setup-tokens", self._create_setup_token),
            ("POST", "/v3/vault/payment-tokens", self._create_payment_token),
            ("GET", "/v3/vault/payment-tokens/{}", self._get_payment_token),
            ("DELETE", "/v3/vault/payment-tokens/{}", self._delete_payment_token),
            ("GET", "/v1/notifications/webhooks-events", self._list_events),
            ("POST", "/v1/notifications/verify-webhook-signature", self._verify),
        ]

    # -- running -------------------------------------------------------------------------

    def answer(self, request: RawRequest) -> Answer:
        """Answer one request (called by the server thread): a JSON body, or a form (the
        OAuth token request); PayPal's ``Paypal-Debug-Id`` too."""
        raw, headers = request.data, request.headers
        try:
            body = json.loads(raw) if raw and "json" in headers.get("content-type", "") else None
        except ValueError:
            body = None
        if body is None and raw:
            body = dict(parse_qsl(raw.decode()))
        status, payload = self.handle(request.method, request.path, request.query, body, headers)
        return status, payload, {"Paypal-Debug-Id": "0badc0ffee0"}

    def new_id(self, prefix: str = "") -> str:
        """A new id in PayPal's form (17 upper-case letters and digits)."""
        return f"{prefix}{next(self._ids):05d}TESTPAYPAL"[:17].ljust(17, "X")

    def fail_next(self, status: int, name: str, issue: str, *, times: int = 1) -> None:
        """Answer the next ``times`` requests (after the token) with an error."""
        self._failures.extend([_error(status, name, issue, "failing on purpose")] * times)

    def record_event(self, event: dict[str, Any]) -> None:
        """Keep a delivered event for the webhook events list."""
        with self._lock:
            self.events.append(event)

    # -- the payer's and PayPal's actions ------------------------------------------------

    def approve_order(self, order_id: str, *, method: str = "wallet") -> dict[str, Any]:
        """The payer approves an order with their PayPal ``wallet``, a ``card`` (PayPal's
        guest checkout) or an ``echeck`` (a bank debit that clears days later)."""
        with self._lock:
            order = self.orders[order_id]
            order["status"], order["update_time"] = "APPROVED", stamp(self.now())
            order["payment_source"] = {
                "paypal": {
                    "email_address": "payer@example.com",
                    "account_id": "QYR5Z8XDVJNXQ",
                    "account_status": "VERIFIED",
                }
            }
            order["_method"] = method
            return order

    def approve_setup_token(self, token_id: str) -> dict[str, Any]:
        """The payer approves saving their PayPal wallet on the setup token's page."""
        with self._lock:
            token = self.setup_tokens[token_id]
            token["status"] = "APPROVED"
            return token

    def decline_payment_token(self, token_id: str) -> None:
        """The payer's funding source behind a payment token declines every later charge."""
        with self._lock:
            self.declining.add(token_id)

    def settle_capture(self, capture_id: str, *, cleared: bool) -> dict[str, Any]:
        """A pending (eCheck) capture clears or is declined by the payer's bank."""
        with self._lock:
            capture = self.captures[capture_id]
            capture["status"] = "COMPLETED" if cleared else "DECLINED"
            capture.pop("status_details", None)
            capture["update_time"] = stamp(self.now())
            self._sync_order(capture)
            return capture

    def approve_subscription(self, subscription_id: str, *, echeck: bool = False) -> dict[str, Any]:
        """The payer approves: PayPal activates it and charges the setup fee (a sale,
        pending when the payer's bank pays by eCheck). Returns the sale."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            fee = subscription["plan"]["payment_preferences"]["setup_fee"]
            subscription["status"] = "ACTIVE"
            subscription["update_time"] = subscription["status_update_time"] = stamp(self.now())
            return self._sale(subscription, fee, "pending" if echeck else "completed")

    def settle_sale(self, sale_id: str, *, cleared: bool) -> dict[str, Any]:
        """A pending sale clears or is denied."""
        with self._lock:
            sale = self.sales[sale_id]
            sale["state"] = "completed" if cleared else "denied"
            sale.pop("reason_code", None)
            if cleared:
                sale["transaction_fee"] = _sale_fee(sale["amount"])
            sale["update_time"] = stamp(self.now())
            return sale

    def renew(self, subscription_id: str, *, paid: bool) -> dict[str, Any] | None:
        """A billing cycle comes due: a sale when the payer's account pays; otherwise a
        failed payment, and (threshold 1) the subscription is suspended. Returns the sale."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            billing, now = subscription["billing_info"], stamp(self.now())
            price = self.plans[subscription["plan_id"]]["billing_cycles"][0]["pricing_scheme"]
            subscription["update_time"] = now
            if paid:
                billing["failed_payments_count"] = 0
                billing["cycle_executions"][0]["cycles_completed"] += 1
                return self._sale(subscription, price["fixed_price"], "completed")
            billing["failed_payments_count"] += 1
            billing["last_failed_payment"] = {
                "amount": price["fixed_price"],
                "time": now,
                "reason_code": "PAYMENT_DENIED",
            }
            subscription["status"], subscription["status_update_time"] = "SUSPENDED", now
            return None

    def refund_sale(self, sale_id: str, *, amount: Money | None = None) -> dict[str, Any]:
        """The merchant refunds a sale (from PayPal's dashboard), in full or ``amount`` of
        it: the sale is ``refunded`` once refunds reach its total, else
        ``partially_refunded``. Returns the refund (PayPal's v1 Refund resource, as a
        ``PAYMENT.SALE.REFUNDED`` webhook carries it)."""
        with self._lock:
            sale, now = self.sales[sale_id], stamp(self.now())
            if sale["state"] not in ("completed", "partially_refunded"):
                raise ValueError(f"sale {sale_id} is {sale['state']}: it cannot be refunded")
            total = Money.parse(sale["amount"]["total"], sale["amount"]["currency"])
            refunds = self.sale_refunds.setdefault(sale_id, [])
            given = Money.total(
                (Money.parse(r["amount"]["total"], r["amount"]["currency"]) for r in refunds),
                total.currency,
            )
            money = amount if amount is not None else total - given
            shown = {"total": _shown(money)["value"], "currency": money.currency}
            refund_id = self.new_id("R")
            refund = {
                "id": refund_id,
                "state": "completed",
                "amount": shown,
                "sale_id": sale_id,
                "refund_to_payer": {"value": shown["total"], "currency": money.currency},
                "refund_reason_code": "REFUND",
                "invoice_number": "",
                "create_time": now,
                "update_time": now,
                "links": [
                    _link(f"https://api.sandbox.paypal.com/v1/payments/refund/{refund_id}", "self"),
                    _link(f"https://api.sandbox.paypal.com/v1/payments/sale/{sale_id}", "sale"),
                ],
            }
            refunds.append(refund)
            sale["state"] = "refunded" if given + money >= total else "partially_refunded"
            sale["update_time"] = now
            return refund

    def open_dispute(
        self, capture_id: str, *, fee: Money | None = None, fee_reason: str = "DISPUTE_FEE"
    ) -> dict[str, Any]:
        """The payer disputes a capture (a chargeback through their card issuer): PayPal
        takes the disputed money from the seller and, when ``fee`` is given, its dispute
        fee (``fee_reason``, a money movement the seller pays). Returns the dispute as
        the Disputes API shows it."""
        with self._lock:
            capture, now = self.captures[capture_id], stamp(self.now())
            dispute_id = f"PP-D-{next(self._ids):05d}"
            dispute = {
                "dispute_id": dispute_id,
                "create_time": now,
                "update_time": now,
                "disputed_transactions": [
                    {"seller_transaction_id": capture_id, "gross_amount": capture["amount"]}
                ],
                "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
                "status": "UNDER_REVIEW",
                "dispute_amount": capture["amount"],
                "dispute_life_cycle_stage": "CHARGEBACK",
                "dispute_channel": "EXTERNAL",
                "money_movements": [
                    _movement("DEBIT", "DISPUTE_SETTLEMENT", capture["amount"], now)
                ],
                "links": [_link(f"{self.url}/v1/customer/disputes/{dispute_id}", "self")],
            }
            if fee is not None:
                dispute["money_movements"].append(_movement("DEBIT", fee_reason, _shown(fee), now))
            self.disputes[dispute_id] = dispute
            return dispute

    def resolve_dispute(
        self, dispute_id: str, *, won: bool, fee_returned: Money | None = None
    ) -> dict[str, Any]:
        """PayPal decides a dispute: won, the disputed money comes back to the seller
        (with ``fee_returned`` of the fee, where PayPal gives it back); lost, it stays
        with the payer. Returns the dispute."""
        with self._lock:
            dispute, now = self.disputes[dispute_id], stamp(self.now())
            dispute["status"], dispute["update_time"] = "RESOLVED", now
            code = "RESOLVED_SELLER_FAVOUR" if won else "RESOLVED_BUYER_FAVOUR"
            dispute["dispute_outcome"] = {"outcome_code": code}
            movements = dispute["money_movements"]
            if won:
                movements.append(
                    _movement("CREDIT", "DISPUTE_SETTLEMENT", dispute["dispute_amount"], now)
                )
            if fee_returned is not None:
                movements.append(_movement("CREDIT", "DISPUTE_FEE", _shown(fee_returned), now))
            return dispute

    def _sale(
        self, subscription: dict[str, Any], amount: dict[str, str], state: str
    ) -> dict[str, Any]:
        now = stamp(self.now())
        sale_id = self.new_id("S")
        sale = {
            "id": sale_id,
            "state": state,
            "amount": {
                "total": amount["value"],
                "currency": amount["currency_code"],
                "details": {"subtotal": amount["value"]},
            },
            "payment_mode": "ECHECK" if state == "pending" else "INSTANT_TRANSFER",
            "billing_agreement_id": subscription["id"],
            "create_time": now,
            "update_time": now,
            "protection_eligibility": "ELIGIBLE",
            "links": [_link(f"https://api.sandbox.paypal.com/v1/payments/sale/{sale_id}", "self")],
        }
        if state == "pending":
            sale["reason_code"] = "ECHECK"
        else:
            sale["transaction_fee"] = _sale_fee(sale["amount"])
        billing = subscription["billing_info"]
        billing["last_payment"] = {"amount": amount, "time": now}
        self.sales[sale_id] = sale
        return sale

    def _sync_order(self, capture: dict[str, Any]) -> None:
        """Keep the capture inside its order the same as the capture itself."""
        order_id = capture.get("supplementary_data", {}).get("related_ids", {}).get("order_id")
        order = self.orders.get(order_id or "")
        if order is not None:
            for unit in order["purchase_units"]:
                captures = unit.get("payments", {}).get("captures", [])
                unit.get("payments", {})["captures"] = [
                    _in_order(capture) if c["id"] == capture["id"] else c for c in captures
                ]

    # -- the HTTP side -------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
    ) -> Reply:
        """Route one request (called by the server thread)."""
        with self._lock:
            status, answer = self._handle(method, path, query, body, headers)
            answer = json.loads(json.dumps(answer))  # as sent: later changes do not reach it
            self.exchanges.append(
                PayPalExchange(method, path, query, body, headers, status, answer)
            )
            return status, answer

    def _handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
    ) -> Reply:
        if path == "/v1/oauth2/token":
            return self._token(headers)
        if headers.get("authorization", "").removeprefix("Bearer ") not in self._tokens:
            return 401, {"error": "invalid_token", "error_description": "no valid token"}
        if self._failures:
            return self._failures.popleft()
        key = (path, headers.get("paypal-request-id", ""))
        if method == "POST" and key[1] and key in self._replies:
            return self._replies[key]
        for verb, pattern, handler in self._routes:
            found = _match(pattern, path)
            if verb == method and found is not None:
                reply = handler(*found, query=query, body=body)
                if method == "POST" and key[1] and reply[0] < 500:
                    self._replies[key] = reply
                return reply
        return _error(404, "NOT_FOUND", "INVALID_RESOURCE_ID", f"no route {method} {path}")

    def _token(self, headers: dict[str, str], **_: Any) -> Reply:
        if headers.get("authorization") != self._basic:
            return 401, {
                "error": "invalid_client",
                "error_description": "Client Authentication failed",
            }
        token = f"A21AA{self.new_id()}"
        self._tokens.add(token)
        return 200, {
            "scope": "https://uri.paypal.com/services/payments/payment",
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": 32400,
            "nonce": f"{stamp(self.now())}nonce",
        }

    # orders and captures

    def _create_order(self, *, body: Any, **_: Any) -> Reply:
        if "vault_id" in body.get("payment_source", {}).get("paypal", {}):
            return self._vault_order(body)
        order_id, now = self.new_id("O"), stamp(self.now())
        units = [
            {k: v for k, v in unit.items() if k != "items"} | {"items": unit.get("items", [])}
            for unit in body["purchase_units"]
        ]
        for unit in units:
            unit.setdefault("reference_id", "default")
        order = {
            "id": order_id,
            "intent": body["intent"],
            "status": "PAYER_ACTION_REQUIRED",
            "purchase_units": units,
            "create_time": now,
            "update_time": now,
            "links": [
                _link(f"{self.url}/v2/checkout/orders/{order_id}", "self"),
                _link(f"{_CHECKOUT}/checkoutnow?token={order_id}", "payer-action"),
            ],
        }
        self.orders[order_id] = order
        return 200, _public(order)

    def _get_order(self, order_id: str, **_: Any) -> Reply:
        order = self.orders.get(order_id)
        return _missing("order", order_id) if order is None else (200, _public(order))

    def _patch_order(self, order_id: str, *, body: Any, **_: Any) -> Reply:
        order = self.orders.get(order_id)
        if order is None:
            return _missing("order", order_id)
        for change in body:
            if change.get("path", "").endswith("/custom_id") and change.get("op") in (
                "add",
                "replace",
            ):
                order["purchase_units"][0]["custom_id"] = change["value"]
        order["update_time"] = stamp(self.now())
        return 204, None

    def _capture_order(self, order_id: str, **_: Any) -> Reply:
        order = self.orders.get(order_id)
        if order is None:
            return _missing("order", order_id)
        if order["status"] == "COMPLETED":
            return _error(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED", "captured already")
        if order["status"] != "APPROVED":
            return _error(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED", "not approved")
        now, method = stamp(self.now()), order.get("_method", "wallet")
        for unit in order["purchase_units"]:
            capture_id = self.new_id("C")
            capture = {
                "id": capture_id,
                "status": "PENDING" if method == "echeck" else "COMPLETED",
                "amount": unit["amount"] | {},
                "final_capture": True,
                "seller_protection": {"status": "ELIGIBLE"},
                "create_time": now,
                "update_time": now,
                "supplementary_data": {"related_ids": {"order_id": order_id}},
                "links": [
                    _link(f"{self.url}/v2/payments/captures/{capture_id}", "self"),
                    _link(f"{self.url}/v2/checkout/orders/{order_id}", "up"),
                ],
            }
            capture["amount"].pop("breakdown", None)
            if capture["status"] == "COMPLETED":
                capture["seller_receivable_breakdown"] = receivable(capture["amount"])
            for key in ("custom_id", "invoice_id"):
                if key in unit:
                    capture[key] = unit[key]
            if method == "echeck":
                capture["status_details"] = {"reason": "ECHECK"}
            if method == "card":
                capture["processor_response"] = {
                    "avs_code": "Y",
                    "cvv_code": "M",
                    "response_code": "0000",
                }
            self.captures[capture_id] = capture
            unit["payments"] = {"captures": [_in_order(capture)]}
        order["status"], order["update_time"] = "COMPLETED", now
        return 201, _public(order)

    def _get_capture(self, capture_id: str, **_: Any) -> Reply:
        capture = self.captures.get(capture_id)
        return _missing("capture", capture_id) if capture is None else (200, capture)

    def _refund(self, capture_id: str, *, body: Any, **_: Any) -> Reply:
        capture = self.captures.get(capture_id)
        if capture is None:
            return _missing("capture", capture_id)
        if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            return _error(422, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED", "cannot refund")
        amount = (body or {}).get("amount") or capture["amount"]
        refund_id, now = self.new_id("R"), stamp(self.now())
        full = Decimal(amount["value"]) >= Decimal(capture["amount"]["value"])
        capture["status"] = "REFUNDED" if full else "PARTIALLY_REFUNDED"
        capture["update_time"] = now
        self._sync_order(capture)
        refund = {
            "id": refund_id,
            "status": "COMPLETED",
            "amount": amount,
            "create_time": now,
            "update_time": now,
            "links": [
                _link(f"{self.url}/v2/payments/refunds/{refund_id}", "self"),
                _link(f"{self.url}/v2/payments/captures/{capture_id}", "up"),
            ],
        }
        return 201, refund

    # catalog, plans, subscriptions, vault

    def _create_product(self, *, body: Any, **_: Any) -> Reply:
        product_id = body.get("id") or self.new_id("PROD-")
        if product_id in self.products:
            return _error(422, "UNPROCESSABLE_ENTITY", "DUPLICATE_RESOURCE_IDENTIFIER", "exists")
        now = stamp(self.now())
        product = {
            "id": product_id,
            "name": body["name"],
            "type": body.get("type", "PHYSICAL"),
            "create_time": now,
            "update_time": now,
            "links": [_link(f"{self.url}/v1/catalogs/products/{product_id}", "self")],
        }
        self.products[product_id] = product
        return 201, product

    def _list_plans(self, *, query: dict[str, str], **_: Any) -> Reply:
        wanted = query.get("product_id")
        plans = [
            {
                k: plan[k]
                for k in ("id", "product_id", "name", "description", "status", "create_time")
            }
            for plan in self.plans.values()
            if wanted in (None, plan["product_id"])
        ]
        return 200, {"plans": plans}

    def _create_plan(self, *, body: Any, **_: Any) -> Reply:
        if body["product_id"] not in self.products:
            return _error(422, "UNPROCESSABLE_ENTITY", "INVALID_PARAMETER_VALUE", "no such product")
        plan_id, now = self.new_id("P-"), stamp(self.now())
        plan = {
            **body,
            "id": plan_id,
            "status": body.get("status", "ACTIVE"),
            "quantity_supported": False,
            "create_time": now,
            "update_time": now,
            "links": [_link(f"{self.url}/v1/billing/plans/{plan_id}", "self")],
        }
        self.plans[plan_id] = plan
        return 201, plan

    def _create_subscription(self, *, body: Any, **_: Any) -> Reply:
        if body["plan_id"] not in self.plans:
            return _error(422, "UNPROCESSABLE_ENTITY", "INVALID_PARAMETER_VALUE", "no such plan")
        subscription_id, now = f"I-{self.new_id()[:12]}", stamp(self.now())
        plan = {"payment_preferences": body.get("plan", {}).get("payment_preferences", {})}
        subscription = {
            "id": subscription_id,
            "plan_id": body["plan_id"],
            "status": "APPROVAL_PENDING",
            "status_update_time": now,
            "start_time": body.get("start_time", now),
            "quantity": "1",
            "custom_id": body.get("custom_id"),
            "plan_overridden": "plan" in body,
            "plan": plan,
            "create_time": now,
            "update_time": now,
            "billing_info": {
                "outstanding_balance": {
                    "currency_code": plan.get("payment_preferences", {})
                    .get("setup_fee", {})
                    .get("currency_code", "USD"),
                    "value": "0.00",
                },
                "cycle_executions": [
                    {
                        "tenure_type": "REGULAR",
                        "sequence": 1,
                        "cycles_completed": 0,
                        "cycles_remaining": 0,
                        "total_cycles": 0,
                    }
                ],
                "failed_payments_count": 0,
            },
            "links": [
                _link(
                    f"{_CHECKOUT}/webapps/billing/subscriptions?ba_token=BA-{subscription_id[2:]}",
                    "approve",
                ),
                _link(f"{self.url}/v1/billing/subscriptions/{subscription_id}", "self"),
            ],
        }
        if "subscriber" in body:
            subscription["subscriber"] = body["subscriber"]
        self.subscriptions[subscription_id] = subscription
        return 201, subscription

    def _get_subscription(self, subscription_id: str, **_: Any) -> Reply:
        found = self.subscriptions.get(subscription_id)
        return _missing("subscription", subscription_id) if found is None else (200, found)

    def _cancel_subscription(self, subscription_id: str, **_: Any) -> Reply:
        found = self.subscriptions.get(subscription_id)
        if found is None:
            return _missing("subscription", subscription_id)
        if found["status"] not in ("ACTIVE", "SUSPENDED"):
            return _error(
                422,
                "UNPROCESSABLE_ENTITY",
                "SUBSCRIPTION_STATUS_INVALID",
                "Invalid subscription status for cancel action; subscription status "
                "should be active or suspended.",
            )
        now = stamp(self.now())
        found["status"], found["status_update_time"], found["update_time"] = "CANCELLED", now, now
        return 204, None

    def _get_sale(self, sale_id: str, **_: Any) -> Reply:
        sale = self.sales.get(sale_id)
        return _missing("sale", sale_id) if sale is None else (200, sale)

    def _get_dispute(self, dispute_id: str, **_: Any) -> Reply:
        dispute = self.disputes.get(dispute_id)
        return _missing("dispute", dispute_id) if dispute is None else (200, dispute)

    def _create_setup_token(self, *, body: Any, **_: Any) -> Reply:
        token_id = self.new_id("T")
        customer = {"id": "CUSTTEST"} | (body or {}).get("customer", {})
        token = {
            "id": token_id,
            "status": "PAYER_ACTION_REQUIRED",
            "customer": customer,
            "payment_source": {"paypal": {"usage_type": "MERCHANT"}},
            "links": [
                _link(f"{_CHECKOUT}/agreements/approve?approval_session_id={token_id}", "approve"),
                _link(f"{self.url}/v3/vault/setup-tokens/{token_id}", "self"),
            ],
        }
        self.setup_tokens[token_id] = token
        return 200, token

    def _create_payment_token(self, *, body: Any, **_: Any) -> Reply:
        source = (body or {}).get("payment_source", {}).get("token", {})
        setup = self.setup_tokens.get(source.get("id", ""))
        if setup is None or source.get("type") != "SETUP_TOKEN":
            return _missing("setup token", str(source.get("id")))
        if setup["status"] != "APPROVED":
            return _error(422, "UNPROCESSABLE_ENTITY", "SETUP_TOKEN_NOT_APPROVED",
                          "the payer has not approved the setup token")  # fmt: skip
        setup["status"] = "VAULTED"
        token_id = self.new_id("8")
        token = {
            "id": token_id,
            "customer": dict(setup["customer"]),
            "payment_source": {
                "paypal": {
                    "email_address": "payer@example.com",
                    "payer_id": "QYR5Z8XDVJNXQ",
                    "usage_type": "MERCHANT",
                    "customer_type": "CONSUMER",
                    "description": "Saved for later payments in the customer portal",
                }
            },
            "links": [
                _link(f"{self.url}/v3/vault/payment-tokens/{token_id}", "self"),
                _link(f"{self.url}/v3/vault/payment-tokens/{token_id}", "delete", "DELETE"),
            ],
        }
        self.payment_tokens[token_id] = token
        return 201, token

    def _get_payment_token(self, token_id: str, **_: Any) -> Reply:
        token = self.payment_tokens.get(token_id)
        return _missing("payment token", token_id) if token is None else (200, token)

    def _delete_payment_token(self, token_id: str, **_: Any) -> Reply:
        """The token is gone for good: it is never found or charged again (PayPal then
        sends ``VAULT.PAYMENT-TOKEN.DELETED``; :class:`PayPalWebhooks` builds it)."""
        token = self.payment_tokens.pop(token_id, None)
        if token is None:
            return _missing("payment token", token_id)
        self.deleted_tokens[token_id] = token
        return 204, None

    def _vault_order(self, body: Any) -> Reply:
        """An order paid with a payment token (``payment_source.paypal.vault_id``): PayPal
        completes it at once, or refuses it when the funding source declines."""
        vault_id = body["payment_source"]["paypal"]["vault_id"]
        token = self.payment_tokens.get(vault_id)
        if token is None:
            return _error(422, "UNPROCESSABLE_ENTITY", "INVALID_RESOURCE_ID", "no such vault_id")
        if vault_id in self.declining:
            return _error(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED",
                          "The instrument presented was either declined by the processor or "
                          "bank, or it can't be used for this payment.")  # fmt: skip
        order_id, now = self.new_id("O"), stamp(self.now())
        units = [dict(unit) for unit in body["purchase_units"]]
        order = {
            "id": order_id,
            "intent": body["intent"],
            "status": "APPROVED",
            "purchase_units": units,
            "payment_source": {
                "paypal": {
                    "email_address": token["payment_source"]["paypal"]["email_address"],
                    "account_id": token["payment_source"]["paypal"]["payer_id"],
                    "account_status": "VERIFIED",
                    "attributes": {"vault": {"id": vault_id, "status": "VAULTED"}},
                }
            },
            "create_time": now,
            "update_time": now,
            "links": [_link(f"{self.url}/v2/checkout/orders/{order_id}", "self")],
        }
        self.orders[order_id] = order
        return self._capture_order(order_id)

    # notifications

    def _list_events(self, *, query: dict[str, str], **_: Any) -> Reply:
        start, end = query.get("start_time", ""), query.get("end_time", "~")
        size, page = int(query.get("page_size", "10")), int(query.get("page", "1"))
        listed = [e for e in reversed(self.events) if start <= e["create_time"][:19] + "Z" <= end]
        chunk = listed[(page - 1) * size : page * size]
        links = [
            _link(
                f"{self.url}/v1/notifications/webhooks-events?start_time={start}"
                f"&end_time={end}&page_size={size}&page={page + 1}",
                "next",
            )
        ]
        return 200, {
            "events": chunk,
            "count": len(chunk),
            "links": links if len(listed) > page * size else [],
        }

    def _verify(self, *, body: Any, **_: Any) -> Reply:
        sent = self.transmissions.get(body.get("transmission_id", ""))
        genuine = sent == (body.get("webhook_id"), body.get("transmission_sig"))
        return 200, {"verification_status": "SUCCESS" if genuine else "FAILURE"}


def _sale_fee(amount: dict[str, Any]) -> dict[str, str]:
    """A sale's ``transaction_fee`` (PayPal's v1 money: ``currency`` and ``value``)."""
    fee = _shown(_kept(Money.parse(amount["total"], amount["currency"])))
    return {"currency": fee["currency_code"], "value": fee["value"]}


def _movement(kind: str, reason: str, amount: dict[str, str], at: str) -> dict[str, Any]:
    """One of a dispute's ``money_movements`` the seller is party to."""
    return {"affected_party": "SELLER", "amount": dict(amount), "initiated_time": at,
            "type": kind, "reason": reason}  # fmt: skip


def _in_order(capture: dict[str, Any]) -> dict[str, Any]:
    """A capture as an order lists it (without the links back to its order)."""
    return {k: v for k, v in capture.items() if k != "supplementary_data"}


def _public(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if not k.startswith("_")}


def _match(pattern: str, path: str) -> tuple[str, ...] | None:
    want, have = pattern.split("/"), path.split("/")
    if len(want) != len(have):
        return None
    found = []
    for expected, actual in zip(want, have, strict=True):
        if expected == "{}":
            found.append(actual)
        elif expected != actual:
            return None
    return tuple(found)
