"""The Flask guard enforces the access decision on every portal request (seed 000)."""

from __future__ import annotations

from flask import Blueprint, Flask, g, render_template_string

from portal_access import (
    Account,
    Contact,
    EmailAddress,
    Site,
    SiteScope,
    StaffMember,
    StaffPermission,
)
from portal_access.contrib.flask import guard, portal_required
from portal_access.contrib.flask.testing import log_in, log_out
from tests.integration.flask_portal import CLASS, build, registered

ADMIN = StaffMember(id="staff-1", name="Admin", permissions=frozenset(StaffPermission))


def _host_app() -> Flask:
    """A host app with a guarded blueprint and a single guarded view."""
    app = Flask(__name__)
    reports = guard(Blueprint("reports", __name__))

    @reports.get("/reports")
    def report_list():
        return f"reports for {g.portal_contact_id}: {g.portal_decision.level.value}"

    @app.get("/sites")
    @portal_required
    def sites():
        return render_template_string(
            "{{ portal_decision.level.value }} {{ sites|length }}", sites=g.portal_sites.full
        )

    app.register_blueprint(reports)
    return app


def test_anonymous_visitor_is_sent_to_log_in_with_the_page_to_return_to():
    """No login: every guarded page redirects to the login page, remembering where."""
    harness = build()
    response = harness.client.get("/portal/")
    assert response.status_code == 303
    assert response.location == "/portal/login?next=/portal/"


def test_pay_invoice_only_allows_the_pay_invoice_view_and_checkout_only():
    """Seed 000_07c53b15302458c1.txt: a registered Client with an open required invoice sees only the Pay Invoice view."""
    harness, _contact = registered(app=_host_app())
    assert harness.client.get("/portal/pay").status_code == 200
    for path in ("/portal/", "/portal/renew", "/reports", "/sites"):
        response = harness.client.get(path)
        assert (response.status_code, response.location) == (303, "/portal/pay"), path
    assert harness.post("/portal/pay/checkout").status_code == 303


def test_pay_invoice_page_stays_while_an_ach_payment_processes():
    """Seed 000_07c53b15302458c1.txt: under grant-on-clearing a processing ACH payment keeps the contact on the pay view, which says so."""
    harness, contact_id = registered()
    harness.checkout("ach")
    response = harness.client.get("/portal/", follow_redirects=True)
    assert response.request.path == "/portal/pay"
    assert "Your payment is processing" in response.text
    assert "of $299.00. Bank payments" in response.text  # the processing payment, named
    assert "Pay $299.00 securely" not in response.text
    console = harness.client.get(harness.console(contact_id)).text
    assert console.count("Clear payment") == 1  # the sandbox console lists it to settle


def test_full_access_passes_and_restricted_pages_send_home():
    """A paid contact reaches the summary and host views; the pay and renew pages send them home."""
    harness, contact_id = registered(app=_host_app())
    harness.checkout("card")
    assert harness.client.get("/portal/").status_code == 200
    assert harness.client.get("/reports").text == f"reports for {contact_id}: full"
    assert harness.client.get("/sites").text == "full 0"
    for path in ("/portal/pay", "/portal/renew"):
        response = harness.client.get(path)
        assert (response.status_code, response.location) == (303, "/portal/"), path


def test_resubscribe_only_allows_the_re_subscribe_path_only():
    """Seed 000_07c53b15302458c1.txt: after a failed renewal the contact is restricted to the re-subscribe path."""
    harness, contact_id = registered(app=_host_app())
    harness.checkout("card")
    subscription = harness.client.get(harness.console(contact_id)).text.split("subscriptions/")[1]
    subscription_id = subscription.split('"')[0]
    harness.post(
        f"{harness.console(contact_id)}/subscriptions/{subscription_id}", {"outcome": "fail"}
    )
    assert harness.client.get("/portal/renew").status_code == 200
    for path in ("/portal/", "/portal/pay", "/reports"):
        response = harness.client.get(path)
        assert (response.status_code, response.location) == (303, "/portal/renew"), path


def test_no_access_logs_out_and_says_why():
    """A logged-in contact whose decision is NONE (not registered) is logged out and sent to log in."""
    harness = build()
    contact_id = harness.sign_up()
    log_in(harness.client, contact_id)
    response = harness.client.get("/portal/")
    assert (response.status_code, response.location) == (303, "/portal/login")
    page = harness.client.get("/portal/login").text
    assert "Finish registering from your invitation email first." in page
    with harness.client.session_transaction() as session:
        assert "portal_access.contact" not in session


def test_voided_required_payment_gives_full_access():
    """Seed 000_07c53b15302458c1.txt: staff cancel the required payment and the contact gets in."""
    harness, contact_id = registered()
    harness.portal.cancel_required_payment(contact_id, staff=ADMIN)
    assert harness.client.get("/portal/").status_code == 200


def test_a_deleted_login_is_treated_as_no_login():
    """A session naming a contact the store does not know is logged out."""
    harness = build()
    log_in(harness.client, "c-nobody")
    response = harness.client.get("/portal/")
    assert response.location.startswith("/portal/login")


def test_host_login_maps_its_user_to_a_contact():
    """With contact_loader (Flask-Login style) the host's login decides who the contact is."""
    harness, contact_id = registered()
    log_out(harness.client)
    current = {"contact": None}
    harness.extension.contact_loader(lambda: current["contact"])
    assert harness.client.get("/portal/pay").status_code == 303
    current["contact"] = contact_id
    assert harness.client.get("/portal/pay").status_code == 200


def test_site_scope_is_on_g_for_views_and_templates():
    """Seed 001_345994b3bb014aeb.txt: a site-level contact's decision carries only their sites, on g."""
    harness = build(app=_host_app(), offer=False)
    portal = harness.portal
    portal.save_account(Account(id="acc-1", number="1", name="Gym", account_class=CLASS))
    for site_id in ("s-1", "s-2"):
        portal.save_site(Site(id=site_id, account_id="acc-1", name=site_id))
    contact = Contact(
        id="c-di",
        account_id="acc-1",
        first_name="Di",
        email=EmailAddress.parse("di@example.com"),
        scope=SiteScope.only("s-2"),
    )
    portal.create_contact(contact)
    portal.invite_contact(contact.id, staff=ADMIN)
    harness.register("di@example.com")
    assert harness.client.get("/sites").text == "full 1"
