"""Documents and their comments (seed 004_67d5e53a019b49ae.txt): PDF, preview, the signed
portal link, pay this document, comments; on the memory store, SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io
import re
from datetime import date, timedelta
from pathlib import Path

import attrs
import pytest
from pypdf import PdfReader

from portal_access import (
    AccessDeniedError,
    AuthorKind,
    ConfigurationError,
    ConflictError,
    Contact,
    ContactPortalSettings,
    DocumentKind,
    DocumentRef,
    EmailAddress,
    GatewayNotAllowedError,
    InvalidTokenError,
    Invoice,
    InvoiceLine,
    Money,
    NotFoundError,
    Site,
    SiteScope,
    TokenExpiredError,
    ValidationError,
)
from portal_access._portal import PortalAccess
from portal_access.adapters import FpdfDocumentRenderer
from portal_access.repositories import unit_of_work
from tests.service.harness import ADMIN, CANCEL, PORTAL_URL, SUCCESS, Harness, account, build
from tests.service.stores import store  # noqa: F401 - the store fixture

KEY = bytes(range(32))
HOSTILE_FIRST = "<script>alert('x')</script> & \"Bob\""
HOSTILE_LAST = "O'Neil (\\) ) ("
TODAY = date(2026, 3, 2)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _contact(contact_id: str, email: str, first: str = "Ann", **changes: object) -> Contact:
    return Contact(
        id=contact_id,
        account_id=changes.pop("account_id", "acc-1"),  # type: ignore[arg-type]
        first_name=first,
        last_name=changes.pop("last_name", "Lee"),  # type: ignore[arg-type]
        email=EmailAddress.parse(email),
        **changes,  # type: ignore[arg-type]
    )


def _register(harness: Harness, contact: Contact) -> None:
    harness.portal.create_contact(contact)
    if not harness.mailer.to(str(contact.email)):
        harness.portal.invite_contact(contact.id, staff=ADMIN)
    token = harness.link(str(contact.email), "/portal/invitation")
    harness.portal.accept_invitation(token, "correct horse battery staple")


def _invoice(invoice_id: str, number: str, currency: str, *amounts: int, **changes) -> Invoice:
    return Invoice(
        id=invoice_id,
        number=number,
        account_id=changes.pop("account_id", "acc-1"),
        title=changes.pop("title", "Service"),
        currency=currency,
        lines=tuple(
            InvoiceLine(f"Line {n}", Money(amount, currency)) for n, amount in enumerate(amounts)
        ),
        issued_on=changes.pop("issued_on", TODAY - timedelta(days=3)),
        due_on=changes.pop("due_on", TODAY + timedelta(days=27)),
        **changes,
    )


@pytest.fixture
def world(store) -> Harness:  # noqa: F811 - the store fixture
    """Ann (hostile name) and Bob on account acc-1, Cid on acc-2, Sal site-level on s-1."""
    harness = build(store=store)
    portal = harness.portal
    portal._context.document_link_key = KEY
    portal._context.renderer = FpdfDocumentRenderer()
    portal.save_account(account())
    portal.save_account(account("acc-2", number="50000", name="Other Gym"))
    portal.save_site(Site(id="s-1", account_id="acc-1", name="North"))
    portal.save_site(Site(id="s-2", account_id="acc-1", name="South"))
    _register(harness, _contact("c-ann", "ann@example.com", HOSTILE_FIRST, last_name=HOSTILE_LAST))
    _register(harness, _contact("c-bob", "bob@example.com", "Bob"))
    _register(harness, _contact("c-cid", "cid@example.com", "Cid", account_id="acc-2"))
    _register(harness, _contact("c-sal", "sal@example.com", "Sal", scope=SiteScope.only("s-1")))
    portal.save_invoice(_invoice("inv-jpy", "1001", "JPY", 5000, 250))
    portal.save_invoice(_invoice("inv-kwd", "1002", "KWD", 1250, 5))
    portal.save_invoice(_invoice("inv-ann", "1003", "USD", 999, contact_id="c-ann"))
    portal.save_invoice(_invoice("inv-s2", "1004", "USD", 700, site_id="s-2"))
    portal.save_invoice(_invoice("inv-s1", "1005", "USD", 300, site_id="s-1"))
    portal.save_invoice(_invoice("inv-cid", "2001", "USD", 100, account_id="acc-2"))
    return harness


def _text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _uris(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    found = []
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and "/URI" in action:
                found.append(str(action["/URI"]))
    return found


def _token(url: str) -> str:
    assert url.startswith(f"{PORTAL_URL}/portal/document?token=")
    return url.split("token=", 1)[1]


# -- PDF -----------------------------------------------------------------------------------


def test_invoice_pdf_shows_amounts_in_minor_units_and_carries_the_portal_link(world):
    """Seed 004_67d5e53a019b49ae.txt: download documents in PDF; "in each generated document there is a link to access the portal". JPY has no decimals, KWD three."""
    portal = world.portal
    jpy = portal.invoice_pdf("c-bob", "inv-jpy")
    text = _text(jpy)
    assert "Invoice 1001" in text
    assert "5000 JPY" in text
    assert "250 JPY" in text
    assert re.search(r"Balance due\s*5250 JPY", text)
    assert "5250.00" not in text
    kwd = _text(portal.invoice_pdf("c-bob", "inv-kwd"))
    assert "1.250 KWD" in kwd
    assert "0.005 KWD" in kwd
    assert re.search(r"Total\s*1.255 KWD", kwd)
    (uri,) = set(_uris(jpy))  # one link, one annotation per printed line
    assert portal.open_document_link(_token(uri), "c-bob") == DocumentRef(
        DocumentKind.INVOICE, "inv-jpy"
    )
    assert uri in text.replace("\n", "")  # printed too, for paper


def test_statement_pdf_lists_the_open_invoices_the_contact_sees_with_balances(world):
    """Seed 004_67d5e53a019b49ae.txt: statements are documents too; seed 001: a site-level contact sees only its sites' invoices."""
    portal = world.portal
    text = _text(portal.statement_pdf("c-bob", "acc-1"))
    for number in ("1001", "1002", "1004", "1005"):
        assert f"Invoice {number}" in text
    assert "Invoice 1003" not in text  # Ann's own invoice
    assert "Invoice 2001" not in text  # another account
    assert re.search(r"Balance due \(USD\)\s*10.00 USD", text)
    assert re.search(r"Balance due \(JPY\)\s*5250 JPY", text)
    site_level = _text(portal.statement_pdf("c-sal", "acc-1"))
    assert "Invoice 1005" in site_level
    assert "Invoice 1004" not in site_level
    with pytest.raises(NotFoundError):
        portal.statement_pdf("c-cid", "acc-1")


