"""The example portal (examples/flask_portal): staff pages, outbox, signals, Stripe by env."""

from __future__ import annotations

import re

import pytest

from portal_access._demo_server import _example
from portal_access.adapters import SystemClock
from portal_access.contrib.flask._csrf import SESSION_KEY
from portal_access.contrib.flask._state import app_state
from portal_access.testing.stripe import StripeWebhooks

STAFF = "staff secret 1"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def example(tmp_path):
    """The example's module, loaded as `python -m portal_access demo --serve` loads it."""
    return _example()


@pytest.fixture
def make_app(example, tmp_path):
    """Build example apps on fresh databases; close their stores afterwards."""
    apps = []

    def make(**env: str):
        base = {"PORTAL_URL": "http://localhost", "PORTAL_DATABASE": str(tmp_path / f"p{len(apps)}.db"),
                "STAFF_PASSWORD": STAFF, "SECRET_KEY": "test"}  # fmt: skip
        app = example.create_app({**base, **env})
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app_state(app).store.close()


def _token(client) -> str:
    client.get("/portal/login")
    with client.session_transaction() as session:
        return session[SESSION_KEY]


def _staff(client):
    assert client.post("/staff/login", data={"password": STAFF}).status_code == 303


def test_staff_pages_need_the_staff_password(make_app):
    """The staff pages are closed without the password."""
    client = make_app().test_client()
    assert client.get("/staff/").location == "/staff/login"
    assert "Wrong staff password" in client.post("/staff/login", data={"password": "x"}).text


def test_staff_create_an_offer_whose_kickoff_form_is_public(make_app):
    """Seed 000_07c53b15302458c1.txt: staff make a kickoff form with paid access; its link works for anyone."""
    app = make_app()
    staff = app.test_client()
    _staff(staff)
    staff.post(
        "/staff/",
        data={"name": "Window cleaning", "setup_name": "Survey", "setup_fee": "120.00",
              "monthly": "35.00", "invite": "1"},
    )  # fmt: skip
    offers = staff.get("/staff/").text
    assert "Window cleaning" in offers
    page = app.test_client().get("/portal/join/window-cleaning").text
    assert "$120.00" in page
    assert "$35.00 per month" in page
    bad = staff.post("/staff/", data={"name": "Broken", "setup_fee": "-5"}, follow_redirects=True)
    assert "Could not save the offer" in bad.text


def test_sign_up_mail_shows_on_the_outbox_and_paying_runs_the_host_signals(make_app):
    """The invitation shows on the outbox page; the host's signals add a site and, once paid, an onboarding invoice."""
    app = make_app()
    customer, staff = app.test_client(), app.test_client()
    token = _token(customer)
    customer.post(
        "/portal/join/client-onboarding",
        data={
            "csrf_token": token,
            "first_name": "Ann",
            "email": "ann@example.com",
            "company": "Gym",
        },
    )
    _staff(staff)
    outbox = staff.get("/staff/outbox").text
    link = re.search(r'href="http://localhost(/portal/invitation\?token=[^"]+)"', outbox)
    assert link is not None, outbox
    customer.post(
        link.group(1),
        data={"csrf_token": token, "token": link.group(1).split("token=")[1],
              "password": PASSWORD, "confirm": PASSWORD},
    )  # fmt: skip
    token = _token(customer)
    checkout = customer.post("/portal/pay/checkout", data={"csrf_token": token})
    customer.post(checkout.location.split("?")[0], data={"csrf_token": token, "method": "card"})
    summary = customer.get("/portal/").text
    assert "Main office" in summary
    assert "First month of facility care" in summary
    assert "Onboarding" in staff.get("/staff/").text


def test_stripe_by_environment_replaces_the_sandbox(make_app):
    """With STRIPE_* set, payments go to Stripe: its webhook endpoint checks Stripe's signature, no sandbox page exists."""
    app = make_app(STRIPE_API_KEY="sk_test_example", STRIPE_WEBHOOK_SECRET="whsec_example")
    client = app.test_client()
    assert client.get("/portal/sandbox/contacts/c-1").status_code == 404
    factory = StripeWebhooks(secret="whsec_example", clock=SystemClock())
    headers, body = factory.unknown(event_id="evt_1")
    assert (
        client.post("/portal-access/webhooks/stripe", headers=headers, data=body).status_code == 200
    )
    forged = factory.sign_with(body, "whsec_other")
    assert (
        client.post("/portal-access/webhooks/stripe", headers=forged, data=body).status_code == 400
    )


def test_the_example_refuses_to_start_without_a_staff_password(example):
    """No STAFF_PASSWORD: a clear error, not an open staff area."""
    with pytest.raises(RuntimeError, match="STAFF_PASSWORD"):
        example.create_app({"PORTAL_URL": "http://localhost"})
