"""Seed 004_67d5e53a019b49ae.txt's document view in the Flask integration, through the
test client: "in each generated document there is a link to access the portal";
"clicking on any of the documents will open a new view where you can preview them,
download them in PDF, print them, add comments and even pay based on integrated
gateways"."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import attrs
import pytest
from flask import Flask

from portal_access import (
    ConfigurationError,
    Contact,
    ContactPortalSettings,
    DocumentKind,
    DocumentRef,
    EmailAddress,
    Invoice,
    InvoiceLine,
    Money,
    StaffMember,
    StaffPermission,
)
from portal_access.adapters import FpdfDocumentRenderer, MemoryMailer
from portal_access.contrib.flask import PortalAccessExtension
from portal_access.contrib.flask._links import portal_links
from portal_access.contrib.flask._settings import FlaskSettings
from portal_access.contrib.flask.testing import log_in, log_out
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from tests.integration.flask_portal import PASSWORD, FlaskPortal, build

ADMIN = StaffMember(id="staff-1", name="Admin", permissions=frozenset(StaffPermission))
KEY_HEX = bytes(range(32)).hex()
HOSTILE = "<script>alert(1)</script>"
_DOCUMENT_LINK = re.compile(r"https?://[^/\s\"]+(/\S*/document\?token=[A-Za-z0-9_.%-]+)")


def with_documents(**kwargs) -> FlaskPortal:
    """An app that signs document links and draws PDFs."""
    config = {"PORTAL_ACCESS_DOCUMENT_LINK_KEY": KEY_HEX, **kwargs.pop("config", {})}
    parts = {"renderer": FpdfDocumentRenderer(), **kwargs.pop("parts", {})}
    return build(config=config, parts=parts, **kwargs)


def full_access(harness: FlaskPortal, email: str = "ann@example.com", first: str = "Ann") -> str:
    """Sign up, register and pay the first invoice: a contact with full access (logged in)."""
    contact_id = harness.sign_up(email=email, first_name=first)
    harness.register(email)
    paid = harness.checkout("card")
    assert paid.status_code == 303, paid.text
    return contact_id


def account_of(harness: FlaskPortal, contact_id: str) -> str:
    with unit_of_work(harness.store) as uow:
        return uow.contacts.get(contact_id).account_id


def host_invoice(account_id: str, *, number: str = "H-100", **changes) -> Invoice:
    invoice = Invoice(
        id=f"inv-{number}",
        number=number,
        account_id=account_id,
        title="March service",
        currency="USD",
        lines=(InvoiceLine("Cleaning", Money(12000, "USD")),),
        issued_on=date(2026, 3, 1),
        due_on=date(2026, 3, 31),
    )
    return attrs.evolve(invoice, **changes)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def link_for(harness: FlaskPortal, contact_id: str, ref: DocumentRef) -> str:
    return path_of(harness.portal.document_link(contact_id, ref))


def invoice_ref(number: str = "H-100") -> DocumentRef:
    return DocumentRef(DocumentKind.INVOICE, f"inv-{number}")


def colleague(harness: FlaskPortal, account_id: str, email: str = "bo@example.com") -> str:
    """A second contact on the account (no paid access asked), registered: full access."""
    contact_id = f"c-{email.split('@', maxsplit=1)[0]}"
    harness.portal.create_contact(
        Contact(
            id=contact_id,
            account_id=account_id,
            first_name="Bo",
            email=EmailAddress.parse(email),
        )
    )
    harness.portal.invite_contact(contact_id, staff=ADMIN)
    log_out(harness.client)
    harness.register(email)
    return contact_id


@pytest.fixture
def ann() -> tuple[FlaskPortal, str]:
    harness = with_documents()
    contact_id = full_access(harness)
    harness.portal.save_invoice(host_invoice(account_of(harness, contact_id), gateway="sandbox"))
    return harness, contact_id


# -- the list and the view --------------------------------------------------------------------


def test_the_overview_links_each_invoice_and_the_statement_to_its_document(ann):
    """Seed 004: "clicking on any of the documents will open a new view"."""
    harness, _contact = ann
    overview = harness.client.get("/portal/").text
    assert "View statement" in overview
    links = _DOCUMENT_LINK.findall(overview)
    assert len(links) == 3  # the statement, H-100 and the first (paid) invoice
    pages = [harness.client.get(link) for link in links]
    assert [page.status_code for page in pages] == [200, 200, 200]
    titles = [re.search(r"<h1>(.*?)</h1>", page.text).group(1) for page in pages]
    assert titles[0] == "Statement"
    assert "Invoice H-100" in titles


def test_the_document_view_previews_prints_downloads_and_offers_comments_and_pay(ann):
    """Preview, a PDF link, a print button, the comment form, "Pay this document"."""
    harness, contact_id = ann
    page = harness.client.get(link_for(harness, contact_id, invoice_ref()))
    assert page.status_code == 200
    text = page.text
    for shown in ("Invoice H-100", "Cleaning", "$120.00", "Balance due", "Ann Lee"):
        assert shown in text, shown
    assert "Download PDF" in text
    assert "data-portal-print" in text  # portal.js prints; no inline handler (CSP)
    assert "onclick" not in text
    with harness.client.get("/portal/static/portal.css") as stylesheet:
        assert "@media print" in stylesheet.text
    with harness.client.get("/portal/static/portal.js") as script:
        assert "window.print()" in script.text
    assert 'name="body"' in text
    assert "Pay $120.00" in text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_an_anonymous_visitor_logs_in_and_comes_back_to_the_same_document(ann):
    """The link survives login: the guard's next, then the login page's safe return."""
    harness, contact_id = ann
    link = link_for(harness, contact_id, invoice_ref())
    log_out(harness.client)
    sent = harness.client.get(link)
    assert sent.status_code == 303
    login = urlsplit(sent.location)
    assert login.path == "/portal/login"
    page = harness.client.get(sent.location)
    assert "document?token=" in page.text  # the form carries next
    back = harness.post(
        sent.location,
        {"email": "ann@example.com", "password": PASSWORD, "next": link},
    )
    assert back.status_code == 303
    assert back.location == link
    assert "Invoice H-100" in harness.client.get(back.location).text


def test_an_anonymous_visitor_is_never_sent_off_site_after_login(ann):
    """The return URL is the existing safe one: an absolute next is dropped."""
    harness, _contact = ann
    log_out(harness.client)
    back = harness.post(
        "/portal/login",
        {"email": "ann@example.com", "password": PASSWORD, "next": "https://evil.example/x"},
    )
    assert back.location == "/portal/"


def test_another_contacts_link_shows_nothing_of_the_document(ann):
    """A link is bound to its contact: the colleague logged in gets 404, no content."""
    harness, ann_id = ann
    link = link_for(harness, ann_id, invoice_ref())
    bo = colleague(harness, account_of(harness, ann_id))
    log_in(harness.client, bo)
    page = harness.client.get(link)
    assert page.status_code == 404
    assert "H-100" not in page.text
    assert "Cleaning" not in page.text
    assert "not valid for your login" in page.text
    # the same document through the colleague's own link opens (the invoice is addressed
    # to no one, so the whole account sees it)
    own = harness.client.get(link_for(harness, bo, invoice_ref()))
    assert own.status_code == 200
    assert "Invoice H-100" in own.text


def test_a_contacts_own_invoice_is_never_shown_to_a_colleague(ann):
    """An invoice addressed to Ann: Bo's portal lists no link to it and Ann's link is a 404."""
    harness, ann_id = ann
    account = account_of(harness, ann_id)
    harness.portal.save_invoice(host_invoice(account, number="ANN-1", contact_id=ann_id))
    link = link_for(harness, ann_id, invoice_ref("ANN-1"))
    bo = colleague(harness, account)
    log_in(harness.client, bo)
    assert "ANN-1" not in harness.client.get("/portal/").text
    assert harness.client.get(link).status_code == 404
    for path in ("/portal/document/pdf?" + link.split("?")[1],):
        assert harness.client.get(path).status_code == 404


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token.split(".")[0],
        lambda token: "",
        lambda token: "x" * 5000,
        lambda token: "%00%ff",
    ],
    ids=["one-character", "no-signature", "empty", "huge", "bytes"],
)
def test_a_tampered_link_is_a_clean_404(ann, tamper):
    """Tampered, truncated, empty, oversized: the same 404 page, never a 500."""
    harness, contact_id = ann
    token = link_for(harness, contact_id, invoice_ref()).split("token=", 1)[1]
    for path in ("/portal/document", "/portal/document/pdf"):
        page = harness.client.get(f"{path}?token={tamper(token)}")
        assert page.status_code == 404, path
        assert "Cleaning" not in page.text


def test_an_expired_link_is_410_and_shows_nothing():
    """The contact's own link past its lifetime: 410, a way back to the overview."""
    harness = with_documents(parts={"document_link_lifetime": timedelta(days=1)})
    contact_id = full_access(harness)
    harness.portal.save_invoice(host_invoice(account_of(harness, contact_id)))
    link = link_for(harness, contact_id, invoice_ref())
    harness.advance(days=2)
    page = harness.client.get(link)
    assert page.status_code == 410
    assert "expired" in page.text
    assert "Cleaning" not in page.text


