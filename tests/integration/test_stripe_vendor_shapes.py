"""The Stripe adapter and its test doubles against Stripe's own descriptions of its API:
the fields the mapping reads exist in Stripe's objects, and the objects our fake API and
webhook factory build have no field Stripe does not send. (Requests are checked against
the SDK's request types in ``test_stripe_gateway.py``.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal_access import Money, PaymentMethodKind, PaymentStatus, SubscriptionStatus
from portal_access.adapters._clock import ManualClock
from portal_access.testing.stripe import (
    FakeStripeApi,
    StripeWebhooks,
    payment_intent_object,
    subscription_object,
)
from tests.stripe_shapes import (
    assert_stripe_shaped,
    example_has,
    sdk_has,
    stripe_examples,
    unknown_fields,
    vendor_folder,
)

needs_vendor_specs = pytest.mark.skipif(
    vendor_folder() is None,
    reason="Stripe's published examples are not here: put the vendor folder at "
    "../shared/vendor beside the project or set PORTAL_ACCESS_VENDOR_SPECS",
)

#: Every field of a Stripe object that the gateway reads (mapping.py, objects.py,
#: gateway.py, checkout.py), by the object it is read from.
READ_PATHS = {
    "event": ["id", "type", "created", "data.object"],
    "checkout.session": [
        "id", "url", "expires_at", "status", "mode", "payment_status", "payment_intent",
        "invoice", "metadata", "payment_method_types", "amount_total", "currency", "customer",
    ],
    "payment_intent": [
        "id", "status", "metadata", "amount", "currency", "payment_method_types",
        "last_payment_error", "last_payment_error.payment_method.type", "latest_charge",
    ],
    "charge": [
        "payment_intent", "metadata", "payment_method_details.type", "amount", "currency",
        "refunded", "id", "balance_transaction",
    ],
    "balance_transaction": ["fee", "currency"],
    "dispute": [
        "payment_intent", "metadata", "payment_method_details.type", "amount", "currency",
        "status", "balance_transactions",
    ],
    "invoice": [
        "id", "status", "total", "amount_paid", "currency", "created", "due_date",
        "billing_reason",
        "hosted_invoice_url", "payment_settings.payment_method_types",
        "parent.subscription_details.subscription", "parent.subscription_details.metadata",
    ],
    "subscription": [
        "id", "status", "created", "metadata", "latest_invoice", "cancellation_details.reason",
        "items.data.current_period_start",
    ],
    "invoice_payment": ["invoice", "status", "payment.payment_intent", "payment.charge"],
    "customer": ["id", "metadata"],
}  # fmt: skip

#: Read paths Stripe's example objects leave out because the nested object they sit in
#: (the value) is shown with its ``type`` only; the SDK's types (checked for every path)
#: have them.
SPARSE_IN_EXAMPLES = {
    ("payment_intent", "last_payment_error.payment_method.type"): "last_payment_error",
    ("invoice_payment", "payment.payment_intent"): "payment",
    ("invoice_payment", "payment.charge"): "payment",
}

READS = [(kind, path) for kind, paths in READ_PATHS.items() for path in paths]


@pytest.mark.parametrize(("kind", "path"), READS)
def test_every_field_the_gateway_reads_is_in_the_sdks_types(kind: str, path: str):
    """A field the mapping reads exists on Stripe's object for the pinned API version."""
    assert sdk_has(kind, path), f"stripe {kind} has no {path}"


@needs_vendor_specs
@pytest.mark.parametrize(("kind", "path"), READS)
def test_every_field_the_gateway_reads_is_in_stripes_published_example(kind: str, path: str):
    """Stripe's own example object shows the field (its parent, where the example is
    sparse there)."""
    if (kind, path) in SPARSE_IN_EXAMPLES:
        parent = SPARSE_IN_EXAMPLES[kind, path]
        assert example_has(kind, parent), f"Stripe's example {kind} has no {parent}"
        assert not example_has(kind, path), "the example shows it now: drop the exception"
    else:
        assert example_has(kind, path), f"Stripe's example {kind} has no {path}"


