"""Webhook endpoints and CSRF: forms need the token, webhooks need the vendor's signature."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from flask import Flask, request

from portal_access import KickoffForm, StorageError
from portal_access.adapters import ManualClock
from portal_access.contrib.flask._webhooks import plain_headers
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.storage.memory import MemoryStore
from portal_access.testing.sandbox import SandboxVendor, SandboxWebhooks
from tests.integration.flask_portal import OFFER, PASSWORD, SANDBOX_SECRET, START, build

ENDPOINT = "/portal-access/webhooks"
OWN_SECRET = "whsec_host_built"


class FlakyStore(MemoryStore):
    """A memory store whose transactions fail while ``down`` (a database outage)."""

    down = False

    @contextmanager
    def transaction(self):
        if self.down:
            raise StorageError("the database is unreachable")
        with super().transaction() as transaction:
            yield transaction


def _sandbox_factory(harness) -> SandboxWebhooks:
    return SandboxWebhooks(secret=SANDBOX_SECRET, clock=harness.clock)


def _subscribed_with_own_sandbox():
    """A contact who paid through a sandbox gateway the host built and passed in itself
    (no development page): the test plays the vendor."""
    clock = ManualClock(START)
    vendor = SandboxVendor(webhook_secret=OWN_SECRET, clock=clock)
    gateway = SandboxGateway(vendor=vendor, webhook_secret=OWN_SECRET, clock=clock)
    harness = build(gateways=[gateway], config={"PORTAL_ACCESS_SANDBOX": False}, clock=clock)
    portal = harness.portal
    signup = portal.submit_kickoff_form(OFFER, KickoffForm(first_name="Bo", email="bo@example.com"))
    token = harness.link("bo@example.com", "/invitation").split("token=")[1]
    portal.accept_invitation(token, PASSWORD)
    back = "http://localhost/portal/"
    session = portal.start_checkout(signup.contact_id, success_url=back, cancel_url=back)
    vendor.pay(session.session_id)
    statuses = vendor.deliver(
        lambda headers, body: (
            harness.client.post(f"{ENDPOINT}/sandbox", headers=dict(headers), data=body).status_code
        )
    )
    assert set(statuses) == {200}
    return harness, vendor, signup.contact_id


def test_a_signed_webhook_is_applied_once_and_its_repeat_is_a_duplicate():
    """docs/rules.md: verified, recorded once by event id, answered 2xx both times."""
    harness = build()
    headers, body = _sandbox_factory(harness).unknown(event_id="evt_1")
    first = harness.client.post(f"{ENDPOINT}/sandbox", headers=headers, data=body)
    again = harness.client.post(f"{ENDPOINT}/sandbox", headers=headers, data=body)
    assert first.status_code == again.status_code == 200
    assert first.json["outcome"].startswith("ignored")
    assert again.json["outcome"] == "duplicate"


@pytest.mark.parametrize("kind", ["wrong secret", "stale", "no header", "tampered body"])
def test_a_webhook_failing_verification_answers_400_and_changes_nothing(kind):
    """docs/rules.md: a bad signature, an old timestamp or a changed body is refused with 400 and its reason."""
    harness = build()
    factory = _sandbox_factory(harness)
    headers, body = factory.unknown(event_id="evt_1")
    if kind == "wrong secret":
        headers = factory.sign_with(body, "whsec_wrong")
    elif kind == "stale":
        headers = factory.stale(body)
    elif kind == "no header":
        headers = {}
    else:
        body = body.replace(b"evt_1", b"evt_2")
    response = harness.client.post(f"{ENDPOINT}/sandbox", headers=headers, data=body)
    assert response.status_code == 400
    assert response.json["error"] == "verification failed"
    good_headers, good_body = factory.unknown(event_id="evt_1")
    retried = harness.client.post(f"{ENDPOINT}/sandbox", headers=good_headers, data=good_body)
    assert retried.json["outcome"].startswith("ignored")  # not a duplicate: nothing was kept


def test_an_unconfigured_gateway_has_no_endpoint():
    """Only configured gateways are mounted: anything else is 404."""
    harness = build()
    assert harness.client.post(f"{ENDPOINT}/stripe", data=b"{}").status_code == 404


def test_an_event_that_must_wait_for_another_answers_503_so_the_vendor_retries():
    """docs/rules.md: a renewal payment arriving before its invoice is deferred (retry_later -> 503), then applied on retry."""
    harness, vendor, contact_id = _subscribed_with_own_sandbox()
    (subscription,) = vendor.subscription_ids(contact_id)
    vendor.renew(subscription, succeed=True)
    deliveries = list(vendor.pending_deliveries())
    payment = next(d for d in deliveries if json.loads(d[1])["type"] == "payment.succeeded")
    early = harness.client.post(f"{ENDPOINT}/sandbox", headers=payment[0], data=payment[1])
    assert early.status_code == 503
    assert early.headers["Retry-After"]
    assert early.json["outcome"].startswith("deferred")
    for headers, body in deliveries:
        response = harness.client.post(f"{ENDPOINT}/sandbox", headers=headers, data=body)
        assert response.status_code == 200
    retried = harness.client.post(f"{ENDPOINT}/sandbox", headers=payment[0], data=payment[1])
    assert retried.json["outcome"] == "duplicate"


def test_a_store_outage_answers_503_so_the_vendor_retries():
    """A transient store failure is a 503 (retry later), never a 2xx that loses the event."""
    store = FlakyStore()
    harness = build(store=store)
    headers, body = _sandbox_factory(harness).unknown(event_id="evt_1")
    store.down = True
    assert harness.client.post(f"{ENDPOINT}/sandbox", headers=headers, data=body).status_code == 503
    store.down = False
    assert harness.client.post(f"{ENDPOINT}/sandbox", headers=headers, data=body).status_code == 200


def test_werkzeug_headers_become_a_plain_mapping_keeping_repeats():
    """The edge turns Werkzeug's headers into Mapping[str, str]; repeated headers are comma-joined."""
    harness = build()
    with harness.app.test_request_context(headers=[("X-A", "1"), ("X-A", "2"), ("X-B", "3")]):
        plain = plain_headers(request.headers.items())
    assert (plain["X-A"], plain["X-B"]) == ("1, 2", "3")


