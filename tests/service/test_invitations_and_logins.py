"""Invitations, set-password links, logins and staff actions (seeds 001, 002, 003)."""

from __future__ import annotations

import attrs
import pytest

from portal_access import (
    AccessDeniedError,
    AccessLevel,
    AccountClass,
    AuthenticationError,
    Capability,
    ConflictError,
    Contact,
    EmailAddress,
    InvalidEmailError,
    InvalidTokenError,
    InvoiceEmail,
    PasswordChangeRequiredError,
    Site,
    SiteScope,
    TokenAlreadyUsedError,
    TokenExpiredError,
    ValidationError,
)
from tests.service.harness import (
    ADMIN,
    CLASS,
    CLERK,
    CLIENT,
    MONTHLY,
    PASSWORD,
    PORTAL_URL,
    account,
    build,
    paid_offer,
    sign_up,
)


def contact(contact_id: str = "c-1", email: str | None = "bo@example.com", **changes) -> Contact:
    base = Contact(
        id=contact_id,
        account_id="acc-1",
        first_name="Bo",
        email=EmailAddress.parse(email) if email else None,
    )
    return attrs.evolve(base, **changes)


def with_account(**class_changes):
    harness = build()
    harness.portal.save_account_class(attrs.evolve(CLASS, **class_changes))
    harness.portal.save_account(account(account_class=attrs.evolve(CLASS, **class_changes)))
    return harness


def test_invitation_get_does_not_consume_and_post_registers_once():
    """docs/rules.md: single-use links are consumed on POST, never on GET (mail scanners click first)."""
    harness = build()
    paid_offer(harness)
    signup = sign_up(harness)
    token = harness.link("ann@example.com", "/portal/invitation")
    for _ in range(3):
        assert harness.portal.view_invitation(token).contact_id == signup.contact_id
    assert harness.portal.accept_invitation(token, PASSWORD) == signup.contact_id
    before = harness.store.snapshot()
    with pytest.raises(TokenAlreadyUsedError):
        harness.portal.accept_invitation(token, "another password 123")
    assert harness.store.snapshot() == before
    assert (
        harness.portal.log_in("ann@example.com", PASSWORD, client_key=CLIENT).contact_id
        == signup.contact_id
    )
    assert len(harness.topics("contact.registered")) == 1


def test_expired_unknown_and_foreign_tokens_are_refused():
    """docs/rules.md: tokens expire, are single-use, and bind to one contact."""
    harness = build()
    paid_offer(harness)
    sign_up(harness)
    other = sign_up(harness, email="cy@example.com", first_name="Cy")
    token = harness.link("ann@example.com", "/portal/invitation")
    with pytest.raises(InvalidTokenError):
        harness.portal.accept_invitation(token, PASSWORD, contact_id=other.contact_id)
    with pytest.raises(InvalidTokenError):
        harness.portal.accept_invitation("not-a-token", PASSWORD)
    with pytest.raises(InvalidTokenError):  # an invitation is not a password-reset link
        harness.portal.set_password(token, PASSWORD)
    harness.advance(days=8)
    with pytest.raises(TokenExpiredError):
        harness.portal.accept_invitation(token, PASSWORD)


def test_weak_password_is_refused_and_the_link_survives():
    """Seed 003_11ad6fb0c789d951.txt: a bad password is a typed error; the link still works after."""
    harness = build()
    paid_offer(harness)
    sign_up(harness)
    token = harness.link("ann@example.com", "/portal/invitation")
    with pytest.raises(ValidationError) as caught:
        harness.portal.accept_invitation(token, "short")
    assert caught.value.field == "password"
    harness.portal.accept_invitation(token, PASSWORD)