def test_a_contact_restricted_to_the_pay_invoice_view_is_sent_there(ann):
    """The guard first: a contact who must pay its first invoice sees only that page."""
    harness, ann_id = ann
    link = link_for(harness, ann_id, invoice_ref())
    carl = harness.sign_up(email="carl@example.com", first_name="Carl")
    harness.register("carl@example.com")
    sent = harness.client.get(link)
    assert sent.status_code == 303
    assert sent.location == "/portal/pay"
    assert harness.portal.check_access(carl).level.value == "pay_invoice_only"


def test_hostile_names_and_lines_are_escaped():
    """Contact, business and invoice texts are data, never markup."""
    harness = with_documents(config={"PORTAL_ACCESS_BUSINESS_NAME": f"Acme {HOSTILE}"})
    contact_id = full_access(harness, first=HOSTILE)
    invoice = host_invoice(
        account_of(harness, contact_id),
        lines=(InvoiceLine(f'"><img src=x onerror=alert(2)>{HOSTILE}', Money(500, "USD")),),
        title=HOSTILE,
    )
    harness.portal.save_invoice(invoice)
    for ref in (invoice_ref(), DocumentRef(DocumentKind.STATEMENT, invoice.account_id)):
        text = harness.client.get(link_for(harness, contact_id, ref)).text
        assert "<script>alert" not in text
        assert "<img src=x" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


