"""Offers and kickoff forms through PortalAccess (seed 000)."""

from __future__ import annotations

import attrs
import pytest

from portal_access import (
    AccessLevel,
    AccessReason,
    ConfigurationError,
    ConflictError,
    InvalidEmailError,
    InviteTiming,
    InvoicePurpose,
    LineKind,
    Money,
    NotFoundError,
    ValidationError,
)
from portal_access._service.signup import KickoffForm
from portal_access.repositories import unit_of_work
from tests.service.harness import (
    ADMIN,
    CLASS,
    MONTHLY,
    PASSWORD,
    SETUP_FEE,
    account,
    build,
    paid_offer,
    register,
    sign_up,
)


def test_kickoff_form_creates_contact_invoice_and_invitation():
    """Seed 000_07c53b15302458c1.txt: completing the form creates the contact, the invoice and sends the invitation immediately."""
    harness = build()
    paid_offer(harness)
    signup = sign_up(harness)
    assert signup.invited
    assert signup.invoice_id is not None
    with unit_of_work(harness.store) as uow:
        invoice = uow.invoices.get(signup.invoice_id)
        contact = uow.contacts.get(signup.contact_id)
    assert invoice is not None
    assert contact is not None
    assert invoice.title == "Welcome, Ann"
    assert invoice.purpose is InvoicePurpose.REQUIRED_PAYMENT
    assert [line.kind for line in invoice.lines] == [LineKind.ONE_TIME, LineKind.SUBSCRIPTION]
    assert invoice.total == Money(29900, "USD")
    assert invoice.gateway == "sandbox"
    assert str(contact.email) == "ann@example.com"
    (mail,) = harness.mailer.to("ann@example.com")
    assert "/portal/invitation?token=" in mail.text
    assert [m.topic for m in harness.events][:4] == [
        "contact.created",
        "invoice.created",
        "email.requested",
        "invitation.sent",
    ]


def test_invite_later_sends_no_invitation():
    """Seed 000_07c53b15302458c1.txt: without "invite immediately", staff send the invitation later."""
    harness = build()
    paid_offer(harness, invite=InviteTiming.LATER)
    signup = sign_up(harness)
    assert not signup.invited
    assert harness.mailer.sent == []


def test_registration_leads_to_the_pay_invoice_view():
    """Seed 000_07c53b15302458c1.txt: immediately after registering the Client sees only the Pay Invoice view."""
    harness = build()
    paid_offer(harness)
    signup = sign_up(harness)
    assert harness.portal.check_access(signup.contact_id).reason is AccessReason.NOT_REGISTERED
    register(harness)
    decision = harness.portal.check_access(signup.contact_id)
    assert decision.level is AccessLevel.PAY_INVOICE_ONLY
    assert decision.required_invoice_id == signup.invoice_id


def test_offer_without_payment_grants_access_on_registration_and_onboards():
    """Seed 000_07c53b15302458c1.txt: with no payment required, registration opens the portal."""
    harness = build()
    harness.portal.create_offer(
        "Free portal", offer_id="offer-1", account_class_id=CLASS.id, onboarding_flow="welcome"
    )
    signup = sign_up(harness)
    assert signup.invoice_id is None
    assert len(harness.topics("onboarding.due")) == 1
    register(harness)
    assert harness.portal.check_access(signup.contact_id).level is AccessLevel.FULL


def test_the_same_form_submitted_twice_makes_one_signup():
    """docs/rules.md: a retried submission (same offer and email) is idempotent."""
    harness = build()
    paid_offer(harness)
    first = sign_up(harness)
    second = sign_up(harness, email="ANN@example.com")
    assert first == second
    assert len(harness.topics("invoice.created")) == 1
    assert len(harness.mailer.sent) == 1


def test_staff_can_put_a_kickoff_signup_on_an_existing_account():
    """Seed 001_345994b3bb014aeb.txt: contacts belong to accounts; staff may sign one up on an existing one."""
    harness = build()
    harness.portal.save_account(account())
    paid_offer(harness)
    signup = harness.portal.submit_kickoff_form(
        "offer-1",
        KickoffForm(first_name="Bo", email="bo@example.com"),
        account_id="acc-1",
        staff=ADMIN,
    )
    assert signup.account_id == "acc-1"


