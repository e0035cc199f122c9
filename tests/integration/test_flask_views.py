"""Every portal page through Flask's test client: the happy path and bad input."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from portal_access import (
    GatewayUnavailableError,
    Invoice,
    InvoiceLine,
    Money,
    Site,
    StaffMember,
    StaffPermission,
    SystemPortalOptions,
)
from portal_access.contrib.flask._state import app_state
from portal_access.contrib.flask.testing import log_out
from portal_access.repositories import unit_of_work
from tests.integration.flask_portal import PASSWORD, build, registered

ADMIN = StaffMember(id="staff-1", name="Admin", permissions=frozenset(StaffPermission))
OPEN_DOORS = SystemPortalOptions(pay_as_guest=True, request_login_button=True)


def _host_invoice(account_id: str, *, number: str = "H-100", code: str = "QP7X2K9A") -> Invoice:
    return Invoice(
        id=f"inv-{number}",
        number=number,
        account_id=account_id,
        title="March service",
        currency="USD",
        lines=(InvoiceLine("Cleaning", Money(12000, "USD")),),
        issued_on=date(2026, 3, 1),
        due_on=date(2026, 3, 31),
        gateway="sandbox",
        quick_pay_code=code,
    )


def _account_of(harness, contact_id: str) -> str:
    with unit_of_work(harness.store) as uow:
        return uow.contacts.get(contact_id).account_id


# -- the kickoff form ----------------------------------------------------------------------


def test_kickoff_form_shows_the_offer_and_its_price():
    """Seed 000_07c53b15302458c1.txt: the kickoff form shows what the offer charges."""
    page = build().client.get("/portal/join/kickoff").text
    assert "Client onboarding" in page
    assert "$250.00" in page
    assert "$49.00 per month" in page


def test_kickoff_form_creates_the_contact_and_mails_the_invitation():
    """Seed 000_07c53b15302458c1.txt: submitting the form mails a portal invitation immediately."""
    harness = build()
    response = harness.post(
        "/portal/join/kickoff",
        {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "company": "Gym"},
    )
    assert response.status_code == 200
    assert "We sent a link to ann@example.com" in response.text
    assert harness.link("ann@example.com", "/invitation")


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"first_name": "Ann", "email": "not-an-email"}, "Email"),
        ({"first_name": "", "email": "ann@example.com"}, "First name"),
    ],
)
def test_kickoff_form_refuses_bad_input_and_keeps_what_was_typed(form, message):
    """A bad email or a blank name answers 400 with the field named, and nothing is created."""
    harness = build()
    response = harness.post("/portal/join/kickoff", {"last_name": "Lee", "company": "", **form})
    assert response.status_code == 400
    assert message in response.text
    assert 'value="Lee"' in response.text
    assert harness.mailer.sent == []


def test_kickoff_form_of_an_unknown_offer_is_not_found():
    """An unknown offer's form is a 404 page."""
    response = build().client.get("/portal/join/nope")
    assert response.status_code == 404
    assert "Page not found" in response.text


# -- invitations and password links --------------------------------------------------------


def test_invitation_get_shows_a_form_and_consumes_nothing():
    """docs/rules.md: single-use links are consumed on POST only (mail scanners open links)."""
    harness = build()
    harness.sign_up()
    link = harness.link("ann@example.com", "/invitation")
    for _ in range(2):
        response = harness.client.get(link)
        assert response.status_code == 200
        assert "Set up your portal login" in response.text
        assert "ann@example.com" in response.text
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_invitation_post_registers_logs_in_and_lands_on_pay_invoice():
    """Seed 000_07c53b15302458c1.txt: after registration the contact is sent to the Pay Invoice view."""
    harness = build()
    harness.sign_up()
    link = harness.link("ann@example.com", "/invitation")
    token = link.split("token=")[1]
    response = harness.post(link, {"token": token, "password": PASSWORD, "confirm": PASSWORD})
    assert (response.status_code, response.location) == (303, "/portal/")
    assert harness.client.get("/portal/", follow_redirects=True).request.path == "/portal/pay"


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "Password must be at least 10 characters."),
        (PASSWORD, PASSWORD + "!", "Passwords do not match."),
    ],
)
def test_invitation_refuses_a_bad_password_and_keeps_the_link(password, confirm, message):
    """A refused password leaves the link usable."""
    harness = build()
    harness.sign_up()
    link = harness.link("ann@example.com", "/invitation")
    token = link.split("token=")[1]
    response = harness.post(link, {"token": token, "password": password, "confirm": confirm})
    assert response.status_code == 400
    assert message in response.text
    assert harness.client.get(link).status_code == 200