def test_a_200_line_statement_breaks_over_pages_and_keeps_every_line(store):  # noqa: F811
    """Seed 004_67d5e53a019b49ae.txt: a long statement is one PDF with every open invoice and the right total."""
    harness = build(store=store)
    portal = harness.portal
    portal._context.document_link_key = KEY
    portal._context.renderer = FpdfDocumentRenderer()
    portal.save_account(account())
    _register(harness, _contact("c-bob", "bob@example.com", "Bob"))
    for n in range(200):
        portal.save_invoice(_invoice(f"inv-{n}", f"{3000 + n}", "USD", 100 + n))
    pdf = portal.statement_pdf("c-bob", "acc-1")
    text = _text(pdf)
    assert len(PdfReader(io.BytesIO(pdf)).pages) > 3
    assert all(f"Invoice {3000 + n}" in text for n in range(200))
    total = sum(100 + n for n in range(200))
    assert f"{total / 100:.2f} USD" in text


def test_hostile_names_are_plain_text_in_the_pdf(world):
    """Seed 004_67d5e53a019b49ae.txt: the contact's name prints as written, parentheses and backslashes included."""
    text = _text(world.portal.invoice_pdf("c-ann", "inv-ann"))
    assert f"To: {HOSTILE_FIRST} {HOSTILE_LAST}" in text


@pytest.mark.skipif(not DEJAVU.is_file(), reason="no DejaVu Sans font on this machine")
def test_a_truetype_font_draws_every_script():
    """Seed 004_67d5e53a019b49ae.txt: a name outside Latin-1 prints as written with a Unicode font."""
    harness = build()
    portal = harness.portal
    portal._context.document_link_key = KEY
    portal._context.renderer = FpdfDocumentRenderer(font_path=DEJAVU)
    portal.save_account(account())
    _register(harness, _contact("c-1", "zoe@example.com", "Zoë Δέλτα", last_name="Ωmega"))
    portal.save_invoice(_invoice("inv-1", "1001", "EUR", 1999))
    assert "Zoë Δέλτα Ωmega" in _text(portal.invoice_pdf("c-1", "inv-1"))


# -- the HTML preview ------------------------------------------------------------------------


def test_preview_escapes_every_host_and_contact_text(world):
    """Seed 004_67d5e53a019b49ae.txt: preview documents; a hostile name never becomes markup."""
    html = world.portal.invoice_preview_html("c-ann", "inv-ann")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;Bob&quot;" in html
    assert "9.99 USD" in html
    statement = world.portal.statement_preview_html("c-bob", "acc-1")
    assert "5250 JPY" in statement
    assert "1.255 KWD" in statement


# -- the signed link -------------------------------------------------------------------------