@pytest.mark.parametrize(
    ("form", "join", "error", "field"),
    [
        (KickoffForm(first_name="Ann", email="not-an-email"), {}, InvalidEmailError, "email"),
        (
            KickoffForm(first_name="Ann", email="a@example.com"),
            {"account_id": "nope", "staff": ADMIN},
            NotFoundError,
            None,
        ),
    ],
)
def test_bad_forms_are_typed_errors_and_change_nothing(form, join, error, field):
    """docs/rules.md: bad input is a typed error and a failed call leaves the store as it was."""
    harness = build()
    paid_offer(harness)
    before = harness.store.snapshot()
    with pytest.raises(error) as caught:
        harness.portal.submit_kickoff_form("offer-1", form, **join)
    if field:
        assert caught.value.field == field
    assert harness.store.snapshot() == before


def test_unknown_offer_is_not_found():
    """docs/rules.md: an unknown offer is a typed not-found error."""
    harness = build()
    with pytest.raises(NotFoundError) as caught:
        sign_up(harness)
    assert caught.value.kind == "offer"


def test_offer_needs_a_configured_gateway_and_agreeing_currencies():
    """Seed 000_07c53b15302458c1.txt: the gateway must be in place; currencies agree at configuration."""
    harness = build()
    with pytest.raises(ConfigurationError):
        harness.portal.create_offer("X", gateway="stripe", currency="USD", one_time=SETUP_FEE)
    with pytest.raises(ConfigurationError):
        harness.portal.create_offer("X", gateway="sandbox", currency="EUR", plan=MONTHLY)
    with pytest.raises(ConfigurationError):
        harness.portal.create_offer("X", one_time=SETUP_FEE)


def test_form_without_account_needs_an_offer_that_makes_accounts():
    """docs/rules.md: an offer with no account class only takes forms that name an account."""
    harness = build()
    harness.portal.create_offer("Existing clients", offer_id="offer-1")
    with pytest.raises(ValidationError) as caught:
        sign_up(harness)
    assert caught.value.field == "account_id"


def test_inactive_offer_takes_no_submissions():
    """Seed 000_07c53b15302458c1.txt: each kickoff form has its own settings; a retired one is closed."""
    harness = build()
    offer = paid_offer(harness)
    harness.portal.save_offer(attrs.evolve(offer, active=False))
    with pytest.raises(ConflictError):
        sign_up(harness)


def _second_offer(harness, *, invite: InviteTiming = InviteTiming.IMMEDIATELY) -> None:
    harness.portal.create_offer(
        "Second program", offer_id="offer-2", account_class_id=CLASS.id, invite=invite
    )


def _visitor_form(harness, email: str):
    return harness.portal.submit_kickoff_form(
        "offer-2", KickoffForm(first_name="Eve", last_name="Stranger", email=email)
    )


@pytest.mark.parametrize("invite", [InviteTiming.IMMEDIATELY, InviteTiming.LATER])
def test_a_visitors_form_never_tells_whether_its_address_has_a_login(invite):
    """docs/security.md, seed 000_07c53b15302458c1.txt: a kickoff form naming a registered
    login's address answers exactly as for a new address (no "already taken"), and the
    login's holder, not the visitor, is told where to log in, with no password link."""
    harness = build()
    paid_offer(harness)
    sign_up(harness)
    register(harness)
    _second_offer(harness, invite=invite)
    harness.mailer.sent.clear()

    fresh = _visitor_form(harness, "new@example.com")
    taken = _visitor_form(harness, "ANN@example.com")

    assert fresh.invited == taken.invited == (invite is InviteTiming.IMMEDIATELY)
    assert taken.contact_id not in (fresh.contact_id, harness.contact_id)
    assert taken.account_id != fresh.account_id
    to_holder = harness.mailer.to("ann@example.com")
    if invite is InviteTiming.IMMEDIATELY:
        (notice,) = to_holder
        assert "You already have a login" in notice.text
        assert "token=" not in notice.text
        assert "Hello Ann," in notice.text  # the holder's own name, not the visitor's
        assert len(harness.mailer.to("new@example.com")) == 1
    else:  # a new address gets nothing now, so neither does the login's holder
        assert to_holder == []
        assert harness.mailer.sent == []
    # The holder's login is untouched and still theirs.
    assert harness.portal.log_in("ann@example.com", PASSWORD, client_key="10.0.0.1")


def test_staff_still_hear_that_an_address_is_a_login():
    """docs/rules.md: staff submitting a form for someone may know the address is taken."""
    harness = build()
    paid_offer(harness)
    sign_up(harness)
    register(harness)
    _second_offer(harness)
    with pytest.raises(ConflictError, match="already the username"):
        harness.portal.submit_kickoff_form(
            "offer-2",
            KickoffForm(first_name="Ann", last_name="Lee", email="ann@example.com"),
            staff=ADMIN,
        )
