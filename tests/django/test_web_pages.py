"""Every portal page in Django through the test client (CSRF on): links, logins,
anonymous flows, re-subscribing, quick pay, the sandbox pages and the templates."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core import mail
from django.test import Client

from portal_access import (
    ConfigurationError,
    Invoice,
    InvoiceLine,
    Money,
    StaffMember,
    StaffPermission,
    SystemPortalOptions,
)
from portal_access.contrib.django import portal
from portal_access.contrib.django.models import Contact
from portal_access.contrib.django.testing import log_out
from tests.django.web_harness import PASSWORD, build, configure

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = StaffMember(id="staff-1", name="Admin", permissions=frozenset(StaffPermission))
OPEN_DOORS = SystemPortalOptions(pay_as_guest=True, request_login_button=True)
BACKEND = "portal_access.contrib.django._auth.ContactBackend"


@pytest.fixture
def web(settings):
    return build(settings)


@pytest.fixture
def open_doors(settings):
    return build(settings, system=OPEN_DOORS)


def _registered(web):
    contact_id = web.sign_up()
    web.register()
    return contact_id


def _host_invoice(contact_id: str) -> Invoice:
    return Invoice(
        id="inv-H-100",
        number="H-100",
        account_id=Contact.objects.get(id=contact_id).account_id,
        title="March service",
        currency="USD",
        lines=(InvoiceLine("Cleaning", Money(12000, "USD")),),
        issued_on=date(2026, 3, 1),
        due_on=date(2026, 3, 31),
        gateway="sandbox",
        quick_pay_code="QP7X2K9A",
    )


def _text(response) -> str:
    return response.content.decode()


# -- the kickoff form and links -------------------------------------------------------------


def test_kickoff_form_refuses_bad_input_and_keeps_what_was_typed(web):
    """A kickoff form without a valid email is 400 with the reason, the typed name kept."""
    response = web.post("/portal/join/kickoff/", {"first_name": "Ann", "email": "not-an-email"})
    assert response.status_code == 400
    assert 'value="Ann"' in _text(response)
    assert web.client.get("/portal/join/nope/").status_code == 404


def test_invitation_get_consumes_nothing_and_a_used_link_says_so(web):
    """Mail scanners open links: GET shows the form; after registering, the link is spent."""
    web.sign_up()
    link = web.link("ann@example.com", "/invitation/")
    assert web.client.get(link).status_code == 200
    assert web.client.get(link).status_code == 200
    web.register()
    log_out(web.client)
    used = web.client.get(link)
    assert used.status_code == 400
    assert "already used" in _text(used)
    assert web.client.get("/portal/invitation/?token=forged").status_code == 400


def test_mismatched_passwords_keep_the_link_usable(web):
    """Passwords that do not match are refused with 400; the link still works after."""
    web.sign_up()
    link = web.link("ann@example.com", "/invitation/")
    token = link.split("token=")[1]
    refused = web.post(link, {"token": token, "password": PASSWORD, "confirm": "other"})
    assert refused.status_code == 400
    assert "Passwords do not match." in _text(refused)
    web.register()


def test_portal_instructions_link_sets_a_password(web):
    """Seed 003_11ad6fb0c789d951.txt: staff send portal instructions; the set-password link sets it and logs in."""
    contact_id = web.sign_up()
    web.portal.send_portal_instructions(contact_id, staff=ADMIN)
    link = web.link("ann@example.com", "/set-password/")
    token = link.split("token=")[1]
    response = web.post(link, {"token": token, "password": PASSWORD, "confirm": PASSWORD})
    assert (response.status_code, response["Location"]) == (303, "/portal/")


# -- logging in and out ---------------------------------------------------------------------


def test_log_in_goes_to_the_page_asked_for_never_off_site(web):
    """Email and password log in and return to ``next`` when it is on this site only."""
    _registered(web)
    log_out(web.client)
    form = {"email": "ann@example.com", "password": PASSWORD}
    inside = web.post("/portal/login/", {**form, "next": "/portal/pay/"})
    assert (inside.status_code, inside["Location"]) == (303, "/portal/pay/")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        log_out(web.client)
        response = web.post("/portal/login/", {**form, "next": target})
        assert response["Location"] == "/portal/", target


def test_a_wrong_password_does_not_say_which_part_was_wrong(web):
    """A wrong password and an unknown email get the same answer."""
    _registered(web)
    log_out(web.client)
    wrong = web.post("/portal/login/", {"email": "ann@example.com", "password": "nope nope nope"})
    unknown = web.post("/portal/login/", {"email": "bob@example.com", "password": "nope nope"})
    assert wrong.status_code == unknown.status_code == 400
    assert "That email and password do not match." in _text(wrong)
    assert "That email and password do not match." in _text(unknown)


def test_too_many_login_attempts_are_refused_with_429(web):
    """Logins are rate limited per client and email: the eleventh try in the window is 429."""
    _registered(web)
    log_out(web.client)
    answers = [
        web.post("/portal/login/", {"email": "ann@example.com", "password": "wrong"}).status_code
        for _ in range(11)
    ]
    assert answers[-1] == 429


def test_log_in_rotates_the_session_and_log_out_ends_it(web):
    """A session key planted before login is not the one after it; logout is a POST that ends the session."""
    _registered(web)
    log_out(web.client)
    web.client.get("/portal/login/")
    planted = web.client.session.session_key
    web.post("/portal/login/", {"email": "ann@example.com", "password": PASSWORD})
    assert web.client.session.session_key != planted
    assert web.client.session["portal_access.contact"]
    assert web.client.get("/portal/logout/").status_code == 405
    response = web.post("/portal/logout/")
    assert (response.status_code, response["Location"]) == (303, "/portal/login/")
    assert web.client.get("/portal/pay/").status_code == 303


def test_temporary_password_must_be_changed_at_first_login(web):
    """Seed 003_11ad6fb0c789d951.txt: a staff-set password leads to the change page, then in."""
    contact_id = web.sign_up()
    web.portal.set_temporary_password(contact_id, "temporary pass 1", staff=ADMIN)
    response = web.post(
        "/portal/login/", {"email": "ann@example.com", "password": "temporary pass 1"}
    )
    assert response["Location"] == "/portal/change-password/?email=ann@example.com"
    change = {"email": "ann@example.com", "new_password": PASSWORD, "confirm": PASSWORD}
    wrong = web.post("/portal/change-password/", {**change, "current_password": "nope"})
    assert wrong.status_code == 400
    changed = web.post(
        "/portal/change-password/", {**change, "current_password": "temporary pass 1"}
    )
    assert (changed.status_code, changed["Location"]) == (303, "/portal/")
    assert web.client.get("/portal/")["Location"] == "/portal/pay/"


def test_the_backend_authenticates_a_contact_for_the_hosts_own_login_view(web, settings):
    """ContactBackend: authenticate(email=, password=) is the contact's user, or None."""
    settings.AUTHENTICATION_BACKENDS = [BACKEND]
    contact_id = _registered(web)
    user = authenticate(None, email="ann@example.com", password=PASSWORD)
    assert user is not None
    assert user.portal_contact.id == contact_id
    assert authenticate(None, email="ann@example.com", password="wrong wrong") is None
    client = Client()
    client.login(email="ann@example.com", password=PASSWORD)
    assert client.session["portal_access.contact"] == contact_id  # kept at login
    assert client.session["_auth_user_backend"] == BACKEND


