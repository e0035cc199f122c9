"""The webhook view and CSRF in Django: forms need Django's CSRF token, the webhook view
needs the vendor's signature and nothing else."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from portal_access import StorageError
from portal_access.contrib.django import portal
from portal_access.contrib.django._settings import current_settings
from portal_access.testing.sandbox import SandboxWebhooks
from tests.django.web_harness import SANDBOX_SECRET, build

pytestmark = pytest.mark.django_db(transaction=True)

WEBHOOK = "/portal/webhooks/sandbox"


@pytest.fixture
def web(settings):
    return build(settings)


def _signed(web, event_id="evt_1"):
    return SandboxWebhooks(secret=SANDBOX_SECRET, clock=web.clock).unknown(event_id=event_id)


def _post(client, headers, body, path=WEBHOOK):
    return client.post(path, data=body, content_type="application/json", headers=dict(headers))


def test_a_signed_webhook_is_applied_once_and_its_repeat_is_a_duplicate(web):
    """DESIGN: verified, recorded once by event id, answered 200 both times, CSRF checks on."""
    headers, body = _signed(web)
    first = _post(web.client, headers, body)
    again = _post(web.client, headers, body)
    assert first.status_code == again.status_code == 200
    assert first.json()["outcome"].startswith("ignored")
    assert again.json()["outcome"] == "duplicate"


def test_the_webhook_path_answers_with_and_without_a_trailing_slash(web):
    """Vendors do not follow APPEND_SLASH's redirect of a POST: both paths answer."""
    headers, body = _signed(web)
    assert _post(web.client, headers, body, WEBHOOK + "/").status_code == 200


@pytest.mark.parametrize("kind", ["wrong secret", "stale", "no header", "tampered body"])
def test_a_webhook_failing_verification_answers_400_and_changes_nothing(web, kind):
    """DESIGN: a bad signature, an old timestamp or a changed body is refused with 400 and its reason."""
    factory = SandboxWebhooks(secret=SANDBOX_SECRET, clock=web.clock)
    headers, body = factory.unknown(event_id="evt_1")
    if kind == "wrong secret":
        headers = factory.sign_with(body, "whsec_wrong")
    elif kind == "stale":
        headers = factory.stale(body)
    elif kind == "no header":
        headers = {}
    else:
        body = body.replace(b"evt_1", b"evt_2")
    response = _post(web.client, headers, body)
    assert response.status_code == 400
    assert response.json()["error"] == "verification failed"
    good_headers, good_body = factory.unknown(event_id="evt_1")
    retried = _post(web.client, good_headers, good_body)
    assert retried.json()["outcome"].startswith("ignored")  # not a duplicate: nothing was kept


def test_an_unconfigured_gateway_has_no_endpoint(web):
    """Only configured gateways answer: anything else is 404."""
    assert (
        web.client.post(
            "/portal/webhooks/stripe", data=b"{}", content_type="application/json"
        ).status_code
        == 404
    )
    assert web.client.get(WEBHOOK).status_code == 405


def test_an_event_that_must_wait_for_another_answers_503_so_the_vendor_retries(web):
    """DESIGN: a renewal payment arriving before its invoice is deferred (retry_later -> 503 with Retry-After), then applied on retry."""
    contact_id = web.sign_up()
    web.register()
    web.checkout("card")
    (gateway,) = current_settings().gateways
    vendor = gateway.vendor
    (subscription,) = vendor.subscription_ids(contact_id)
    vendor.renew(subscription, succeed=True)
    deliveries = list(vendor.pending_deliveries())
    payment = next(d for d in deliveries if json.loads(d[1])["type"] == "payment.succeeded")
    early = _post(web.client, *payment)
    assert early.status_code == 503
    assert early["Retry-After"] == "30"
    assert early.json()["outcome"].startswith("deferred")
    for headers, body in deliveries:
        assert _post(web.client, headers, body).status_code == 200
    assert _post(web.client, *payment).json()["outcome"] == "duplicate"


def test_a_store_outage_answers_503_so_the_vendor_retries(web, monkeypatch):
    """A transient store failure is a 503 (retry later), never a 2xx that loses the event."""
    headers, body = _signed(web)

    def down(*_args, **_kwargs):
        raise StorageError("the database is unreachable")

    monkeypatch.setattr(portal(), "handle_webhook", down)
    response = _post(web.client, headers, body)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    monkeypatch.undo()
    assert _post(web.client, headers, body).status_code == 200


# -- CSRF ----------------------------------------------------------------------------------

FORMS = [
    "/portal/login/",
    "/portal/having-trouble/",
    "/portal/join/kickoff/",
    "/portal/invitation/?token=x",
    "/portal/logout/",
    "/portal/pay/checkout/",
    "/portal/quick-pay/",
    "/portal/sandbox/checkout/cs_sbx_0001/",
]


@pytest.mark.parametrize("path", FORMS)
def test_every_form_refuses_a_post_without_the_csrf_token(web, path):
    """CSRF the Django way: a POST without the token, or with a forged one, is refused with 403."""
    web.csrf()
    missing = web.client.post(path, data={"email": "ann@example.com"})
    forged = web.client.post(path, data={"csrfmiddlewaretoken": "x" * 64, "email": "a@b.c"})
    assert missing.status_code == forged.status_code == 403


def test_forms_are_protected_even_without_csrf_middleware(web, settings):
    """The portal's views check CSRF themselves (csrf_protect): removing the middleware weakens nothing."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "CsrfViewMiddleware" not in m]
    assert Client(enforce_csrf_checks=True).post("/portal/login/", data={}).status_code == 403


def test_the_webhook_needs_no_csrf_token_even_with_csrf_checks_on(web):
    """The webhook view is csrf_exempt: a signed delivery with no cookie and no token is 200."""
    headers, body = _signed(web)
    assert _post(Client(enforce_csrf_checks=True), headers, body).status_code == 200
