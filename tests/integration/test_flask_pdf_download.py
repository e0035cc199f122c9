"""The Flask integration's PDF download builds its document once: the file and the
title that names it come from one build."""

from __future__ import annotations

import logging

from portal_access import DocumentKind, DocumentRef, InvoiceLine, Money
from tests.document_builds import builds  # noqa: F401 - the fixture
from tests.integration.test_flask_documents import (
    account_of,
    full_access,
    host_invoice,
    invoice_ref,
    link_for,
    with_documents,
)


def test_a_download_builds_the_document_once(builds):  # noqa: F811 - the fixture
    harness = with_documents()
    contact_id = full_access(harness)
    account_id = account_of(harness, contact_id)
    harness.portal.save_invoice(host_invoice(account_id, gateway="sandbox"))
    for ref, name in (
        (invoice_ref(), "invoice-h-100.pdf"),
        (DocumentRef(DocumentKind.STATEMENT, account_id), "statement.pdf"),
    ):
        link = link_for(harness, contact_id, ref).replace("/document?", "/document/pdf?")
        builds.clear()
        pdf = harness.client.get(link)
        assert pdf.status_code == 200
        assert pdf.headers["Content-Disposition"] == f"attachment; filename={name}"
        assert pdf.data.startswith(b"%PDF")
        assert builds == [ref]


def test_a_document_the_font_cannot_draw_is_a_clear_page_and_a_log_line(caplog):
    """A document in a script the PDF font lacks: 503 with a way out (print the page)
    and a log line naming the document, as on Django; it used to answer 404 "This portal
    does not offer PDF downloads", which was not so, and logged nothing."""
    harness = with_documents()
    contact_id = full_access(harness)
    account_id = account_of(harness, contact_id)
    line = InvoiceLine("山田 service", Money(12000, "USD"))
    harness.portal.save_invoice(host_invoice(account_id, lines=(line,)))
    link = link_for(harness, contact_id, invoice_ref()).replace("/document?", "/document/pdf?")
    with caplog.at_level(logging.ERROR, logger="portal_access.contrib.flask"):
        response = harness.client.get(link)
    assert response.status_code == 503
    assert "print it from this page" in response.text
    assert "does not offer PDF downloads" not in response.text
    assert [r.getMessage() for r in caplog.records if "inv-H-100" in r.getMessage()]