def test_a_staff_account_is_never_a_contacts_user(web):
    """A contact whose email is a staff member's cannot log in through the portal (no admin by portal password)."""
    get_user_model().objects.create_superuser(email="ann@example.com", password="x" * 12)
    web.sign_up()
    link = web.link("ann@example.com", "/invitation/")
    token = link.split("token=")[1]
    refused = web.post(link, {"token": token, "password": PASSWORD, "confirm": PASSWORD})
    assert refused.status_code == 403
    assert "_auth_user_id" not in web.client.session
    login = web.post("/portal/login/", {"email": "ann@example.com", "password": PASSWORD})
    assert login.status_code == 400


# -- anonymous flows ------------------------------------------------------------------------


def test_having_trouble_answers_the_same_whether_or_not_the_email_matched(web):
    """DESIGN: anonymous flows answer the same way; the reset link goes to the matched address."""
    _registered(web)
    log_out(web.client)
    known = web.post("/portal/having-trouble/", {"email": "ann@example.com"})
    unknown = web.post("/portal/having-trouble/", {"email": "bob@example.com"})
    assert known.status_code == unknown.status_code == 200
    strip = re.compile(r'value="[^"]+"')
    assert strip.sub("", _text(known)) == strip.sub("", _text(unknown))
    link = web.link("ann@example.com", "/reset-password/")
    new = "another good passphrase"
    token = link.split("token=")[1]
    assert web.post(link, {"token": token, "password": new, "confirm": new}).status_code == 303
    assert web.post("/portal/having-trouble/", {"email": "nope"}).status_code == 400