# -- the PDF ---------------------------------------------------------------------------------


def test_download_pdf_is_a_pdf_with_a_filename(ann):
    """Seed 004: "download them in PDF"."""
    harness, contact_id = ann
    token = link_for(harness, contact_id, invoice_ref()).split("token=", 1)[1]
    pdf = harness.client.get(f"/portal/document/pdf?token={token}")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == "attachment; filename=invoice-h-100.pdf"
    statement = harness.client.get(
        path_of(
            harness.portal.document_link(
                contact_id,
                DocumentRef(DocumentKind.STATEMENT, account_of(harness, contact_id)),
            )
        ).replace("/document?", "/document/pdf?")
    )
    assert statement.headers["Content-Disposition"] == "attachment; filename=statement.pdf"


def test_without_a_renderer_there_is_no_pdf_link_and_the_download_is_refused():
    """No renderer: the page shows no "Download PDF", the route answers a clean 404."""
    harness = with_documents(parts={"renderer": None})
    contact_id = full_access(harness)
    harness.portal.save_invoice(host_invoice(account_of(harness, contact_id)))
    link = link_for(harness, contact_id, invoice_ref())
    assert "Download PDF" not in harness.client.get(link).text
    refused = harness.client.get(link.replace("/document?", "/document/pdf?"))
    assert refused.status_code == 404
    assert "PDF download is not available" in refused.text


# -- comments ----------------------------------------------------------------------------------


def test_comments_are_posted_listed_in_order_and_escaped(ann):
    """Seed 004: "add comments"; oldest first, plain text."""
    harness, contact_id = ann
    link = link_for(harness, contact_id, invoice_ref())
    token = link.split("token=", 1)[1]
    for body in ("First question", f"Second {HOSTILE}"):
        posted = harness.post("/portal/document/comments", {"token": token, "body": body})
        assert posted.status_code == 303
        assert posted.location == f"{link}#comments"
    harness.portal.staff_comment_on_document(invoice_ref(), "Staff answer", staff=ADMIN)
    text = harness.client.get(link).text
    first, second, third = (
        text.index("First question"),
        text.index("Second &lt;script&gt;"),
        text.index("Staff answer"),
    )
    assert first < second < third
    assert "<script>alert" not in text


def test_a_blank_or_forged_comment_is_refused_and_nothing_is_stored(ann):
    """A blank body: 400 with the reason; no CSRF token: 400; neither is stored."""
    harness, contact_id = ann
    token = link_for(harness, contact_id, invoice_ref()).split("token=", 1)[1]
    blank = harness.post("/portal/document/comments", {"token": token, "body": "   "})
    assert blank.status_code == 400
    assert "Body" in blank.text
    forged = harness.client.post("/portal/document/comments", data={"token": token, "body": "x"})
    assert forged.status_code == 400
    assert harness.portal.document_comments(contact_id, invoice_ref()) == ()


def test_a_comment_through_another_contacts_link_is_refused(ann):
    """Posting needs a link of one's own too."""
    harness, ann_id = ann
    token = link_for(harness, ann_id, invoice_ref()).split("token=", 1)[1]
    bo = colleague(harness, account_of(harness, ann_id))
    log_in(harness.client, bo)
    refused = harness.post("/portal/document/comments", {"token": token, "body": "hi"})
    assert refused.status_code == 404
    assert harness.portal.staff_document_comments(invoice_ref()) == ()


