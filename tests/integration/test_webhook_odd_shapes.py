"""Validly signed bodies of any shape (every gateway's: the sandbox, Stripe, Square,
PayPal): ``handle_webhook`` answers with a ``PortalAccessError`` (a ``"body"`` verification failure, or an ignored event), never
an ``AttributeError``, ``KeyError`` or ``TypeError`` (docs/security.md "Trust
boundaries": a signature proves who sent a body, not that it is well formed).

Each example takes a real event shape (the gateway contract's payment events of every
status and a failed renewal's subscription event, plus Stripe's checkout session and
invoices) and replaces or removes one field anywhere in it.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal_access import (
    Money,
    PaymentMethodKind,
    PaymentStatus,
    PortalAccessError,
    PortalPolicy,
    SubscriptionStatus,
    WebhookVerificationError,
)
from portal_access._portal import PortalAccess
from portal_access.adapters import ManualClock
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.storage.memory import MemoryStore
from portal_access.testing import strategies as pst
from portal_access.testing.sandbox import SandboxVendor, SandboxWebhooks

SECRET = "whsec_odd_shapes"
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
META = {"invoice_id": "inv-1", "contact_id": "c-1", "plan_id": "plan-monthly"}


def _invoice(reason: str, status: str) -> dict[str, Any]:
    return {"id": "in_1", "object": "invoice", "billing_reason": reason, "status": status,
            "total": 4900, "currency": "usd", "created": int(NOW.timestamp()), "due_date": None,
            "payment_settings": {"payment_method_types": ["card", "us_bank_account"]},
            "parent": {"type": "subscription_details", "quote_details": None,
                       "subscription_details": {"subscription": "sub_1", "metadata": META}}}  # fmt: skip


def _session() -> dict[str, Any]:
    return {"id": "cs_1", "object": "checkout.session", "mode": "payment", "status": "complete",
            "payment_status": "paid", "payment_intent": "pi_1", "amount_total": 25000,
            "currency": "usd", "metadata": META, "payment_method_types": ["card"]}  # fmt: skip


def base_events(webhooks: Any, *, stripe: bool, payment_id: str = "pi_1") -> list[dict[str, Any]]:
    """Real event documents of every mapped family (``payment_id`` in the vendor's form)."""
    version = int(NOW.timestamp())
    deliveries = [
        webhooks.payment(
            event_id=f"evt_p_{status.value}",  # each its own event: none is a duplicate
            payment_id=payment_id,
            invoice_id="inv-1",
            contact_id="c-1",
            status=status,
            method=PaymentMethodKind.CARD,
            amount=Money(25000, "USD"),
            version=version,
        )
        for status in (
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.REFUNDED,
            PaymentStatus.DISPUTED,
        )
    ]
    deliveries.append(
        webhooks.subscription(
            event_id="evt_s",
            subscription_id="sub_1",
            contact_id="c-1",
            plan_id="plan-monthly",
            status=SubscriptionStatus.PAST_DUE,
            version=version,
            created=version,
            renewal_failed_at=NOW,
        )
    )
    if not stripe:
        return [json.loads(body) for _headers, body in deliveries]
    deliveries += [
        webhooks.event("checkout.session.completed", _session(), event_id="evt_c"),
        webhooks.event("invoice.paid", _invoice("subscription_create", "paid"), event_id="evt_i"),
        webhooks.event(
            "invoice.payment_failed", _invoice("subscription_cycle", "open"), event_id="evt_f"
        ),
    ]
    return [json.loads(body) for _headers, body in deliveries]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document a value sits."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))


def changed(document: dict[str, Any], path: tuple[Any, ...], value: Any, *, drop: bool) -> Any:
    result = copy.deepcopy(document)
    node = result
    for step in path[:-1]:
        node = node[step]
    if drop and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return result


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.sampled_from([10**30, -1, 0, 1.5]),
        pst.hostile_text().filter(lambda text: len(text) < 300),
        st.sampled_from(["paid", "complete", "card", "usd", "active", "in_1", "pi_1", "inv-1"]),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )


@attrs.frozen
class World:
    portal: PortalAccess
    gateway: str
    webhooks: Any
    documents: list[dict[str, Any]]

    def deliver(self, body: bytes) -> object:
        return self.portal.handle_webhook(self.gateway, self.webhooks.sign(body), body)


def _portal(gateway: Any, clock: ManualClock) -> PortalAccess:
    return PortalAccess(
        store=MemoryStore(),
        gateways=[gateway],
        clock=clock,
        policy=PortalPolicy(),
        development=True,
    )


def _sandbox(clock: ManualClock) -> Iterator[World]:
    webhooks = SandboxWebhooks(secret=SECRET, clock=clock)
    vendor = SandboxVendor(webhook_secret=SECRET, clock=clock)
    gateway = SandboxGateway(vendor=vendor, webhook_secret=SECRET, clock=clock)
    yield World(_portal(gateway, clock), "sandbox", webhooks, base_events(webhooks, stripe=False))


