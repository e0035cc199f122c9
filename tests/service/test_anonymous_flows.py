"""Flows a visitor uses without logging in: same answer whatever matched, rate-limited.

docs/rules.md "Rules a careful library adds"; seed 001_345994b3bb014aeb.txt (self-registration,
quick pay) and seed 000_07c53b15302458c1.txt ("Having trouble?").
"""

from __future__ import annotations

import contextlib

import attrs
import pytest

from portal_access import (
    AccessDeniedError,
    AccessLevel,
    RateLimitedError,
    SystemPortalOptions,
)
from portal_access.repositories import unit_of_work
from tests.service.harness import (
    CANCEL,
    CLASS,
    CLIENT,
    PASSWORD,
    SUCCESS,
    build,
    paid_offer,
    register,
    sign_up,
)

OPTIONS = SystemPortalOptions(request_login_button=True, pay_as_guest=True)


def prepared(**kw):
    harness = build(system=OPTIONS, **kw)
    harness.portal.save_account_class(attrs.evolve(CLASS, invoice_verified_self_registration=True))
    paid_offer(harness)
    signup = sign_up(harness)
    with unit_of_work(harness.store) as uow:
        invoice = uow.invoices.get(signup.invoice_id)
    harness.invitation = harness.link("ann@example.com", "/portal/invitation")
    harness.mailer.sent.clear()
    return harness, signup, invoice


def test_having_trouble_answers_alike_and_mails_only_a_match():
    """Seed 000_07c53b15302458c1.txt / docs/rules.md: "Having trouble?" returns the same for known and unknown emails."""
    harness, _signup, _invoice = prepared()
    assert harness.portal.having_trouble(
        "ann@example.com", client_key=CLIENT
    ) == harness.portal.having_trouble("nobody@example.com", client_key=CLIENT)
    assert [m.to[0].value for m in harness.mailer.sent] == ["ann@example.com"]
    token = harness.link("ann@example.com", "/portal/reset-password")
    harness.portal.set_password(token, PASSWORD)
    assert harness.portal.log_in("ann@example.com", PASSWORD, client_key=CLIENT)


def test_self_registration_answers_alike_and_invites_only_on_a_full_match():
    """Seed 001_345994b3bb014aeb.txt: invoice number + quick pay code or account number + name + email."""
    harness, signup, invoice = prepared()
    results = [
        harness.portal.self_register(
            invoice.number, invoice.quick_pay_code, "Ann Lee", "ann@example.com", client_key=CLIENT
        ),
        harness.portal.self_register(
            invoice.number, "WRONGCODE", "Ann Lee", "ann@example.com", client_key=CLIENT
        ),
        harness.portal.self_register(
            "999999", invoice.quick_pay_code, "Ann Lee", "ann@example.com", client_key=CLIENT
        ),
        harness.portal.self_register(
            invoice.number, invoice.quick_pay_code, "Ann Lee", "x@example.com", client_key=CLIENT
        ),
    ]
    assert len(set(map(repr, results))) == 1
    assert len(harness.mailer.sent) == 1
    register(harness)
    assert harness.portal.check_access(signup.contact_id).level is AccessLevel.PAY_INVOICE_ONLY


def test_self_registration_is_off_unless_the_system_option_is_on():
    """Seed 001_345994b3bb014aeb.txt: "Enable Request Login Button" must be on."""
    harness = build()
    with pytest.raises(AccessDeniedError):
        harness.portal.self_register(
            "1001", "CODE", "Ann Lee", "ann@example.com", client_key=CLIENT
        )


def test_quick_pay_opens_the_page_only_for_number_and_code():
    """Seed 001_345994b3bb014aeb.txt: Invoice Quick Pay for guests; unknown and wrong codes answer alike."""
    harness, signup, invoice = prepared()
    unknown = harness.portal.quick_pay(
        "999999", "WRONG", success_url=SUCCESS, cancel_url=CANCEL, client_key=CLIENT
    )
    wrong = harness.portal.quick_pay(
        invoice.number, "WRONG", success_url=SUCCESS, cancel_url=CANCEL, client_key=CLIENT
    )
    assert unknown == wrong
    assert unknown.checkout is None
    result = harness.portal.quick_pay(
        invoice.number,
        invoice.quick_pay_code.lower(),
        success_url=SUCCESS,
        cancel_url=CANCEL,
        client_key=CLIENT,
    )
    assert result.checkout is not None
    harness.sandbox.pay(result.checkout.session_id)
    harness.deliver()
    paid = harness.portal.quick_pay(
        invoice.number,
        invoice.quick_pay_code,
        success_url=SUCCESS,
        cancel_url=CANCEL,
        client_key=CLIENT,
    )
    assert paid == unknown  # nothing owed: the same neutral answer
    harness.portal.accept_invitation(harness.invitation, PASSWORD)
    assert harness.portal.check_access(signup.contact_id).level is AccessLevel.FULL


def test_quick_pay_is_off_unless_guests_may_pay():
    """Seed 001_345994b3bb014aeb.txt: "Enable payment as guest" must be on."""
    harness = build()
    with pytest.raises(AccessDeniedError):
        harness.portal.quick_pay(
            "1001", "CODE", success_url=SUCCESS, cancel_url=CANCEL, client_key=CLIENT
        )


@pytest.mark.parametrize("flow", ["trouble", "self_register", "quick_pay", "log_in"])
def test_the_eleventh_try_in_a_window_is_refused(flow):
    """docs/rules.md: anonymous flows are rate-limited (10 per window by default; the 11th is refused)."""
    harness, _signup, invoice = prepared()
    attempts = {
        "trouble": lambda: harness.portal.having_trouble("ann@example.com", client_key=CLIENT),
        "self_register": lambda: harness.portal.self_register(
            invoice.number, "X", "Ann Lee", "ann@example.com", client_key=CLIENT
        ),
        "quick_pay": lambda: harness.portal.quick_pay(
            invoice.number, "X", success_url=SUCCESS, cancel_url=CANCEL, client_key=CLIENT
        ),
        "log_in": lambda: harness.portal.log_in(
            "ann@example.com", "wrong password", client_key=CLIENT
        ),
    }
    for _ in range(10):
        with contextlib.suppress(AccessDeniedError):  # a failed login answers; no limit yet
            attempts[flow]()
    with pytest.raises(RateLimitedError) as caught:
        attempts[flow]()
    assert caught.value.retry_after > 0
    harness.advance(minutes=16)
    with contextlib.suppress(AccessDeniedError):
        attempts[flow]()


def test_rate_limit_is_configurable():
    """docs/rules.md: the limit is a setting."""
    harness, _signup, _invoice = prepared(limit=2)
    harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
    harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
    with pytest.raises(RateLimitedError):
        harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
