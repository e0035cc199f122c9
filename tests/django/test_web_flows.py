"""The portal's pages in Django, through the test client with CSRF checks on: seed
000's paid onboarding from the kickoff form to the account summary, and every flow the
Flask blueprint has."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from portal_access import AccessLevel
from portal_access.contrib.django.models import Contact
from tests.django.web_harness import build

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(settings):
    return build(settings)


def test_seed_000_from_the_kickoff_form_to_the_summary(web):
    """Seed 000_07c53b15302458c1.txt: form, emailed invitation, password, pay-invoice only, sandbox card payment, full access."""
    form = web.client.get("/portal/join/kickoff/")
    assert form.status_code == 200
    assert b"$250.00" in form.content
    contact_id = web.sign_up()
    web.register()
    assert web.client.get("/portal/")["Location"] == "/portal/pay/"
    assert b"Pay $299.00 securely" in web.client.get("/portal/pay/").content
    paid = web.checkout()
    assert paid.status_code == 303
    assert paid["Location"] == "/portal/"
    summary = web.client.get("/portal/")
    assert summary.status_code == 200
    assert b"Welcome, Ann" in summary.content
    assert web.portal.check_access(contact_id).level is AccessLevel.FULL


def test_registration_logs_the_contact_in_as_the_hosts_user(web):
    """A registered contact is the host's custom user (AUTH_USER_MODEL), made with an unusable password."""
    contact_id = web.sign_up()
    web.register()
    user = get_user_model().objects.get(email="ann@example.com")
    assert not user.has_usable_password()
    assert user.portal_contact.id == contact_id
    assert int(web.client.session["_auth_user_id"]) == user.pk


#: The PostgreSQL alias of the test settings, when PORTAL_ACCESS_TEST_DATABASE_URL names one.
POSTGRES = [alias for alias in django_settings.DATABASES if alias == "postgres"]


@pytest.mark.postgres
@pytest.mark.skipif(
    not POSTGRES,
    reason="needs PostgreSQL: set PORTAL_ACCESS_TEST_DATABASE_URL="
    "postgresql://postgres@127.0.0.1:5432/test",
)
@pytest.mark.django_db(transaction=True, databases=["default", *POSTGRES])
def test_seed_000_with_the_portal_on_another_database_than_the_users(settings):
    """Seed 000_07c53b15302458c1.txt with PORTAL_ACCESS["DATABASE"] = "postgres": the pages work, the contact's user (on "default") is found by email, not linked across databases."""
    web = build(settings, DATABASE="postgres")
    contact_id = web.sign_up()
    web.register()
    web.checkout("card")
    assert web.client.get("/portal/").status_code == 200
    assert web.portal.check_access(contact_id).level is AccessLevel.FULL
    assert get_user_model().objects.filter(email="ann@example.com").count() == 1
    assert Contact.objects.using("postgres").get(id=contact_id).user_id is None