def test_auto_invite_on_contact_creation_follows_the_account_class():
    """Seed 001_345994b3bb014aeb.txt: auto-invite on creation for active accounts whose class says so."""
    harness = with_account(auto_invite_on_contact_creation=True)
    assert harness.portal.create_contact(contact())
    assert not harness.portal.create_contact(contact("c-2", email=None))
    quiet = with_account(auto_invite_on_contact_creation=False)
    assert not quiet.portal.create_contact(contact())
    inactive = build()
    inactive.portal.save_account(
        account(
            account_class=attrs.evolve(CLASS, auto_invite_on_contact_creation=True), active=False
        )
    )
    assert not inactive.portal.create_contact(contact())


def test_staff_invite_needs_the_permission_and_a_valid_email():
    """Seeds 001_345994b3bb014aeb.txt and 002_50038a73eff95302.txt: only permitted staff invite; an email is required."""
    harness = with_account()
    harness.portal.create_contact(contact())
    harness.portal.create_contact(contact("c-2", email=None))
    with pytest.raises(AccessDeniedError):
        harness.portal.invite_contact("c-1", staff=CLERK)
    with pytest.raises(InvalidEmailError):
        harness.portal.invite_contact("c-2", staff=ADMIN)
    harness.portal.invite_contact("c-1", staff=ADMIN)
    assert harness.mailer.to("bo@example.com")


def test_invite_from_settings_by_address_makes_or_finds_the_contact():
    """Seed 002_50038a73eff95302.txt: in Settings > Invites staff select or enter an email and a client."""
    harness = with_account()
    made = harness.portal.invite_email_address("acc-1", "new@example.com", staff=ADMIN)
    again = harness.portal.invite_email_address("acc-1", "NEW@example.com", staff=ADMIN)
    assert made == again
    assert len(harness.mailer.to("new@example.com")) == 2


def test_invoice_email_invites_only_to_recipients():
    """Seed 002_50038a73eff95302.txt: only "To" recipients are invited; CC and BCC are not."""
    harness = build()
    paid_offer(harness, plan=MONTHLY)
    signup = sign_up(harness)
    email = InvoiceEmail.compose(
        "to1@example.com; TO2@example.com, to1@example.com",
        cc="cc@example.com",
        bcc="bcc@example.com",
        invite_recipients=True,
    )
    invited = harness.portal.send_invoice_email(signup.invoice_id, email, staff=ADMIN)
    assert len(invited) == 2
    for address in ("to1@example.com", "to2@example.com"):
        subjects = [m.subject for m in harness.mailer.to(address)]
        assert any(s.startswith("You are invited to") for s in subjects), address
        assert any(s.startswith("Invoice ") for s in subjects), address
    for address in ("cc@example.com", "bcc@example.com"):
        subjects = [m.subject for m in harness.mailer.to(address)]
        assert subjects, address
        assert all(s.startswith("Invoice ") for s in subjects), address
        assert all(PORTAL_URL in m.text for m in harness.mailer.to(address))
    with pytest.raises(AccessDeniedError):
        harness.portal.send_invoice_email(signup.invoice_id, email, staff=CLERK)


def test_portal_instructions_send_a_link_never_a_password():
    """Seed 003_11ad6fb0c789d951.txt: Send Portal Instructions emails the login URL; the password is never emailed."""
    harness = with_account()
    harness.portal.create_contact(contact())
    harness.portal.set_temporary_password("c-1", "Temporary-Pass-42", staff=ADMIN)
    harness.portal.send_portal_instructions("c-1", staff=ADMIN)
    (mail,) = harness.mailer.to("bo@example.com")
    assert "Temporary-Pass-42" not in mail.text + mail.html
    assert "/portal/set-password?token=" in mail.text
    assert "bo@example.com" in mail.text


