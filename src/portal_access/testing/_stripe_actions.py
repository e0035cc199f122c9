"""What the payer and Stripe do on the local Stripe API: pay a hosted page, clear or
return a bank debit, renew a subscription, give up on one, dispute a charge.

Each action changes Stripe's objects as Stripe does and emits, in Stripe's order, the
events Stripe would send for it (objects shaped for the pinned API version), then hands
them to an attached endpoint. Stripe's clock has one-second steps: advance the clock
between actions whose order the host must see (a retry after a failure, a dispute and
its end), as it moves between them in life.
"""

from __future__ import annotations

from typing import Any

import stripe

from portal_access._domain.billing import BillingInterval, IntervalUnit
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.ports import Clock
from portal_access.testing._stripe_api import StripeServer
from portal_access.testing._stripe_objects import (
    METHOD_TYPES,
    Obj,
    charge_object,
    dispute_balance_transaction,
    dispute_object,
    invoice_line,
    invoice_object,
    invoice_payment_object,
    payment_intent_object,
    subscription_object,
)

__all__ = ["FakeStripeApi"]

_KIND = {text: kind for kind, text in METHOD_TYPES.items()}
_INTENT = {
    "processing": "processing",
    "succeeded": "succeeded",
    "failed": "requires_payment_method",
}
_INTENT_EVENT = {
    "processing": "payment_intent.processing",
    "succeeded": "payment_intent.succeeded",
    "failed": "payment_intent.payment_failed",
}
_CHARGE = {"processing": "pending", "succeeded": "succeeded", "failed": "failed"}
_IN_ARREARS = ("incomplete", "past_due", "unpaid")


def _refused(message: str, code: str) -> stripe.InvalidRequestError:
    error: stripe.InvalidRequestError = stripe.InvalidRequestError(  # type: ignore[no-untyped-call]
        message, param=None, code=code
    )
    return error