def test_a_link_opens_its_document_for_its_contact_only(world):
    """Seed 004_67d5e53a019b49ae.txt: the document's link lands on that document after login; another contact's link opens nothing, as an unknown one."""
    portal = world.portal
    ref = DocumentRef(DocumentKind.INVOICE, "inv-kwd")
    token = _token(portal.document_link("c-bob", ref))
    assert portal.open_document_link(token, "c-bob") == ref
    with pytest.raises(InvalidTokenError) as other:
        portal.open_document_link(token, "c-ann")  # Ann may see inv-kwd, but it is Bob's link
    with pytest.raises(InvalidTokenError) as unknown:
        portal.open_document_link("nonsense.link", "c-bob")
    assert str(other.value) == str(unknown.value) == "unknown link"
    with pytest.raises(InvalidTokenError, match="unknown link"):
        portal.open_document_link(token, "c-cid")  # another account altogether


def test_a_tampered_link_is_refused(world):
    """Seed 004_67d5e53a019b49ae.txt: a link changed by one character, or pointed at another document, opens nothing."""
    portal = world.portal
    token = _token(portal.document_link("c-bob", DocumentRef(DocumentKind.INVOICE, "inv-jpy")))
    payload, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    padded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    forged = padded.replace(b"inv-jpy", b"inv-kwd")
    assert forged != padded
    forged_payload = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    for bad in (f"{payload}.{flipped}", f"{forged_payload}.{mac}", token[:-1], token + "x", ""):
        with pytest.raises(InvalidTokenError, match="unknown link"):
            portal.open_document_link(bad, "c-bob")
    other_key = PortalAccess(
        store=world.store, gateways=[], document_link_key=b"k" * 32, development=True
    )
    with pytest.raises(InvalidTokenError, match="unknown link"):
        other_key.open_document_link(token, "c-bob")


def test_a_link_expires_and_dies_with_access_to_its_document(world):
    """Seed 004_67d5e53a019b49ae.txt: links expire; a document the contact no longer sees opens nothing."""
    portal = world.portal
    ref = DocumentRef(DocumentKind.INVOICE, "inv-s1")
    sal = _token(portal.document_link("c-sal", ref))
    with unit_of_work(world.store) as uow:
        sal_contact = uow.contacts.get("c-sal")
    assert sal_contact is not None
    portal.update_contact(attrs.evolve(sal_contact, scope=SiteScope.only("s-2")))
    with pytest.raises(InvalidTokenError, match="unknown link"):
        portal.open_document_link(sal, "c-sal")
    bob = _token(portal.document_link("c-bob", ref))
    world.advance(days=90)
    with pytest.raises(TokenExpiredError):
        portal.open_document_link(bob, "c-bob")


def test_documents_the_contact_may_not_see_answer_as_unknown(world):
    """Seed 004_67d5e53a019b49ae.txt with seed 001's site scope: another contact's invoice, another account's, another site's: all "no document"."""
    portal = world.portal
    for contact_id, invoice_id in (
        ("c-bob", "inv-ann"),
        ("c-bob", "inv-cid"),
        ("c-sal", "inv-s2"),
        ("c-bob", "no-such-invoice"),
    ):
        with pytest.raises(NotFoundError) as caught:
            portal.invoice_pdf(contact_id, invoice_id)
        assert (caught.value.kind, caught.value.key) == ("document", invoice_id)
        with pytest.raises(NotFoundError):
            portal.document_link(contact_id, DocumentRef(DocumentKind.INVOICE, invoice_id))


def test_documents_without_a_key_or_renderer_are_a_configuration_error(world):
    """Safe by default: no unsigned link, no silent empty PDF."""
    portal = PortalAccess(store=world.store, gateways=[], development=True)
    with pytest.raises(ConfigurationError, match="document_link_key"):
        portal.invoice_preview_html("c-bob", "inv-jpy")
    keyed = PortalAccess(store=world.store, gateways=[], document_link_key=KEY, development=True)
    with pytest.raises(ConfigurationError, match="renderer"):
        keyed.invoice_pdf("c-bob", "inv-jpy")
    with pytest.raises(ConfigurationError):
        PortalAccess(store=world.store, gateways=[], document_link_key=b"short", development=True)


# -- pay this document -----------------------------------------------------------------------


def test_pay_this_document_through_an_allowed_gateway(world):
    """Seed 004_67d5e53a019b49ae.txt: "even pay based on integrated gateways"; two clicks, one page; paid, nothing left to pay."""
    portal = world.portal
    first = portal.pay_document(
        "c-bob", "inv-s1", gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
    )
    again = portal.pay_document(
        "c-bob", "inv-s1", gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
    )
    assert first == again
    world.sandbox.pay(first.session_id)
    world.deliver()
    assert portal.invoice("inv-s1").balance == Money(0, "USD")
    with pytest.raises(ConflictError):
        portal.pay_document(
            "c-bob", "inv-s1", gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
        )


