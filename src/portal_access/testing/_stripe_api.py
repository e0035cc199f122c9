"""A small Stripe API on 127.0.0.1 for tests: the real ``stripe`` SDK talks to it.

It answers what ``StripeGateway`` calls with JSON shaped like Stripe's own examples,
keeps what it made in ``objects``, records every request, replays a POST repeated with
its ``Idempotency-Key`` (refusing the key with other parameters, as Stripe does), fails
on demand (``fail_next``) and lists ``events`` newest first, paginated, as Stripe does.

>>> with FakeStripeApi() as api:
...     api.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from portal_access.testing._local_server import Answer, LocalApi, RawRequest
from portal_access.testing.stripe import RecordedRequest

__all__ = ["FakeStripeApi"]

Reply = tuple[int, dict[str, Any]]


def _error(status: int, kind: str, message: str, code: str | None = None) -> Reply:
    return status, {"error": {"type": kind, "message": message, "code": code}}


def _missing(object_id: str) -> Reply:
    return _error(404, "invalid_request_error", f"No such: '{object_id}'", "resource_missing")


class FakeStripeApi(LocalApi):
    """The fake API; use as a context manager (or :meth:`start` / :meth:`stop`)."""

    def __init__(self, *, now: Callable[[], float] = time.time) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[RecordedRequest] = []
        self._now, self._lock, self._ids = now, threading.Lock(), Counter[str]()
        self._replies: dict[str, tuple[str, Reply]] = {}
        self._failures: deque[Reply] = deque()
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("POST", re.compile(r"/v1/customers"), self._create_customer),
            ("GET", re.compile(r"/v1/customers/search"), self._search_customers),
            ("POST", re.compile(r"/v1/checkout/sessions"), self._create_session),
            ("POST", re.compile(r"/v1/checkout/sessions/([^/]+)/expire"), self._expire),
            ("POST", re.compile(r"/v1/refunds"), self._create_refund),
            ("POST", re.compile(r"/v1/subscriptions/([^/]+)"), self._subscription),
            ("DELETE", re.compile(r"/v1/subscriptions/([^/]+)"), self._subscription),
            ("GET", re.compile(r"/v1/invoice_payments"), self._list_invoice_payments),
            ("GET", re.compile(r"/v1/events"), self._list_events),
            ("GET", re.compile(r"/v1/[a-z_/]+/([^/]+)"), self._retrieve),
        ]

    def answer(self, request: RawRequest) -> Answer:
        """Route one request (called by the server thread); Stripe's ``Request-Id`` too."""
        text = request.data.decode()
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query,
            form=dict(parse_qsl(text, keep_blank_values=True)),
            headers=request.headers,
        )
        status, payload = self.handle(recorded)
        return status, payload, {"Request-Id": f"req_test_{len(self.requests):04d}"}

    def new_id(self, prefix: str) -> str:
        """A new id like Stripe's (``cus_test_0001``)."""
        self._ids[prefix] += 1
        return f"{prefix}_test_{self._ids[prefix]:04d}"

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Keep ``obj`` under its ``id`` (what ``GET /v1/<kind>/<id>`` answers)."""
        self.objects[obj["id"]] = obj
        return obj

    def record_event(self, event: dict[str, Any]) -> None:
        """Keep an event (for ``GET /v1/events``) and the object it carries."""
        with self._lock:
            self.events.append(event)
            self.add(dict(event["data"]["object"]))

    def fail_next(self, status: int, error: dict[str, Any], *, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` and ``{"error": error}``."""
        self._failures.extend([(status, {"error": error})] * times)

    # -- the HTTP side -------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        """Route one request (called by the server thread)."""
        with self._lock:
            self.requests.append(request)
            if self._failures:
                return self._failures.popleft()
            key = request.headers.get("idempotency-key")
            fingerprint = json.dumps([request.method, request.path, request.form], sort_keys=True)
            if request.method == "POST" and key in self._replies:
                seen, reply = self._replies[key]
                if seen != fingerprint:
                    return _error(400, "idempotency_error", "Keys for idempotent requests "
                                  "can only be used with the same parameters")  # fmt: skip
                return reply
            reply = self._route(request)
            if request.method == "POST" and key is not None and reply[0] < 500:
                self._replies[key] = (fingerprint, reply)
            return reply

    def _route(self, request: RecordedRequest) -> Reply:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if method == request.method and match and not match.groups():
                return handler(request)
            if method == request.method and match:
                found = self.objects.get(match[1])
                return _missing(match[1]) if found is None else handler(request, found)
        return _error(404, "invalid_request_error", "Unrecognized request URL")

    def _retrieve(self, request: RecordedRequest, found: dict[str, Any]) -> Reply:
        obj = dict(found)
        for path in request.params.get("expand", []):
            if isinstance(obj.get(path), str) and obj[path] in self.objects:
                obj[path] = self.objects[obj[path]]
        return 200, obj

    def _create_customer(self, request: RecordedRequest) -> Reply:
        params = request.params
        customer = {"id": self.new_id("cus"), "object": "customer", "created": int(self._now()),
                    "email": params.get("email"), "name": params.get("name"),
                    "metadata": params.get("metadata", {}), "livemode": False}  # fmt: skip
        return 200, self.add(customer)

    def _search_customers(self, request: RecordedRequest) -> Reply:
        match = re.fullmatch(r"metadata\['(\w+)'\]:'(.*)'", request.query.get("query", ""))
        found = [
            o for o in self.objects.values()
            if o.get("object") == "customer" and match
            and o.get("metadata", {}).get(match[1]) == match[2].replace("\\'", "'")
        ]  # fmt: skip
        return 200, {"object": "search_result", "data": found, "has_more": False,
                     "url": "/v1/customers/search", "next_page": None}  # fmt: skip

    def _create_session(self, request: RecordedRequest) -> Reply:
        params, now = request.params, int(self._now())
        session_id, lines = self.new_id("cs"), params.get("line_items", [])
        total = sum(int(i["price_data"]["unit_amount"]) * int(i["quantity"]) for i in lines)
        intent = None
        if params.get("mode") == "payment":
            intent = self.add({"id": self.new_id("pi"), "object": "payment_intent",
                               "amount": total, "currency": params.get("currency", "usd"),
                               "status": "requires_payment_method", "created": now,
                               "payment_method_types": params.get("allowed_payment_method_types"),
                               "metadata": params.get("payment_intent_data", {}).get(
                                   "metadata", {}), "last_payment_error": None})["id"]  # fmt: skip
        session = {"id": session_id, "object": "checkout.session", "created": now,
                   "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                   "expires_at": now + 86400, "status": "open", "payment_status": "unpaid",
                   "mode": params.get("mode"), "amount_total": total,
                   "currency": params.get("currency"), "customer": params.get("customer"),
                   "payment_method_types": params.get("allowed_payment_method_types", ["card"]),
                   "metadata": params.get("metadata", {}), "payment_intent": intent,
                   "subscription": None, "invoice": None, "setup_intent": None,
                   "success_url": params.get("success_url"), "livemode": False,
                   "cancel_url": params.get("cancel_url")}  # fmt: skip
        return 200, self.add(session)

    def _expire(self, _request: RecordedRequest, session: dict[str, Any]) -> Reply:
        if session["status"] != "open":
            return _error(400, "invalid_request_error", "Only Checkout Sessions with a status "
                          'in ["open"] can be expired.')  # fmt: skip
        session["status"] = "expired"
        return 200, session

    def _create_refund(self, request: RecordedRequest) -> Reply:
        params = request.params
        intent = self.objects.get(params.get("payment_intent", ""))
        if intent is None:
            return _missing(params.get("payment_intent", ""))
        amount = int(params.get("amount", intent["amount"]))
        return 200, self.add({"id": self.new_id("re"), "object": "refund", "amount": amount,
                              "currency": intent["currency"], "payment_intent": intent["id"],
                              "status": "succeeded", "metadata": {}})  # fmt: skip

    def _subscription(self, request: RecordedRequest, subscription: dict[str, Any]) -> Reply:
        """POST updates (nested dicts merged); DELETE cancels (a canceled one is refused)."""
        if request.method == "DELETE" and subscription["status"] == "canceled":
            return _error(400, "invalid_request_error", "subscription is canceled")
        changes = {"status": "canceled"} if request.method == "DELETE" else request.params
        for key, value in changes.items():
            merged = {**subscription.get(key, {}), **value} if isinstance(value, dict) else value
            subscription[key] = merged
        return 200, subscription

    def _list_invoice_payments(self, request: RecordedRequest) -> Reply:
        params = request.params
        wanted = params.get("payment", {}).get("payment_intent")
        found = [
            dict(o) for o in self.objects.values()
            if o.get("object") == "invoice_payment"
            and (wanted is None or o["payment"].get("payment_intent") == wanted)
            and o["invoice"] == params.get("invoice", o["invoice"])
            and o["status"] == params.get("status", o["status"])
        ]  # fmt: skip
        if "data.invoice" in params.get("expand", []):
            for payment in found:
                payment["invoice"] = self.objects.get(payment["invoice"], payment["invoice"])
        return 200, {"object": "list", "data": found, "has_more": False,
                     "url": "/v1/invoice_payments"}  # fmt: skip

    def _list_events(self, request: RecordedRequest) -> Reply:
        params = request.params
        gte = int(params.get("created", {}).get("gte", 0))
        order = sorted(enumerate(self.events), key=lambda e: (e[1]["created"], e[0]), reverse=True)
        listed = [event for _index, event in order if event["created"] >= gte]
        after = params.get("starting_after")
        if after is not None:
            ids = [event["id"] for event in listed]
            listed = listed[ids.index(after) + 1 :] if after in ids else []
        limit = int(params.get("limit", 10))
        return 200, {"object": "list", "data": listed[:limit], "has_more": len(listed) > limit,
                     "url": "/v1/events"}  # fmt: skip
