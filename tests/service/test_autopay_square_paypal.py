"""Saved payment methods and autopay end to end on Square and PayPal: PortalAccess, the
real squareup and paypal-server-sdk SDKs, their local vendor-shaped APIs (every request
checked against the vendors' descriptions), vendor-signed webhooks (Square's HMAC over
URL + body, PayPal's SHA256withRSA), on the memory store, SQLite (and PostgreSQL when
configured).

Seed 003_11ad6fb0c789d951.txt: "Can Save Payment Method" controls whether the customer
"can store a payment method through the portal for future AutoPay".
Seed 001_345994b3bb014aeb.txt: "Enable auto pay max amount": autopay never charges more.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from portal_access import (
    AccessDeniedError,
    AutopayOutcome,
    ContactPortalSettings,
    GatewayRejectedError,
    InvoiceStatus,
    Money,
    PaymentMethodKind,
    PaymentStatus,
    SystemPortalOptions,
)
from portal_access.adapters import ManualClock
from portal_access.repositories import unit_of_work
from portal_access.testing.paypal import LocalPayPalApi, PayPalWebhooks
from portal_access.testing.square import FakeSquareApi, SquareWebhooks
from tests.paypal_shapes import assert_paypal_shaped
from tests.paypal_world import make_gateway as make_paypal_gateway
from tests.service.harness import CANCEL, START, SUCCESS
from tests.service.ledger_world import CONTACT, TODAY, LedgerWorld, later, ledger_world
from tests.service.stores import store
from tests.square_shapes import assert_square_shaped
from tests.square_world import KEY, URL, make_gateway

__all__ = ["store"]

MAX_100 = SystemPortalOptions(autopay_max_amount=Money(10000, "USD"))
WEBHOOK_ID = "WH1AUTOPAY"


def _payments(w: LedgerWorld, gateway: str) -> list[Any]:
    with unit_of_work(w.harness.store) as uow:
        return [r for r in uow.payments.for_account("acc-1") if r.snapshot.gateway == gateway]


def _forbid_saving(w: LedgerWorld) -> None:
    with unit_of_work(w.harness.store) as uow:
        contact = uow.contacts.get(CONTACT)
    assert contact is not None
    w.portal.update_contact(attrs.evolve(contact, portal=ContactPortalSettings()))


# -- Square -------------------------------------------------------------------------------


@attrs.define
class SquareStory:
    world: LedgerWorld
    api: FakeSquareApi
    webhooks: SquareWebhooks

    def deliver(self, *, duplicate: int = 2) -> list[str]:
        """Square's pending events, each delivered ``duplicate`` times."""
        outcomes = []
        while pending := self.webhooks.deliveries() * duplicate:
            outcomes += [self.world.portal.handle_webhook("square", h, b).outcome
                         for h, b in pending]  # fmt: skip
        return outcomes


@pytest.fixture
def square(store: Any) -> Iterator[SquareStory]:
    clock = ManualClock(START)
    with FakeSquareApi(clock=clock) as api:
        w = ledger_world(store, system=MAX_100, gateways=(make_gateway(api, clock),), clock=clock)
        yield SquareStory(w, api, SquareWebhooks(secret=KEY, notification_url=URL, api=api))
    assert_square_shaped(api)