def test_self_registration_and_quick_pay_are_off_unless_switched_on(web):
    """Seed 001_345994b3bb014aeb.txt: the request-login button and guest pay are system options (off: 404)."""
    assert web.client.get("/portal/register/").status_code == 404
    assert web.client.get("/portal/quick-pay/").status_code == 404
    assert "Register with a recent invoice" not in _text(web.client.get("/portal/login/"))


def test_self_registration_with_a_matching_invoice_mails_an_invitation(open_doors):
    """Seed 001_345994b3bb014aeb.txt: invoice number + quick-pay code + name + email verify the account; the answer is the same either way."""
    web = open_doors
    contact_id = web.sign_up()
    web.portal.save_invoice(_host_invoice(contact_id))
    mail.outbox.clear()
    form = {
        "invoice_number": "H-100",
        "code": "WRONG",
        "contact_name": "Ann Lee",
        "email": "ann@example.com",
    }
    wrong = web.post("/portal/register/", form)
    assert wrong.status_code == 200
    assert mail.outbox == []
    right = web.post("/portal/register/", {**form, "code": "QP7X2K9A"})
    assert right.status_code == 200
    assert web.link("ann@example.com", "/invitation/")
    blank = web.post("/portal/register/", dict.fromkeys(form, ""))
    assert blank.status_code == 400


def test_quick_pay_opens_the_payment_page_for_a_matching_invoice_only(open_doors):
    """Seed 001_345994b3bb014aeb.txt: a guest pays an invoice with its number and quick-pay code."""
    web = open_doors
    contact_id = web.sign_up()
    web.portal.save_invoice(_host_invoice(contact_id))
    wrong = web.post("/portal/quick-pay/", {"invoice_number": "H-100", "code": "NOPE"})
    assert wrong.status_code == 400
    assert "could not find an open invoice" in _text(wrong)
    opened = web.post("/portal/quick-pay/", {"invoice_number": "H-100", "code": "qp7x 2k9a"})
    assert "back=guest" in opened["Location"]
    page = web.client.get(opened["Location"])
    assert "$120.00" in _text(page) or "Payment details" in _text(page)
    paid = web.post(opened["Location"].split("?")[0], {"method": "card", "back": "guest"})
    assert paid["Location"] == "/portal/quick-pay/done/"
    assert portal().invoice("inv-H-100").status.value == "paid"


# -- paying, re-subscribing, the summary ----------------------------------------------------


def test_a_declined_card_returns_to_the_checkout_page_and_the_invoice_stays_open(web):
    """A declined card goes back to the sandbox page; the contact still only sees the pay view."""
    _registered(web)
    declined = web.checkout("card_declined")
    assert declined["Location"].startswith("/portal/sandbox/checkout/")
    assert "The card was declined" in _text(web.client.get(declined["Location"]))
    assert web.client.get("/portal/")["Location"] == "/portal/pay/"


def test_an_ach_payment_processing_keeps_the_pay_view_until_the_bank_clears_it(web):
    """Seed 000_07c53b15302458c1.txt: under grant-on-clearing a processing ACH payment keeps the pay view; the console clears it and access follows."""
    contact_id = _registered(web)
    web.checkout("ach")
    page = _text(web.client.get("/portal/pay/"))
    assert "Your payment is processing" in page
    assert "Pay $299.00 securely" not in page
    console = f"/portal/sandbox/contacts/{contact_id}/"
    (payment,) = re.findall(r"payments/([^/]+)/", _text(web.client.get(console)))
    web.post(f"{console}payments/{payment}/", {"outcome": "clear"})
    summary = web.client.get("/portal/")
    assert summary.status_code == 200
    assert "$299.00" in _text(summary)


