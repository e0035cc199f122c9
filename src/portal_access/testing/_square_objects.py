"""Square's side of a test: its objects, shaped as Square's API reference shows them, the
events it sends, and what the payer and Square do (pay, settle, renew, end, dispute).

:class:`SquareLedger` keeps every object by kind and id, stamps them with a clock that
never goes backwards, and records events; :class:`~._square_api.FakeSquareApi` serves
it over HTTP. The ``*_for`` methods build one object each, so the API's answers, its
simulated payers and the webhook factory share one shape per kind.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter, deque
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from portal_access._domain.billing import BillingInterval
from portal_access.adapters import SystemClock
from portal_access.ports import Clock

__all__ = ["Obj", "SquareLedger", "money"]

Obj = dict[str, Any]

#: The fields of a customer an invoice shows its recipient with.
_RECIPIENT = ("given_name", "family_name", "email_address")
_NO_METHODS = {"square_gift_card": False, "buy_now_pay_later": False, "cash_app_pay": False}


def money(amount: int, currency: str) -> Obj:
    """A Square ``Money``."""
    return {"amount": amount, "currency": currency}


class SquareLedger:
    """Square's records for one seller location.

    Args:
        clock: the time objects and events are stamped with (default: the system clock).
        location_id: the seller's location.
        merchant_id: the seller.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        location_id: str = "LPORTALTEST01",
        merchant_id: str = "MPORTALTEST01",
    ) -> None:
        self.clock = clock or SystemClock()
        self.location_id, self.merchant_id = location_id, merchant_id
        kinds = (
            "customer",
            "order",
            "invoice",
            "payment_link",
            "subscription",
            "card",
            "payment",
            "refund",
            "dispute",
        )
        self.objects: dict[str, dict[str, Obj]] = {kind: {} for kind in kinds}
        self.events: list[Obj] = []
        #: card nonces not used yet -> whether their card declines
        self.nonces: dict[str, bool] = {}
        #: cards on file whose issuer declines
        self.declining: set[str] = set()
        self._undelivered: deque[Obj] = deque()
        self._lock, self._ids = threading.RLock(), Counter[str]()
        self._stamp = datetime(1970, 1, 1, tzinfo=UTC)

    # -- ids, times, events --------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """A new id shaped like Square's: ``prefix``, a counter, upper case."""
        self._ids[prefix] += 1
        return f"{prefix}{self._ids[prefix]:010d}TEST"

    def now(self) -> str:
        """Now in RFC 3339, strictly later than any time handed out before."""
        current = self.clock.now().astimezone(UTC)
        self._stamp = max(current, self._stamp + timedelta(milliseconds=1))
        return self._stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def today(self) -> str:
        """Today's date (UTC), ``YYYY-MM-DD``."""
        return self.clock.now().astimezone(UTC).date().isoformat()

    def put(self, kind: str, obj: Obj) -> Obj:
        """Keep ``obj`` under its ``id`` among the objects of ``kind``."""
        with self._lock:
            self.objects[kind][obj["id"]] = obj
            return obj

    def touch(self, obj: Obj, **changes: Any) -> Obj:
        """Change ``obj``: new ``updated_at``, and ``version`` + 1 where it has one."""
        obj.update(changes)
        if "updated_at" in obj:
            obj["updated_at"] = self.now()
        if "version" in obj:
            obj["version"] += 1
        return obj

    def event(
        self,
        event_type: str,
        kind: str,
        obj: Obj,
        *,
        event_id: str | None = None,
        created_at: str | None = None,
    ) -> Obj:
        """The event Square sends about ``obj`` (a copy of it); not recorded."""
        with self._lock:
            if event_id is None:
                self._ids["event"] += 1
                event_id = f"00000000-0000-4000-8000-{self._ids['event']:012d}"
            event: Obj = {
                "merchant_id": self.merchant_id,
                "type": event_type,
                "event_id": event_id,
                "created_at": created_at or self.now(),
                "data": {"type": kind, "id": obj["id"], "object": {kind: copy.deepcopy(obj)}},
            }
            if kind == "dispute":  # dispute events name the location, and spell "object"
                event["location_id"] = self.location_id
                event["data"]["object"] = {"object": copy.deepcopy(obj)}
            return event

    def record(self, event: Obj, *, deliver: bool = True) -> Obj:
        """Keep ``event`` for ``/v2/events`` and, when ``deliver``, for the webhooks."""
        with self._lock:
            self.events.append(event)
            if deliver:
                self._undelivered.append(event)
            return event

    def emit(self, event_type: str, kind: str, obj: Obj) -> Obj:
        """Record (and queue for delivery) the event about ``obj``, now."""
        return self.record(self.event(event_type, kind, obj))

    def take_events(self) -> list[Obj]:
        """The events not handed over yet, oldest first; they are handed over now."""
        with self._lock:
            taken = list(self._undelivered)
            self._undelivered.clear()
            return taken

    # -- one object each -----------------------------------------------------------------

    def customer_from(self, asked: Obj) -> Obj:
        """A customer profile from a ``CreateCustomer`` body."""
        now = self.now()
        customer = {
            "id": self.new_id("CUST"),
            "created_at": now,
            "updated_at": now,
            "preferences": {"email_unsubscribed": False},
            "creation_source": "THIRD_PARTY",
            "version": 0,
        }
        kept = ("given_name", "family_name", "email_address", "reference_id", "note")
        customer.update({key: asked[key] for key in kept if key in asked})
        return self.put("customer", customer)

    def customer_for(self, contact_id: str) -> Obj:
        """The customer whose ``reference_id`` is ``contact_id``, made if there is none."""
        found = [
            c for c in self.objects["customer"].values() if c.get("reference_id") == contact_id
        ]
        return (
            found[0]
            if found
            else self.customer_from({"reference_id": contact_id, "given_name": "Ann"})
        )

    def order_from(self, asked: Obj, *, order_id: str | None = None) -> Obj:
        """An order from a ``CreateOrder`` body, with Square's computed totals."""
        lines, total, currency = [], 0, "USD"
        for index, line in enumerate(asked.get("line_items", [])):
            price = line["base_price_money"]
            currency = price["currency"]
            amount = int(price["amount"]) * int(line["quantity"])
            total += amount
            lines.append(
                {
                    **line,
                    "uid": f"line-{index}",
                    "item_type": "ITEM",
                    "variation_total_price_money": money(amount, currency),
                    "gross_sales_money": money(amount, currency),
                    "total_tax_money": money(0, currency),
                    "total_discount_money": money(0, currency),
                    "total_money": money(amount, currency),
                }
            )
        now, zero = self.now(), money(0, currency)
        order = {
            **asked,
            "id": order_id or self.new_id("ORDER"),
            "line_items": lines,
            "state": "OPEN",
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "total_money": money(total, currency),
            "total_tax_money": zero,
            "total_discount_money": zero,
            "total_tip_money": zero,
            "total_service_charge_money": zero,
            "net_amount_due_money": money(total, currency),
        }
        return self.put("order", order)

    def order_for(
        self, metadata: dict[str, str], amount: Any, *, order_id: str | None = None
    ) -> Obj:
        """An order of one line of ``amount`` (a ``Money``) carrying ``metadata``."""
        price = money(amount.amount, amount.currency)
        line = {"name": "Portal access", "quantity": "1", "base_price_money": price}
        asked = {"location_id": self.location_id, "line_items": [line], "metadata": metadata}
        return self.order_from(asked, order_id=order_id)

    def invoice_from(self, asked: Obj, order: Obj, customer: Obj) -> Obj:
        """A draft invoice from a ``CreateInvoice`` body, for ``order``."""
        total = order["total_money"]
        requests = [
            {
                **request,
                "uid": f"request-{index}",
                "tipping_enabled": False,
                "automatic_payment_source": request.get("automatic_payment_source", "NONE"),
                "computed_amount_money": dict(total),
                "total_completed_amount_money": money(0, total["currency"]),
            }
            for index, request in enumerate(asked["payment_requests"])
        ]
        recipient = {key: customer[key] for key in _RECIPIENT if key in customer}
        now = self.now()
        self._ids["invoice_number"] += 1
        invoice = {
            **asked,
            "id": f"inv:0-{self.new_id('ChC')}",
            "version": 0,
            "primary_recipient": {**asked["primary_recipient"], **recipient},
            "payment_requests": requests,
            "status": "DRAFT",
            "timezone": "Etc/UTC",
            "invoice_number": f"{self._ids['invoice_number']:06d}",
            "next_payment_amount_money": dict(total),
            "created_at": now,
            "updated_at": now,
        }
        return self.put("invoice", invoice)

    def publish(self, invoice: Obj, status: str = "UNPAID") -> Obj:
        """Publish an invoice: it gets its hosted page."""
        url = f"https://sandbox.squareup.test/pay-invoice/{invoice['id']}"
        return self.touch(invoice, status=status, public_url=url)

    def renewal_invoice_for(self, subscription: Obj, *, due: date, at: str | None = None) -> Obj:
        """A subscription's invoice for a period, due ``due``, published unpaid, charging
        the card on file if the subscription has one."""
        price = subscription["price_override_money"]
        line = {"name": "Subscription", "quantity": "1", "base_price_money": dict(price)}
        order = self.order_from(
            {
                "location_id": self.location_id,
                "line_items": [line],
                "customer_id": subscription["customer_id"],
            }
        )
        card = subscription.get("card_id")
        request: Obj = {
            "request_type": "BALANCE",
            "due_date": due.isoformat(),
            "automatic_payment_source": "CARD_ON_FILE" if card else "NONE",
        }
        if card:
            request["card_id"] = card
        asked = {
            "location_id": self.location_id,
            "order_id": order["id"],
            "primary_recipient": {"customer_id": subscription["customer_id"]},
            "payment_requests": [request],
            "delivery_method": "EMAIL",
            "accepted_payment_methods": {"card": True, "bank_account": False, **_NO_METHODS},
            "subscription_id": subscription["id"],
        }
        customer = self.objects["customer"][subscription["customer_id"]]
        invoice = self.publish(self.invoice_from(asked, order, customer))
        if at is not None:
            invoice["updated_at"] = at
        return invoice

    def subscription_for(
        self,
        customer_id: str,
        variation_id: str,
        *,
        status: str,
        price: Obj | None = None,
        start_date: str | None = None,
        created_at: str | None = None,
        subscription_id: str | None = None,
        card_id: str | None = None,
    ) -> Obj:
        """A subscription of ``customer_id`` to ``variation_id``."""
        subscription = {
            "id": subscription_id or self.new_id("SUB"),
            "location_id": self.location_id,
            "plan_variation_id": variation_id,
            "customer_id": customer_id,
            "start_date": start_date or self.today(),
            "status": status,
            "invoice_ids": [],
            "version": 1,
            "created_at": created_at or self.now(),
            "timezone": "Etc/UTC",
            "source": {"name": "portal-access tests"},
            "price_override_money": price or money(4900, "USD"),
        }
        if card_id is not None:
            subscription["card_id"] = card_id
        if status == "CANCELED":
            subscription["canceled_date"] = subscription["start_date"]
        return self.put("subscription", subscription)

    def payment_for(
        self,
        order: Obj,
        amount: Any,
        *,
        source_type: str,
        status: str,
        payment_id: str | None = None,
        at: str | None = None,
        customer_id: str | None = None,
    ) -> Obj:
        """A payment of ``amount`` (a ``Money`` or Square's money) for ``order``."""
        if not isinstance(amount, dict):
            amount = money(amount.amount, amount.currency)
        stamp = at or self.now()
        payment = {
            "id": payment_id or self.new_id("PAY"),
            "created_at": stamp,
            "updated_at": stamp,
            "amount_money": dict(amount),
            "total_money": dict(amount),
            "approved_money": dict(amount),
            "status": status,
            "source_type": source_type,
            "location_id": self.location_id,
            "order_id": order["id"],
            "delay_action": "CANCEL",
            "receipt_number": "PAY1",
            "version_token": "v1",
        }
        if customer_id is not None:
            payment["customer_id"] = customer_id
        if status == "COMPLETED":
            self.add_processing_fee(payment)
        if source_type == "BANK_ACCOUNT":
            payment["bank_account_details"] = {
                "bank_name": "Citizens Bank",
                "transfer_type": "ACH",
                "account_ownership_type": "INDIVIDUAL",
                "fingerprint": "bank-fingerprint",
                "country": "US",
                "statement_description": "SQ *PORTAL",
                "ach_details": {
                    "routing_number": "011000138",
                    "account_number_suffix": "000",
                    "account_type": "CHECKING",
                },
            }
        elif source_type == "CARD":
            payment["card_details"] = {
                "status": "FAILED" if status == "FAILED" else "CAPTURED",
                "card": {
                    "card_brand": "VISA",
                    "last_4": "1111",
                    "exp_month": 12,
                    "exp_year": 2030,
                    "fingerprint": "card-fingerprint",
                    "card_type": "CREDIT",
                    "prepaid_type": "NOT_PREPAID",
                    "bin": "411111",
                },
                "entry_method": "KEYED",
                "cvv_status": "CVV_ACCEPTED",
                "avs_status": "AVS_ACCEPTED",
                "statement_description": "SQ *PORTAL",
            }
        return self.put("payment", payment)

    #: What Square keeps of a payment: 2.9 % + 30 cents (its US online list price).
    fee_basis_points, fee_fixed = 290, 30

    def add_processing_fee(self, payment: Obj) -> Obj:
        """Square takes its fee once the payment completed: ``processing_fee``."""
        total = payment["amount_money"]
        fee = min(total["amount"] * self.fee_basis_points // 10_000 + self.fee_fixed,
                  total["amount"])  # fmt: skip
        payment["processing_fee"] = [{"effective_at": payment["updated_at"], "type": "INITIAL",
                                      "amount_money": money(fee, total["currency"])}]  # fmt: skip
        return payment

    def refund_for(self, payment: Obj, amount: Any, *, at: str | None = None) -> Obj:
        """A completed refund of ``amount`` (a ``Money`` or Square's money) of ``payment``."""
        if not isinstance(amount, dict):
            amount = money(amount.amount, amount.currency)
        stamp = at or self.now()
        refund = {
            "id": self.new_id("REFUND"),
            "status": "COMPLETED",
            "location_id": self.location_id,
            "amount_money": dict(amount),
            "payment_id": payment["id"],
            "order_id": payment.get("order_id"),
            "created_at": stamp,
            "updated_at": stamp,
            "destination_type": payment["source_type"],
        }
        return self.put("refund", refund)

    def dispute_for(self, payment: Obj, *, state: str, at: str | None = None) -> Obj:
        """A dispute of ``payment`` in ``state``."""
        stamp, dispute_id = at or self.now(), self.new_id("DISPUTE")
        dispute = {
            "dispute_id": dispute_id,
            "id": dispute_id,
            "amount_money": dict(payment["amount_money"]),
            "reason": "NO_KNOWLEDGE",
            "state": state,
            "due_at": stamp,
            "evidence_ids": [],
            "card_brand": "VISA",
            "disputed_payment": {"payment_id": payment["id"]},
            "created_at": stamp,
            "updated_at": stamp,
            "brand_dispute_id": "BRAND1",
            "reported_at": stamp,
            "version": 1,
            "location_id": self.location_id,
        }
        return self.put("dispute", dispute)

    def add_card(self, customer_id: str, *, reference_id: str | None = None) -> str:
        """Keep a card on file for the customer (Square reports ``card.created``);
        returns its id."""
        card = {
            "id": f"ccof:{self.new_id('CARD')}",
            "card_brand": "VISA",
            "last_4": "1111",
            "exp_month": 12,
            "exp_year": 2030,
            "customer_id": customer_id,
            "merchant_id": self.merchant_id,
            "enabled": True,
            "card_type": "CREDIT",
            "prepaid_type": "NOT_PREPAID",
            "bin": "411111",
            "version": 1,
            "fingerprint": "card-fingerprint",
        }
        if reference_id is not None:
            card["reference_id"] = reference_id
        self.put("card", card)
        self.emit("card.created", "card", card)
        return str(card["id"])

    def card_nonce(self, *, decline: bool = False) -> str:
        """A one-time card nonce, as Square's Web Payments SDK gives the payer's browser
        (``decline``: the card it stands for declines every later charge)."""
        with self._lock:
            nonce = f"cnon:{self.new_id('NONCE')}"
            self.nonces[nonce] = decline
            return nonce

    def disable_card(self, card_id: str) -> Obj | None:
        """Disable a card on file (``DisableCard``: the seller, or the buyer through the
        seller's app): it can never be charged or enabled again; ``card.disabled``
        reports it. ``None``: no such card. Disabling a disabled card changes nothing."""
        with self._lock:
            card = self.objects["card"].get(card_id)
            if card is None or not card["enabled"]:
                return card
            self.touch(card, enabled=False)
            self.emit("card.disabled", "card", card)
            return card

    def forget_card(self, card_id: str) -> None:
        """Square forgets a card on file (a GDPR request): ``card.forgotten`` reports it
        with only what Square keeps of it (id, customer, reference, version).

        Raises:
            KeyError: no such card.
        """
        with self._lock:
            card = self.objects["card"].pop(card_id)
            kept = ("id", "customer_id", "reference_id", "merchant_id", "version")
            forgotten = {key: card[key] for key in kept if key in card}
            forgotten.update(enabled=False, version=card["version"] + 1)
            self.emit("card.forgotten", "card", forgotten)

    def decline_card(self, card_id: str) -> None:
        """The issuer declines every later charge of a card on file."""
        with self._lock:
            self.declining.add(card_id)

    # -- what the payer and Square do ----------------------------------------------------

    def _paid_by(self, invoice: Obj, *, source_type: str, status: str) -> Obj:
        order = self.objects["order"][invoice["order_id"]]
        customer_id = invoice["primary_recipient"]["customer_id"]
        payment = self.payment_for(
            order,
            invoice["next_payment_amount_money"],
            source_type=source_type,
            status=status,
            customer_id=customer_id,
        )
        self.emit("payment.created", "payment", payment)
        if status != "FAILED":
            tender = {
                "id": self.new_id("TENDER"),
                "type": source_type,
                "amount_money": dict(payment["amount_money"]),
                "payment_id": payment["id"],
                "location_id": self.location_id,
            }
            self.touch(order, tenders=[*order.get("tenders", []), tender])
        return payment

    def _settle(self, invoice: Obj, status: str) -> None:
        for request in invoice["payment_requests"]:
            owed = request["computed_amount_money"]
            done = owed["amount"] if status == "PAID" else 0
            request["total_completed_amount_money"] = money(done, owed["currency"])
        self.touch(invoice, status=status)
        paid = status == "PAID"
        self.emit("invoice.payment_made" if paid else "invoice.updated", "invoice", invoice)

    def pay_invoice(
        self,
        invoice_id: str,
        *,
        method: str = "card",
        succeed: bool = True,
        save_card: bool = False,
    ) -> str:
        """The payer pays an invoice's page by ``"card"`` (paid now, or declined) or by
        ``"bank"`` (ACH: pending until :meth:`settle_bank_payment`); ``save_card`` keeps
        the card on file where the page offers it. Returns the payment's id."""
        with self._lock:
            invoice = self.objects["invoice"][invoice_id]
            bank = method == "bank"
            status = "PENDING" if bank else "COMPLETED" if succeed else "FAILED"
            source = "BANK_ACCOUNT" if bank else "CARD"
            payment = self._paid_by(invoice, source_type=source, status=status)
            if status != "FAILED":
                if save_card and not bank and invoice.get("store_payment_method_enabled"):
                    self.add_card(invoice["primary_recipient"]["customer_id"])
                self._settle(invoice, "PAYMENT_PENDING" if bank else "PAID")
            return str(payment["id"])

    def settle_bank_payment(self, payment_id: str, *, cleared: bool) -> None:
        """Days later the bank clears (``COMPLETED``: the invoice is paid) or returns
        (``FAILED``: the invoice is unpaid again) an ACH payment."""
        with self._lock:
            payment = self.objects["payment"][payment_id]
            self.touch(payment, status="COMPLETED" if cleared else "FAILED")
            if cleared:
                self.add_processing_fee(payment)
            self.emit("payment.updated", "payment", payment)
            for invoice in list(self.objects["invoice"].values()):
                if invoice["order_id"] == payment["order_id"]:
                    self._settle(invoice, "PAID" if cleared else "UNPAID")

    def pay_link(self, link_id: str) -> str:
        """A guest pays a payment link by card. Returns the payment's id."""
        with self._lock:
            order = self.objects["order"][self.objects["payment_link"][link_id]["order_id"]]
            payment = self.payment_for(
                order, order["total_money"], source_type="CARD", status="COMPLETED"
            )
            self.touch(order, state="COMPLETED")
            self.emit("payment.created", "payment", payment)
            return str(payment["id"])

    def renew(self, subscription_id: str, *, succeed: bool = True) -> str:
        """Square bills a subscription's next period, today: an invoice that charges the
        card on file (paid; or declined: ``invoice.scheduled_charge_failed``, and the
        invoice is emailed), or with no card is emailed unpaid. Returns the invoice's id."""
        with self._lock:
            subscription = self.objects["subscription"][subscription_id]
            today = date.fromisoformat(self.today())
            invoice = self.renewal_invoice_for(subscription, due=today)
            card = subscription.get("card_id")
            if card:
                invoice["status"] = "SCHEDULED"
            start = datetime.combine(today, time(), tzinfo=UTC)
            through = BillingInterval().advance(start).date() - timedelta(days=1)
            subscription.update(
                invoice_ids=[invoice["id"], *subscription["invoice_ids"]],
                charged_through_date=through.isoformat(),
                status="ACTIVE",
                version=subscription["version"] + 1,
            )
            self.emit("subscription.updated", "subscription", subscription)
            if not card:
                self.emit("invoice.updated", "invoice", invoice)
            elif succeed:
                self._paid_by(invoice, source_type="CARD", status="COMPLETED")
                self._settle(invoice, "PAID")
            else:
                invoice["payment_requests"][0]["automatic_payment_source"] = "NONE"
                self.touch(invoice, status="UNPAID")
                self.emit("invoice.scheduled_charge_failed", "invoice", invoice)
            return str(invoice["id"])

    def end_subscription(self, subscription_id: str, *, status: str = "CANCELED") -> None:
        """Square ends a subscription (``CANCELED``) or stops billing it (``DEACTIVATED``)."""
        with self._lock:
            subscription = self.objects["subscription"][subscription_id]
            subscription.update(status=status, version=subscription["version"] + 1)
            if status == "CANCELED":
                subscription.setdefault("canceled_date", self.today())
            self.emit("subscription.updated", "subscription", subscription)

    def dispute(self, payment_id: str, *, state: str = "EVIDENCE_REQUIRED") -> str:
        """The payer's bank disputes a payment, or its dispute moves to ``state``.
        Returns the dispute's id."""
        with self._lock:
            for found in self.objects["dispute"].values():
                if found["disputed_payment"]["payment_id"] == payment_id:
                    self.emit("dispute.state.updated", "dispute", self.touch(found, state=state))
                    return str(found["id"])
            dispute = self.dispute_for(self.objects["payment"][payment_id], state=state)
            self.emit("dispute.created", "dispute", dispute)
            return str(dispute["id"])