def test_square_saves_a_card_without_a_payment_and_autopay_charges_it_up_to_the_maximum(square):
    """Seeds 003_11ad6fb0c789d951.txt and 001_345994b3bb014aeb.txt on Square: a Web Payments SDK nonce becomes a card on file (kept once, however often card.created is delivered); a due invoice under the maximum is charged once and paid; one above it is left open and the contact told; a declined charge is recorded and mailed, and not tried again."""
    s, w = square, square.world
    saved = w.portal.save_payment_method(CONTACT, gateway="square", token=s.api.card_nonce())
    assert (saved.gateway, saved.kind, saved.label) == ("square", PaymentMethodKind.CARD,
                                                        "VISA ending 1111")  # fmt: skip
    assert saved.method_id.startswith("ccof:")
    outcomes = s.deliver()  # card.created, twice
    assert outcomes[1] == "duplicate"  # the same card reported again: the same method
    assert w.portal.saved_payment_method(CONTACT).method_id == saved.method_id
    due = w.invoice(6000, gateway="square")
    above = w.invoice(10001, gateway="square")
    report = w.portal.run_autopay(TODAY)
    (charged,) = report.charged
    assert (charged.invoice_id, charged.outcome) == (due.id, AutopayOutcome.SUCCEEDED)
    (left,) = report.with_outcome(AutopayOutcome.OVER_MAXIMUM)
    assert left.invoice_id == above.id
    s.deliver()  # payment.created and order updates, twice each
    assert w.portal.invoice(due.id).status is InvoiceStatus.PAID
    assert w.portal.invoice(above.id).status is InvoiceStatus.OPEN
    assert len(w.mails("is yours to pay")) == 1
    assert w.portal.run_autopay(TODAY).attempts == ()  # nothing twice
    s.api.decline_card(saved.method_id)
    second = w.invoice(7000, gateway="square", due_in=1)
    (declined,) = w.portal.run_autopay(later(1)).attempts
    assert (declined.invoice_id, declined.outcome, declined.reason) == (
        second.id,
        AutopayOutcome.DECLINED,
        "CARD_DECLINED",
    )
    s.deliver()  # the failed payment's payment.created
    assert w.portal.invoice(second.id).status is InvoiceStatus.OPEN
    (mail,) = w.mails("was declined")
    assert second.number in mail.subject
    assert w.portal.run_autopay(later(1)).attempts == ()
    assert len(w.mails("was declined")) == 1
    recorded = sorted((r.snapshot.amount.amount, r.snapshot.status) for r in _payments(w, "square"))
    assert recorded == [(6000, PaymentStatus.SUCCEEDED), (7000, PaymentStatus.FAILED)]
    payments = sorted((p["amount_money"]["amount"], p["status"])
                      for p in s.api.objects["payment"].values())  # fmt: skip
    assert payments == [(6000, "COMPLETED"), (7000, "FAILED")]


def test_square_saves_nothing_for_a_contact_who_may_not(square):
    """Seed 003_11ad6fb0c789d951.txt: without "can save payment method" the nonce is never sent to Square, and a card saved on an invoice page is not kept."""
    s, w = square, square.world
    _forbid_saving(w)
    with pytest.raises(AccessDeniedError):
        w.portal.save_payment_method(CONTACT, gateway="square", token=s.api.card_nonce())
    assert s.api.objects["card"] == {}
    customer = s.api.customer_for(CONTACT)
    s.api.add_card(customer["id"])  # saved elsewhere (Square's dashboard, an old page)
    assert s.deliver(duplicate=1) == [f"ignored: contact {CONTACT} may not save a payment method"]
    assert w.portal.saved_payment_method(CONTACT) is None


# -- PayPal -------------------------------------------------------------------------------


@attrs.define
class PayPalStory:
    world: LedgerWorld
    api: LocalPayPalApi
    webhooks: PayPalWebhooks

    def deliver(self, event_type: str, resource: dict[str, Any], kind: str) -> list[str]:
        """One event, delivered twice (each signed anew, as PayPal retries)."""
        _headers, body = self.webhooks.event(event_type, dict(resource), resource_type=kind)
        return [self.world.portal.handle_webhook("paypal", self.webhooks.sign(body), body).outcome
                for _ in range(2)]  # fmt: skip

    def capture_of(self, invoice_id: str) -> dict[str, Any]:
        (found,) = [c for c in self.api.captures.values() if c.get("custom_id") == invoice_id]
        return found


@pytest.fixture
def paypal(store: Any) -> Iterator[PayPalStory]:
    clock = ManualClock(START)
    with LocalPayPalApi(now=clock.now) as api:
        gateway = make_paypal_gateway(api, clock, webhook_id=WEBHOOK_ID)
        w = ledger_world(store, system=MAX_100, gateways=(gateway,), clock=clock)
        yield PayPalStory(w, api, PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=clock, api=api))
    assert_paypal_shaped(api)


