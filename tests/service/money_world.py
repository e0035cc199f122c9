"""One paid-access story, told on the sandbox or on Stripe, on the memory store or SQLite.

A :class:`World` is a portal with seed 000's offer (a 250.00 setup fee plus 49.00 a
month), one registered client, and the payer's and the vendor's actions: pay a page by
card or bank, the bank clearing, a renewal failing, refunds. On the sandbox the vendor is
the sandbox gateway; on Stripe it is the real SDK against the local Stripe API, with
Stripe-shaped objects and Stripe-signed webhooks. Webhooks wait in the vendor's queue
until :meth:`World.deliver`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import attrs

from portal_access import (
    AccessLevel,
    AccessReason,
    AchPolicy,
    CheckoutSession,
    ContactPortalSettings,
    GatewayUnavailableError,
    Invoice,
    Money,
    PaymentMethodKind,
    PortalPolicy,
    QuickPayResult,
    SystemPortalOptions,
)
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access._portal import PortalAccess
from portal_access.adapters import ManualClock, MemoryMailer, ScryptPasswordHasher, SequentialIds
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.gateways.stripe import StripeGateway
from portal_access.ports import Store
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from portal_access.testing.sandbox import SandboxVendor
from portal_access.testing.stripe import (
    FakeStripeApi,
    StripeWebhooks,
    payment_intent_object,
    subscription_object,
)
from tests.service.harness import (
    CANCEL,
    CLASS,
    CLIENT,
    MONTHLY,
    PORTAL_URL,
    SECRET,
    SETUP_FEE,
    START,
    SUCCESS,
    Harness,
    register,
    sign_up,
)
from tests.sql_databases import sqlite_url
from tests.stripe_shapes import assert_stripe_shaped

__all__ = ["GATEWAYS", "PROPERTY_RUNS", "STORES", "World", "world"]

#: Examples and steps the one-payment property ran in this process; conftest prints them.
PROPERTY_RUNS = {"examples": 0, "steps": 0, "duplicates": 0, "refunded": 0}

GATEWAYS = ("sandbox", "stripe")
STORES = ("memory", "sqlite")
#: What the offer charges on the first invoice: the setup fee and the first month.
FIRST_INVOICE = (SETUP_FEE.amount + MONTHLY.amount).amount


@attrs.define
class World:
    """A portal, its registered client, and what the payer and the vendor can do."""

    gateway: str
    harness: Harness
    contact_id: str = ""

    @property
    def portal(self) -> PortalAccess:
        return self.harness.portal

    def level(self) -> tuple[AccessLevel, AccessReason]:
        decision = self.portal.check_access(self.contact_id)
        return decision.level, decision.reason

    def open_page(self) -> CheckoutSession:
        """The client asks to pay the required invoice."""
        return self.portal.start_checkout(self.contact_id, success_url=SUCCESS, cancel_url=CANCEL)

    def quick_pay(self, invoice: Invoice) -> QuickPayResult:
        """A guest pays ``invoice`` with its number and quick-pay code (seed 001)."""
        assert invoice.quick_pay_code is not None
        return self.portal.quick_pay(invoice.number, invoice.quick_pay_code, success_url=SUCCESS,
                                     cancel_url=CANCEL, client_key=CLIENT)  # fmt: skip

    def topics(self, topic: str) -> list[Any]:
        return self.harness.topics(topic)

    # -- the vendor's side, told by each gateway -------------------------------------------

    def pay(self, page: CheckoutSession, *, bank: bool = False) -> str:
        """The payer pays ``page`` by card (succeeds) or bank (processing); the payment id."""
        raise NotImplementedError

    def settle(self, payment_id: str, *, cleared: bool) -> None:
        """The bank clears or returns a processing payment."""
        raise NotImplementedError

    def fail_renewal(self) -> None:
        """The tied subscription's next renewal fails."""
        raise NotImplementedError

    def refunds(self) -> list[tuple[str, int | None]]:
        """Refunds asked of the vendor: (payment id, amount or ``None`` for all of it)."""
        raise NotImplementedError

    def report_refunds(self) -> None:
        """The vendor reports the refunds it made (queued like any webhook)."""

    def deliver(self) -> list[str]:
        """Hand every queued webhook to the portal, in the vendor's order."""
        raise NotImplementedError