def test_temporary_password_must_be_changed_at_first_login():
    """Seed 003_11ad6fb0c789d951.txt: staff set a temporary password; docs/rules.md: it must be changed first."""
    harness = with_account()
    harness.portal.create_contact(contact())
    with pytest.raises(AccessDeniedError):
        harness.portal.set_temporary_password("c-1", "Temporary-Pass-42", staff=CLERK)
    harness.portal.set_temporary_password("c-1", "Temporary-Pass-42", staff=ADMIN)
    assert harness.portal.check_access("c-1").level is AccessLevel.NONE
    with pytest.raises(PasswordChangeRequiredError):
        harness.portal.log_in("bo@example.com", "Temporary-Pass-42", client_key=CLIENT)
    harness.portal.change_password(
        "bo@example.com", "Temporary-Pass-42", PASSWORD, client_key=CLIENT
    )
    assert harness.portal.log_in("BO@example.com", PASSWORD, client_key=CLIENT).contact_id == "c-1"
    assert harness.portal.check_access("c-1").level is AccessLevel.FULL


def test_wrong_password_and_unknown_email_fail_alike():
    """docs/rules.md: a login failure never says whether the email exists."""
    harness = with_account()
    harness.portal.create_contact(contact())
    harness.portal.invite_contact("c-1", staff=ADMIN)
    harness.portal.accept_invitation(harness.link("bo@example.com", "/portal/invitation"), PASSWORD)
    errors = []
    for email, password in (
        ("bo@example.com", "wrong password!!"),
        ("nobody@example.com", PASSWORD),
    ):
        with pytest.raises(AuthenticationError) as caught:
            harness.portal.log_in(email, password, client_key=CLIENT)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]


def test_login_email_must_be_unique_across_contacts():
    """Seed 003_11ad6fb0c789d951.txt: the email address is the username, so it names one login."""
    harness = with_account()
    harness.portal.create_contact(contact())
    harness.portal.save_account(account("acc-2"))
    harness.portal.create_contact(contact("c-2", account_id="acc-2"))
    harness.portal.invite_contact("c-1", staff=ADMIN)
    with pytest.raises(ConflictError):
        harness.portal.invite_contact("c-2", staff=ADMIN)


def test_class_and_site_changes_reach_access_at_once():
    """Seed 001_345994b3bb014aeb.txt: account-class options and sites shape what a contact sees."""
    harness = with_account()
    harness.portal.save_site(Site(id="s-1", account_id="acc-1", name="Main"))
    harness.portal.save_site(Site(id="s-2", account_id="acc-1", name="Annex"))
    harness.portal.create_contact(contact(scope=SiteScope.only("s-2")))
    harness.portal.invite_contact("c-1", staff=ADMIN)
    harness.portal.accept_invitation(harness.link("bo@example.com", "/portal/invitation"), PASSWORD)
    assert harness.portal.check_access("c-1").sites.full == {"s-2"}
    harness.portal.save_account_class(AccountClass(id=CLASS.id, name="Residential", reports=True))
    assert harness.portal.check_access("c-1").can(Capability.REPORTS)
    harness.portal.save_site(Site(id="s-2", account_id="acc-1", name="Annex", active=False))
    assert harness.portal.check_access("c-1").sites.full == frozenset()
    assert harness.portal.check_access("c-1").sites.history_only == frozenset()


def test_a_new_address_invited_on_an_auto_invite_class_gets_one_invitation():
    """Seed 001_345994b3bb014aeb.txt (auto-invite on contact creation) with seed
    002_50038a73eff95302.txt (Settings > Invites, "Invite recipients"): a contact made
    for an invited address is invited once, by the staff member, not also on creation."""
    harness = with_account(auto_invite_on_contact_creation=True)
    harness.portal.invite_email_address("acc-1", "new@example.com", staff=ADMIN)
    (invitation,) = harness.mailer.to("new@example.com")
    assert invitation.subject.startswith("You are invited to")
    paid_offer(harness)
    signup = sign_up(harness)
    email = InvoiceEmail.compose("fresh@example.com", invite_recipients=True)
    harness.portal.send_invoice_email(signup.invoice_id, email, staff=ADMIN)
    subjects = sorted(m.subject for m in harness.mailer.to("fresh@example.com"))
    assert [s for s in subjects if s.startswith("You are invited to")] == [subjects[-1]]
    assert len(subjects) == 2
