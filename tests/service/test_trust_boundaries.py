"""Trust boundaries (docs/security.md): a gateway speaks only for its own invoices,
subscriptions and contacts; an anonymous kickoff form never joins an existing account;
a payer returns only to the portal's own origins.
"""

from __future__ import annotations

import attrs
import pytest

from portal_access import (
    AccessDeniedError,
    AccessLevel,
    ConfigurationError,
    InvoiceLine,
    InvoiceStatus,
    Money,
    SystemPortalOptions,
    ValidationError,
)
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
from portal_access._domain.gateway_events import resubscribe_invoice_id
from portal_access._service.signup import KickoffForm
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.repositories import unit_of_work
from portal_access.testing.sandbox import SandboxVendor
from tests.service.harness import (
    ADMIN,
    CANCEL,
    CLERK,
    CLIENT,
    MONTHLY,
    PORTAL_URL,
    SUCCESS,
    account,
    build,
    paid_offer,
    register,
    sign_up,
)
from tests.service.stores import store

__all__ = ["store"]

WEAK_SECRET = "whsec_weak_test_gateway"  # the weakest configured secret, leaked


def two_gateways(store):
    """A portal with its real gateway and a second one whose secret leaked."""
    harness = build(store=store)
    weak = SandboxVendor(webhook_secret=WEAK_SECRET, clock=harness.clock)
    gateway = SandboxGateway(vendor=weak, webhook_secret=WEAK_SECRET, clock=harness.clock,
                             name="weak")  # fmt: skip
    harness = build(store=store, gateways=(gateway,))
    paid_offer(harness)
    signup = sign_up(harness)
    register(harness)
    return harness, weak, gateway, signup


def forged_payment(store, purpose: CheckoutPurpose, invoice_id, **request: object):
    """Pay, on the leaked gateway, a page naming the real gateway's invoice (``invoice_id``
    maps the signup's invoice id); the harness, the signup and the webhooks' results."""
    harness, weak, gateway, signup = two_gateways(store)
    forged = CheckoutRequest(
        purpose=purpose,
        currency="USD",
        success_url=SUCCESS,
        cancel_url=CANCEL,
        idempotency_key=f"forged-{purpose.value}",
        contact_id=signup.contact_id,
        invoice_id=invoice_id(signup.invoice_id),
        plan=MONTHLY,
        **request,  # type: ignore[arg-type]
    )
    weak.pay(gateway.start_checkout(forged).session_id)
    results = weak.deliver(
        lambda headers, body: harness.portal.handle_webhook("weak", headers, body)
    )
    assert results
    assert not any(result.applied for result in results), results
    return harness, signup, results


def test_a_payment_signed_by_another_gateway_pays_nothing(store):
    """Seed 000_07c53b15302458c1.txt paid access: only the invoice's own gateway can pay it."""
    harness, signup, results = forged_payment(
        store,
        CheckoutPurpose.REQUIRED_PAYMENT,
        str,
        lines=(InvoiceLine("Setup fee", Money(25000, "USD")),),
    )
    assert any("another gateway" in r.outcome or "through weak" in r.outcome for r in results)
    decision = harness.portal.check_access(signup.contact_id)
    assert decision.level is AccessLevel.PAY_INVOICE_ONLY
    with unit_of_work(harness.store) as uow:
        assert uow.invoices.get(signup.invoice_id).status is InvoiceStatus.OPEN
        assert uow.subscriptions.for_contact(signup.contact_id) == ()


def test_a_resubscribe_payment_signed_by_another_gateway_is_not_recorded(store):
    """Seed 000_07c53b15302458c1.txt re-subscribe: a payment naming the required invoice
    marked as a re-subscribe page's is judged by that invoice's gateway too."""
    harness, signup, _results = forged_payment(
        store, CheckoutPurpose.RESUBSCRIBE, resubscribe_invoice_id
    )
    history = harness.portal.contact_payments(signup.contact_id)
    assert (history.settled, history.pending) == ((), ())


def test_the_invoices_own_gateway_still_pays_it(store):
    """The check keeps the real gateway working: its payment grants access."""
    harness, _weak, _gateway, signup = two_gateways(store)
    session = harness.portal.start_checkout(
        signup.contact_id, success_url=SUCCESS, cancel_url=CANCEL
    )
    harness.sandbox.pay(session.session_id)
    harness.deliver()
    assert harness.portal.check_access(signup.contact_id).level is AccessLevel.FULL


