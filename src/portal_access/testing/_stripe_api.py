"""A small Stripe API on 127.0.0.1 for tests: the real ``stripe`` SDK talks to it.

:class:`StripeServer` answers what ``StripeGateway`` calls with JSON shaped like
Stripe's own objects, keeps what it made in ``objects``, records every request, replays
a POST repeated with its ``Idempotency-Key`` (refusing the key with other parameters,
as Stripe does), fails on demand (``fail_next``) and lists ``events`` newest first,
paginated, as Stripe does. What it changes it reports as signed events, queued for the
host's endpoint; :class:`~portal_access.testing.stripe.FakeStripeApi` adds what the
payer and Stripe do.

>>> with StripeServer() as api:
...     api.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import attrs

from portal_access._domain.money import Money
from portal_access.adapters import SystemClock
from portal_access.ports import Clock
from portal_access.testing._deliveries import DeliveryQueue, WebhookSender
from portal_access.testing._local_server import Answer, LocalApi, RawRequest
from portal_access.testing._signing import TimestampedSigner
from portal_access.testing._stripe_objects import Obj, balance_transaction_object, event_object

__all__ = ["RecordedRequest", "StripeServer", "unflatten"]

Reply = tuple[int, dict[str, Any]]


@attrs.frozen
class RecordedRequest:
    """One request the fake API received; ``form`` keeps Stripe's bracketed keys."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]

    @property
    def params(self) -> dict[str, Any]:
        """The form (or the query of a GET) as nested dicts and lists."""
        return unflatten({**self.query, **self.form})


def unflatten(flat: dict[str, str]) -> dict[str, Any]:
    """``{"a[b][0]": "x"}`` -> ``{"a": {"b": ["x"]}}`` (Stripe's form encoding, undone).

    >>> unflatten({"line_items[0][quantity]": "1", "mode": "payment"})
    {'line_items': [{'quantity': '1'}], 'mode': 'payment'}
    """
    root: dict[str, Any] = {}
    for key, value in flat.items():
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for index, part in enumerate(parts):
            slot: Any = part
            if isinstance(node, list):
                slot = int(part)
                node.extend([None] * (slot + 1 - len(node)))
            if index == len(parts) - 1:
                node[slot] = value
                break
            if (node[slot] if isinstance(node, list) else node.get(slot)) is None:
                node[slot] = [] if parts[index + 1].isdigit() else {}
            node = node[slot]
    return root


def error_reply(status: int, kind: str, message: str, code: str | None = None) -> Reply:
    """Stripe's error body with its HTTP status."""
    return status, {"error": {"type": kind, "message": message, "code": code}}


def _missing(object_id: str) -> Reply:
    return error_reply(404, "invalid_request_error", f"No such: '{object_id}'", "resource_missing")