def test_pay_this_document_is_refused_off_the_contacts_gateways_and_documents(world):
    """Seed 004_67d5e53a019b49ae.txt: only the gateways staff switched on for the contact; only documents it sees."""
    portal = world.portal
    with unit_of_work(world.store) as uow:
        bob = uow.contacts.get("c-bob")
    assert bob is not None
    portal.update_contact(
        attrs.evolve(bob, portal=ContactPortalSettings(allowed_gateways=frozenset({"paypal"})))
    )
    with pytest.raises(GatewayNotAllowedError):
        portal.pay_document(
            "c-bob", "inv-jpy", gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
        )
    with pytest.raises(NotFoundError):
        portal.pay_document(
            "c-sal", "inv-s2", gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
        )
    assert world.sandbox._checkouts == {}


# -- comments ------------------------------------------------------------------------------


def test_comments_are_stored_listed_in_order_and_notify_the_other_side(world):
    """Seed 004_67d5e53a019b49ae.txt: contacts "leave comments" on documents; staff hear of a contact's comment, the contact is mailed a staff answer."""
    portal = world.portal
    ref = DocumentRef(DocumentKind.INVOICE, "inv-ann")
    portal.comment_on_document("c-ann", ref, "  Is VAT included?  ")
    portal.staff_comment_on_document(ref, "Yes: <b>20%</b>", staff=ADMIN)
    portal.comment_on_document("c-ann", ref, "Thanks!")
    comments = portal.document_comments("c-ann", ref)
    assert [(c.author.kind, c.body) for c in comments] == [
        (AuthorKind.CONTACT, "Is VAT included?"),
        (AuthorKind.STAFF, "Yes: <b>20%</b>"),
        (AuthorKind.CONTACT, "Thanks!"),
    ]
    assert portal.staff_document_comments(ref) == comments
    events = world.topics("document.commented")
    assert [e.payload["author_kind"] for e in events] == ["contact", "staff", "contact"]
    (mail,) = [m for m in world.mailer.to("ann@example.com") if "New comment on" in m.subject]
    assert "Yes: <b>20%</b>" in mail.text
    assert "<b>20%</b>" not in mail.html
    assert "&lt;b&gt;20%&lt;/b&gt;" in mail.html
    link = next(w for w in mail.text.split() if "/portal/document?token=" in w)
    assert portal.open_document_link(_token(link), "c-ann") == ref
    assert not [m for m in world.mailer.to("bob@example.com") if "New comment on" in m.subject]


def test_only_who_may_see_a_document_may_comment_on_it(world):
    """Seed 004_67d5e53a019b49ae.txt with seed 001's site scope: no comment, and no reading of comments, on a document one may not see."""
    portal = world.portal
    for contact_id, ref in (
        ("c-bob", DocumentRef(DocumentKind.INVOICE, "inv-ann")),
        ("c-sal", DocumentRef(DocumentKind.INVOICE, "inv-s2")),
        ("c-cid", DocumentRef(DocumentKind.STATEMENT, "acc-1")),
    ):
        with pytest.raises(NotFoundError):
            portal.comment_on_document(contact_id, ref, "hello")
        with pytest.raises(NotFoundError):
            portal.document_comments(contact_id, ref)
    assert world.topics("document.commented") == []
    portal.comment_on_document("c-sal", DocumentRef(DocumentKind.INVOICE, "inv-s1"), "ok")
    portal.comment_on_document("c-sal", DocumentRef(DocumentKind.STATEMENT, "acc-1"), "ok")


def test_comment_length_and_text_limits(world):
    """Seed 004_67d5e53a019b49ae.txt: comments are 1 to 4000 characters of text; a refused comment stores nothing."""
    portal = world.portal
    ref = DocumentRef(DocumentKind.INVOICE, "inv-jpy")
    for bad in ("", "   ", "x" * 4001, "bell\x07", None):
        with pytest.raises(ValidationError):
            portal.comment_on_document("c-bob", ref, bad)  # type: ignore[arg-type]
    assert portal.document_comments("c-bob", ref) == ()
    portal.comment_on_document("c-bob", ref, "line one\n\tline two" + "x" * 3980)
    assert len(portal.document_comments("c-bob", ref)) == 1


def test_a_contact_without_full_access_sees_no_documents(world):
    """Seed 004_67d5e53a019b49ae.txt: documents live inside the portal; a contact whose portal user is off gets none."""
    portal = world.portal
    with unit_of_work(world.store) as uow:
        bob = uow.contacts.get("c-bob")
    assert bob is not None
    portal.update_contact(attrs.evolve(bob, portal=ContactPortalSettings(enabled=False)))
    with pytest.raises(AccessDeniedError):
        portal.invoice_pdf("c-bob", "inv-jpy")
    with pytest.raises(AccessDeniedError):
        portal.comment_on_document("c-bob", DocumentRef(DocumentKind.INVOICE, "inv-jpy"), "hi")