def _stripe(clock: ManualClock) -> Iterator[World]:
    pytest.importorskip("stripe", reason="the stripe extra installs the SDK")
    from portal_access.gateways.stripe import StripeGateway  # noqa: PLC0415 - needs the SDK
    from portal_access.testing.stripe import FakeStripeApi, StripeWebhooks  # noqa: PLC0415

    with FakeStripeApi(clock=clock, webhook_secret=SECRET) as api:
        webhooks = StripeWebhooks(secret=SECRET, clock=clock, api=api)
        gateway = StripeGateway(api_key="sk_test_odd", webhook_secret=SECRET, clock=clock,
                                api_base=api.url, max_network_retries=0)  # fmt: skip
        documents = base_events(webhooks, stripe=True)
        yield World(_portal(gateway, clock), "stripe", webhooks, documents)


def _square(clock: ManualClock) -> Iterator[World]:
    pytest.importorskip("square", reason="the square extra installs the SDK")
    from portal_access.testing.square import FakeSquareApi, SquareWebhooks  # noqa: PLC0415
    from tests.square_world import KEY, URL, VARIATIONS, make_gateway  # noqa: PLC0415

    with FakeSquareApi(clock=clock) as api:
        webhooks = SquareWebhooks(secret=KEY, notification_url=URL, api=api,
                                  plan_variations=VARIATIONS)  # fmt: skip
        documents = base_events(webhooks, stripe=False, payment_id="PAYMENT0001")
        yield World(_portal(make_gateway(api, clock), clock), "square", webhooks, documents)


def _paypal(clock: ManualClock) -> Iterator[World]:
    pytest.importorskip("paypalserversdk", reason="the paypal extra installs the SDK")
    from portal_access.testing.paypal import LocalPayPalApi, PayPalWebhooks  # noqa: PLC0415
    from tests.paypal_world import make_gateway as make_paypal_gateway  # noqa: PLC0415

    with LocalPayPalApi(now=clock.now) as api:
        webhooks = PayPalWebhooks(webhook_id="WH1ODDSHAPES", clock=clock, api=api)
        gateway = make_paypal_gateway(api, clock, webhook_id="WH1ODDSHAPES")
        documents = base_events(webhooks, stripe=False, payment_id="3C679366HH908993F")
        yield World(_portal(gateway, clock), "paypal", webhooks, documents)


WORLDS = {"sandbox": _sandbox, "stripe": _stripe, "square": _square, "paypal": _paypal}


@pytest.fixture(scope="module", params=sorted(WORLDS))
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """A portal on one gateway, and that gateway's signed event documents."""
    yield from WORLDS[request.param](ManualClock(NOW))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_signed_body_of_any_shape_raises_only_typed_errors(world, data):
    """One field anywhere replaced (or removed): a typed answer, never a crash."""
    document = data.draw(st.sampled_from(world.documents), label="event")
    path = data.draw(st.sampled_from(list(paths(document))), label="path")
    value = data.draw(json_values(), label="value")
    odd = changed(document, path, value, drop=data.draw(st.booleans(), label="drop"))
    with contextlib.suppress(PortalAccessError):
        world.deliver(json.dumps(odd).encode())


@pytest.mark.parametrize(
    "body", [b"[]", b'"event"', b"{}", b'{"type": 5, "data": 1}', b'{"data": {"object": []}}']
)
def test_a_signed_body_that_is_no_event_is_a_body_failure(world, body):
    """JSON that is not an event object at all fails verification with reason "body"."""
    with pytest.raises(WebhookVerificationError) as caught:
        world.deliver(body)
    assert caught.value.reason == "body"


def test_odd_payment_settings_are_a_body_failure_naming_the_field(world):
    """Found by the property above: a Stripe invoice whose ``payment_settings`` is not an
    object is a typed "body" failure naming the field (the gateway kit's reading)."""
    if world.gateway != "stripe":
        pytest.skip("a Stripe shape")
    portal, webhooks = world.portal, world.webhooks
    for settings_value in ("x", [1], 5):
        invoice = _invoice("subscription_create", "paid") | {"payment_settings": settings_value}
        headers, body = webhooks.event("invoice.paid", invoice, event_id=f"evt_{settings_value}")
        with pytest.raises(WebhookVerificationError, match="payment_settings") as caught:
            portal.handle_webhook("stripe", headers, body)
        assert caught.value.reason == "body"


def test_a_stripe_payment_intent_id_that_is_no_stripe_id_is_a_body_failure():
    """Found by the property above: a signed charge whose ``payment_intent`` holds a lone
    surrogate made the SDK fail to quote its URL (an untyped UnicodeEncodeError)."""
    from portal_access.gateways.stripe import StripeGateway  # noqa: PLC0415

    gateway = StripeGateway(api_key="sk_test_x", webhook_secret="whsec_test")
    for intent_id in ("\ud800", "pi_\u00e9", "pi\n1"):
        with pytest.raises(WebhookVerificationError) as raised:
            gateway._resolve(intent_id)
        assert raised.value.reason == "body"
