"""PDF fonts beyond Latin-1 (issue #18, seed 004: contacts "download them in PDF").

The ``pdf`` extra installs Noto Sans (``fontpkg-noto-sans``), the renderer's default: a
name in Greek, Cyrillic or Vietnamese prints as written, which the PDF read back with
pypdf shows. A character no font glyph draws (Chinese, an emoji) is refused before
anything is drawn, with a ``ConfigurationError`` on ``font_path`` naming the characters.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from portal_access import (
    ConfigurationError,
    Contact,
    DocumentKind,
    DocumentRef,
    EmailAddress,
    Invoice,
    InvoiceLine,
    Money,
)
from portal_access.adapters import FpdfDocumentRenderer
from portal_access.adapters import _pdf as pdf_module
from tests.service.harness import ADMIN, Harness, account, build

KEY = bytes(range(32))
TODAY = date(2026, 3, 2)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _world(renderer: FpdfDocumentRenderer, first: str, last: str = "Lee") -> Harness:
    harness = build()
    portal = harness.portal
    portal._context.document_link_key = KEY
    portal._context.renderer = renderer
    portal.save_account(account(name="Gym Ωmega"))
    contact = Contact(
        id="c-1",
        account_id="acc-1",
        first_name=first,
        last_name=last,
        email=EmailAddress.parse("zoe@example.com"),
    )
    portal.create_contact(contact)
    if not harness.mailer.to("zoe@example.com"):
        portal.invite_contact("c-1", staff=ADMIN)
    token = harness.link("zoe@example.com", "/portal/invitation")
    portal.accept_invitation(token, "correct horse battery staple")
    portal.save_invoice(
        Invoice(
            id="inv-1",
            number="1001",
            account_id="acc-1",
            title="Service",
            currency="EUR",
            lines=(InvoiceLine("Уборка — cleaning €", Money(1999, "EUR")),),
            issued_on=TODAY,
            due_on=TODAY + timedelta(days=30),
        )
    )
    return harness


def _text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _fonts(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def test_the_pdf_extra_brings_a_unicode_default_font():
    """The default renderer draws with the Noto Sans the ``pdf`` extra installs."""
    path = pdf_module.default_font_path()
    assert path is not None
    assert path.is_file()
    assert FpdfDocumentRenderer().font_path == path


@pytest.mark.parametrize(
    ("first", "last"),
    [("Zoë", "Δέλτα"), ("Иван", "Петров"), ("Nguyễn", "Thị Minh Khai"), ("Łukasz", "Żółć")],
)
def test_names_in_greek_cyrillic_vietnamese_and_polish_print_as_written(first, last):
    """Seed 004: the contact's name prints as written in the PDF, with the default font."""
    harness = _world(FpdfDocumentRenderer(), first, last)
    pdf = harness.portal.invoice_pdf("c-1", "inv-1")
    text = _text(pdf)
    assert f"To: {first} {last}" in text
    assert "Account: Gym Ωmega" in text
    assert "Уборка — cleaning €" in text
    assert "19.99 EUR" in text
    assert any("NotoSans" in name for name in _fonts(pdf))


@pytest.mark.parametrize(
    ("first", "missing"),
    [("山田", "'山' (U+5C71), '田' (U+7530)"), ("Ann 😀", "'😀' (U+1F600)")],
)
def test_characters_the_font_cannot_draw_are_refused_before_drawing(first, missing):
    """No ``?`` or empty box in a customer's invoice: a typed error naming ``font_path``
    and the characters, raised before fpdf2 draws anything."""
    renderer = FpdfDocumentRenderer()
    harness = _world(renderer, first)
    document = harness.portal.document("c-1", DocumentRef(DocumentKind.INVOICE, "inv-1"))
    assert renderer.missing(document) == tuple(ch for ch in first if ord(ch) > 0x2FF)
    with pytest.raises(ConfigurationError) as raised:
        harness.portal.invoice_pdf("c-1", "inv-1")
    assert raised.value.field == "font_path"
    assert missing in raised.value.message
    assert "NotoSans" in raised.value.message
    assert "font_path=" in raised.value.message


def test_without_the_font_package_helvetica_draws_latin_1_and_refuses_the_rest(monkeypatch):
    """fpdf2 installed alone: Helvetica, Latin-1 only; anything else is the same typed
    error (it used to print ``?``)."""
    monkeypatch.setattr(pdf_module, "_DEFAULT_FONT", ("no_such_font_package", "x.ttf"))
    assert pdf_module.default_font_path() is None
    renderer = FpdfDocumentRenderer()
    assert renderer.font_path is None
    latin = _world(renderer, "Zoë", "Ødegård")
    latin.portal.save_invoice(
        latin.portal.invoice("inv-1").__class__(
            id="inv-2",
            number="1002",
            account_id="acc-1",
            title="Service",
            currency="EUR",
            lines=(InvoiceLine("Cleaning", Money(500, "EUR")),),
            issued_on=TODAY,
            due_on=TODAY,
        )
    )
    with pytest.raises(ConfigurationError, match=r"Helvetica \(Latin-1\) cannot draw"):
        latin.portal.invoice_pdf("c-1", "inv-1")  # the account name's Ω, the line's Cyrillic
    with pytest.raises(ConfigurationError, match="'Ω'"):
        latin.portal.invoice_pdf("c-1", "inv-2")
    latin.portal.save_account(account(name="Gym Omega"))
    assert "To: Zoë Ødegård" in _text(latin.portal.invoice_pdf("c-1", "inv-2"))


@pytest.mark.skipif(not DEJAVU.is_file(), reason="no DejaVu Sans font on this machine")
def test_a_font_path_replaces_the_default():
    """A host's own TrueType font is drawn with, and judged by its own glyphs."""
    renderer = FpdfDocumentRenderer(font_path=DEJAVU)
    assert renderer.font_path == DEJAVU
    pdf = _world(renderer, "Σοφία").portal.invoice_pdf("c-1", "inv-1")
    assert "To: Σοφία Lee" in _text(pdf)
    assert any("DejaVu" in name for name in _fonts(pdf))


def test_a_font_path_that_is_not_a_font_is_refused_at_construction(tmp_path):
    """A wrong ``font_path`` fails when the renderer is made, not at the first invoice."""
    with pytest.raises(ConfigurationError, match="not a font file"):
        FpdfDocumentRenderer(font_path=tmp_path / "missing.ttf")
    text = tmp_path / "font.ttf"
    text.write_text("not a font", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not a TrueType font") as raised:
        FpdfDocumentRenderer(font_path=text)
    assert raised.value.field == "font_path"
