"""Saved methods removed at Stripe, Square and PayPal: PortalAccess, the vendors' real
SDKs against their local vendor-shaped APIs, vendor-signed webhooks delivered three times
each in shuffled order, on the memory store and SQLite.

Seed 003_11ad6fb0c789d951.txt: "Can Save Payment Method ... controls whether that
customer can store a payment method through the portal for future AutoPay": the method
on file is the one the contact chose last, unless the vendor removed it, whatever the
order and number of deliveries; autopay never sends a removed one to the gateway.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import square
import stripe

from portal_access import Money, SystemPortalOptions
from portal_access.adapters import ManualClock
from portal_access.gateways.stripe import StripeGateway
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from portal_access.testing.paypal import LocalPayPalApi, PayPalWebhooks
from portal_access.testing.square import FakeSquareApi, SquareWebhooks
from portal_access.testing.stripe import FakeStripeApi
from tests.paypal_shapes import assert_paypal_shaped
from tests.paypal_world import make_gateway as make_paypal_gateway
from tests.service.harness import CANCEL, START, SUCCESS
from tests.service.ledger_world import CONTACT, TODAY, LedgerWorld, ledger_world
from tests.sql_databases import sqlite_url
from tests.square_shapes import assert_square_shaped
from tests.square_world import KEY, URL, make_gateway
from tests.stripe_shapes import assert_stripe_shaped

STRIPE_SECRET = "whsec_removed"
PAYPAL_HOOK = "WH1REMOVED"
MAX_100 = SystemPortalOptions(autopay_max_amount=Money(10000, "USD"))
#: (saves the first method, saves a second, removes the first): the second is on file;
#: (saves two, removes the second): none is.
STORIES = [False, True]


def _store(store_kind: str, tmp_path: Any) -> Any:
    return MemoryStore() if store_kind == "memory" else SqlStore(sqlite_url(tmp_path), create=True)


def _story(
    w: LedgerWorld, clock: ManualClock, save: Callable[[], str], remove: Callable[[str], object],
    *, removes_last: bool,
) -> str | None:  # fmt: skip
    """The contact's doings at the vendor, a second apart; the method that should end on
    file (``None``: none)."""
    first = save()
    clock.advance(timedelta(seconds=1))
    if removes_last:
        second = save()
        clock.advance(timedelta(seconds=1))
        remove(second)
        return None
    remove(first)
    clock.advance(timedelta(seconds=1))
    return save()


def _assert_told(w: LedgerWorld, *, removes_last: bool) -> None:
    """The contact is mailed once when the method they chose last was removed; when an
    older one was, at most once (not at all when the newer method was reported first)."""
    told = len(w.mails("was removed"))
    assert told == 1 if removes_last else told <= 1


def _on_file(w: LedgerWorld) -> str | None:
    saved = w.portal.saved_payment_method(CONTACT)
    return None if saved is None else saved.method_id


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("removes_last", STORIES)
def test_stripe_detached_methods_converge(store_kind, seed, removes_last, tmp_path):
    """Seed 003_11ad6fb0c789d951.txt on Stripe: setup pages paid and a method detached (``payment_method.detached`` names no customer: the service finds whose it was), every event three times, shuffled: the contact's last choice is on file unless it was detached; autopay then charges it, or nothing."""
    clock = ManualClock(START)
    with FakeStripeApi(clock=clock, webhook_secret=STRIPE_SECRET) as api:
        gateway = StripeGateway(api_key="sk_test_removed", webhook_secret=STRIPE_SECRET,
                                clock=clock, api_base=api.url, max_network_retries=0)  # fmt: skip
        w = ledger_world(_store(store_kind, tmp_path), system=MAX_100, gateways=(gateway,),
                         clock=clock)  # fmt: skip
        client = stripe.StripeClient("sk_test_removed", base_addresses={"api": api.url},
                                     max_network_retries=0)  # fmt: skip

        def save() -> str:
            page = w.portal.start_payment_method_setup(CONTACT, gateway="stripe",
                                                       success_url=SUCCESS, cancel_url=CANCEL)  # fmt: skip
            api.pay(page.session_id)
            return str(
                [o for o in api.objects.values() if o["object"] == "payment_method"][-1]["id"]
            )

        expected = _story(w, clock, save, client.v1.payment_methods.detach,
                          removes_last=removes_last)  # fmt: skip
        handler = lambda headers, body: w.portal.handle_webhook("stripe", headers, body)  # noqa: E731
        api.deliver(handler, duplicate=3, rng=random.Random(seed))
        assert _on_file(w) == expected
        invoice = w.invoice(3000, gateway="stripe")
        intents = sum(o["object"] == "payment_intent" for o in api.objects.values())
        report = w.portal.run_autopay(TODAY)
        charged = sum(o["object"] == "payment_intent" for o in api.objects.values()) - intents
        assert [a.invoice_id for a in report.charged] == ([invoice.id] if expected else [])
        assert charged == (1 if expected else 0)
        _assert_told(w, removes_last=removes_last)
        assert w.mails("was declined") == []
        assert_stripe_shaped(api)


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("removes_last", STORIES)
def test_square_disabled_cards_converge(store_kind, seed, removes_last, tmp_path):
    """Seed 003_11ad6fb0c789d951.txt on Square: cards on file saved (``card.created``) and one disabled through the SDK (``card.disabled``), every event three times, shuffled: the contact's last card is on file unless it was disabled; autopay then charges it, or nothing."""
    clock = ManualClock(START)
    with FakeSquareApi(clock=clock) as api:
        w = ledger_world(_store(store_kind, tmp_path), system=MAX_100,
                         gateways=(make_gateway(api, clock),), clock=clock)  # fmt: skip
        client = square.Square(token="EAAA-test", base_url=api.url)
        customer = api.customer_for(CONTACT)["id"]
        expected = _story(w, clock, lambda: api.add_card(customer),
                          lambda card: client.cards.disable(card_id=card),
                          removes_last=removes_last)  # fmt: skip
        deliveries = SquareWebhooks(secret=KEY, notification_url=URL, api=api).deliveries() * 3
        random.Random(seed).shuffle(deliveries)
        for headers, body in deliveries:
            w.portal.handle_webhook("square", headers, body)
        assert _on_file(w) == expected
        invoice = w.invoice(3000, gateway="square")
        report = w.portal.run_autopay(TODAY)
        assert [a.invoice_id for a in report.charged] == ([invoice.id] if expected else [])
        assert len(api.objects["payment"]) == (1 if expected else 0)
        _assert_told(w, removes_last=removes_last)
        assert w.mails("was declined") == []
    assert_square_shaped(api)


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("removes_last", STORIES)
def test_paypal_deleted_tokens_converge(store_kind, seed, removes_last, tmp_path):
    """Seed 003_11ad6fb0c789d951.txt on PayPal: payment tokens reported saved (``VAULT.PAYMENT-TOKEN.CREATED``) and one deleted (``VAULT.PAYMENT-TOKEN.DELETED`` with the bare token: id and links), each event three times, shuffled, signed with PayPal's SHA256withRSA: the contact's last token is on file unless it was deleted."""
    clock = ManualClock(START)
    with LocalPayPalApi(now=clock.now) as api:
        gateway = make_paypal_gateway(api, clock, webhook_id=PAYPAL_HOOK)
        w = ledger_world(_store(store_kind, tmp_path), gateways=(gateway,), clock=clock)
        webhooks = PayPalWebhooks(webhook_id=PAYPAL_HOOK, clock=clock, api=api)
        bodies: list[bytes] = []
        made = iter(range(1, 10))

        def save() -> str:
            token = {"id": f"8TOKEN{next(made)}", "links": [],
                     "customer": {"id": "CUSTTEST", "merchant_customer_id": CONTACT},
                     "payment_source": {"paypal": {"email_address": "ann@example.com"}}}  # fmt: skip
            bodies.append(webhooks.event("VAULT.PAYMENT-TOKEN.CREATED", token,
                                         resource_type="payment_token")[1])  # fmt: skip
            return str(token["id"])

        def remove(token_id: str) -> None:
            bodies.append(webhooks.event("VAULT.PAYMENT-TOKEN.DELETED",
                                         {"id": token_id, "links": []},
                                         resource_type="payment_token")[1])  # fmt: skip

        expected = _story(w, clock, save, remove, removes_last=removes_last)
        deliveries = bodies * 3
        random.Random(seed).shuffle(deliveries)
        for body in deliveries:
            w.portal.handle_webhook("paypal", webhooks.sign(body), body)
        assert _on_file(w) == expected
        _assert_told(w, removes_last=removes_last)
    assert_paypal_shaped(api)