@needs_vendor_specs
def _kinds(value: object) -> set[str]:
    """The ``object`` names of every Stripe object in ``value``, at any depth."""
    if isinstance(value, list):
        return set().union(*map(_kinds, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    own = {value["object"]} if isinstance(value.get("object"), str) else set()
    return own.union(*map(_kinds, value.values())) if value else own


@needs_vendor_specs
def test_every_kind_of_object_we_fake_is_one_stripe_publishes():
    """The local API (every action: each Checkout mode, ACH, renewals, arrears, disputes,
    refunds) and the webhook factory build only objects Stripe has examples of."""
    from tests.integration.test_stripe_local_api import every_action  # noqa: PLC0415

    faked = _kinds([*every_action().values()]) - {"list", "search_result"}
    assert {"checkout.session", "invoice", "line_item", "invoice_payment", "price", "dispute",
            "setup_intent", "charge", "refund", "subscription_item"} <= faked  # fmt: skip
    assert {*READ_PATHS, *faked, "payment_method"} <= set(stripe_examples())


def test_an_invented_field_is_caught_at_any_depth():
    """The shape check finds a field Stripe does not send on an object, in a nested
    object, inside an event's object, and in a list's items."""
    intent = payment_intent_object(intent_id="pi_1", amount=Money(100, "USD"),
                                   status="requires_payment_method",
                                   method=PaymentMethodKind.CARD, metadata={})  # fmt: skip
    assert list(unknown_fields(intent)) == []
    intent["last_payment_error"]["payment_method"]["colour"] = "red"
    subscription = subscription_object(subscription_id="sub_1", status=SubscriptionStatus.ACTIVE,
                                       created=1, metadata={})  # fmt: skip
    subscription["items"]["data"][0]["renews"] = True
    event = {"id": "evt_1", "object": "event", "type": "x", "created": 1,
             "data": {"object": {**subscription, "plan_id": "p"}}}  # fmt: skip
    assert list(unknown_fields(intent)) == ["$.last_payment_error.payment_method.colour"]
    assert list(unknown_fields(event)) == [
        "$.data.object.items.data[0].renews",
        "$.data.object.plan_id",
    ]


def test_the_webhook_factory_builds_only_stripe_shaped_events():
    """Every event StripeWebhooks builds (each payment status, subscriptions, unknown
    types) is shaped as Stripe sends it."""
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with FakeStripeApi(clock=clock) as api:
        webhooks = StripeWebhooks(secret="whsec_shapes", clock=clock, api=api)
        for n, status in enumerate(PaymentStatus):
            webhooks.payment(event_id=f"evt_p{n}", payment_id=f"pi_{n}", invoice_id="inv-1",
                             contact_id="c-1", status=status, method=PaymentMethodKind.CARD,
                             amount=Money(2500, "USD"), version=n)  # fmt: skip
        for n, state in enumerate(SubscriptionStatus):
            webhooks.subscription(event_id=f"evt_s{n}", subscription_id="sub_1", contact_id="c-1",
                                  plan_id="plan-1", status=state, version=n, created=1,
                                  renewal_failed_at=clock.now())  # fmt: skip
        webhooks.unknown(event_id="evt_u")
    assert len(api.events) == len(PaymentStatus) + len(SubscriptionStatus) + 1
    assert_stripe_shaped(api)


def test_fields_the_pinned_api_version_dropped_are_refused():
    """The invoice's top-level subscription and payment intent and the subscription's own
    period are gone in the API version the SDK pins; the check knows it."""
    assert not sdk_has("invoice", "subscription")
    assert not sdk_has("invoice", "payment_intent")
    assert not sdk_has("invoice", "charge")  # its fee is found through invoice_payments
    assert not sdk_has("subscription", "current_period_start")
    assert sdk_has("subscription", "items.data.current_period_start")
