"""Saved payment methods and autopay, on the memory store, SQLite (and PostgreSQL when
configured).

Seed 003_11ad6fb0c789d951.txt: "Can Save Payment Method ... controls whether that
customer can store a payment method through the portal for future AutoPay".
Seed 001_345994b3bb014aeb.txt: "Enable auto pay max amount": autopay never charges more.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal_access import (
    AccessDeniedError,
    AccountClass,
    AutopayOutcome,
    CheckoutRequest,
    CheckoutSession,
    ContactPortalSettings,
    GatewayEvent,
    InvoiceStatus,
    Money,
    SavedPaymentMethod,
    SystemPortalOptions,
    ValidationError,
)
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access.adapters import ManualClock
from portal_access.gateways.stripe import StripeGateway
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.testing.stripe import FakeStripeApi
from tests.service.harness import CANCEL, SECRET, START, SUCCESS
from tests.service.ledger_world import CONTACT, TODAY, LedgerWorld, later, ledger_world
from tests.service.stores import store
from tests.stripe_shapes import assert_stripe_shaped

__all__ = ["AUTOPAY_RUNS", "store"]

#: Examples the maximum property ran, and what they did; tests/conftest.py prints them.
AUTOPAY_RUNS = {"examples": 0, "invoices": 0, "charged": 0, "over_maximum": 0}

MAX_100 = SystemPortalOptions(autopay_max_amount=Money(10000, "USD"))


def _vendor_payments(w: LedgerWorld) -> int:
    return len(w.sandbox._payments)


def test_no_setup_page_without_can_save_payment_method(store):
    """Seed 003_11ad6fb0c789d951.txt: the toggle must be on before a method is saved."""
    w = ledger_world(store, portal=ContactPortalSettings())
    with pytest.raises(AccessDeniedError):
        w.portal.start_payment_method_setup(CONTACT, gateway="sandbox", success_url=SUCCESS,
                                            cancel_url=CANCEL)  # fmt: skip
    assert w.sandbox._checkouts == {}


def test_only_a_contact_who_may_save_keeps_a_payment_method(store):
    """Seed 003_11ad6fb0c789d951.txt: a setup completed after staff turned the toggle off is not kept; once it is back on, the next one is."""
    w = ledger_world(store)
    page = w.portal.start_payment_method_setup(
        CONTACT, gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
    )
    with unit_of_work(w.harness.store) as uow:
        contact = uow.contacts.get(CONTACT)
    assert contact is not None
    w.portal.update_contact(attrs.evolve(contact, portal=ContactPortalSettings()))
    w.sandbox.pay(page.session_id)
    w.deliver()
    assert w.portal.saved_payment_method(CONTACT) is None
    w.portal.update_contact(contact)  # staff switch it back on: the next setup is kept
    method_id = w.save_method()
    saved = w.portal.saved_payment_method(CONTACT)
    assert saved is not None
    assert (saved.method_id, saved.gateway, saved.kind) == (
        method_id,
        "sandbox",
        PaymentMethodKind.CARD,
    )


def test_autopay_charges_due_invoices_up_to_the_maximum_and_tells_the_contact_of_the_rest(store):
    """Seed 001_345994b3bb014aeb.txt: due invoices at most the maximum are charged and paid; one above it is left open and the contact is mailed; one not yet due, or in another currency than the maximum, is not charged."""
    w = ledger_world(store, system=MAX_100)
    w.save_method()
    under = w.invoice(9000)
    exactly = w.invoice(10000, due_in=-3)
    above = w.invoice(10001)
    not_due = w.invoice(500, due_in=1)
    euros = w.invoice(500, currency="EUR")
    report = w.portal.run_autopay(TODAY)
    w.deliver()
    assert {a.invoice_id for a in report.charged} == {under.id, exactly.id}
    left = {a.invoice_id for a in report.with_outcome(AutopayOutcome.OVER_MAXIMUM)}
    assert left == {above.id, euros.id}
    for invoice in (under, exactly):
        assert w.portal.invoice(invoice.id).status is InvoiceStatus.PAID
    for invoice in (above, not_due, euros):
        assert w.portal.invoice(invoice.id).status is InvoiceStatus.OPEN
    told = w.mails("is yours to pay")
    assert sorted(m.subject for m in told) == sorted(
        f"Invoice {i.number} from Acme Services is yours to pay" for i in (above, euros)
    )
    assert "100.01 USD" in next(m.text for m in told if above.number in m.subject)
    assert "100.00 USD" in told[0].text  # the maximum, in the currency's digits
    assert _vendor_payments(w) == 2
    tomorrow = w.portal.run_autopay(later(1))  # the next day: only what fell due
    assert [a.invoice_id for a in tomorrow.charged] == [not_due.id]
    assert len(w.mails("is yours to pay")) == 2  # told once


def test_the_account_class_maximum_overrides_the_systems(store):
    """Seed 001_345994b3bb014aeb.txt: an account class may set its own autopay maximum."""
    klass = AccountClass(id="commercial", name="Commercial", autopay_max_amount=Money(500, "USD"))
    w = ledger_world(store, system=MAX_100, klass=klass)
    w.save_method()
    small, large = w.invoice(500), w.invoice(501)
    report = w.portal.run_autopay(TODAY)
    assert [a.invoice_id for a in report.charged] == [small.id]
    assert [a.invoice_id for a in report.with_outcome(AutopayOutcome.OVER_MAXIMUM)] == [large.id]


def test_a_declined_autopay_is_recorded_and_mailed_and_not_tried_again(store):
    """Seed 003_11ad6fb0c789d951.txt: a declined charge is recorded (a failed payment, a declined attempt), the contact is mailed once, the invoice stays open; a newly saved method is tried on the next run."""
    w = ledger_world(store, system=MAX_100)
    method_id = w.save_method()
    w.sandbox.decline_saved_method(method_id)
    invoice = w.invoice(2500)
    report = w.portal.run_autopay(TODAY)
    (attempt,) = report.attempts
    assert (attempt.outcome, attempt.reason) == (AutopayOutcome.DECLINED, "declined")
    assert attempt.payment_id is not None
    with unit_of_work(w.harness.store) as uow:
        payment = uow.payments.get("sandbox", attempt.payment_id)
        recorded = uow.autopay_attempts.get(invoice.id, method_id)
    assert payment is not None
    assert payment.snapshot.status is PaymentStatus.FAILED
    assert recorded == attempt
    assert w.portal.invoice(invoice.id).status is InvoiceStatus.OPEN
    (mail,) = w.mails("was declined")
    assert invoice.number in mail.subject
    assert "25.00 USD" in mail.text
    assert w.portal.run_autopay(TODAY).attempts == ()  # the same method: not again
    assert len(w.mails("was declined")) == 1
    w.save_method()  # Ann saves another card
    (retried,) = w.portal.run_autopay(TODAY).charged
    assert retried.invoice_id == invoice.id
    assert w.portal.invoice(invoice.id).status is InvoiceStatus.PAID


def test_a_second_run_the_same_day_charges_nothing_twice(store):
    """Seed 001_345994b3bb014aeb.txt: autopay is idempotent: a second run, and a run after the vendor was unreachable, charge each invoice once."""
    w = ledger_world(store, system=MAX_100)
    w.save_method()
    first, second = w.invoice(1000), w.invoice(2000)
    w.sandbox.fail_next("api_error")  # the first charge never reaches the vendor
    report = w.portal.run_autopay(TODAY)
    assert [a.outcome for a in report.attempts] == [
        AutopayOutcome.UNREACHABLE,
        AutopayOutcome.SUCCEEDED,
    ]
    again = w.portal.run_autopay(TODAY)
    assert [(a.invoice_id, a.outcome) for a in again.attempts] == [
        (first.id, AutopayOutcome.SUCCEEDED)
    ]
    assert w.portal.run_autopay(TODAY).attempts == ()
    w.deliver(duplicate=2)
    assert _vendor_payments(w) == 2
    for invoice in (first, second):
        assert w.portal.invoice(invoice.id).status is InvoiceStatus.PAID


def test_a_bank_account_charge_is_processing_until_it_clears(store):
    """Seed 003_11ad6fb0c789d951.txt: a saved bank account (ACH) is charged once; the invoice is paid when the bank clears it."""
    w = ledger_world(store, system=MAX_100)
    w.save_method(bank=True)
    invoice = w.invoice(4000)
    (attempt,) = w.portal.run_autopay(TODAY).charged
    assert attempt.outcome is AutopayOutcome.PROCESSING
    assert w.portal.run_autopay(later(1)).attempts == ()  # processing: nothing more
    assert w.portal.invoice(invoice.id).status is InvoiceStatus.OPEN
    assert attempt.payment_id is not None
    w.sandbox.settle_ach(attempt.payment_id, cleared=True)
    w.deliver()
    assert w.portal.invoice(invoice.id).status is InvoiceStatus.PAID


def test_a_contact_who_may_no_longer_save_is_skipped(store):
    """Seed 003_11ad6fb0c789d951.txt: autopay runs only while the toggle is on."""
    w = ledger_world(store, system=MAX_100)
    w.save_method()
    w.invoice(1000)
    with unit_of_work(w.harness.store) as uow:
        contact = uow.contacts.get(CONTACT)
    assert contact is not None
    w.portal.update_contact(attrs.evolve(contact, portal=ContactPortalSettings()))
    report = w.portal.run_autopay(TODAY)
    assert report.attempts == ()
    assert report.skipped == ((CONTACT, "the contact may not use autopay through this gateway"),)


class _NoSavedCharges:
    """A gateway that cannot charge a saved method (a host's own, say)."""

    name = "paypal"

    def start_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        raise NotImplementedError

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        raise NotImplementedError

    def list_events(self, *, since: datetime) -> Iterator[GatewayEvent]:
        raise NotImplementedError

    def refund(self, payment_id: str, *, amount: Money | None, idempotency_key: str) -> None:
        raise NotImplementedError

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> None:
        raise NotImplementedError

    def expire_checkout(self, session_id: str) -> None:
        raise NotImplementedError


def test_a_gateway_that_cannot_charge_a_saved_method_is_reported_skipped():
    """Seed 003_11ad6fb0c789d951.txt: where a gateway cannot charge a saved method, autopay says so and charges nothing."""
    w = ledger_world(MemoryStore(), system=MAX_100, gateways=(_NoSavedCharges(),))
    w.invoice(1000, gateway="paypal")
    with unit_of_work(w.harness.store) as uow:
        uow.saved_methods.save(SavedPaymentMethod(contact_id=CONTACT, gateway="paypal",
                                                  method_id="tok_1", kind=PaymentMethodKind.WALLET,
                                                  version=1))  # fmt: skip
    report = w.portal.run_autopay(TODAY)
    assert report.skipped == ((CONTACT, "paypal cannot charge a saved method"),)
    assert report.attempts == ()


def test_run_autopay_wants_a_date():
    """Bad input is a typed error: the day is a date, never a datetime."""
    w = ledger_world(MemoryStore())
    with pytest.raises(ValidationError):
        w.portal.run_autopay(datetime(2026, 3, 2))  # type: ignore[arg-type]


_AMOUNTS = st.integers(min_value=1, max_value=30000)
_INVOICES = st.lists(
    st.tuples(_AMOUNTS, st.integers(min_value=-5, max_value=3), st.sampled_from(["USD", "EUR"])),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    invoices=_INVOICES,
    system_max=st.none() | _AMOUNTS,
    class_max=st.none() | _AMOUNTS,
    days=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=3),
)
def test_autopay_never_charges_above_the_maximum(invoices, system_max, class_max, days):
    """Seed 001_345994b3bb014aeb.txt: whatever the invoices, maximums and run days, autopay charges only due invoices at most the maximum in force, each once, and every due invoice at most the maximum is charged."""
    system = SystemPortalOptions(
        autopay_max_amount=None if system_max is None else Money(system_max, "USD")
    )
    klass = AccountClass(id="commercial", name="Commercial",
                         autopay_max_amount=None if class_max is None else Money(class_max, "USD"))  # fmt: skip
    maximum = klass.autopay_max_amount or system.autopay_max_amount
    w = ledger_world(MemoryStore(), system=system, klass=klass)
    w.save_method()
    made = [w.invoice(amount, currency=currency, due_in=due) for amount, due, currency in invoices]
    charged: list[str] = []
    for day in sorted(days):
        report = w.portal.run_autopay(later(day))
        for attempt in report.charged:
            assert attempt.amount.currency == "USD" or maximum is None
            if maximum is not None:
                assert attempt.amount <= maximum
            charged.append(attempt.invoice_id)
        AUTOPAY_RUNS["over_maximum"] += len(report.with_outcome(AutopayOutcome.OVER_MAXIMUM))
    assert len(charged) == len(set(charged))  # each once
    last = later(max(days))
    expected = {
        i.id
        for i in made
        if i.due_on <= last
        and (maximum is None or (i.currency == maximum.currency and i.total <= maximum))
    }
    assert set(charged) == expected
    assert len(w.sandbox._payments) == len(expected)
    AUTOPAY_RUNS["examples"] += 1
    AUTOPAY_RUNS["invoices"] += len(made)
    AUTOPAY_RUNS["charged"] += len(charged)


