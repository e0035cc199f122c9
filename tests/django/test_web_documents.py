"""The document view in Django (issue #18, seed 004: "in each generated document there
is a link to access the portal"; contacts "preview them, download them in PDF, print
them, add comments and even pay"), through the test client with CSRF checks on."""

from __future__ import annotations

import io

import attrs
import pytest
from pypdf import PdfReader

from portal_access import (
    Capability,
    DocumentKind,
    DocumentRef,
    PortalAccess,
)
from portal_access.contrib.django import checks
from portal_access.contrib.django.testing import log_in
from tests.django.documents_world import ADMIN, HOSTILE, KEY, invoice, world
from tests.django.web_harness import PASSWORD, WebPortal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(settings) -> WebPortal:
    return world(settings)


def _link(contact_id: str, invoice_id: str) -> str:
    url = PortalAccess.document_link(
        _portal(), contact_id, DocumentRef(DocumentKind.INVOICE, invoice_id)
    )
    assert url.startswith("http://testserver/portal/document/?token=")
    return url.removeprefix("http://testserver")


def _portal() -> PortalAccess:
    from portal_access.contrib.django import portal  # noqa: PLC0415

    return portal()


def _text(response) -> str:
    return response.content.decode()


# -- opening the link ------------------------------------------------------------------------


def test_an_anonymous_visitor_logs_in_and_comes_back_to_the_same_link(web):
    """Seed 004: the document's link opens the portal; after login, the same document."""
    link = _link("c-ann", "inv-ann")
    first = web.client.get(link)
    assert first.status_code == 303
    assert first["Location"].startswith("/portal/login/?next=")
    login_page = web.client.get(first["Location"])
    assert f'name="next" value="{link}"' in _text(login_page)  # kept across the login form
    logged_in = web.post(
        "/portal/login/", {"email": "ann@example.com", "password": PASSWORD, "next": link}
    )
    assert logged_in.status_code == 303
    assert logged_in["Location"] == link
    shown = web.client.get(link)
    assert shown.status_code == 200
    assert "Invoice 1003" in _text(shown)
    assert "no-store" in shown["Cache-Control"]
    assert shown["Referrer-Policy"] == "no-referrer"


def test_the_preview_escapes_every_contact_and_host_text(web):
    """A hostile contact name and invoice title never become markup."""
    log_in(web.client, "c-ann")
    page = _text(web.client.get("/portal/document/?invoice=inv-acc"))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;Bob&quot;" in page
    assert "April &lt;b&gt;service&lt;/b&gt;" in page
    assert "120.00" in page
    assert "data-portal-print" in page  # print (portal.js; no inline handler: CSP)
    assert '<script src="/portal/portal.js" defer></script>' in page
    assert "onclick" not in page
    assert "<style" not in page
    assert 'href="/portal/document/pdf/?invoice=inv-acc"' in page


@pytest.mark.parametrize(
    "query",
    [
        "token=x",
        "token=%25%25%25",
        "token=" + "A" * 5000,
        "invoice=inv-cid",  # another account's
        "invoice=inv-ann",  # Ann's own, opened by Bob
        "invoice=no-such",
        "invoice=%00",
        "statement=acc-2",
        "",
    ],
)
def test_a_document_not_the_contacts_is_a_404_page(web, query):
    """Tampered, unknown, another account's or another contact's: a clear 404, never
    another contact's document, never a 500."""
    log_in(web.client, "c-bob")
    response = web.client.get(f"/portal/document/?{query}")
    assert response.status_code == 404
    assert "does not open a document for your login" in _text(response)
    assert "1003" not in _text(response)
    assert "2001" not in _text(response)


def test_another_contacts_or_a_tampered_link_opens_nothing(web):
    """The link is bound to the contact it was made for and signed."""
    link = _link("c-ann", "inv-ann")
    log_in(web.client, "c-bob")
    assert web.client.get(link).status_code == 404
    bobs = _link("c-bob", "inv-acc")
    token = bobs.split("token=", 1)[1]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert web.client.get(f"/portal/document/?token={flipped}").status_code == 404
    assert web.client.get(bobs).status_code == 200