# -- CSRF ----------------------------------------------------------------------------------

FORMS = [
    "/portal/login",
    "/portal/having-trouble",
    "/portal/join/kickoff",
    "/portal/invitation?token=x",
    "/portal/logout",
    "/portal/pay/checkout",
    "/portal/sandbox/checkout/cs_sbx_0001",
]


@pytest.mark.parametrize("path", FORMS)
def test_every_form_refuses_a_post_without_the_session_token(path):
    """CSRF: a POST without the token, or with another session's, is refused with 400."""
    harness = build()
    harness.csrf()
    missing = harness.client.post(path, data={"email": "ann@example.com"})
    forged = harness.client.post(path, data={"csrf_token": "forged", "email": "ann@example.com"})
    assert missing.status_code == forged.status_code == 400
    assert "This form has expired" in missing.text


@pytest.mark.parametrize("order", ["before", "after"])
def test_webhooks_work_beside_flask_wtf_csrf_protect(order):
    """With Flask-WTF's CSRFProtect set up before or after the extension, webhooks still answer 200 and the portal's forms keep their own check."""
    csrf_module = pytest.importorskip("flask_wtf.csrf")
    app = Flask(__name__)
    if order == "before":
        csrf_module.CSRFProtect(app)
    harness = build(app=app)
    if order == "after":
        csrf_module.CSRFProtect(app)
    headers, body = _sandbox_factory(harness).unknown(event_id="evt_1")
    response = harness.client.post(f"{ENDPOINT}/sandbox", headers=headers, data=body)
    assert response.status_code == 200, response.text
    assert harness.client.post("/portal/login", data={}).status_code == 400