def test_paypal_vaults_the_wallet_and_autopay_charges_it_up_to_the_maximum(paypal):
    """Seeds 003_11ad6fb0c789d951.txt and 001_345994b3bb014aeb.txt on PayPal: the approved vault setup token becomes a payment token (kept once, however often VAULT.PAYMENT-TOKEN.CREATED is delivered); a due invoice under the maximum is charged once (an order on the vault_id) and paid; one above it is left and the contact told; a declined charge is recorded and mailed."""
    s, w = paypal, paypal.world
    page = w.portal.start_payment_method_setup(CONTACT, gateway="paypal", success_url=SUCCESS,
                                               cancel_url=CANCEL)  # fmt: skip
    s.api.approve_setup_token(page.session_id)
    saved = w.portal.save_payment_method(CONTACT, gateway="paypal", token=page.session_id)
    again = w.portal.save_payment_method(CONTACT, gateway="paypal", token=page.session_id)
    assert again == saved  # the return page reloaded: PayPal replays the same token
    assert (saved.gateway, saved.kind) == ("paypal", PaymentMethodKind.WALLET)
    assert len(s.api.payment_tokens) == 1
    token = s.api.payment_tokens[saved.method_id]
    assert token["customer"]["merchant_customer_id"] == CONTACT
    outcomes = s.deliver("VAULT.PAYMENT-TOKEN.CREATED", token, "payment_token")
    assert outcomes[1] == "duplicate"
    assert w.portal.saved_payment_method(CONTACT).method_id == saved.method_id
    due = w.invoice(6000, gateway="paypal")
    above = w.invoice(10001, gateway="paypal")
    report = w.portal.run_autopay(TODAY)
    (charged,) = report.charged
    assert (charged.invoice_id, charged.outcome) == (due.id, AutopayOutcome.SUCCEEDED)
    assert [a.invoice_id for a in report.with_outcome(AutopayOutcome.OVER_MAXIMUM)] == [above.id]
    assert w.portal.invoice(due.id).status is InvoiceStatus.PAID
    capture = s.capture_of(due.id)
    assert charged.payment_id == capture["id"]
    assert s.deliver("PAYMENT.CAPTURE.COMPLETED", capture, "capture")[1] == "duplicate"
    assert w.portal.invoice(above.id).status is InvoiceStatus.OPEN
    assert len(w.mails("is yours to pay")) == 1
    assert w.portal.run_autopay(TODAY).attempts == ()
    s.api.decline_payment_token(saved.method_id)
    second = w.invoice(7000, gateway="paypal", due_in=1)
    (declined,) = w.portal.run_autopay(later(1)).attempts
    assert (declined.invoice_id, declined.outcome, declined.reason) == (
        second.id,
        AutopayOutcome.DECLINED,
        "INSTRUMENT_DECLINED",
    )
    assert w.portal.invoice(second.id).status is InvoiceStatus.OPEN
    (mail,) = w.mails("was declined")
    assert second.number in mail.subject
    assert w.portal.run_autopay(later(1)).attempts == ()
    assert len(s.api.captures) == 1
    orders = [e for e in s.api.exchanges if e.path == "/v2/checkout/orders" and e.method == "POST"]
    assert {e.headers["paypal-request-id"] for e in orders} == {
        f"portal-access:autopay:autopay:{due.id}:{saved.method_id}",
        f"portal-access:autopay:autopay:{second.id}:{saved.method_id}",
    }


def test_paypal_saves_nothing_for_a_contact_who_may_not(paypal):
    """Seed 003_11ad6fb0c789d951.txt: after staff switch "can save payment method" off, the approved setup token is not turned into a payment token, and a payment token PayPal reports is not kept."""
    s, w = paypal, paypal.world
    page = w.portal.start_payment_method_setup(CONTACT, gateway="paypal", success_url=SUCCESS,
                                               cancel_url=CANCEL)  # fmt: skip
    s.api.approve_setup_token(page.session_id)
    _forbid_saving(w)
    with pytest.raises(AccessDeniedError):
        w.portal.save_payment_method(CONTACT, gateway="paypal", token=page.session_id)
    assert s.api.payment_tokens == {}
    token = {"id": "8TOKENELSEWHERE", "customer": {"id": "CUSTTEST",
             "merchant_customer_id": CONTACT}, "payment_source": {"paypal": {}}}  # fmt: skip
    assert s.deliver("VAULT.PAYMENT-TOKEN.CREATED", token, "payment_token") == [
        f"ignored: contact {CONTACT} may not save a payment method",
        "duplicate",
    ]
    assert w.portal.saved_payment_method(CONTACT) is None


def test_a_gateway_without_token_saving_refuses_it_by_name(store):
    """The sandbox saves methods on its setup page only: a token is refused, typed."""
    w = ledger_world(store)
    with pytest.raises(GatewayRejectedError) as caught:
        w.portal.save_payment_method(CONTACT, gateway="sandbox", token="tok_1")
    assert caught.value.code == "unsupported_purpose"