def test_an_expired_link_is_a_410_page(web):
    """The contact's own link after its lifetime (90 days): 410, and no document."""
    link = _link("c-ann", "inv-ann")
    web.advance(days=91)
    log_in(web.client, "c-ann")
    response = web.client.get(link)
    assert response.status_code == 410
    assert "expired" in _text(response)
    assert "Cleaning" not in _text(response)


def test_without_a_document_link_key_there_is_no_document_view(settings):
    """No key: documents cannot be drawn; the view answers 404 and the dashboard links none."""
    web = world(settings, DOCUMENT_LINK_KEY=None, RENDERER=None)
    log_in(web.client, "c-ann")
    response = web.client.get("/portal/document/?invoice=inv-ann")
    assert response.status_code == 404
    assert "not available" in _text(response)
    assert "/portal/document/" not in _text(web.client.get("/portal/"))


# -- the dashboard's links -------------------------------------------------------------------


def test_the_dashboard_links_each_invoice_and_the_statement_to_the_document_view(web):
    """Where the dashboard lists invoices, each opens its document; the statement too."""
    log_in(web.client, "c-ann")
    page = _text(web.client.get("/portal/"))
    assert 'href="/portal/document/?invoice=inv-ann"' in page
    assert 'href="/portal/document/?invoice=inv-acc"' in page
    assert 'href="/portal/document/?statement=acc-1"' in page
    statement = web.client.get("/portal/document/?statement=acc-1")
    assert statement.status_code == 200
    text = _text(statement)
    assert "Statement" in text
    assert 'href="/portal/document/?invoice=inv-acc"' in text  # pay invoice by invoice
    assert "2001" not in text


# -- download ----------------------------------------------------------------------------------


def test_download_pdf_has_its_type_filename_and_text(web):
    """Seed 004: download in PDF; the file is named after the document."""
    log_in(web.client, "c-ann")
    response = web.client.get("/portal/document/pdf/?invoice=inv-ann")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice-1003.pdf"'
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert f"To: {HOSTILE} Lee" in text
    assert "http://testserver/portal/document/?token=" in text.replace("\n", "")
    statement = web.client.get("/portal/document/pdf/?statement=acc-1")
    assert statement["Content-Disposition"] == 'attachment; filename="statement.pdf"'


def test_download_is_refused_cleanly_without_a_renderer(settings):
    """No renderer: no download button, and the download path is a 404 page."""
    web = world(settings, RENDERER=None)
    log_in(web.client, "c-ann")
    assert "Download PDF" not in _text(web.client.get("/portal/document/?invoice=inv-ann"))
    response = web.client.get("/portal/document/pdf/?invoice=inv-ann")
    assert response.status_code == 404
    assert "PDF downloads are not available" in _text(response)


def test_download_is_refused_without_the_download_capability(web, monkeypatch):
    """A decision without "download documents": no button, and the download is a 403."""
    check_access = PortalAccess.check_access

    def without_download(portal: PortalAccess, contact_id: str):
        decision = check_access(portal, contact_id)
        return attrs.evolve(
            decision, capabilities=decision.capabilities - {Capability.DOWNLOAD_DOCUMENTS}
        )

    monkeypatch.setattr(PortalAccess, "check_access", without_download)
    log_in(web.client, "c-ann")
    assert "Download PDF" not in _text(web.client.get("/portal/document/?invoice=inv-ann"))
    response = web.client.get("/portal/document/pdf/?invoice=inv-ann")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_a_document_the_font_cannot_draw_is_a_clear_page_not_a_500(web):
    """A contact named in a script the PDF font lacks: 503 with a way out, and a log line."""
    web.portal.save_invoice(invoice("inv-cjk", "1005", 500, line="山田 service"))
    log_in(web.client, "c-bob")
    response = web.client.get("/portal/document/pdf/?invoice=inv-cjk")
    assert response.status_code == 503
    assert "print it from this page" in _text(response)


# -- comments ----------------------------------------------------------------------------------


def test_comments_are_added_with_csrf_and_listed_in_order(web):
    """Seed 004: add comments; oldest first, escaped, the staff's too."""
    log_in(web.client, "c-ann")
    page = "/portal/document/?invoice=inv-acc"
    refused = web.client.post(page, {"body": "no token"})
    assert refused.status_code == 403
    assert web.post(page, {"body": "First <b>question</b>"}).status_code == 303
    web.portal.staff_comment_on_document(
        DocumentRef(DocumentKind.INVOICE, "inv-acc"), "Staff answer", staff=ADMIN
    )
    added = web.post(page, {"body": "Second"})
    assert added.status_code == 303
    assert added["Location"] == page
    text = _text(web.client.get(page))
    first, staff, second = (
        text.index("First &lt;b&gt;question&lt;/b&gt;"),
        text.index("Staff answer"),
        text.index("Second"),
    )
    assert first < staff < second
    assert "no token" not in text


