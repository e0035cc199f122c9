"""The Flask integration's PDF download builds its document once: the file and the
title that names it come from one build."""

from __future__ import annotations

from portal_access import DocumentKind, DocumentRef
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