@attrs.define
class SandboxWorld(World):
    """The story on the sandbox gateway."""

    asked: list[tuple[str, int | None]] = attrs.field(factory=list)
    lose_refund_answers: int = 0  # refunds done at the vendor whose answer never arrives

    @property
    def sandbox(self) -> SandboxVendor:
        return self.harness.sandbox

    def pay(self, page: CheckoutSession, *, bank: bool = False) -> str:
        method = PaymentMethodKind.BANK_ACCOUNT if bank else PaymentMethodKind.CARD
        return self.sandbox.pay(page.session_id, method=method)

    def settle(self, payment_id: str, *, cleared: bool) -> None:
        self.sandbox.settle_ach(payment_id, cleared=cleared)

    def fail_renewal(self) -> None:
        self.sandbox.renew(self.sandbox.subscription_ids(self.contact_id)[-1], succeed=False)

    def refunds(self) -> list[tuple[str, int | None]]:
        return list(self.asked)

    def deliver(self) -> list[str]:
        results = self.sandbox.deliver(self.harness.webhook)
        return [result.outcome for result in results]  # type: ignore[attr-defined]


@attrs.define
class StripeWorld(World):
    """The story on Stripe: the real SDK against the local Stripe API."""

    api: FakeStripeApi = attrs.field(kw_only=True)
    webhooks: StripeWebhooks = attrs.field(kw_only=True)
    queue: list[bytes] = attrs.field(factory=list)
    ids: Iterator[int] = attrs.field(factory=lambda: itertools.count(1))
    paid_by: dict[str, dict[str, Any]] = attrs.field(factory=dict)  # in_... -> its session
    reported: int = 0

    def _emit(self, event_type: str, obj: dict[str, Any]) -> None:
        _headers, body = self.webhooks.event(
            event_type, dict(obj), event_id=f"evt_money_{next(self.ids):03d}"
        )
        self.queue.append(body)

    def pay(self, page: CheckoutSession, *, bank: bool = False) -> str:
        """As Stripe Checkout in subscription mode: a subscription, its first invoice
        (the payment: ``in_...``), the intent that pays it, the completed session. A
        hosted invoice page (re-subscribing a past-due subscription) pays that invoice."""
        api = self.api
        if page.session_id.startswith("in_"):
            return self._pay_back(page.session_id)
        session = api.objects[page.session_id]
        meta = {**session["metadata"], "plan_id": MONTHLY.id}  # subscription_data's copy
        now = int(self.harness.clock.now().timestamp())
        sub_id, invoice_id = api.new_id("sub"), api.new_id("in")
        intent_id = api.new_id("pi")
        status = SubscriptionStatus.INCOMPLETE if bank else SubscriptionStatus.ACTIVE
        subscription = api.add(subscription_object(
            subscription_id=sub_id, status=status, created=now, metadata=meta,
            customer=session["customer"]))  # fmt: skip
        invoice = api.add({"id": invoice_id, "object": "invoice", "created": now,
                           "status": "open" if bank else "paid",
                           "billing_reason": "subscription_create", "total": session["amount_total"],
                           "currency": session["currency"], "customer": session["customer"],
                           "due_date": None, "payment_settings": {"payment_method_types": None},
                           "parent": {"type": "subscription_details", "quote_details": None,
                                      "subscription_details": {"subscription": sub_id,
                                                               "metadata": meta}}})  # fmt: skip
        method = PaymentMethodKind.BANK_ACCOUNT if bank else PaymentMethodKind.CARD
        amount = Money(session["amount_total"], session["currency"].upper())
        api.add(payment_intent_object(intent_id=intent_id, amount=amount,
                                      status="processing" if bank else "succeeded",
                                      method=method, metadata={}, created=now))  # fmt: skip
        api.add({"id": api.new_id("inpay"), "object": "invoice_payment", "invoice": invoice_id,
                 "status": "open" if bank else "paid",
                 "payment": {"type": "payment_intent", "payment_intent": intent_id}})  # fmt: skip
        if not bank:
            self._settle_charge(intent_id)
        session.update(status="complete", payment_status="unpaid" if bank else "paid",
                       subscription=sub_id, invoice=invoice_id)  # fmt: skip
        self.paid_by[invoice_id] = session
        self._emit("customer.subscription.created", subscription)
        if not bank:
            self._emit("invoice.paid", invoice)
        self._emit("checkout.session.completed", session)
        return invoice_id

    def _settle_charge(self, intent_id: str) -> None:
        """The intent's charge succeeded: it exists, with its balance transaction (the
        gateway asks for it, for the fee of the invoice the intent paid)."""
        intent = self.api.objects[intent_id]
        charge = {"id": intent["latest_charge"], "object": "charge", "amount": intent["amount"],
                  "currency": intent["currency"], "paid": True, "status": "succeeded",
                  "payment_intent": intent_id, "metadata": {}, "refunded": False,
                  "amount_refunded": 0, "payment_method_details": {"type": "card"}}  # fmt: skip
        self.api.settle(self.api.add(charge))

    def _pay_back(self, invoice_id: str) -> str:
        invoice = self.api.objects[invoice_id]
        details = invoice["parent"]["subscription_details"]
        subscription = self.api.objects[details["subscription"]]
        invoice["status"], subscription["status"] = "paid", "active"
        self._emit("invoice.paid", invoice)
        self._emit("customer.subscription.updated", subscription)
        return invoice_id

    def settle(self, payment_id: str, *, cleared: bool) -> None:
        session = self.paid_by[payment_id]
        invoice = self.api.objects[payment_id]
        subscription = self.api.objects[session["subscription"]]
        if not cleared:
            self._emit("invoice.payment_failed", {**invoice, "attempted": True})
            self._emit("checkout.session.async_payment_failed", session)
            return
        invoice["status"], session["payment_status"], subscription["status"] = (
            "paid",
            "paid",
            "active",
        )
        for payment in list(self.api.objects.values()):
            if payment.get("object") == "invoice_payment" and payment["invoice"] == payment_id:
                payment["status"] = "paid"
                self._settle_charge(payment["payment"]["payment_intent"])
        self._emit("invoice.paid", invoice)
        self._emit("checkout.session.async_payment_succeeded", session)
        self._emit("customer.subscription.updated", subscription)

    def fail_renewal(self) -> None:
        """The next period's invoice fails: it stays open (with its hosted page) and the
        subscription goes past due, its period starting now (``renewal_failed_at``)."""
        live = [
            o
            for o in self.api.objects.values()
            if o.get("object") == "subscription"
            and o["status"] == "active"
            and o["metadata"].get("contact_id") == self.contact_id
        ]
        subscription = max(live, key=lambda o: (o["created"], o["id"]))
        start = int(self.harness.clock.now().timestamp())
        invoice_id = self.api.new_id("in")
        details = {"subscription": subscription["id"], "metadata": subscription["metadata"]}
        invoice = self.api.add({"id": invoice_id, "object": "invoice", "created": start,
                                "status": "open", "billing_reason": "subscription_cycle",
                                "total": MONTHLY.amount.amount, "currency": "usd",
                                "customer": subscription["customer"], "due_date": None,
                                "hosted_invoice_url": f"https://invoice.stripe.com/i/{invoice_id}",
                                "payment_settings": {"payment_method_types": None},
                                "parent": {"type": "subscription_details", "quote_details": None,
                                           "subscription_details": details}})  # fmt: skip
        subscription.update(status="past_due", latest_invoice=invoice_id)
        subscription["items"]["data"][0].update(
            current_period_start=start, current_period_end=start + 30 * 86400
        )
        self._emit("invoice.payment_failed", {**invoice, "attempted": True})
        self._emit("customer.subscription.updated", subscription)

    def refunds(self) -> list[tuple[str, int | None]]:
        asked = []
        for request in self.api.requests:
            if request.method == "POST" and request.path == "/v1/refunds":
                amount = request.params.get("amount")
                asked.append((request.params["payment_intent"], int(amount) if amount else None))
        return asked

    def report_refunds(self) -> None:
        """``charge.refunded`` for each refund made since the last report (the charge has
        no metadata: the gateway traces it through the intent to its invoice)."""
        made = [o for o in self.api.objects.values() if o.get("object") == "refund"]
        for refund in made[self.reported :]:
            intent = self.api.objects[refund["payment_intent"]]
            charge = {"id": f"ch_{intent['id']}", "object": "charge", "amount": intent["amount"],
                      "currency": intent["currency"], "refunded": True, "paid": True,
                      "amount_refunded": refund["amount"], "payment_intent": intent["id"],
                      "metadata": {}, "payment_method_details": {"type": "card"},
                      "status": "succeeded"}  # fmt: skip
            self._emit("charge.refunded", charge)
        self.reported = len(made)

    def deliver(self) -> list[str]:
        queued, self.queue = self.queue, []
        return [
            self.portal.handle_webhook("stripe", self.webhooks.sign(body), body).outcome
            for body in queued
        ]