class FakeStripeApi(StripeServer):
    """A local Stripe API the real SDK talks to, and what the payer and Stripe do.

    Args:
        clock: Stripe's time (``created``, periods, signatures); default the system's.
        webhook_secret: the endpoint's signing secret (the gateway's ``webhook_secret``).

    The actions (each raises ``stripe.InvalidRequestError`` where Stripe would refuse):
    :meth:`pay` (a Checkout Session in any mode, or an invoice's hosted page),
    :meth:`settle_ach`, :meth:`renew`, :meth:`exhaust_retries`, :meth:`dispute`,
    :meth:`close_dispute`; refunds (``POST /v1/refunds``) and cancellations (``DELETE
    /v1/subscriptions/{id}``) through the API. Deliveries: :meth:`attach`,
    :meth:`pending_deliveries`, :meth:`deliver`, :meth:`redeliver`.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        webhook_secret: str = "whsec_test",  # noqa: S107 - a test endpoint's
    ) -> None:
        super().__init__(clock=clock, webhook_secret=webhook_secret)
        self._intent_session: dict[str, str] = {}  # payment intent -> the session it pays
        self._intent_invoice: dict[str, str] = {}  # payment intent -> the invoice it pays
        self._method: dict[str, str] = {}  # subscription -> the method type that bills it
        self._disputes: dict[str, str] = {}  # payment intent -> its dispute

    # -- the payer -------------------------------------------------------------------------

    def pay(
        self,
        page_id: str,
        *,
        method: PaymentMethodKind = PaymentMethodKind.CARD,
        succeed: bool = True,
    ) -> str:
        """The payer completes a hosted page: a Checkout Session (``cs_...``) or the
        hosted page of an open invoice (``in_...``: a re-subscribe pays the debt).
        Returns the payment intent's id (a setup session: the setup intent's).

        A card succeeds or is declined at once; a bank account (``us_bank_account``)
        starts processing (see :meth:`settle_ach`). A ``payment`` session charges its
        intent; a ``subscription`` session starts the subscription with its first
        invoice, carrying the one-time lines and the plan's first period (seed
        000_07c53b15302458c1.txt), ``incomplete`` until that invoice is paid. A declined
        page stays open for another try.

        Raises:
            stripe.InvalidRequestError: no such page, it is not open, or it does not
                offer ``method``.
        """
        method_type = METHOD_TYPES[method]
        status = "failed" if not succeed else "processing" if method_type != "card" else "succeeded"
        with self._lock:
            page = self.objects.get(page_id)
            if page is None or page.get("status") != "open":
                raise _refused(f"{page_id} is not an open page", "page_not_open")
            offered = page.get("payment_method_types") or (
                (page.get("payment_settings") or {}).get("payment_method_types") or [method_type]
            )
            if method_type not in offered:
                raise _refused(f"{method_type} is not offered on {page_id}", "method")
            if page["object"] == "invoice":
                paid = self._charge_invoice(page, method_type, status)
                subscription = self._subscription_of(page)
                if status != "failed" and subscription is not None:
                    self._method[subscription["id"]] = method_type
            elif page["mode"] == "setup":
                paid = self._set_up(page, method_type)
            elif page["mode"] == "payment":
                paid = self._pay_payment(page, method_type, status)
            else:
                paid = self._pay_subscription(page, method_type, status)
        self.flush()
        return paid

    def settle_ach(self, payment_id: str, *, cleared: bool) -> None:
        """The bank clears or returns a processing debit: the intent succeeds or fails,
        and with it the invoice it pays (and its subscription) and the session it
        completed (``checkout.session.async_payment_*``).

        Raises:
            stripe.InvalidRequestError: no such payment intent, or it is not processing.
        """
        with self._lock:
            intent = self.objects.get(payment_id)
            if intent is None or intent.get("status") != "processing":
                raise _refused(f"{payment_id} is not processing", "payment_intent_unexpected_state")
            status = "succeeded" if cleared else "failed"
            self._charge(intent, intent["payment_method_types"][0], status)
            invoice = self.objects.get(self._intent_invoice.get(payment_id, ""))
            if invoice is not None:
                self._invoice_attempted(invoice, intent, status)
            session = self.objects.get(self._intent_session.get(payment_id, ""))
            if session is not None:
                session["payment_status"] = "paid" if cleared else "unpaid"
                outcome = "succeeded" if cleared else "failed"
                self.emit(f"checkout.session.async_payment_{outcome}", session)
        self.flush()

    # -- Stripe ----------------------------------------------------------------------------

    def renew(self, subscription_id: str, *, succeed: bool) -> str:
        """Stripe bills the next period: an ``active`` subscription gets a renewal invoice
        for the plan alone (seed 000: "each subsequent Invoice will only contain the
        Subscription charge"), charged with the method that pays it (at once, even a
        bank debit). Paid: ``invoice.paid``. Failed: ``invoice.payment_failed`` and the
        subscription goes ``past_due``. A ``past_due`` subscription instead retries its
        open invoice. Returns the payment intent's id.

        Raises:
            stripe.InvalidRequestError: no such subscription, or not active or past due.
        """
        with self._lock:
            subscription = self._subscription_in(subscription_id, "active", "past_due")
            if subscription["status"] == "active":
                invoice = self._renewal_invoice(subscription)
            else:
                invoice = self.objects[subscription["latest_invoice"]]
            method_type = self._method.get(subscription_id, "card")
            paid = self._charge_invoice(invoice, method_type, "succeeded" if succeed else "failed")
            if not succeed and subscription["status"] == "active":
                subscription["status"] = "past_due"
                self.emit("customer.subscription.updated", subscription)
        self.flush()
        return paid

    def exhaust_retries(self, subscription_id: str, *, unpaid: bool = False) -> None:
        """Stripe's retries of a past-due subscription ran out: it is canceled for failed
        payment (``customer.subscription.deleted``) or, as the account's settings may
        say, kept ``unpaid``.

        Raises:
            stripe.InvalidRequestError: no such subscription, or it is not past due.
        """
        with self._lock:
            subscription = self._subscription_in(subscription_id, "past_due")
            if unpaid:
                subscription["status"] = "unpaid"
                self.emit("customer.subscription.updated", subscription)
            else:
                now = self.now()
                details = {"comment": None, "feedback": None, "reason": "payment_failed"}
                subscription.update(
                    status="canceled", canceled_at=now, ended_at=now, cancellation_details=details
                )
                self.emit("customer.subscription.deleted", subscription)
        self.flush()

    def dispute(self, payment_id: str) -> str:
        """The payer's bank disputes a succeeded payment (``pi_...``, or ``in_...`` for the
        intent that paid an invoice): ``charge.dispute.created``, then the disputed funds
        leave the balance with :attr:`dispute_fee` (``charge.dispute.funds_withdrawn``,
        the dispute carrying the balance transaction). Returns the dispute id.

        Raises:
            stripe.InvalidRequestError: no such payment, or its charge has not succeeded
                or is disputed already.
        """
        with self._lock:
            intent = self._paying_intent(payment_id)
            charge = self.objects.get(intent.get("latest_charge") or "")
            if charge is None or charge["status"] != "succeeded" or charge["disputed"]:
                raise _refused(f"{payment_id} has no charge to dispute", "charge_not_disputable")
            charge["disputed"] = True
            dispute = self.add(
                dispute_object(
                    dispute_id=self.new_id("dp"),
                    charge=charge,
                    status="needs_response",
                    created=self.now(),
                )
            )
            self._disputes[intent["id"]] = dispute["id"]
            self.emit("charge.dispute.created", dispute)
            self._move_dispute_funds(dispute, reinstated=False)
        self.flush()
        return str(dispute["id"])

    def close_dispute(self, payment_id: str, *, won: bool) -> None:
        """The dispute ends, ``won`` or ``lost``: ``charge.dispute.closed`` (won: the funds
        and the dispute fee come back first, ``charge.dispute.funds_reinstated``).

        Raises:
            stripe.InvalidRequestError: no open dispute of that payment.
        """
        with self._lock:
            intent = self._paying_intent(payment_id)
            dispute = self.objects.get(self._disputes.get(intent["id"], ""))
            if dispute is None or dispute["status"] in ("won", "lost"):
                raise _refused(f"{payment_id} has no open dispute", "dispute_closed")
            dispute["status"] = "won" if won else "lost"
            if won:
                self._move_dispute_funds(dispute, reinstated=True)
            self.emit("charge.dispute.closed", dispute)
        self.flush()

    #: Stripe's dispute fee (its US list price, 15.00 in the charge's currency), given
    #: back with the funds when the dispute is won.
    dispute_fee = 1500

    def _move_dispute_funds(self, dispute: Obj, *, reinstated: bool) -> None:
        """The disputed funds leave the balance with the dispute fee, or come back with
        it: a balance transaction on the dispute, ``charge.dispute.funds_*``."""
        transaction = self.add(
            dispute_balance_transaction(
                transaction_id=self.new_id("txn"),
                dispute=dispute,
                fee=self.dispute_fee,
                created=self.now(),
                reinstated=reinstated,
            )
        )
        dispute["balance_transactions"].append(transaction)
        moved = "reinstated" if reinstated else "withdrawn"
        self.emit(f"charge.dispute.funds_{moved}", dispute)

    # -- what the actions share -------------------------------------------------------------

    def _subscription_in(self, subscription_id: str, *statuses: str) -> Obj:
        subscription = self.objects.get(subscription_id)
        if subscription is None or subscription.get("object") != "subscription":
            raise _refused(f"No such subscription: '{subscription_id}'", "resource_missing")
        if subscription["status"] not in statuses:
            raise _refused(f"subscription is {subscription['status']}", "subscription_state")
        return subscription

    def _subscription_of(self, invoice: Obj) -> Obj | None:
        details = invoice["parent"]["subscription_details"]
        return self.objects.get(details["subscription"])

    def _paying_intent(self, payment_id: str) -> Obj:
        intent_id = payment_id
        if payment_id.startswith("in_"):
            paid = [
                p
                for p in self.objects.values()
                if p.get("object") == "invoice_payment"
                and p["invoice"] == payment_id
                and p["status"] == "paid"
            ]
            intent_id = paid[0]["payment"]["payment_intent"] if paid else ""
        intent = self.objects.get(intent_id)
        if intent is None or intent.get("object") != "payment_intent":
            raise _refused(f"No such payment: '{payment_id}'", "resource_missing")
        return intent

    def _charge(self, intent: Obj, method_type: str, status: str) -> None:
        """The intent's charge moves to ``status`` (processing, succeeded, failed): its
        ``charge.*`` and ``payment_intent.*`` events."""
        now, amount = self.now(), self.money(intent)
        charge_id = intent.get("latest_charge") or self.new_id("ch")
        if status == "failed" or charge_id not in self.objects:
            charge_id = self.new_id("ch")  # each attempt is a charge of its own
        charge = self.add(
            charge_object(
                charge_id=charge_id,
                intent_id=intent["id"],
                amount=amount,
                status=_CHARGE[status],
                method_type=method_type,
                created=now,
                customer=intent.get("customer"),
            )
        )
        if charge["status"] == "succeeded":
            self.settle(charge)
        intent.update(
            payment_intent_object(
                intent_id=intent["id"],
                amount=amount,
                status=_INTENT[status],
                method=_KIND[method_type],
                metadata=intent.get("metadata") or {},
                created=intent.get("created", now),
                customer=intent.get("customer"),
                latest_charge=charge_id,
            )
        )
        self.emit(f"charge.{charge['status']}", charge)
        self.emit(_INTENT_EVENT[status], intent)

    def _pay_payment(self, session: Obj, method_type: str, status: str) -> str:
        intent = self.objects[session["payment_intent"]]
        self._charge(intent, method_type, status)
        self._intent_session[intent["id"]] = session["id"]
        if status != "failed":
            self._complete(session, paid=status == "succeeded")
        return str(intent["id"])

    def _pay_subscription(self, session: Obj, method_type: str, status: str) -> str:
        params, now = self._session_params[session["id"]], self.now()
        metadata = params.get("subscription_data", {}).get("metadata", {})
        if status == "failed":  # Checkout shows the decline; nothing is started
            intent = self.add(
                {
                    "id": self.new_id("pi"),
                    "object": "payment_intent",
                    "amount": session["amount_total"],
                    "currency": session["currency"],
                    "created": now,
                    "customer": session["customer"],
                    "metadata": {},
                }
            )
            self._charge(intent, method_type, status)
            return str(intent["id"])
        (recurring,) = [i for i in params["line_items"] if "recurring" in i["price_data"]]
        price = self._price(recurring["price_data"])
        end = self._period_end(price, now)
        subscription = self.add(
            subscription_object(
                subscription_id=self.new_id("sub"),
                status=SubscriptionStatus.INCOMPLETE,
                created=now,
                metadata=metadata,
                period_start=now,
                period_end=end,
                customer=session["customer"],
                price=price,
            )
        )
        self._method[subscription["id"]] = method_type
        self.emit("customer.subscription.created", subscription)
        charges = [
            (Money(int(i["price_data"]["unit_amount"]), session["currency"].upper()),
             i["price_data"]["product_data"]["name"], i is recurring)
            for i in params["line_items"]
        ]  # fmt: skip
        invoice = self._bill(subscription, charges, reason="subscription_create", period=(now, end),
                             method_types=session["payment_method_types"])  # fmt: skip
        intent_id = self._charge_invoice(invoice, method_type, status)
        self._intent_session[intent_id] = session["id"]
        session.update(subscription=subscription["id"], invoice=invoice["id"])
        self._complete(session, paid=status == "succeeded")
        return intent_id

    def _set_up(self, session: Obj, method_type: str) -> str:
        params = self._session_params[session["id"]]
        method = self.add({"id": self.new_id("pm"), "object": "payment_method",
                           "type": method_type, "customer": session["customer"],
                           "created": self.now(), "livemode": False})  # fmt: skip
        setup = self.add(
            {
                "id": self.new_id("seti"),
                "object": "setup_intent",
                "status": "succeeded",
                "customer": session["customer"],
                "payment_method_types": [method_type],
                "usage": "off_session",
                "payment_method": method["id"],
                "metadata": params.get("setup_intent_data", {}).get("metadata", {}),
                "created": self.now(),
                "livemode": False,
            }
        )
        self.emit("setup_intent.succeeded", setup)
        session["setup_intent"] = setup["id"]
        session["payment_status"] = "no_payment_required"
        session["status"] = "complete"
        self.emit("checkout.session.completed", session)
        return str(setup["id"])

    def _complete(self, session: Obj, *, paid: bool) -> None:
        session["status"], session["payment_status"] = "complete", "paid" if paid else "unpaid"
        self.emit("checkout.session.completed", session)

    def _price(self, data: dict[str, Any]) -> Obj:
        recurring = data["recurring"]
        return {
            "id": self.new_id("price"),
            "object": "price",
            "active": True,
            "currency": data["currency"],
            "unit_amount": int(data["unit_amount"]),
            "product": self.new_id("prod"),
            "type": "recurring",
            "livemode": False,
            "metadata": {},
            "nickname": data["product_data"]["name"],
            "recurring": {
                "interval": recurring["interval"],
                "interval_count": int(recurring.get("interval_count", 1)),
                "usage_type": "licensed",
                "meter": None,
                "trial_period_days": None,
            },
        }

    def _period_end(self, price: Obj, start: int) -> int:
        recurring = price["recurring"]
        interval = BillingInterval(IntervalUnit(recurring["interval"]), recurring["interval_count"])
        return int(interval.advance(self.moment(start)).timestamp())

    def _renewal_invoice(self, subscription: Obj) -> Obj:
        """The next period's invoice: the plan alone."""
        item = subscription["items"]["data"][0]
        start = item["current_period_end"]
        end = self._period_end(item["price"], start)
        item.update(current_period_start=start, current_period_end=end)
        price = item["price"]
        plan = (self.money(price, "unit_amount"), str(price["nickname"]), True)
        return self._bill(subscription, [plan], reason="subscription_cycle", period=(start, end))

    def _bill(
        self,
        subscription: Obj,
        charges: list[tuple[Money, str, bool]],
        *,
        reason: str,
        period: tuple[int, int],
        method_types: list[str] | None = None,
    ) -> Obj:
        """A finalized invoice of ``subscription`` for ``charges`` (amount, description,
        whether it is the plan's period), now its latest: ``invoice.finalized``."""
        invoice_id, item = self.new_id("in"), subscription["items"]["data"][0]
        lines = [
            invoice_line(line_id=self.new_id("il"), invoice_id=invoice_id, amount=amount,
                         description=description, subscription_id=subscription["id"],
                         period=period, subscription_item=item["id"] if plan else None)
            for amount, description, plan in charges
        ]  # fmt: skip
        invoice = self.add(
            invoice_object(
                invoice_id=invoice_id,
                customer=subscription["customer"],
                subscription_id=subscription["id"],
                metadata=subscription["metadata"],
                billing_reason=reason,
                lines=lines,
                currency=lines[0]["currency"],
                created=self.now(),
                period=(self.now(), self.now()),
                method_types=method_types,
            )
        )
        subscription["latest_invoice"] = invoice_id
        self.emit("invoice.finalized", invoice)
        return invoice

    def _charge_invoice(self, invoice: Obj, method_type: str, status: str) -> str:
        """A payment intent (no metadata: it pays an invoice) for ``invoice``'s amount due,
        charged; the invoice and its subscription follow. Returns the intent's id."""
        intent = self.add(
            {
                "id": self.new_id("pi"),
                "object": "payment_intent",
                "amount": invoice["amount_due"],
                "currency": invoice["currency"],
                "created": self.now(),
                "customer": invoice["customer"],
                "metadata": {},
            }
        )
        self._intent_invoice[intent["id"]] = invoice["id"]
        self._charge(intent, method_type, status)
        self._invoice_attempted(invoice, intent, status)
        return str(intent["id"])

    def _invoice_attempted(self, invoice: Obj, intent: Obj, status: str) -> None:
        """An attempt at ``invoice`` by ``intent`` ended (or started) in ``status``."""
        now = self.now()
        if status != "succeeded":
            invoice.update(
                attempted=True, attempt_count=invoice["attempt_count"] + (status == "failed")
            )
        if status == "failed":
            invoice["next_payment_attempt"] = now + 3 * 86400
            self.emit("invoice.payment_failed", invoice)
            return
        payment_status = "paid" if status == "succeeded" else "open"
        links = [
            p
            for p in self.objects.values()
            if p.get("object") == "invoice_payment"
            and p["payment"]["payment_intent"] == intent["id"]
        ]
        link = (
            links[0]
            if links
            else self.add(
                invoice_payment_object(
                    payment_id=self.new_id("inpay"),
                    invoice=invoice,
                    intent_id=intent["id"],
                    status=payment_status,
                    created=now,
                )
            )
        )
        link.update(
            invoice_payment_object(
                payment_id=link["id"],
                invoice=invoice,
                intent_id=intent["id"],
                status=payment_status,
                created=link["created"],
            )
        )
        if status != "succeeded":
            return
        invoice.update(
            status="paid",
            attempted=True,
            attempt_count=invoice["attempt_count"] + 1,
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            next_payment_attempt=None,
        )
        self.emit("invoice.paid", invoice)
        subscription = self._subscription_of(invoice)
        if subscription is not None and subscription["status"] in _IN_ARREARS:
            subscription["status"] = "active"
            self.emit("customer.subscription.updated", subscription)
