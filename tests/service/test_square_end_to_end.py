"""Seed 000's stories end to end on Square: PortalAccess, SquareGateway, the real squareup
SDK, a fake Square API on 127.0.0.1 and Square-signed webhooks, on the memory store and on
SQLite."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from portal_access import (
    AccessDeniedError,
    AccessLevel,
    AccessReason,
    AchPolicy,
    ContactPortalSettings,
    InvoicePurpose,
    InvoiceStatus,
    LineKind,
    Money,
)
from portal_access._domain.checkout import CheckoutSession
from portal_access._portal import PortalAccess
from portal_access.adapters import ManualClock
from portal_access.gateways.stripe import StripeGateway
from portal_access.ports import Store
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from portal_access.testing.square import FakeSquareApi, SquareWebhooks
from tests.service.harness import (
    CANCEL,
    CLIENT,
    START,
    SUCCESS,
    WHILE_PROCESSING,
    Harness,
    portal_with,
    register,
    sign_up,
)
from tests.square_world import KEY, MONTHLY, URL, VARIATIONS, api, clock, make_gateway

__all__ = ["api", "clock"]  # the fixtures this module uses


@attrs.define
class Story:
    """A portal on Square (a fake API) and seed 000's payer on Square's side."""

    harness: Harness
    api: FakeSquareApi
    webhooks: SquareWebhooks
    contact_id: str = ""

    @property
    def portal(self) -> PortalAccess:
        return self.harness.portal

    def deliver(self, *, duplicate: int = 1, seed: int | None = None) -> list[str]:
        """Hand Square's pending events to the host's endpoint (each ``duplicate`` times,
        shuffled by ``seed``) until none is left; the outcomes, in order."""
        outcomes = []
        while deliveries := self.webhooks.deliveries() * duplicate:
            if seed is not None:
                random.Random(seed).shuffle(deliveries)
            outcomes += [
                self.portal.handle_webhook("square", headers, body).outcome
                for headers, body in deliveries
            ]
        return outcomes

    def level(self) -> tuple[AccessLevel, AccessReason]:
        decision = self.portal.check_access(self.contact_id)
        return decision.level, decision.reason

    def page(self) -> CheckoutSession:
        return self.portal.start_checkout(self.contact_id, success_url=SUCCESS, cancel_url=CANCEL)

    def subscription_id(self) -> str:
        (subscription,) = self.api.objects["subscription"].values()
        return str(subscription["id"])

    def invoices(self, purpose: InvoicePurpose) -> list:
        with unit_of_work(self.harness.store) as uow:
            account = uow.contacts.get(self.contact_id).account_id  # type: ignore[union-attr]
            return [i for i in uow.invoices.for_account(account) if i.purpose is purpose]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The memory store, and SQLite."""
    if request.param == "memory":
        yield MemoryStore()
        return
    with SqlStore(tmp_path / "portal.db", create=True) as sql:
        yield sql


def story(
    api: FakeSquareApi,
    store: Store,
    *,
    ach: AchPolicy = AchPolicy.GRANT_ON_CLEARING,
    can_save: bool = True,
    allowed: frozenset[str] | None = None,
) -> Story:
    """Seed 000's portal on Square (and a Stripe gateway nobody reaches), one registered
    Client whose portal settings say whether they may save a card and which gateways."""
    clock = api.clock
    assert isinstance(clock, ManualClock)
    stripe = StripeGateway(
        api_key="sk_test_unused",
        webhook_secret="whsec_unused",
        api_base="http://127.0.0.1:9",
        max_network_retries=0,
    )
    harness = portal_with(
        [make_gateway(api, clock), stripe],
        clock=clock,
        store=store,
        offer_gateway="square",
        ach=ach,
        plan=MONTHLY,
    )
    signup = sign_up(harness)
    with unit_of_work(store) as uow:
        contact = uow.contacts.get(signup.contact_id)
    assert contact is not None
    settings = ContactPortalSettings(can_save_payment_method=can_save, allowed_gateways=allowed)
    harness.portal.update_contact(attrs.evolve(contact, portal=settings))
    webhooks = SquareWebhooks(secret=KEY, notification_url=URL, api=api, plan_variations=VARIATIONS)
    result = Story(harness, api, webhooks)
    result.contact_id = register(harness)
    return result


