"""The guard in Django: the middleware and the view decorator give the Flask guard's
outcomes for every decision (seed 000), and put the decision on the request."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from portal_access import StaffMember, StaffPermission
from portal_access.contrib.django.testing import log_in, log_out
from tests.django.web_harness import build

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = StaffMember(id="staff-1", name="Admin", permissions=frozenset(StaffPermission))
MIDDLEWARE = "tests.django.urls.BillingGuard"
#: Host pages: the decorator, the middleware's guarded namespace, guard() over a urlconf.
HOST_PAGES = ("/reports/", "/billing/statements/", "/guarded/invoices/")


@pytest.fixture(params=["decorator", "middleware"])
def web(request, settings):
    """The project without the middleware (the decorator alone guards), and with it."""
    if request.param == "middleware":
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    harness = build(settings)
    harness.with_middleware = request.param == "middleware"
    return harness


def _registered(web):
    contact_id = web.sign_up()
    web.register()
    return contact_id


def _guarded(web):
    """The host pages guarded in this configuration (a namespace needs the middleware)."""
    return [page for page in HOST_PAGES if web.with_middleware or "billing" not in page]


def _where(response):
    return response.status_code, response.get("Location")


def test_no_login_is_sent_to_log_in_with_the_page_to_return_to(web):
    """No login: every guarded page answers 303 to the login page, remembering where."""
    assert _where(web.client.get("/portal/")) == (303, "/portal/login/?next=%2Fportal%2F")
    for page in _guarded(web):
        location = web.client.get(page)["Location"]
        assert location.startswith("/portal/login/?next="), page


def test_pay_invoice_only_reaches_the_pay_view_and_checkout_only(web):
    """Seed 000_07c53b15302458c1.txt: a registered Client with an open required invoice sees only the Pay Invoice view."""
    _registered(web)
    assert web.client.get("/portal/pay/").status_code == 200
    for page in ("/portal/", "/portal/renew/", *_guarded(web)):
        assert _where(web.client.get(page)) == (303, "/portal/pay/"), page
    assert web.post("/portal/pay/checkout/").status_code == 303


def test_full_access_passes_and_restricted_pages_send_home(web):
    """A paid contact reaches the summary and host pages; the pay and renew pages send them home."""
    contact_id = _registered(web)
    web.checkout("card")
    assert web.client.get("/portal/").status_code == 200
    assert web.client.get("/reports/").content.decode() == f"reports for {contact_id}: full"
    for page in _guarded(web):
        assert web.client.get(page).status_code == 200, page
    for page in ("/portal/pay/", "/portal/renew/"):
        assert _where(web.client.get(page)) == (303, "/portal/"), page


def test_resubscribe_only_reaches_the_re_subscribe_path_only(web):
    """Seed 000_07c53b15302458c1.txt: after a failed renewal the contact is restricted to the re-subscribe path."""
    contact_id = _registered(web)
    web.checkout("card")
    console = f"/portal/sandbox/contacts/{contact_id}/"
    (subscription,) = re.findall(
        r"subscriptions/([^/]+)/", web.client.get(console).content.decode()
    )
    web.post(f"{console}subscriptions/{subscription}/", {"outcome": "fail"})
    assert web.client.get("/portal/renew/").status_code == 200
    for page in ("/portal/", "/portal/pay/", *_guarded(web)):
        assert _where(web.client.get(page)) == (303, "/portal/renew/"), page


def test_no_access_logs_out_and_says_why(web):
    """A logged-in contact whose decision is NONE (not registered) is logged out and told why."""
    contact_id = web.sign_up()
    log_in(web.client, contact_id)
    assert _where(web.client.get("/portal/")) == (303, "/portal/login/")
    page = web.client.get("/portal/login/").content.decode()
    assert "Finish registering from your invitation email first." in page
    assert "_auth_user_id" not in web.client.session
    assert "portal_access.contact" not in web.client.session


def test_voided_required_payment_gives_full_access(web):
    """Seed 000_07c53b15302458c1.txt: staff cancel the required payment and the contact gets in."""
    contact_id = _registered(web)
    web.portal.cancel_required_payment(contact_id, staff=ADMIN)
    assert web.client.get("/portal/").status_code == 200


def test_a_session_naming_an_unknown_contact_is_logged_out(web):
    """A session naming a contact the store does not know (deleted while logged in) is logged out."""
    user = get_user_model().objects.create_user(email="gone@example.com", password="x" * 12)
    web.client.force_login(user)
    session = web.client.session
    session["portal_access.contact"] = "c-nobody"
    session.save()
    assert web.client.get("/reports/")["Location"].startswith("/portal/login/")
    assert "_auth_user_id" not in web.client.session


def test_a_host_login_without_a_contact_is_no_portal_login(web):
    """A user logged in to Django without a contact (staff, say) is not let through."""
    user = get_user_model().objects.create_user(email="staff@example.com", password="x" * 12)
    web.client.force_login(user)
    assert web.client.get("/reports/")["Location"].startswith("/portal/login/")


def test_log_out_helper_ends_the_portal_session(web):
    """The testing helper logs a contact in as the login page would, and out again."""
    contact_id = _registered(web)
    web.portal.cancel_required_payment(contact_id, staff=ADMIN)
    log_out(web.client)
    log_in(web.client, contact_id)
    assert web.client.get("/reports/").status_code == 200
    log_out(web.client)
    assert web.client.get("/reports/").status_code == 303


def test_the_middleware_puts_the_decision_on_every_request(settings):
    """With the middleware, an unguarded page also sees the contact's decision (or none)."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    web = build(settings)
    assert web.client.get("/open/").content == b"open: no contact"
    _registered(web)
    assert web.client.get("/open/").content == b"open: pay_invoice_only"