class StripeServer(LocalApi, WebhookSender):
    """The local API; use as a context manager (or :meth:`start` / :meth:`stop`).

    Its events go to an attached endpoint as soon as the payer's or Stripe's action that
    made them is done; events that answer an API call (a refund, a cancellation) wait
    for the next action or :meth:`deliver`: Stripe sends webhooks after it has answered.

    Args:
        clock: Stripe's time (``created``, periods, signatures); default the system's.
        webhook_secret: the endpoint's signing secret (the gateway's ``webhook_secret``).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        webhook_secret: str = "whsec_test",  # noqa: S107 - a test endpoint's
    ) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[RecordedRequest] = []
        self.clock = clock or SystemClock()
        self._lock, self._ids = threading.RLock(), Counter[str]()
        self._replies: dict[str, tuple[str, Reply]] = {}
        self._failures: deque[Reply] = deque()
        self._queue = DeliveryQueue(
            TimestampedSigner("Stripe-Signature", webhook_secret, self.clock).sign
        )
        self._session_params: dict[str, dict[str, Any]] = {}  # what each session was opened with
        self._declining: set[str] = set()  # saved payment methods the bank now declines
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("POST", re.compile(r"/v1/customers"), self._create_customer),
            ("GET", re.compile(r"/v1/customers/search"), self._search_customers),
            ("POST", re.compile(r"/v1/checkout/sessions"), self._create_session),
            ("POST", re.compile(r"/v1/checkout/sessions/([^/]+)/expire"), self._expire),
            ("POST", re.compile(r"/v1/refunds"), self._create_refund),
            ("GET", re.compile(r"/v1/refunds"), self._list_refunds),
            ("POST", re.compile(r"/v1/payment_intents"), self._create_intent),
            ("POST", re.compile(r"/v1/payment_methods/([^/]+)/detach"), self._detach),
            ("POST", re.compile(r"/v1/subscriptions/([^/]+)"), self._subscription),
            ("DELETE", re.compile(r"/v1/subscriptions/([^/]+)"), self._subscription),
            ("GET", re.compile(r"/v1/invoice_payments"), self._list_invoice_payments),
            ("GET", re.compile(r"/v1/events"), self._list_events),
            ("GET", re.compile(r"/v1/[a-z_/]+/([^/]+)"), self._retrieve),
        ]

    def answer(self, request: RawRequest) -> Answer:
        """Route one request (called by the server thread); Stripe's ``Request-Id`` too."""
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query,
            form=dict(parse_qsl(request.data.decode(), keep_blank_values=True)),
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
        """Keep an event made elsewhere (for ``GET /v1/events``) and the object it carries."""
        with self._lock:
            self.events.append(event)
            self.add(dict(event["data"]["object"]))

    def fail_next(self, status: int, error: dict[str, Any], *, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` and ``{"error": error}``."""
        self._failures.extend([(status, {"error": error})] * times)

    # -- webhook deliveries (attach, pending_deliveries, deliver, redeliver) ----------------

    def _event_body(self, event_id: str) -> bytes:
        """An emitted event's body.

        Raises:
            KeyError: no such event.
        """
        found = [e for e in self.events if e["id"] == event_id]
        if not found:
            raise KeyError(event_id)
        return json.dumps(found[0]).encode()

    # -- the books -------------------------------------------------------------------------

    def now(self) -> int:
        """Stripe's now, in unix seconds."""
        return int(self.clock.now().timestamp())

    def moment(self, seconds: int) -> datetime:
        """Unix seconds as an aware instant."""
        return datetime.fromtimestamp(seconds, UTC)

    def emit(self, event_type: str, obj: Obj) -> None:
        """Report ``obj`` as it is now in an event: kept for ``GET /v1/events`` and queued."""
        event = event_object(event_id=self.new_id("evt"), event_type=event_type,
                             obj=copy.deepcopy(obj), created=self.now())  # fmt: skip
        self.events.append(event)
        self._queue.push(json.dumps(event).encode())

    def flush(self) -> None:
        """Hand the new deliveries to the attached endpoint (outside the lock: it may call
        the API back)."""
        self._queue.flush()

    @staticmethod
    def money(obj: Obj, key: str = "amount") -> Money:
        """``obj[key]`` minor units in ``obj["currency"]``."""
        return Money(int(obj[key]), str(obj["currency"]).upper())

    # -- the HTTP side ---------------------------------------------------------------------

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
                    return error_reply(400, "idempotency_error", "Keys for idempotent requests "
                                       "can only be used with the same parameters")  # fmt: skip
                return reply
            reply = self._route(request)
            if request.method == "POST" and key is not None and reply[0] < 500:
                self._replies[key] = (fingerprint, copy.deepcopy(reply))
            return reply

    def _route(self, request: RecordedRequest) -> Reply:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if method == request.method and match and not match.groups():
                return handler(request)
            if method == request.method and match:
                found = self.objects.get(match[1])
                return _missing(match[1]) if found is None else handler(request, found)
        return error_reply(404, "invalid_request_error", "Unrecognized request URL")

    def _retrieve(self, request: RecordedRequest, found: dict[str, Any]) -> Reply:
        obj = dict(found)
        for path in request.params.get("expand", []):
            if isinstance(obj.get(path), str) and obj[path] in self.objects:
                obj[path] = self.objects[obj[path]]
        return 200, obj

    def _create_customer(self, request: RecordedRequest) -> Reply:
        params = request.params
        customer = {"id": self.new_id("cus"), "object": "customer", "created": self.now(),
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
        params, now = request.params, self.now()
        session_id, lines = self.new_id("cs"), params.get("line_items", [])
        total = sum(int(i["price_data"]["unit_amount"]) * int(i["quantity"]) for i in lines)
        methods = params.get("allowed_payment_method_types", ["card"])
        intent = None
        if params.get("mode") == "payment":
            intent = self.add({"id": self.new_id("pi"), "object": "payment_intent",
                               "amount": total, "currency": params.get("currency", "usd"),
                               "status": "requires_payment_method", "created": now,
                               "customer": params.get("customer"), "payment_method_types": methods,
                               "metadata": params.get("payment_intent_data", {}).get(
                                   "metadata", {}), "last_payment_error": None})["id"]  # fmt: skip
        session = {"id": session_id, "object": "checkout.session", "created": now,
                   "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                   "expires_at": now + 86400, "status": "open", "payment_status": "unpaid",
                   "mode": params.get("mode"), "amount_total": total,
                   "currency": params.get("currency"), "customer": params.get("customer"),
                   "payment_method_types": methods,
                   "metadata": params.get("metadata", {}), "payment_intent": intent,
                   "subscription": None, "invoice": None, "setup_intent": None,
                   "success_url": params.get("success_url"), "livemode": False,
                   "cancel_url": params.get("cancel_url")}  # fmt: skip
        self._session_params[session_id] = params
        return 200, self.add(session)

    def _expire(self, _request: RecordedRequest, session: dict[str, Any]) -> Reply:
        if session["status"] != "open":
            return error_reply(400, "invalid_request_error", "Only Checkout Sessions with a "
                               'status in ["open"] can be expired.')  # fmt: skip
        session["status"] = "expired"
        self.emit("checkout.session.expired", session)
        return 200, session

    def _detach(self, _request: RecordedRequest, method: dict[str, Any]) -> Reply:
        """``POST /v1/payment_methods/{id}/detach`` (the payer removing a card in Stripe's
        customer portal does the same): the method no longer has a customer, can never be
        attached or charged again, and ``payment_method.detached`` reports it."""
        if method.get("object") != "payment_method":
            return _missing(method["id"])
        if method.get("customer") is None:
            return error_reply(400, "invalid_request_error", "The payment method you "
                               "provided is not attached to a customer so detachment is "
                               "impossible.")  # fmt: skip
        method["customer"] = None
        self.emit("payment_method.detached", method)
        return 200, method

    def decline_payment_method(self, method_id: str) -> None:
        """The bank declines every later charge of this saved payment method."""
        self._declining.add(method_id)

    def _create_intent(self, request: RecordedRequest) -> Reply:
        """``POST /v1/payment_intents`` with ``confirm`` and ``off_session``: charge a
        saved payment method of the customer now (what autopay does)."""
        params = request.params
        method = self.objects.get(params.get("payment_method", ""))
        if method is None or method.get("object") != "payment_method":
            return _missing(params.get("payment_method", ""))
        if method.get("customer") != params.get("customer"):
            return error_reply(400, "invalid_request_error", "The provided PaymentMethod "
                               "does not belong to the customer.")  # fmt: skip
        if params.get("confirm") not in ("true", True) or params.get("off_session") not in (
            "true",
            True,
        ):
            return error_reply(400, "invalid_request_error", "this fake charges saved methods "
                               "off-session only (confirm and off_session)")  # fmt: skip
        declined = method["id"] in self._declining
        bank = method["type"] == "us_bank_account"
        status = "requires_payment_method" if declined else "processing" if bank else "succeeded"
        error = ({"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                  "payment_method": dict(method)} if declined else None)  # fmt: skip
        intent = self.add({"id": self.new_id("pi"), "object": "payment_intent",
                           "amount": int(params["amount"]), "currency": params["currency"],
                           "status": status, "created": self.now(),
                           "customer": params["customer"], "payment_method": method["id"],
                           "payment_method_types": [method["type"]],
                           "metadata": params.get("metadata", {}), "last_payment_error": error,
                           "latest_charge": None, "livemode": False})  # fmt: skip
        kind = "payment_failed" if declined else status
        self.emit(f"payment_intent.{kind}", intent)
        if declined:
            reply = error_reply(402, "card_error", "Your card was declined.", "card_declined")
            reply[1]["error"]["payment_intent"] = dict(intent)
            return reply
        return 200, intent

    #: What Stripe keeps of a card charge: 2.9 % + 30 cents (its US list price).
    fee_basis_points, fee_fixed = 290, 30

    def settle(self, charge: dict[str, Any]) -> dict[str, Any]:
        """The charge's money reaches the balance: its BalanceTransaction, with the fee."""
        fee = charge["amount"] * self.fee_basis_points // 10_000 + self.fee_fixed
        transaction = self.add(
            balance_transaction_object(transaction_id=self.new_id("txn"), charge=charge,
                                       fee=min(fee, charge["amount"]), created=self.now())
        )  # fmt: skip
        charge["balance_transaction"] = transaction["id"]
        return transaction

    def _list_refunds(self, request: RecordedRequest) -> Reply:
        params = request.params
        found = [
            o for o in self.objects.values()
            if o.get("object") == "refund"
            and o.get("charge") == params.get("charge", o.get("charge"))
            and o.get("payment_intent") == params.get("payment_intent", o.get("payment_intent"))
        ]  # fmt: skip
        found.sort(key=lambda r: r["created"], reverse=True)  # newest first, as Stripe lists
        return 200, {"object": "list", "data": found, "has_more": False, "url": "/v1/refunds"}

    def _create_refund(self, request: RecordedRequest) -> Reply:
        params = request.params
        intent = self.objects.get(params.get("payment_intent", ""))
        if intent is None:
            return _missing(params.get("payment_intent", ""))
        charge = self.objects.get(intent.get("latest_charge") or "")
        amount = int(params.get("amount", intent["amount"]))
        if charge is not None:
            left = charge["amount"] - charge["amount_refunded"]
            amount = int(params.get("amount", left))
            if not 0 < amount <= left:
                return error_reply(400, "invalid_request_error", f"Refund amount ({amount}) is "
                                   f"greater than unrefunded amount ({left})",
                                   "charge_already_refunded")  # fmt: skip
        refund = self.add({"id": self.new_id("re"), "object": "refund", "amount": amount,
                           "currency": intent["currency"], "payment_intent": intent["id"],
                           "charge": charge and charge["id"], "created": self.now(),
                           "status": "succeeded", "metadata": {}})  # fmt: skip
        if charge is not None:
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            self.emit("charge.refunded", charge)
        return 200, refund

    def _subscription(self, request: RecordedRequest, subscription: dict[str, Any]) -> Reply:
        """POST updates (nested dicts merged); DELETE cancels (a canceled one is refused)."""
        if request.method == "DELETE" and subscription["status"] == "canceled":
            return error_reply(400, "invalid_request_error", "subscription is canceled")
        if request.method == "DELETE":
            details = {"comment": None, "feedback": None, "reason": "cancellation_requested"}
            subscription.update(status="canceled", canceled_at=self.now(), ended_at=self.now(),
                                cancellation_details=details)  # fmt: skip
            self.emit("customer.subscription.deleted", subscription)
            return 200, subscription
        for key, value in request.params.items():
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
        expand = params.get("expand", [])
        for payment in found:
            if "data.invoice" in expand:
                payment["invoice"] = self.objects.get(payment["invoice"], payment["invoice"])
            intent = payment["payment"].get("payment_intent")
            if "data.payment.payment_intent" in expand and intent in self.objects:
                payment["payment"] = {**payment["payment"], "payment_intent": self.objects[intent]}
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
