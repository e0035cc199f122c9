"""Contacts, site scopes, account classes and system portal options."""

from __future__ import annotations

import pytest

from portal_access._domain.accounts import Account, AccountClass, InactiveSiteVisibility, Site
from portal_access._domain.contacts import Contact, ContactPortalSettings, ContactRole, SiteScope
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ValidationError


def test_account_level_and_site_level_scopes():
    """Seed 001_345994b3bb014aeb.txt: Account (All Sites), or only the checked sites."""
    assert SiteScope.all_sites().account_level
    limited = SiteScope.only("s-1", "s-2")
    assert not limited.account_level
    assert limited.site_ids == {"s-1", "s-2"}


def test_account_level_scope_cannot_list_sites():
    """Seed 001_345994b3bb014aeb.txt: deselect Account (All Sites) before checking sites."""
    with pytest.raises(ValidationError) as caught:
        SiteScope(account_level=True, site_ids=frozenset({"s-1"}))
    assert caught.value.field == "site_ids"


def test_a_lone_site_id_string_is_one_site():
    """docs/rules.md: a string passed where a collection is expected is never split into letters."""
    assert SiteScope(account_level=False, site_ids="s-10").site_ids == {"s-10"}  # type: ignore[arg-type]


def test_contact_defaults_are_the_safe_ones():
    """Seeds 003_11ad6fb0c789d951.txt and 004_67d5e53a019b49ae.txt: saving payment methods and the catalog are opt-in."""
    contact = Contact(id="c", account_id="a", first_name="Ann")
    assert contact.role is ContactRole.CLIENT
    assert not contact.portal.can_save_payment_method
    assert not contact.portal.catalog_access
    assert contact.portal.allowed_gateways is None
    assert contact.email is None
    assert contact.full_name == "Ann"


def test_allowed_gateways_are_the_seed_vendors():
    """Seed 004_67d5e53a019b49ae.txt: PayPal, Stripe or Square may be enabled per contact."""
    assert ContactPortalSettings(allowed_gateways=["PayPal", "stripe"]).allowed_gateways == {
        "paypal",
        "stripe",
    }
    with pytest.raises(ValidationError) as caught:
        ContactPortalSettings(allowed_gateways=["venmo"])
    assert caught.value.field == "allowed_gateways"


def test_account_class_portal_options_default_off():
    """Seed 001_345994b3bb014aeb.txt: auto-invite and self-registration are optional setups."""
    klass = AccountClass(id="k", name="Residential")
    assert klass.portal_enabled
    assert not klass.auto_invite_on_contact_creation
    assert not klass.invoice_verified_self_registration
    assert klass.inactive_sites is InactiveSiteVisibility.HIDDEN


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Contact(id="", account_id="a", first_name="A"), "id"),
        (lambda: Contact(id="c", account_id="a", first_name="A", email="a@b.co"), "email"),
        (
            lambda: Account(
                id="a", number=" ", name="N", account_class=AccountClass(id="k", name="K")
            ),
            "number",
        ),
        (lambda: Site(id="s", account_id="a", name="S", active="yes"), "active"),
        (lambda: AccountClass(id="k", name="K", reports=1), "reports"),
    ],
)
def test_bad_fields_are_typed_errors_naming_the_field(build, field):
    """docs/rules.md: every public constructor validates and names the offending field."""
    with pytest.raises(ValidationError) as caught:
        build()
    assert caught.value.field == field


def test_contact_email_is_an_email_address():
    """Seed 003_11ad6fb0c789d951.txt: the email address is the username."""
    contact = Contact(
        id="c",
        account_id="a",
        first_name="Ann",
        last_name="Lee",
        email=EmailAddress.parse("ann@example.com"),
    )
    assert contact.full_name == "Ann Lee"
