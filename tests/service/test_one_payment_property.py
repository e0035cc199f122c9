"""Seed 000_07c53b15302458c1.txt as a property: whatever the interleaving of checkouts,
payments (card, bank, declined), bank clearing, staff waivers, time passing and webhook
deliveries (late, duplicated, out of order), the invoice is never credited more than
its total, the money beyond what it asks is exactly what is reported as duplicate, and
with ``refund_duplicates`` nothing beyond it is kept and one subscription stays live.

Runs on the sandbox with the memory store (and fewer examples on SQLite).
"""

from __future__ import annotations

import random
from contextlib import ExitStack, suppress
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from portal_access import (
    AchPolicy,
    CheckoutSession,
    ConflictError,
    GatewayRejectedError,
    InvoiceStatus,
    PaymentMethodKind,
    PaymentStatus,
    SubscriptionStatus,
)
from portal_access.repositories import unit_of_work
from portal_access.testing.sandbox import SandboxWebhooks
from tests.service.harness import ADMIN, SECRET
from tests.service.money_world import PROPERTY_RUNS, SandboxWorld, world

LIVE = {SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID}


class OnePaymentPerInvoice(RuleBasedStateMachine):
    """The payer, the vendor, staff and the network, in any order."""

    store = "memory"

    @initialize(ach=st.sampled_from(AchPolicy), refund=st.booleans(), seed=st.integers(0, 2**16))
    def setup(self, ach: AchPolicy, refund: bool, seed: int) -> None:
        PROPERTY_RUNS["examples"] += 1
        self.stack = ExitStack()
        folder = Path(self.stack.enter_context(TemporaryDirectory()))
        found = self.stack.enter_context(
            world("sandbox", self.store, folder, ach=ach, refund_duplicates=refund)
        )
        assert isinstance(found, SandboxWorld)
        self.w = found
        self.refund = refund
        self.rng = random.Random(seed)
        self.invoice_id = self.w.portal.check_access(self.w.contact_id).required_invoice_id
        self.signer = SandboxWebhooks(secret=SECRET, clock=self.w.harness.clock)
        self.queue: list[bytes] = []  # the network: deliveries in flight
        self.w.sandbox.attach(lambda _headers, body: self.queue.append(body))
        self.pages: list[CheckoutSession] = []
        self.processing: list[str] = []  # bank payments the vendor has not settled

    def teardown(self) -> None:
        if hasattr(self, "stack"):
            try:
                self._drain_and_check()
            finally:
                self.stack.close()

    # -- the payer, staff, the vendor ------------------------------------------------------

    @rule()
    def open_page(self) -> None:
        PROPERTY_RUNS["steps"] += 1
        with suppress(ConflictError):  # paid, waived, or a payment under way: no page
            self.pages.append(self.w.open_page())

    @precondition(lambda self: self.pages)
    @rule(data=st.data(), bank=st.booleans(), succeed=st.booleans())
    def pay(self, data: st.DataObject, bank: bool, succeed: bool) -> None:
        PROPERTY_RUNS["steps"] += 1
        page = data.draw(st.sampled_from(self.pages))  # any page the payer ever had
        method = PaymentMethodKind.BANK_ACCOUNT if bank else PaymentMethodKind.CARD
        try:
            payment = self.w.sandbox.pay(page.session_id, method=method, succeed=succeed)
        except GatewayRejectedError:  # expired, closed or paid already
            return
        if bank and succeed:
            self.processing.append(payment)

    @precondition(lambda self: self.processing)
    @rule(data=st.data(), cleared=st.booleans())
    def bank_settles(self, data: st.DataObject, cleared: bool) -> None:
        PROPERTY_RUNS["steps"] += 1
        payment = data.draw(st.sampled_from(self.processing))
        self.processing.remove(payment)
        self.w.settle(payment, cleared=cleared)

    @rule()
    def staff_cancel_required_payment(self) -> None:
        PROPERTY_RUNS["steps"] += 1
        with suppress(ConflictError):  # paid already: refund it instead
            self.w.portal.cancel_required_payment(self.w.contact_id, staff=ADMIN)

    @rule()
    def bank_today_card_tomorrow(self) -> None:
        """The peers' classic: a bank payment whose report is late, then a card on a
        page opened the next day (the first page has expired)."""
        PROPERTY_RUNS["steps"] += 1
        for bank in (True, False):
            try:
                page = self.w.open_page()
                payment = self.w.pay(page, bank=bank)
            except (ConflictError, GatewayRejectedError):
                return
            self.pages.append(page)
            if bank:
                self.processing.append(payment)
                self.w.harness.advance(hours=25)

    @rule(hours=st.sampled_from([1, 12, 25]))
    def time_passes(self, hours: int) -> None:
        PROPERTY_RUNS["steps"] += 1
        self.w.harness.advance(hours=hours)

    @precondition(lambda self: self.queue)
    @rule(data=st.data(), twice=st.booleans())
    def deliver_one(self, data: st.DataObject, twice: bool) -> None:
        PROPERTY_RUNS["steps"] += 1
        body = self.queue.pop(data.draw(st.integers(0, len(self.queue) - 1)))
        for _ in range(2 if twice else 1):
            self.w.portal.handle_webhook("sandbox", self.signer.sign(body), body)

    # -- the end: everything arrives -------------------------------------------------------

    def _drain_and_check(self) -> None:
        for _round in range(20):
            for payment in self.processing:  # the worst case: every bank payment clears
                self.w.settle(payment, cleared=True)
            self.processing = []
            self.rng.shuffle(self.queue)
            while self.queue:
                body = self.queue.pop()
                self.w.portal.handle_webhook("sandbox", self.signer.sign(body), body)
            self.w.portal.deliver_outbox()
            if not self.queue:
                break
        assert not self.queue
        self._check()

    def _check(self) -> None:
        portal, contact_id = self.w.portal, self.w.contact_id
        assert self.invoice_id is not None
        invoice = portal.invoice(self.invoice_id)
        history = portal.contact_payments(contact_id)
        payments = [r.snapshot for r in history.settled if r.snapshot.invoice_id == invoice.id]
        collected = sum(p.amount.amount for p in payments if p.status is PaymentStatus.SUCCEEDED)
        owed = 0 if invoice.status is InvoiceStatus.VOID else invoice.total.amount
        if invoice.status is InvoiceStatus.PAID:  # credited once, whatever arrived twice
            assert invoice.amount_paid == invoice.total
        surplus = sum(d.surplus.amount for d in history.duplicates)
        assert surplus == max(0, collected - owed)  # every extra cent is reported
        PROPERTY_RUNS["duplicates"] += len(self.w.topics("payment.duplicate"))
        with unit_of_work(self.w.harness.store) as uow:
            live = [
                r for r in uow.subscriptions.for_contact(contact_id) if r.snapshot.status in LIVE
            ]
        if self.refund:
            PROPERTY_RUNS["refunded"] += sum(p.status is PaymentStatus.REFUNDED for p in payments)
            assert collected <= owed, (collected, owed)  # never more than the invoice asks
            assert history.duplicates == ()
            assert len(live) <= 1


def _runs(examples: int, steps: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


OnePaymentPerInvoice.TestCase.settings = _runs(300, 40)
TestOnePaymentPerInvoice = OnePaymentPerInvoice.TestCase


class OnePaymentPerInvoiceOnSqlite(OnePaymentPerInvoice):
    """The same machine on SQLite (each example makes a database, so fewer of them)."""

    store = "sqlite"


OnePaymentPerInvoiceOnSqlite.TestCase.settings = _runs(15, 20)
TestOnePaymentPerInvoiceOnSqlite = OnePaymentPerInvoiceOnSqlite.TestCase