def test_autopay_on_stripe_charges_the_saved_method_off_session(store):
    """Seeds 001_345994b3bb014aeb.txt and 003_11ad6fb0c789d951.txt on Stripe (the real SDK against the local Stripe API): the setup page's method is kept, a due invoice is charged once off-session and paid, a declined charge is recorded and mailed."""
    clock = ManualClock(START)
    with FakeStripeApi(clock=clock, webhook_secret=SECRET) as api:
        stripe_gateway = StripeGateway(api_key="sk_test_autopay", webhook_secret=SECRET,
                                       clock=clock, api_base=api.url, max_network_retries=0)  # fmt: skip
        w = ledger_world(store, system=MAX_100, gateways=(stripe_gateway,), clock=clock)

        def deliver() -> None:
            api.deliver(lambda headers, body: w.portal.handle_webhook("stripe", headers, body))

        page = w.portal.start_payment_method_setup(
            CONTACT, gateway="stripe", success_url=SUCCESS, cancel_url=CANCEL
        )
        api.pay(page.session_id)
        deliver()
        saved = w.portal.saved_payment_method(CONTACT)
        assert saved is not None
        assert (saved.gateway, saved.kind) == ("stripe", PaymentMethodKind.CARD)
        assert saved.method_id.startswith("pm_")
        first = w.invoice(6000, gateway="stripe")
        (charged,) = w.portal.run_autopay(TODAY).charged
        assert (charged.invoice_id, charged.outcome) == (first.id, AutopayOutcome.SUCCEEDED)
        deliver()
        assert w.portal.invoice(first.id).status is InvoiceStatus.PAID
        api.decline_payment_method(saved.method_id)
        second = w.invoice(7000, gateway="stripe", due_in=1)
        (declined,) = w.portal.run_autopay(later(1)).attempts
        assert (declined.invoice_id, declined.outcome, declined.reason) == (
            second.id,
            AutopayOutcome.DECLINED,
            "card_declined",
        )
        deliver()
        assert w.portal.invoice(second.id).status is InvoiceStatus.OPEN
        assert len(w.mails("was declined")) == 1
        assert w.portal.run_autopay(later(1)).attempts == ()
        intents = [o for o in api.objects.values() if o.get("object") == "payment_intent"]
        assert sorted((i["amount"], i["status"]) for i in intents) == [
            (6000, "succeeded"),
            (7000, "requires_payment_method"),
        ]
        with unit_of_work(w.harness.store) as uow:
            failed = [
                r for r in uow.payments.for_account("acc-1") if r.snapshot.gateway == "stripe"
            ]
        assert sorted(r.snapshot.status.value for r in failed) == ["failed", "succeeded"]
        assert_stripe_shaped(api)  # every object and event as Stripe's OpenAPI describes it