@pytest.mark.parametrize("policy", list(AchPolicy))
def test_ach_pending_for_days_then_cleared(api, store, policy):
    """Seed 000_07c53b15302458c1.txt: ACH grants on initiation or on clearing, per the setting."""
    s = story(api, store, ach=policy)
    payment_id = s.api.pay_invoice(s.page().session_id, method="bank")
    s.deliver()
    assert s.level() == WHILE_PROCESSING[policy]
    assert s.harness.topics("onboarding.due") == []  # onboarding waits for the money
    assert s.api.objects["subscription"] == {}  # nor does Square bill a plan not paid for
    s.harness.advance(days=4)
    s.api.settle_bank_payment(payment_id, cleared=True)
    s.deliver()
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    assert len(s.harness.topics("onboarding.due")) == 1
    assert len(s.harness.topics("invoice.paid")) == 1
    (subscription,) = s.api.objects["subscription"].values()
    assert (subscription["status"], subscription["start_date"]) == ("PENDING", "2026-04-06")


@pytest.mark.parametrize("policy", list(AchPolicy))
def test_ach_pending_then_failed(api, store, policy):
    """Seed 000_07c53b15302458c1.txt: a failed ACH payment leaves pay-invoice-only and the invoice open."""
    s = story(api, store, ach=policy)
    page = s.page()
    payment_id = s.api.pay_invoice(page.session_id, method="bank")
    s.deliver()
    s.harness.advance(days=4)
    s.api.settle_bank_payment(payment_id, cleared=False)
    s.deliver()
    assert s.level() == (AccessLevel.PAY_INVOICE_ONLY, AccessReason.PAYMENT_FAILED)
    (required,) = s.invoices(InvoicePurpose.REQUIRED_PAYMENT)
    assert required.status is InvoiceStatus.OPEN
    assert s.harness.topics("onboarding.due") == []
    assert s.api.objects["invoice"][page.session_id]["status"] == "UNPAID"  # payable again


def test_first_invoice_carries_both_charges_and_renewals_only_the_plan(api, store):
    """Seed 000_07c53b15302458c1.txt: the first invoice carries both charges, each later one only the subscription."""
    s = story(api, store)
    page = s.page()
    invoice = s.api.objects["invoice"][page.session_id]
    order = s.api.objects["order"][invoice["order_id"]]
    assert [(line["name"], line["base_price_money"]["amount"]) for line in order["line_items"]] == [
        ("Setup fee", 25000),
        ("Portal monthly", 5000),
    ]
    assert invoice["accepted_payment_methods"]["bank_account"] is True
    s.api.pay_invoice(page.session_id, save_card=True)
    s.deliver()
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    s.harness.advance(days=35)
    s.api.renew(s.subscription_id())
    s.deliver()
    (renewal,) = s.invoices(InvoicePurpose.RENEWAL)
    assert [line.kind for line in renewal.lines] == [LineKind.SUBSCRIPTION]
    assert (renewal.total, renewal.status) == (Money(5000, "USD"), InvoiceStatus.PAID)
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)


def test_failed_renewal_restricts_and_resubscribing_restores(api, store):
    """Seed 000_07c53b15302458c1.txt: a failed renewal restricts to re-subscribe; paying it restores access, on the same subscription."""
    s = story(api, store)
    s.api.pay_invoice(s.page().session_id, save_card=True)
    s.deliver()
    subscription_id = s.subscription_id()
    assert s.api.objects["subscription"][subscription_id].get("card_id")  # the saved card
    s.harness.advance(days=35)
    s.api.renew(subscription_id, succeed=False)  # invoice.scheduled_charge_failed
    s.deliver(duplicate=2, seed=5)
    assert s.level() == (AccessLevel.RESUBSCRIBE_ONLY, AccessReason.RENEWAL_FAILED)
    s.portal.having_trouble("ann@example.com", client_key=CLIENT)
    token = s.harness.link("ann@example.com", "/portal/resubscribe")
    page = s.portal.resubscribe(token, success_url=SUCCESS, cancel_url=CANCEL)
    (renewal,) = [i for i in s.api.objects["invoice"].values() if i.get("subscription_id")]
    assert page.session_id == renewal["id"]  # the unpaid renewal's own page: no second plan
    s.api.pay_invoice(page.session_id)
    s.deliver()
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    assert list(s.api.objects["subscription"]) == [subscription_id]
    assert len(s.harness.topics("onboarding.due")) == 1