def test_a_kickoff_form_cannot_name_an_existing_account(store):
    """Seed 000_07c53b15302458c1.txt kickoff forms: a visitor's form always makes a new account."""
    harness = build(store=store)
    harness.portal.save_account(account())
    paid_offer(harness)
    assert "account_id" not in attrs.fields_dict(KickoffForm)
    form = KickoffForm(first_name="Eve", email="eve@example.com")
    with pytest.raises(ValidationError) as caught:
        harness.portal.submit_kickoff_form("offer-1", form, account_id="acc-1")
    assert caught.value.field == "staff"
    with pytest.raises(AccessDeniedError):
        harness.portal.submit_kickoff_form("offer-1", form, account_id="acc-1", staff=CLERK)
    signup = harness.portal.submit_kickoff_form("offer-1", form)
    assert signup.account_id != "acc-1"


def test_staff_may_sign_a_contact_up_on_an_existing_account(store):
    """Seed 002_50038a73eff95302.txt: inviting onto a client is for staff with the permission."""
    harness = build(store=store)
    harness.portal.save_account(account())
    paid_offer(harness)
    form = KickoffForm(first_name="Bo", email="bo@example.com")
    signup = harness.portal.submit_kickoff_form("offer-1", form, account_id="acc-1", staff=ADMIN)
    assert signup.account_id == "acc-1"


EVIL = [
    "https://evil.example/paid",
    "https://portal.example@evil.example/paid",
    "https://portal.example.evil.example/paid",
    "http://portal.example/paid",
    "https://portal.example:8443/paid",
    "https://portal.example/paid\r\nLocation: https://evil.example",
    "https://portal.example/pa id",
    "https://portal.example\\@evil.example/",
    "//evil.example/paid",
    "javascript:alert(1)",
    "https://portal.example/\x00",
    "https://pörtal.example/paid",
]


@pytest.mark.parametrize("url", EVIL)
def test_quick_pay_returns_only_to_the_portal(store, url):
    """Seed 001_345994b3bb014aeb.txt quick pay: the return URLs are the portal's, https unless configured."""
    harness = build(store=store, system=SystemPortalOptions(pay_as_guest=True))
    for success, cancel, field in ((url, CANCEL, "success_url"), (SUCCESS, url, "cancel_url")):
        with pytest.raises(ValidationError) as caught:
            harness.portal.quick_pay(
                "1001", "CODE", success_url=success, cancel_url=cancel, client_key=CLIENT
            )
        assert caught.value.field == field


@pytest.mark.parametrize("url", EVIL[:4])
def test_checkout_returns_only_to_the_portal(store, url):
    """Seed 000_07c53b15302458c1.txt checkout: a contact's return URLs are checked too."""
    harness = build(store=store)
    paid_offer(harness)
    sign_up(harness)
    contact_id = register(harness)
    with pytest.raises(ValidationError):
        harness.portal.start_checkout(contact_id, success_url=url, cancel_url=CANCEL)


def test_return_urls_need_a_configured_portal_origin(store):
    """A missing portal URL is a configuration error, never a check that lets everything pass."""
    harness = build(store=store, system=SystemPortalOptions(pay_as_guest=True))
    unconfigured = attrs.evolve(
        harness.portal.policy, system=SystemPortalOptions(pay_as_guest=True)
    )
    harness.portal._context.policy = unconfigured
    with pytest.raises(ConfigurationError):
        harness.portal.quick_pay(
            "1001", "CODE", success_url=SUCCESS, cancel_url=CANCEL, client_key=CLIENT
        )


def test_plain_http_and_other_origins_pass_only_where_configured(store):
    """A development portal on http, and a second origin, are allowed when configured."""
    system = SystemPortalOptions(
        portal_url="http://localhost:8000/",
        return_origins=frozenset({"https://pay.example"}),
        pay_as_guest=True,
    )
    harness = build(store=store, system=system)
    for url in ("http://localhost:8000/paid", "https://pay.example/done", "http://LOCALHOST:8000"):
        result = harness.portal.quick_pay(
            "1001", "CODE", success_url=url, cancel_url=url, client_key=CLIENT
        )
        assert result.checkout is None  # no such invoice: the URLs themselves passed
    for url in (SUCCESS, "https://localhost:8000/paid", f"{PORTAL_URL}/paid"):
        with pytest.raises(ValidationError):
            harness.portal.quick_pay(
                "1001", "CODE", success_url=url, cancel_url=url, client_key=CLIENT
            )