def test_a_blank_or_too_long_comment_is_a_400_with_the_reason(web):
    """The library's limits (1 to 4000 characters), said on the page; nothing stored."""
    log_in(web.client, "c-bob")
    page = "/portal/document/?invoice=inv-acc"
    blank = web.post(page, {"body": "   "})
    assert blank.status_code == 400
    assert 'role="alert"' in _text(blank)
    assert web.post(page, {"body": "x" * 4001}).status_code == 400
    assert web.portal.document_comments("c-bob", DocumentRef(DocumentKind.INVOICE, "inv-acc")) == ()


def test_a_comment_through_a_link_comes_back_to_the_link(web):
    """A comment posted on a page opened from its signed link returns to that link."""
    link = _link("c-bob", "inv-acc")
    log_in(web.client, "c-bob")
    added = web.post(link, {"body": "Via the link"})
    assert added.status_code == 303
    assert added["Location"] == link
    assert "Via the link" in _text(web.client.get(link))


# -- pay this document -------------------------------------------------------------------------


def test_pay_this_document_opens_the_gateways_page(web):
    """Seed 004: "even pay based on integrated gateways": the sandbox's page, once."""
    log_in(web.client, "c-bob")
    page = _text(web.client.get("/portal/document/?invoice=inv-acc"))
    assert "Pay this document" in page
    assert 'value="sandbox"' in page
    opened = web.post("/portal/document/pay/?invoice=inv-acc", {"gateway": "sandbox"})
    assert opened.status_code == 303
    assert opened["Location"].startswith("/portal/sandbox/checkout/")
    again = web.post("/portal/document/pay/?invoice=inv-acc", {"gateway": "sandbox"})
    assert again["Location"] == opened["Location"]  # two clicks, one page


def test_pay_is_refused_off_the_contacts_gateways_and_for_a_statement(web):
    """A gateway the contact may not use, a statement, another's invoice: clear pages."""
    log_in(web.client, "c-bob")
    off = web.post("/portal/document/pay/?invoice=inv-acc", {"gateway": "stripe"})
    assert off.status_code == 403
    statement = web.post("/portal/document/pay/?statement=acc-1", {"gateway": "sandbox"})
    assert statement.status_code == 400
    theirs = web.post("/portal/document/pay/?invoice=inv-ann", {"gateway": "sandbox"})
    assert theirs.status_code == 404
    assert web.client.post("/portal/document/pay/?invoice=inv-acc").status_code == 403  # CSRF


# -- system checks -----------------------------------------------------------------------------


def test_a_renderer_without_a_link_key_is_a_check_error(settings):
    """Documents would fail at first use: said by ``manage.py check`` instead (E009)."""
    settings.PORTAL_ACCESS = {
        "URL": "http://testserver/portal/",
        "RENDERER": "portal_access.adapters.FpdfDocumentRenderer",
    }
    assert [m.id for m in checks.check_document_links()] == ["portal_access.E009"]
    settings.PORTAL_ACCESS = {**settings.PORTAL_ACCESS, "DOCUMENT_LINK_KEY": KEY}
    assert checks.check_document_links() == []


def test_document_links_to_a_path_no_document_view_serves_are_a_check_error(settings):
    """Emails carry document links: ``URL`` must be where the app's URLs are (E010)."""
    settings.PORTAL_ACCESS = {"URL": "http://testserver/clients/", "DOCUMENT_LINK_KEY": KEY}
    [error] = checks.check_document_links()
    assert error.id == "portal_access.E010"
    assert "/clients/document/" in error.msg
    settings.PORTAL_ACCESS = {"URL": "http://testserver/clients/"}  # no links: nothing to say
    assert checks.check_document_links() == []
    settings.PORTAL_ACCESS = {"URL": "https://x.example/portal/", "DOCUMENT_LINK_KEY": KEY}
    assert checks.check_document_links() == []
