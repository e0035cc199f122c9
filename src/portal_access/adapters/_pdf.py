"""Invoices and statements as PDF, drawn with fpdf2 (``pip install portal-access[pdf]``).

fpdf2 is pure Python (no system libraries, unlike WeasyPrint's Pango/Cairo), small, and
maintained; fpdf2 is imported when the first document is drawn, never when
``portal_access`` is imported.

Fonts: without ``font_path`` the PDF uses the standard Helvetica, whose encoding covers
Latin-1 only; a character outside it is drawn as ``?``. Give a TrueType font (DejaVu
Sans, Noto Sans...) to draw every script a contact's name may be written in.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from portal_access._domain.documents import Document, amount_text
from portal_access._domain.errors import ConfigurationError

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["FpdfDocumentRenderer"]

_FAMILY = "PortalText"
#: The width of the amounts' column, in millimetres.
_AMOUNT_WIDTH = 45


class FpdfDocumentRenderer:
    """Draws a :class:`~portal_access._domain.documents.Document` as an A4 PDF.

    Args:
        font_path: a TrueType font for every script (default: Helvetica, Latin-1).
        bold_font_path: its bold face (default: ``font_path``).

    Raises:
        ConfigurationError: fpdf2 is not installed, or ``font_path`` is not a file.
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
        self._font = Path(font_path) if font_path is not None else None
        self._bold = Path(bold_font_path) if bold_font_path is not None else self._font

    def render(self, document: Document) -> bytes:
        """The PDF of ``document``."""
        from fpdf import FPDF  # noqa: PLC0415 - optional dependency, loaded on use

        pdf = FPDF(format="A4")
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.set_title(self._text(document.title))
        pdf.set_author(self._text(document.business_name))
        pdf.set_creator("portal-access")
        family = self._family(pdf)
        pdf.add_page()
        width = pdf.epw

        def line(text: str, size: float = 10, *, bold: bool = False, height: float = 6) -> None:
            pdf.set_font(family, "B" if bold else "", size)
            pdf.multi_cell(width, height, self._text(text), new_x="LMARGIN", new_y="NEXT")

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
            pdf.cell(width - _AMOUNT_WIDTH, 7, self._text(label), align="R")
            pdf.cell(_AMOUNT_WIDTH, 7, self._text(amount_text(amount)), align="R")
            pdf.ln(7)
        pdf.ln(6)
        line("Open this document in the portal:", 9, bold=True, height=5)
        pdf.set_font(family, "", 8)
        pdf.set_text_color(0, 0, 180)
        pdf.multi_cell(
            width, 4, self._text(document.portal_link), link=document.portal_link, new_x="LMARGIN"
        )
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
            pdf.cell(_AMOUNT_WIDTH, 6, self._text(amount_text(item.amount)), align="R")
            pdf.set_xy(pdf.l_margin, top)
            for text in texts:
                drawn = self._text(text)
                # one cell when it fits: multi_cell's line breaking costs far more
                if pdf.get_string_width(drawn) <= text_width - 2 * pdf.c_margin:
                    pdf.cell(text_width, 6, drawn, new_x="LMARGIN", new_y="NEXT")
                else:
                    pdf.multi_cell(text_width, 6, drawn, new_x="LMARGIN", new_y="NEXT")

    def _family(self, pdf: FPDF) -> str:
        if self._font is None:
            return "Helvetica"
        pdf.add_font(_FAMILY, "", str(self._font))
        pdf.add_font(_FAMILY, "B", str(self._bold or self._font))
        return _FAMILY

    def _text(self, text: str) -> str:
        """``text`` as the font can draw it: all of it with a TrueType font; with
        Helvetica, characters outside Latin-1 become ``?`` (never an error)."""
        if self._font is not None:
            return text
        return text.encode("latin-1", "replace").decode("latin-1")