def test_failed_renewal_then_re_subscribe_restores_access(web):
    """Seed 000_07c53b15302458c1.txt: the re-subscribe link leads to new payment details; a successful charge restores access."""
    contact_id = _registered(web)
    web.checkout("card")
    console = f"/portal/sandbox/contacts/{contact_id}/"
    (subscription,) = re.findall(r"subscriptions/([^/]+)/", _text(web.client.get(console)))
    web.post(f"{console}subscriptions/{subscription}/", {"outcome": "fail"})
    renew = web.post("/portal/renew/")
    assert "We sent a re-subscribe link to ann@example.com" in _text(renew)
    link = web.link("ann@example.com", "/resubscribe/")
    assert "Re-subscribe" in _text(web.client.get(link))
    opened = web.post(link, {"token": link.split("token=")[1]})
    assert opened["Location"].startswith("/portal/sandbox/checkout/")
    paid = web.post(opened["Location"].split("?")[0], {"method": "card", "back": "portal"})
    assert paid["Location"] == "/portal/"
    assert web.client.get("/portal/").status_code == 200
    assert web.client.get(link).status_code == 400  # single use


def test_the_summary_shows_invoices_payments_and_sites_in_scope(web):
    """Seeds 001 and 004: the summary lists invoices, payments settled, and the sites the contact may see."""
    _registered(web)
    web.checkout("card")
    page = _text(web.client.get("/portal/"))
    for text in ("Welcome, Ann", "1001", "Paid", "$299.00", "No sites on this account yet."):
        assert text in page, text


# -- the sandbox pages, headers and templates -----------------------------------------------


def test_without_the_sandbox_gateway_its_pages_are_not_found(settings):
    """The development checkout page exists only when the sandbox gateway is configured."""
    web = build(settings, gateways=[], offer=False)
    assert web.client.get("/portal/sandbox/checkout/cs_1/").status_code == 404
    assert web.client.get("/portal/sandbox/contacts/c-1/").status_code == 404


def test_the_sandbox_gateway_is_refused_outside_debug_on_a_public_url(settings):
    """The sandbox lets anyone mark payments paid: on a public URL without DEBUG it does not start."""
    configure(settings, URL="https://portal.example.com/portal/")
    with pytest.raises(ConfigurationError, match="sandbox"):
        portal()
    settings.DEBUG = True
    assert portal() is not None


def test_pages_carry_security_headers_and_the_shared_stylesheet(web):
    """Pages are not cached, not framed and send no referrer; the stylesheet is Flask's own file."""
    response = web.client.get("/portal/login/")
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Frame-Options"] == "DENY"
    css = web.client.get("/portal/portal.css")
    assert css["Content-Type"].startswith("text/css")
    assert b"--brand" in css.content
    script = web.client.get("/portal/portal.js")
    assert script["Content-Type"].startswith("text/javascript")
    assert b"window.print()" in script.content


def test_the_host_overrides_any_template(web, settings, tmp_path):
    """A template of the same name in the project's DIRS replaces ours; form pages fall back to form.html."""
    (tmp_path / "portal_access").mkdir()
    (tmp_path / "portal_access" / "login.html").write_text("OUR LOGIN {{ heading }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    assert web.client.get("/portal/login/").content == b"OUR LOGIN Log in"
    assert b"Having trouble?" in web.client.get("/portal/having-trouble/").content


def test_an_open_invoice_is_paid_from_the_summary_when_quick_pay_is_on(open_doors):
    """Seed 001_345994b3bb014aeb.txt: with guest pay on, each open invoice on the summary has a Pay button that opens its payment page."""
    web = open_doors
    contact_id = _registered(web)
    web.portal.cancel_required_payment(contact_id, staff=ADMIN)
    web.portal.save_invoice(_host_invoice(contact_id))
    page = _text(web.client.get("/portal/"))
    assert page.count(">Pay</button>") == 1
    assert 'value="H-100"' in page
    opened = web.post("/portal/quick-pay/", {"invoice_number": "H-100", "code": "QP7X2K9A"})
    assert opened["Location"].startswith("/portal/sandbox/checkout/")


def test_the_login_page_shows_the_system_login_message(settings):
    """Seed 001_345994b3bb014aeb.txt: the system's login message is shown on the login page."""
    web = build(settings, system=SystemPortalOptions(login_message_html="<b>Closed Friday</b>"))
    assert "<b>Closed Friday</b>" in _text(web.client.get("/portal/login/"))
