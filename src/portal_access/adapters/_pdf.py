"""Invoices and statements as PDF, drawn with fpdf2 (``pip install portal-access[pdf]``).

fpdf2 is pure Python (no system libraries, unlike WeasyPrint's Pango/Cairo), small, and
maintained; fpdf2 is imported when the first document is drawn, never when
``portal_access`` is imported.

Fonts. The ``pdf`` extra also installs ``fontpkg-noto-sans``: Google's Noto Sans
(SIL Open Font License 1.1), which draws Latin, Greek, Cyrillic and Vietnamese. It is
the default font. Give ``font_path`` a TrueType font for other scripts (Noto Sans CJK
for Chinese, Japanese and Korean, Noto Sans Arabic...). Without the font package (fpdf2
installed alone) the default is the standard Helvetica, which covers Latin-1 only.

Whatever the font, a document with a character the font has no glyph for is refused
before anything is drawn: :class:`~portal_access.ConfigurationError` on ``font_path``
naming the characters, never a ``?`` or an empty box in a customer's invoice.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from portal_access._domain.documents import Document, amount_text
from portal_access._domain.errors import ConfigurationError

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["FpdfDocumentRenderer", "default_font_path"]

_FAMILY = "PortalText"
#: The width of the amounts' column, in millimetres.
_AMOUNT_WIDTH = 45
#: The font the ``pdf`` extra installs: (package, file inside it).
_DEFAULT_FONT = ("fontpkg_noto_sans", "files/NotoSans[wdth,wght].ttf")
#: What Helvetica draws: Latin-1's printable characters.
_LATIN_1 = frozenset(range(0x20, 0x7F)) | frozenset(range(0xA0, 0x100))
#: Characters a text may hold that are layout, not glyphs.
_LAYOUT = frozenset(map(ord, "\n\r\t"))
#: How many missing characters an error names.
_NAMED = 8
#: The fixed labels every document prints (ASCII, but checked like the rest).
_LABELS = (
    "To: ",
    "Account: ",
    "Date: ",
    "Due: ",
    "Description",
    "Amount",
    "Open this document in the portal:",
    "The link works until , after you log in.",
    "0123456789-().",
)


def default_font_path() -> Path | None:
    """The Noto Sans file the ``pdf`` extra installs, or ``None`` without it."""
    package, name = _DEFAULT_FONT
    try:
        found = resources.files(package).joinpath(name)
    except ModuleNotFoundError:
        return None
    path = Path(str(found))
    return path if path.is_file() else None


def _covered(path: Path) -> frozenset[int]:
    """The code points ``path``'s font has a glyph for.

    Raises:
        ConfigurationError: not a TrueType/OpenType font.
    """
    from fontTools.ttLib import TTFont, TTLibError  # noqa: PLC0415 - fpdf2's dependency

    try:
        with path.open("rb") as file:  # closed even when fontTools refuses it
            cmap = TTFont(file, lazy=True).getBestCmap()
    except (TTLibError, OSError, AssertionError, KeyError) as exc:
        raise ConfigurationError(
            f"not a TrueType font: {exc}", field="font_path", value=str(path)
        ) from exc
    if not cmap:
        raise ConfigurationError("the font maps no character", field="font_path", value=str(path))
    return frozenset(cmap)


class FpdfDocumentRenderer:
    """Draws a :class:`~portal_access._domain.documents.Document` as an A4 PDF.

    Args:
        font_path: a TrueType font (default: the Noto Sans of the ``pdf`` extra;
            Helvetica, Latin-1 only, when that package is not installed).
        bold_font_path: its bold face (default: ``font_path``, headings drawn larger).

    Raises:
        ConfigurationError: fpdf2 is not installed, or a font is not a TrueType file.
    """

    media_type = "application/pdf"

    def __init__(
        self, *, font_path: str | Path | None = None, bold_font_path: str | Path | None = None
    ) -> None:
        try:
            import fpdf  # noqa: F401, PLC0415 - optional: only when documents are drawn
        except ImportError as exc:  # pragma: no cover - the extra is installed in tests
            raise ConfigurationError(
                "PDF documents need fpdf2: pip install 'portal-access[pdf]'", field="renderer"
            ) from exc
        for given in (font_path, bold_font_path):
            if given is not None and not Path(given).is_file():
                raise ConfigurationError("not a font file", field="font_path", value=str(given))
        self._font = Path(font_path) if font_path is not None else default_font_path()
        self._bold = Path(bold_font_path) if bold_font_path is not None else self._font
        if self._font is None:
            self._glyphs = _LATIN_1
        else:
            faces = {self._font, self._bold or self._font}
            glyphs = frozenset.intersection(*(_covered(face) for face in faces))
            self._glyphs = glyphs | frozenset({0x20})  # a space is drawn as a gap

    @property
    def font_path(self) -> Path | None:
        """The TrueType font drawn with (``None``: Helvetica, Latin-1 only)."""
        return self._font

    def missing(self, document: Document) -> tuple[str, ...]:
        """The characters of ``document`` the font cannot draw, in order of appearance,
        each once (empty when it can draw all of it)."""
        found: dict[str, None] = {}
        for text in _texts(document):
            for char in text:
                point = ord(char)
                if point not in self._glyphs and point not in _LAYOUT:
                    found.setdefault(char)
        return tuple(found)

    def render(self, document: Document) -> bytes:
        """The PDF of ``document``.

        Raises:
            ConfigurationError: the font cannot draw some of its characters (``font_path``
                names the font to give instead); checked before anything is drawn.
        """
        missing = self.missing(document)
        if missing:
            named = ", ".join(f"{char!r} (U+{ord(char):04X})" for char in missing[:_NAMED])
            more = f" and {len(missing) - _NAMED} more" if len(missing) > _NAMED else ""
            font = self._font.name if self._font is not None else "Helvetica (Latin-1)"
            raise ConfigurationError(
                f"the PDF font {font} cannot draw {named}{more} of {document.title}: give "
                "FpdfDocumentRenderer(font_path=...) a TrueType font with these characters "
                "(e.g. Noto Sans CJK for Chinese, Japanese, Korean)",
                field="font_path",
                value=str(self._font) if self._font is not None else None,
            )
        return self._draw(document)

    def _draw(self, document: Document) -> bytes:
        from fpdf import FPDF  # noqa: PLC0415 - optional dependency, loaded on use

        pdf = FPDF(format="A4")
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.set_title(document.title)
        pdf.set_author(document.business_name)
        pdf.set_creator("portal-access")
        family = self._family(pdf)
        pdf.add_page()
        width = pdf.epw

        def line(text: str, size: float = 10, *, bold: bool = False, height: float = 6) -> None:
            pdf.set_font(family, "B" if bold else "", size)
            pdf.multi_cell(width, height, text, new_x="LMARGIN", new_y="NEXT")

        line(document.business_name, 16, bold=True, height=8)
        line(document.title, 13, bold=True, height=7)
        line(f"To: {document.recipient}")
        line(f"Account: {document.account_name} ({document.account_number})")
        line(f"Date: {document.issued_on.isoformat()}")
        if document.due_on is not None:
            line(f"Due: {document.due_on.isoformat()}")
        pdf.ln(4)
        self._lines(pdf, family, document)
        pdf.ln(2)
        for label, amount in document.totals:
            pdf.set_font(family, "B", 10)
            pdf.cell(width - _AMOUNT_WIDTH, 7, label, align="R")
            pdf.cell(_AMOUNT_WIDTH, 7, amount_text(amount), align="R")
            pdf.ln(7)
        pdf.ln(6)
        line("Open this document in the portal:", 9, bold=True, height=5)
        pdf.set_font(family, "", 8)
        pdf.set_text_color(0, 0, 180)
        pdf.multi_cell(width, 4, document.portal_link, link=document.portal_link, new_x="LMARGIN")
        pdf.set_text_color(0, 0, 0)
        line(f"The link works until {document.expires_on.isoformat()}, after you log in.", 8)
        return bytes(pdf.output())

    def _lines(self, pdf: FPDF, family: str, document: Document) -> None:
        """The table of lines: description (and detail) beside the amount; a line never
        breaks over a page."""
        text_width = pdf.epw - _AMOUNT_WIDTH
        pdf.set_font(family, "B", 10)
        pdf.cell(text_width, 7, "Description", border="B")
        pdf.cell(_AMOUNT_WIDTH, 7, "Amount", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 10)
        for item in document.lines:
            texts = [item.description, *([item.detail] if item.detail else [])]
            if pdf.will_page_break(6 * len(texts)):
                pdf.add_page()
            top = pdf.get_y()
            pdf.set_xy(pdf.l_margin + text_width, top)
            pdf.cell(_AMOUNT_WIDTH, 6, amount_text(item.amount), align="R")
            pdf.set_xy(pdf.l_margin, top)
            for text in texts:
                # one cell when it fits: multi_cell's line breaking costs far more
                if pdf.get_string_width(text) <= text_width - 2 * pdf.c_margin:
                    pdf.cell(text_width, 6, text, new_x="LMARGIN", new_y="NEXT")
                else:
                    pdf.multi_cell(text_width, 6, text, new_x="LMARGIN", new_y="NEXT")

    def _family(self, pdf: FPDF) -> str:
        if self._font is None:
            return "Helvetica"
        pdf.add_font(_FAMILY, "", str(self._font))
        pdf.add_font(_FAMILY, "B", str(self._bold or self._font))
        return _FAMILY


def _texts(document: Document) -> Iterator[str]:
    """Every text :meth:`FpdfDocumentRenderer.render` draws."""
    yield from _LABELS
    yield from (document.business_name, document.title, document.recipient)
    yield from (document.account_name, document.account_number, document.portal_link)
    for item in document.lines:
        yield from (item.description, item.detail, amount_text(item.amount))
    for label, amount in document.totals:
        yield from (label, amount_text(amount))