def test_an_ended_subscription_is_replaced_once_the_new_first_period_is_paid(api, store):
    """Seed 000_07c53b15302458c1.txt: an Inactive Subscription is re-subscribed with new payment details."""
    s = story(api, store, can_save=False)
    s.api.pay_invoice(s.page().session_id)
    s.deliver()
    old = s.subscription_id()
    assert "card_id" not in s.api.objects["subscription"][old]  # may not save: emailed renewals
    s.api.end_subscription(old)
    s.deliver()
    assert s.level() == (AccessLevel.RESUBSCRIBE_ONLY, AccessReason.SUBSCRIPTION_ENDED)
    s.portal.having_trouble("ann@example.com", client_key=CLIENT)
    token = s.harness.link("ann@example.com", "/portal/resubscribe")
    page = s.portal.resubscribe(token, success_url=SUCCESS, cancel_url=CANCEL)
    s.deliver()
    assert s.level()[0] is AccessLevel.RESUBSCRIBE_ONLY  # nothing restored before paying
    s.harness.advance(days=1)
    s.api.pay_invoice(page.session_id)
    s.deliver(duplicate=2, seed=1)
    assert s.level()[0] is AccessLevel.FULL
    assert len(s.api.objects["subscription"]) == 2  # the old one, ended, and one new one


def test_duplicated_and_reordered_deliveries_onboard_once(api, store):
    """Every delivery three times, shuffled: the same end state and one onboarding event."""
    s = story(api, store)
    payment_id = s.api.pay_invoice(s.page().session_id, method="bank")
    s.api.settle_bank_payment(payment_id, cleared=True)
    outcomes = s.deliver(duplicate=3, seed=11)
    assert outcomes.count("duplicate") == len(outcomes) * 2 // 3
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    assert len(s.harness.topics("onboarding.due")) == 1
    assert len(s.api.objects["subscription"]) == 1


def test_reconcile_repairs_missed_webhooks(api, store):
    """Missed webhooks are repaired from Square's Events API through the same mapping."""
    s = story(api, store)
    payment_id = s.api.pay_invoice(s.page().session_id, method="bank")
    s.deliver()
    s.api.settle_bank_payment(payment_id, cleared=True)
    s.api.take_events()  # Square sent them; the host never got them
    assert s.level()[0] is AccessLevel.PAY_INVOICE_ONLY
    report = s.portal.reconcile("square", since=START)
    assert (report.seen, report.repaired, report.duplicates) == (4, 2, 2)  # the 2 missed
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    s.deliver()  # the subscription reconcile made, reported too
    again = s.portal.reconcile("square", since=START)
    assert (again.seen, again.repaired) == (5, 0)
    assert len(s.api.objects["subscription"]) == 1


def test_a_contact_allowed_only_square_pays_and_sees_only_square(api, store):
    """Seed 004_67d5e53a019b49ae.txt: a contact whose portal settings enable only Square pays through Square and is offered nothing else."""
    s = story(api, store, allowed=frozenset({"square"}))
    s.api.pay_invoice(s.page().session_id)
    s.deliver()
    decision = s.portal.check_access(s.contact_id)
    assert (decision.level, decision.gateways) == (AccessLevel.FULL, frozenset({"square"}))
    with pytest.raises(AccessDeniedError):  # Stripe is configured, but not for this contact
        s.portal.start_payment_method_setup(
            s.contact_id, gateway="stripe", success_url=SUCCESS, cancel_url=CANCEL
        )