# -- pay -------------------------------------------------------------------------------------


def test_pay_this_document_opens_the_gateways_page_and_pays_the_invoice(ann):
    """Seed 004: "even pay based on integrated gateways" (pay_document)."""
    harness, contact_id = ann
    token = link_for(harness, contact_id, invoice_ref()).split("token=", 1)[1]
    opened = harness.post("/portal/document/pay", {"token": token, "gateway": "sandbox"})
    assert opened.status_code == 303
    assert opened.location.startswith("/portal/sandbox/checkout/")
    paid = harness.post(opened.location.split("?")[0], {"method": "card", "back": "portal"})
    assert paid.status_code == 303
    assert harness.portal.invoice("inv-H-100").status.value == "paid"
    assert "Pay $" not in harness.client.get(f"/portal/document?token={token}").text


def test_pay_through_a_gateway_the_contact_may_not_use_is_refused(ann):
    """Seed 004's per-contact gateways: no button, and a forged POST is refused."""
    harness, contact_id = ann
    contact = harness.portal.contact(contact_id)
    harness.portal.update_contact(
        attrs.evolve(contact, portal=ContactPortalSettings(allowed_gateways={"stripe"}))
    )
    link = link_for(harness, contact_id, invoice_ref())
    assert "Pay $" not in harness.client.get(link).text
    token = link.split("token=", 1)[1]
    refused = harness.post("/portal/document/pay", {"token": token, "gateway": "sandbox"})
    assert refused.status_code == 403
    assert harness.portal.invoice("inv-H-100").status.value == "open"


def test_a_statement_is_not_paid_as_one(ann):
    """A statement is paid invoice by invoice: its page has no pay button."""
    harness, contact_id = ann
    ref = DocumentRef(DocumentKind.STATEMENT, account_of(harness, contact_id))
    link = link_for(harness, contact_id, ref)
    assert "Pay $" not in harness.client.get(link).text
    token = link.split("token=", 1)[1]
    assert (
        harness.post("/portal/document/pay", {"token": token, "gateway": "sandbox"}).status_code
        == 404
    )


# -- settings ------------------------------------------------------------------------------


def _app(**config) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", PORTAL_ACCESS_URL="https://portal.example.com", **config)
    return app


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not hex at all", "hex digits"),
        ("abcd", "at least 32"),
        (b"short", "at least 32"),
        (12345, "bytes or a string"),
    ],
)
def test_a_wrong_document_link_key_is_refused_at_start_up(value, message):
    """A key that is not bytes or hex, or too short, names the setting."""
    with pytest.raises(ConfigurationError, match=message) as raised:
        PortalAccessExtension(
            _app(PORTAL_ACCESS_DOCUMENT_LINK_KEY=value),
            store=MemoryStore(),
            mailer=MemoryMailer(),
        )
    assert raised.value.field == "PORTAL_ACCESS_DOCUMENT_LINK_KEY"
    assert str(value) not in str(raised.value) or isinstance(value, int)


def test_a_renderer_without_a_key_is_refused_at_start_up():
    """Its PDFs live on the document page, which only a signed link opens: a dead link."""
    with pytest.raises(ConfigurationError, match="PORTAL_ACCESS_DOCUMENT_LINK_KEY"):
        PortalAccessExtension(
            _app(), store=MemoryStore(), mailer=MemoryMailer(), renderer=FpdfDocumentRenderer()
        )


def test_the_key_may_be_bytes():
    """bytes are used as they are."""
    app = _app(PORTAL_ACCESS_DOCUMENT_LINK_KEY=bytes(range(32)))
    extension = PortalAccessExtension(app, store=MemoryStore(), mailer=MemoryMailer())
    with app.app_context():
        assert extension.portal is not None


def test_without_a_key_there_are_no_document_pages_or_links():
    """No key: the overview links nothing and the document routes answer 404."""
    harness = build()
    contact_id = full_access(harness)
    harness.portal.save_invoice(host_invoice(account_of(harness, contact_id)))
    overview = harness.client.get("/portal/").text
    assert "document?token=" not in overview
    assert "View statement" not in overview
    assert harness.client.get("/portal/document?token=abc").status_code == 404


def test_document_links_follow_the_url_prefix():
    """The link path is the blueprint's own route: a moved portal moves its links too."""
    app = _app(PORTAL_ACCESS_URL_PREFIX="/client", PORTAL_ACCESS_DOCUMENT_LINK_KEY=KEY_HEX)
    PortalAccessExtension(app, store=MemoryStore(), mailer=MemoryMailer())
    settings = FlaskSettings.from_config(app.config, debug=False, testing=False)
    assert portal_links(settings).document == "/client/document"
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/client/document", "/client/document/pdf"} <= routes