def test_a_used_or_forged_invitation_link_says_so():
    """A used link and a made-up one each answer 400 with a way to get a new one."""
    harness = build()
    harness.sign_up()
    link = harness.link("ann@example.com", "/invitation")
    harness.register()
    used = harness.client.get(link)
    assert used.status_code == 400
    assert "already used" in used.text
    forged = harness.client.get("/portal/invitation?token=forged")
    assert forged.status_code == 400
    assert "not valid" in forged.text
    assert "Email me a new link" in forged.text


def test_portal_instructions_link_sets_a_password():
    """Seed 003_11ad6fb0c789d951.txt: "send portal instructions" mails a set-password link, never a password."""
    harness = build()
    contact_id = harness.sign_up()
    harness.portal.send_portal_instructions(contact_id, staff=ADMIN)
    link = harness.link("ann@example.com", "/set-password")
    assert "Choose your password" in harness.client.get(link).text
    token = link.split("token=")[1]
    response = harness.post(link, {"token": token, "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 303


# -- logging in and out --------------------------------------------------------------------


def test_log_in_with_email_and_password_goes_to_the_page_asked_for():
    """Seed 003_11ad6fb0c789d951.txt: the email is the username; a safe `next` is honoured."""
    harness, _contact = registered()
    log_out(harness.client)
    response = harness.post(
        "/portal/login", {"email": "ann@example.com", "password": PASSWORD, "next": "/portal/pay"}
    )
    assert (response.status_code, response.location) == (303, "/portal/pay")


def test_log_in_never_redirects_off_site():
    """An absolute or protocol-relative `next` is ignored (no open redirect)."""
    harness, _contact = registered()
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        log_out(harness.client)
        response = harness.post(
            "/portal/login", {"email": "ann@example.com", "password": PASSWORD, "next": target}
        )
        assert response.location == "/portal/", target


def test_wrong_password_does_not_say_which_part_was_wrong():
    """docs/rules.md: a failed login never says whether the email exists."""
    harness, _contact = registered()
    log_out(harness.client)
    for email in ("ann@example.com", "nobody@example.com"):
        response = harness.post("/portal/login", {"email": email, "password": "wrong password"})
        assert response.status_code == 400
        assert "That email and password do not match." in response.text


def test_too_many_login_attempts_are_refused_with_429():
    """Attempts per email are rate-limited."""
    harness, _contact = registered(limit=3)
    log_out(harness.client)
    statuses = [
        harness.post("/portal/login", {"email": "ann@example.com", "password": "nope"}).status_code
        for _ in range(4)
    ]
    assert statuses[-1] == 429


#: Each anonymous form, and a submission that names something new on every attempt
#: (so only the per-client limit can refuse it).
ANONYMOUS_FORMS = {
    "/portal/login": lambda n: {"email": f"spray{n}@example.com", "password": "wrong password"},
    "/portal/having-trouble": lambda n: {"email": f"spray{n}@example.com"},
    "/portal/register": lambda n: {"invoice_number": f"N-{n}", "code": "NOPE",
                                   "contact_name": "Eve", "email": f"spray{n}@example.com"},
    "/portal/quick-pay": lambda n: {"invoice_number": f"N-{n}", "code": "NOPE"},
}  # fmt: skip


@pytest.mark.parametrize("path", sorted(ANONYMOUS_FORMS))
def test_each_visitors_address_is_limited_on_its_own(path):
    """Anonymous forms are limited per client (the request's address), across emails and numbers."""
    harness = build(system=OPEN_DOORS, limit=3)
    form = ANONYMOUS_FORMS[path]

    def status(n: int, address: str) -> int:
        response = harness.post(path, form(n), environ_base={"REMOTE_ADDR": address})
        return response.status_code

    sprayed = [status(n, "203.0.113.1") for n in range(4)]
    assert 429 not in sprayed[:3]
    assert sprayed[3] == 429
    assert status(4, "203.0.113.2") != 429


def test_requests_without_an_address_share_one_limit():
    """A request with no client address is limited with every other such request, never unlimited."""
    harness = build(limit=3)
    statuses = [
        harness.post(
            "/portal/login",
            {"email": f"spray{n}@example.com", "password": "wrong password"},
            environ_base={"REMOTE_ADDR": ""},
        ).status_code
        for n in range(4)
    ]
    assert statuses == [400, 400, 400, 429]


def test_log_in_rotates_the_session():
    """A session planted before login is not the session after it (session fixation)."""
    harness, _contact = registered()
    log_out(harness.client)
    with harness.client.session_transaction() as session:
        session["planted"] = "by an attacker"
    harness.post("/portal/login", {"email": "ann@example.com", "password": PASSWORD})
    with harness.client.session_transaction() as session:
        assert "planted" not in session
        assert "portal_access.contact" in session


def test_temporary_password_must_be_changed_at_first_login():
    """Seed 003_11ad6fb0c789d951.txt: a staff-set password leads to the change page, then in."""
    harness = build()
    contact_id = harness.sign_up()
    harness.portal.set_temporary_password(contact_id, "temporary pass 1", staff=ADMIN)
    response = harness.post(
        "/portal/login", {"email": "ann@example.com", "password": "temporary pass 1"}
    )
    assert response.location == "/portal/change-password?email=ann@example.com"
    wrong = harness.post(
        "/portal/change-password",
        {"email": "ann@example.com", "current_password": "nope", "new_password": PASSWORD,
         "confirm": PASSWORD},
    )  # fmt: skip
    assert wrong.status_code == 400
    changed = harness.post(
        "/portal/change-password",
        {"email": "ann@example.com", "current_password": "temporary pass 1",
         "new_password": PASSWORD, "confirm": PASSWORD},
    )  # fmt: skip
    assert (changed.status_code, changed.location) == (303, "/portal/")
    assert harness.client.get("/portal/", follow_redirects=True).request.path == "/portal/pay"


def test_log_out_is_a_post_that_ends_the_session():
    """Logging out needs a POST with the CSRF token; it clears the session."""
    harness, _contact = registered()
    assert harness.client.get("/portal/logout").status_code == 405
    response = harness.post("/portal/logout")
    assert (response.status_code, response.location) == (303, "/portal/login")
    assert harness.client.get("/portal/pay").status_code == 303


# -- having trouble, re-subscribing ------------------------------------------------------


def test_having_trouble_answers_the_same_whether_or_not_the_email_matched():
    """docs/rules.md: anonymous flows answer the same way; the reset link goes to the matched address."""
    harness, _contact = registered()
    log_out(harness.client)
    known = harness.post("/portal/having-trouble", {"email": "ann@example.com"})
    unknown = harness.post("/portal/having-trouble", {"email": "bob@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("ann", "x") == unknown.text.replace("bob", "x")
    link = harness.link("ann@example.com", "/reset-password")
    token = link.split("token=")[1]
    new = "another good passphrase"
    assert harness.post(link, {"token": token, "password": new, "confirm": new}).status_code == 303


def test_having_trouble_refuses_a_non_email():
    """Not an email address: 400, and nothing about any account."""
    harness = build()
    response = harness.post("/portal/having-trouble", {"email": "nope"})
    assert response.status_code == 400


def test_failed_renewal_then_re_subscribe_restores_access():
    """Seed 000_07c53b15302458c1.txt: the re-subscribe link leads to new payment details; a successful charge restores access."""
    harness, contact_id = registered()
    harness.checkout("card")
    console = harness.client.get(harness.console(contact_id)).text
    subscription_id = console.split("subscriptions/")[1].split('"')[0]
    harness.post(
        f"{harness.console(contact_id)}/subscriptions/{subscription_id}", {"outcome": "fail"}
    )
    renew = harness.post("/portal/renew")
    assert "We sent a re-subscribe link to ann@example.com" in renew.text
    link = harness.link("ann@example.com", "/resubscribe")
    assert "Re-subscribe" in harness.client.get(link).text
    opened = harness.post(link, {"token": link.split("token=")[1]})
    assert opened.location.startswith("/portal/sandbox/checkout/")
    paid = harness.post(opened.location.split("?")[0], {"method": "card", "back": "portal"})
    assert paid.location == "/portal/"
    assert harness.client.get("/portal/").status_code == 200
    assert harness.client.get(link).status_code == 400  # single use


def test_re_subscribe_with_nothing_to_re_subscribe_to_is_a_conflict():
    """A re-subscribe link is only mailed when due; a forged one is refused."""
    harness, _contact = registered()
    response = harness.client.get("/portal/resubscribe?token=forged")
    assert response.status_code == 400


# -- self-registration and quick pay ------------------------------------------------------


def test_self_registration_is_not_offered_unless_switched_on():
    """Seed 001_345994b3bb014aeb.txt: the request-login button is a system option (off: 404)."""
    assert build().client.get("/portal/register").status_code == 404
    assert build().client.get("/portal/quick-pay").status_code == 404


def test_self_registration_with_a_matching_invoice_mails_an_invitation():
    """Seed 001_345994b3bb014aeb.txt: invoice number + quick-pay code + name + email verify the account; the answer is the same either way."""
    harness = build(system=OPEN_DOORS)
    contact_id = harness.sign_up()
    harness.mailer.sent.clear()
    harness.portal.save_invoice(_host_invoice(_account_of(harness, contact_id)))
    form = {"invoice_number": "H-100", "code": "WRONG", "contact_name": "Ann Lee",
            "email": "ann@example.com"}  # fmt: skip
    wrong = harness.post("/portal/register", form)
    assert wrong.status_code == 200
    assert harness.mailer.sent == []
    right = harness.post("/portal/register", {**form, "code": "QP7X2K9A"})
    assert right.text == wrong.text
    assert harness.link("ann@example.com", "/invitation")


def test_self_registration_refuses_blank_fields():
    """Blank fields answer 400."""
    harness = build(system=OPEN_DOORS)
    response = harness.post(
        "/portal/register", {"invoice_number": "", "code": "", "contact_name": "", "email": ""}
    )
    assert response.status_code == 400


def test_quick_pay_opens_the_payment_page_for_a_matching_invoice_only():
    """Seed 001_345994b3bb014aeb.txt: a guest pays an invoice with its number and quick-pay code."""
    harness = build(system=OPEN_DOORS)
    contact_id = harness.sign_up()
    harness.portal.save_invoice(_host_invoice(_account_of(harness, contact_id)))
    log_out(harness.client)
    wrong = harness.post("/portal/quick-pay", {"invoice_number": "H-100", "code": "NOPE"})
    assert wrong.status_code == 400
    assert "could not find an open invoice" in wrong.text
    opened = harness.post("/portal/quick-pay", {"invoice_number": "H-100", "code": "qp7x 2k9a"})
    assert "back=guest" in opened.location
    paid = harness.post(opened.location.split("?")[0], {"method": "card", "back": "guest"})
    assert paid.location == "/portal/quick-pay/done"
    with unit_of_work(harness.store) as uow:
        assert uow.invoices.get("inv-H-100").status.value == "paid"


# -- paying and the summary --------------------------------------------------------------


def test_pay_invoice_view_shows_the_required_invoice():
    """Seed 000_07c53b15302458c1.txt: the first invoice carries the one-time charge and the first period."""
    harness, _contact = registered()
    page = harness.client.get("/portal/pay").text
    assert "Welcome, Ann" in page
    assert "Setup fee" in page
    assert "Portal monthly" in page
    assert "$299.00" in page


def test_a_declined_card_returns_to_the_checkout_page_and_the_invoice_stays_open():
    """A declined card leaves the page open for another try and the contact pay-invoice only."""
    harness, _contact = registered()
    declined = harness.checkout("card_declined")
    assert declined.location.startswith("/portal/sandbox/checkout/")
    assert "The card was declined" in harness.client.get(declined.location).text
    page = harness.client.get("/portal/", follow_redirects=True)
    assert page.request.path == "/portal/pay"
    assert "did not go through" in page.text


def test_dashboard_shows_invoices_payments_aging_and_sites():
    """Seeds 001, 003 and 004: invoices, balances, aging, settled and pending payments, sites."""
    harness, contact_id = registered()
    harness.checkout("card")
    account = _account_of(harness, contact_id)
    harness.portal.save_site(Site(id="s-main", account_id=account, name="Main office"))
    harness.portal.save_invoice(_host_invoice(account))
    harness.advance(days=45)
    page = harness.client.get("/portal/").text
    for text in ("Welcome, Ann", "H-100", "$120.00", "Overdue", "Main office", "Settled", "Card"):
        assert text in page, text
    assert "Over 90 days" in page


def test_checkout_when_the_gateway_fails_says_so():
    """A gateway that cannot open the page answers 502 with a message, not a crash."""
    harness, _contact = registered()
    with harness.app.app_context():
        gateway = app_state().sandbox.gateway

    def unavailable(_request):
        raise GatewayUnavailableError("timed out", gateway="sandbox")

    gateway.start_checkout = unavailable
    response = harness.post("/portal/pay/checkout")
    assert response.status_code == 502
    assert "did not answer" in response.text


def test_pages_carry_security_headers():
    """Portal pages are not cached, framed or sent with a referrer (tokens live in URLs)."""
    response = build().client.get("/portal/login")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_host_overrides_any_template(tmp_path):
    """Templates are namespaced; the app's own portal_access/login.html replaces ours."""
    (tmp_path / "portal_access").mkdir()
    (tmp_path / "portal_access" / "login.html").write_text(
        "Acme's own login {{ portal_business_name }}"
    )
    harness = build(app=Flask(__name__, template_folder=str(tmp_path)))
    assert harness.client.get("/portal/login").text == "Acme's own login Acme Services"


def test_an_open_invoice_is_paid_from_the_summary_when_quick_pay_is_on():
    """Seed 003_11ad6fb0c789d951.txt: customers make online payments from the portal (through quick pay, with the code printed on their invoice)."""
    harness, contact_id = registered(system=OPEN_DOORS)
    harness.checkout("card")
    harness.portal.save_invoice(_host_invoice(_account_of(harness, contact_id)))
    page = harness.client.get("/portal/").text
    assert 'name="code" value="QP7X2K9A"' in page
    opened = harness.post("/portal/quick-pay", {"invoice_number": "H-100", "code": "QP7X2K9A"})
    harness.post(opened.location.split("?")[0], {"method": "card", "back": "guest"})
    assert "Pay</button>" not in harness.client.get("/portal/").text
