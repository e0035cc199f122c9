"""The portal in Django's admin: the library's rows listed read-only, and the staff
actions, each through PortalAccess as the logged-in staff member."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client

from portal_access import AccessLevel
from portal_access.contrib.django import signals
from portal_access.contrib.django.models import Contact
from tests.django.web_harness import build

pytestmark = pytest.mark.django_db(transaction=True)

CONTACTS = "/admin/portal_access/contact/"
PAGES = [
    "contact",
    "account",
    "site",
    "accountclass",
    "offer",
    "plan",
    "invoice",
    "payment",
    "token",
    "auditentry",
    "outboxmessage",
]


@pytest.fixture
def web(settings):
    return build(settings)


def _staff(*permissions, superuser=False):
    users = get_user_model().objects
    if superuser:
        user = users.create_superuser(email="admin@example.com", password="x" * 12)
    else:
        user = users.create_user(email="clerk@example.com", password="x" * 12, is_staff=True)
        codenames = ["view_contact", *permissions]
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client, user


def _act(client, action, *contact_ids):
    return client.post(
        CONTACTS, {"action": action, "_selected_action": list(contact_ids)}, follow=True
    )


def _messages(response):
    return [str(message) for message in response.context["messages"]]


def test_every_table_is_listed_and_no_row_can_be_added_changed_or_deleted(web):
    """The admin lists contacts, accounts, sites, classes, offers, plans, invoices, payments, invitations and the audit trail, read-only."""
    contact_id = web.sign_up()
    client, _user = _staff(superuser=True)
    for page in PAGES:
        listing = client.get(f"/admin/portal_access/{page}/")
        assert listing.status_code == 200, page
        assert client.get(f"/admin/portal_access/{page}/add/").status_code == 403, page
    detail = client.get(f"{CONTACTS}{contact_id}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # view only
    assert b"ann@example.com" in client.get(CONTACTS).content
    assert client.get(f"{CONTACTS}{contact_id}/delete/").status_code == 403


def test_send_portal_instructions_mails_a_set_password_link(web):
    """Seed 003_11ad6fb0c789d951.txt: staff send portal instructions from the admin; the contact gets a set-password link, never a password."""
    contact_id = web.sign_up()
    client, _user = _staff(superuser=True)
    mail.outbox.clear()
    response = _act(client, "send_portal_instructions", contact_id)
    assert "Sent portal instructions to 1 contact(s)." in _messages(response)
    assert web.link("ann@example.com", "/set-password/")


def test_send_invitation_invites_the_contact(web):
    """Seed 001_345994b3bb014aeb.txt: staff invite a saved contact with an email from the admin."""
    contact_id = web.sign_up()
    client, _user = _staff("change_contact")
    mail.outbox.clear()
    response = _act(client, "send_invitation", contact_id)
    assert "Invited 1 contact(s)." in _messages(response)
    assert web.link("ann@example.com", "/invitation/")


def test_cancel_required_payment_grants_access_and_records_the_staff_member(
    web, django_capture_on_commit_callbacks
):
    """Seed 000_07c53b15302458c1.txt: staff cancel the required payment; the invoice is void, the contact gets in, the event names who and the admin lists it."""
    heard = []
    signals.invoice_voided.connect(
        lambda sender, message, **_: heard.append(message), weak=False, dispatch_uid="test_admin"
    )
    contact_id = web.sign_up()
    web.register()
    client, user = _staff(superuser=True)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = _act(client, "cancel_required_payment", contact_id)
    finally:
        signals.invoice_voided.disconnect(dispatch_uid="test_admin")
    assert [message.payload["staff_id"] for message in heard] == [str(user.pk)]
    assert "Cancelled the required payment of 1 contact(s)." in _messages(response)
    assert web.portal.check_access(contact_id).level is AccessLevel.FULL
    assert web.client.get("/portal/").status_code == 200
    trail = client.get("/admin/portal_access/outboxmessage/").content.decode()
    assert "invoice.voided" in trail
    assert "email.requested" not in trail
    audit = client.get("/admin/portal_access/auditentry/", {"q": contact_id}).content.decode()
    rows = audit[audit.index('id="result_list"') :]
    assert "cancel_required_payment" in rows
    assert f'<td class="field-show">{user.pk}</td>' in rows  # the staff member's id


def test_staff_without_the_permission_are_refused_and_nothing_changes(web):
    """Staff lacking the permission get the portal's refusal; the contact keeps owing the invoice."""
    contact_id = web.sign_up()
    web.register()
    client, _user = _staff("change_contact")  # may invite, may not cancel payments
    response = _act(client, "cancel_required_payment", contact_id)
    assert any("lacks permission cancel_required_payment" in text for text in _messages(response))
    assert web.portal.check_access(contact_id).level is AccessLevel.PAY_INVOICE_ONLY


def test_actions_need_the_change_permission(web):
    """A staff member who may only view contacts is not offered the actions."""
    web.sign_up()
    client, _user = _staff()
    page = client.get(CONTACTS).content.decode()
    assert "send_portal_instructions" not in page
    assert Contact.objects.count() == 1