def _store(kind: str, stack: ExitStack, folder: Path) -> Store:
    """``"memory"``, ``"sqlite"`` (a new file in ``folder``) or a database URL."""
    if kind == "memory":
        return MemoryStore()
    url = sqlite_url(folder) if kind == "sqlite" else kind
    return stack.enter_context(SqlStore(url, create=True))


@contextmanager
def world(
    gateway: str,
    store: str,
    folder: Path,
    *,
    ach: AchPolicy = AchPolicy.GRANT_ON_CLEARING,
    refund_duplicates: bool = False,
    allowed_gateways: frozenset[str] | None = None,
    pay_as_guest: bool = False,
) -> Iterator[World]:
    """A portal on ``gateway`` and ``store`` (``"memory"``, ``"sqlite"`` or a database
    URL) with seed 000's offer and one registered client (allowed ``allowed_gateways``;
    ``None``: every gateway)."""
    with ExitStack() as stack:
        clock = ManualClock(START)
        policy = PortalPolicy(
            ach=ach,
            refund_duplicates=refund_duplicates,
            system=SystemPortalOptions(portal_url=PORTAL_URL, pay_as_guest=pay_as_guest),
        )
        adapter: Any
        vendor = None
        if gateway == "sandbox":
            vendor = SandboxVendor(webhook_secret=SECRET, clock=clock, ids=SequentialIds("vendor"))
            adapter = SandboxGateway(vendor=vendor, webhook_secret=SECRET, clock=clock)
        else:
            api = stack.enter_context(FakeStripeApi(clock=clock))
            stack.callback(assert_stripe_shaped, api)
            adapter = StripeGateway(api_key="sk_test_money", webhook_secret=SECRET, clock=clock,
                                    api_base=api.url, max_network_retries=0)  # fmt: skip
        mailer = MemoryMailer()
        portal = PortalAccess(
            store=_store(store, stack, folder),
            gateways=[adapter],
            mailer=mailer,
            clock=clock,
            ids=SequentialIds(),
            hasher=ScryptPasswordHasher(n=16),
            policy=policy,
            background=lambda job: job(),  # a test reads the emails next
        )
        harness = Harness(clock, portal._context.store, adapter, mailer, portal, vendor)  # type: ignore[arg-type]
        portal.subscribe(harness.events.append)
        portal.save_account_class(CLASS)
        portal.create_offer("Client onboarding", gateway=gateway, currency="USD",
                            one_time=SETUP_FEE, plan=MONTHLY, onboarding_flow="welcome-flow",
                            account_class_id=CLASS.id, offer_id="offer-1")  # fmt: skip
        contact_id = sign_up(harness).contact_id
        if allowed_gateways is not None:  # staff switch the contact's gateways (seed 004)
            with unit_of_work(harness.store) as uow:
                found = uow.contacts.get(contact_id)
            assert found is not None
            settings = ContactPortalSettings(allowed_gateways=allowed_gateways)
            portal.update_contact(attrs.evolve(found, portal=settings))
        found_world: World
        if gateway == "sandbox":
            sandbox_world = SandboxWorld(gateway, harness)
            real_refund = adapter.refund

            def spy(payment_id: str, *, amount: Any, idempotency_key: str) -> None:
                sandbox_world.asked.append((payment_id, None if amount is None else amount.amount))
                real_refund(payment_id, amount=amount, idempotency_key=idempotency_key)
                if sandbox_world.lose_refund_answers:
                    sandbox_world.lose_refund_answers -= 1
                    raise GatewayUnavailableError("answer lost", gateway="sandbox")

            adapter.refund = spy
            found_world = sandbox_world
        else:
            found_world = StripeWorld(
                gateway,
                harness,
                api=api,
                webhooks=StripeWebhooks(secret=SECRET, clock=clock, api=api),
            )
        found_world.contact_id = register(harness)
        assert found_world.contact_id == contact_id
        yield found_world
