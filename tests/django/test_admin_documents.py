"""The admin's pages for seed 004 (issue #18): accounting entries (read-only, by month,
exported as CSV), the account-to-bank mapping, catalog items, purchase orders and
document comments; every change goes through PortalAccess as the staff member."""

from __future__ import annotations

import csv
import io

import attrs
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client

from portal_access import (
    DocumentKind,
    DocumentRef,
    EntryKind,
    Money,
    PaymentMethodKind,
)
from portal_access.contrib.django.models import CatalogItem, DocumentComment, LedgerAccount
from portal_access.contrib.django.testing import log_in
from tests.django.documents_world import world

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN_URL = "/admin/portal_access"
INVOICE = DocumentRef(DocumentKind.INVOICE, "inv-acc")


@pytest.fixture
def web(settings):
    return world(settings)


def _staff(*permissions: str, superuser: bool = False) -> tuple[Client, object]:
    users = get_user_model().objects
    if superuser:
        user = users.create_superuser(email="admin@example.com", password="x" * 12)
    else:
        user = users.create_user(email="clerk@example.com", password="x" * 12, is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client, user


def _text(response) -> str:
    return response.content.decode()


def _pay(web, contact_id: str = "c-bob", invoice_id: str = "inv-acc") -> None:
    """The contact pays the invoice on the sandbox's page ("pay this document")."""
    log_in(web.client, contact_id)
    opened = web.post(f"/portal/document/pay/?invoice={invoice_id}", {"gateway": "sandbox"})
    assert opened.status_code == 303, opened.content
    paid = web.post(opened["Location"].split("?", 1)[0], {"method": "card", "back": "portal"})
    assert paid.status_code == 303, paid.content


# -- accounting entries ------------------------------------------------------------------------


def test_accounting_entries_are_listed_read_only_and_filtered_by_month(web):
    """Seed 004: an entry per settled payment, listed by month, never edited here."""
    _pay(web)
    client, _user = _staff(superuser=True)
    page = client.get(f"{ADMIN_URL}/accountingentry/")
    assert page.status_code == 200
    text = _text(page)
    assert "sandbox" in text
    assert "120.00 USD" in text
    assert "2026-03" in text  # the month filter offers the entries' month
    assert "1 accounting entry" in _text(client.get(f"{ADMIN_URL}/accountingentry/?month=2026-03"))
    assert "0 accounting entries" in _text(
        client.get(f"{ADMIN_URL}/accountingentry/?month=2026-04")
    )
    assert client.get(f"{ADMIN_URL}/accountingentry/add/").status_code == 403


def test_the_csv_export_action_writes_the_selected_entries_escaped(web):
    """The facade's CSV (escaped against CSV injection), the selected rows only."""
    _pay(web)
    [entry] = web.portal.accounting_entries(web.clock.now().date(), web.clock.now().date())
    assert entry.kind is EntryKind.PAYMENT
    client, _user = _staff("view_accountingentry")
    from portal_access.contrib.django.models import AccountingEntry  # noqa: PLC0415

    ids = [str(pk) for pk in AccountingEntry.objects.values_list("pk", flat=True)]
    response = client.post(
        f"{ADMIN_URL}/accountingentry/", {"action": "export_csv", "_selected_action": ids}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="accounting-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["occurred_at", "kind", "gateway", "payment_id"]
    assert len(rows) == 2
    assert rows[1][1:3] == ["payment", "sandbox"]
    assert dict(zip(rows[0], rows[1], strict=True))["invoice_id"] == "inv-acc"
    assert web.portal.accounting_csv(entry.occurred_at.date(), entry.occurred_at.date()) == (
        response.content.decode()
    )


# -- the account-to-bank mapping ---------------------------------------------------------------


def test_staff_map_a_payment_method_to_a_bank_account_through_the_facade(web):
    """Seed 004: staff map a gateway's payment method to the books; entries recorded
    afterwards carry the code; the mapping is on the audit trail as the staff member."""
    client, user = _staff(superuser=True)
    form = client.get(f"{ADMIN_URL}/ledgeraccount/add/")
    assert form.status_code == 200
    assert '<option value="sandbox">' in _text(form)
    added = client.post(
        f"{ADMIN_URL}/ledgeraccount/add/",
        {
            "paid_through": "sandbox",
            "payment_method": "card",
            "account_code": "1010",
            "account_name": "First Bank",
        },
    )
    assert added.status_code == 302, _text(added)
    [mapped] = web.portal.ledger_accounts()
    assert (mapped.gateway, mapped.method, mapped.code) == (
        "sandbox",
        PaymentMethodKind.CARD,
        "1010",
    )
    row = LedgerAccount.objects.get()
    changed = client.post(
        f"{ADMIN_URL}/ledgeraccount/{row.pk}/change/",
        {
            "paid_through": "other",
            "payment_method": "ach",
            "account_code": "1020",
            "account_name": "Second Bank",
        },
    )
    assert changed.status_code == 302, _text(changed)
    [remapped] = web.portal.ledger_accounts()
    assert (remapped.gateway, remapped.method, remapped.code) == (  # the keys stay
        "sandbox",
        PaymentMethodKind.CARD,
        "1020",
    )
    audit = web.portal.audit_trail()
    assert [entry.actor.name for entry in audit if entry.action.value == "map_ledger_account"] == [
        str(user),
        str(user),
    ]
    _pay(web)
    [entry] = web.portal.accounting_entries(web.clock.now().date(), web.clock.now().date())
    assert entry.ledger_account == "1020"
    assert "1020" in _text(client.get(f"{ADMIN_URL}/ledgeraccount/"))


def test_a_refused_mapping_is_a_form_error_and_changes_nothing(web):
    """A gateway that is not configured, a blank code: the form says so, nothing stored;
    a clerk without the add permission gets no form."""
    client, _user = _staff(superuser=True)
    bad = client.post(
        f"{ADMIN_URL}/ledgeraccount/add/",
        {"paid_through": "stripe", "payment_method": "card", "account_code": "1"},
    )
    assert bad.status_code == 200
    assert "errorlist" in _text(bad)
    blank = client.post(
        f"{ADMIN_URL}/ledgeraccount/add/",
        {"paid_through": "sandbox", "payment_method": "card", "account_code": " "},
    )
    assert blank.status_code == 200
    assert web.portal.ledger_accounts() == ()
    clerk, _clerk = _staff("view_ledgeraccount")
    assert clerk.get(f"{ADMIN_URL}/ledgeraccount/add/").status_code == 403
    assert clerk.get(f"{ADMIN_URL}/ledgeraccount/").status_code == 200


# -- the catalog and purchase orders -----------------------------------------------------------


def test_catalog_items_are_added_and_withdrawn_through_the_facade(web):
    """Seed 004's catalog: an item added with an exact price, then withdrawn."""
    client, _user = _staff("view_catalogitem", "add_catalogitem", "change_catalogitem")
    added = client.post(
        f"{ADMIN_URL}/catalogitem/add/",
        {"item_id": "widget", "item_name": "Widget <b>", "unit_price": "12.50", "currency": "usd",
         "offered": "on"},
    )  # fmt: skip
    assert added.status_code == 302, _text(added)
    bob = attrs.evolve(web.portal.contact("c-bob"))
    web.portal.update_contact(
        attrs.evolve(bob, portal=attrs.evolve(bob.portal, catalog_access=True))
    )
    [item] = web.portal.catalog("c-bob")
    assert (item.name, item.unit_price) == ("Widget <b>", Money(1250, "USD"))
    listing = _text(client.get(f"{ADMIN_URL}/catalogitem/"))
    assert "Widget &lt;b&gt;" in listing
    assert "12.50 USD" in listing
    change = client.get(f"{ADMIN_URL}/catalogitem/widget/change/")
    assert 'value="12.50"' in _text(change)
    withdrawn = client.post(
        f"{ADMIN_URL}/catalogitem/widget/change/",
        {"item_id": "other", "item_name": "Widget", "unit_price": "12.50", "currency": "USD"},
    )
    assert withdrawn.status_code == 302, _text(withdrawn)
    assert web.portal.catalog("c-bob") == ()
    assert CatalogItem.objects.count() == 1  # the id stayed


def test_a_price_the_currency_cannot_hold_is_a_form_error(web):
    """12.505 USD has too many decimals: refused by the library, nothing stored."""
    client, _user = _staff(superuser=True)
    refused = client.post(
        f"{ADMIN_URL}/catalogitem/add/",
        {"item_id": "widget", "item_name": "Widget", "unit_price": "12.505", "currency": "USD"},
    )
    assert refused.status_code == 200
    assert "errorlist" in _text(refused)
    assert CatalogItem.objects.count() == 0


def test_purchase_orders_are_listed_with_their_lines(web):
    """A contact's order (an open invoice) in the admin, read-only."""
    from portal_access import CatalogItem as Item  # noqa: PLC0415

    web.portal.save_catalog_item(Item(id="widget", name="Widget", unit_price=Money(500, "USD")))
    bob = web.portal.contact("c-bob")
    web.portal.update_contact(
        attrs.evolve(bob, portal=attrs.evolve(bob.portal, catalog_access=True))
    )
    order = web.portal.place_purchase_order("c-bob", {"widget": 2}, gateway="sandbox")
    client, _user = _staff(superuser=True)
    text = _text(client.get(f"{ADMIN_URL}/purchaseorder/"))
    assert order.id in text
    assert "2 x Widget" in text
    assert order.invoice_id in text
    assert client.get(f"{ADMIN_URL}/purchaseorder/add/").status_code == 403


# -- document comments -------------------------------------------------------------------------


def test_staff_comment_as_the_logged_in_user_and_the_contacts_are_mailed(web):
    """Seed 004: staff add a comment through the facade, as ``request.user``; every
    contact who may see the document hears of it; the list shows it escaped, in order."""
    web.portal.comment_on_document("c-bob", INVOICE, "Is this <b>right</b>?")
    client, user = _staff("view_documentcomment", "add_documentcomment")
    mail.outbox.clear()
    added = client.post(
        f"{ADMIN_URL}/documentcomment/add/",
        {"kind": "invoice", "document_id": "inv-acc", "body": "Yes, it is."},
    )
    assert added.status_code == 302, _text(added)
    comments = web.portal.staff_document_comments(INVOICE)
    assert [c.body for c in comments] == ["Is this <b>right</b>?", "Yes, it is."]
    assert comments[1].author.name == str(user)
    assert comments[1].author.id == str(user.pk)
    told = sorted(address for message in mail.outbox for address in message.to)
    assert told == ["ann@example.com", "bob@example.com"]
    listing = _text(client.get(f"{ADMIN_URL}/documentcomment/"))
    assert "Is this &lt;b&gt;right&lt;/b&gt;?" in listing
    assert listing.index("Is this") < listing.index("Yes, it is.")
    row = DocumentComment.objects.get(id=comments[1].id)
    assert client.get(f"{ADMIN_URL}/documentcomment/{row.pk}/change/").status_code == 200


def test_a_comment_on_no_such_document_is_a_form_error_and_mails_no_one(web):
    """An unknown invoice or a blank comment: the form says so; nothing stored or sent."""
    client, _user = _staff(superuser=True)
    mail.outbox.clear()
    unknown = client.post(
        f"{ADMIN_URL}/documentcomment/add/",
        {"kind": "invoice", "document_id": "no-such", "body": "Hello"},
    )
    assert unknown.status_code == 200
    assert "errorlist" in _text(unknown)
    blank = client.post(
        f"{ADMIN_URL}/documentcomment/add/",
        {"kind": "statement", "document_id": "acc-1", "body": "   "},
    )
    assert blank.status_code == 200
    assert DocumentComment.objects.count() == 0
    assert mail.outbox == []
    clerk, _clerk = _staff("view_documentcomment")
    assert clerk.get(f"{ADMIN_URL}/documentcomment/add/").status_code == 403
