"""``PortalAccess.document_file``: a download's file and the document it shows (whose
title names the file), built once."""

from __future__ import annotations

from portal_access import DocumentFile, DocumentKind, DocumentRef
from tests.document_builds import builds  # noqa: F401 - the fixture
from tests.service.stores import store  # noqa: F401 - the store fixture
from tests.service.test_documents import world  # noqa: F401 - the world fixture


def test_the_file_and_its_document_come_from_one_build(world, builds):  # noqa: F811 - fixtures
    ref = DocumentRef(DocumentKind.INVOICE, "inv-jpy")
    drawn = world.portal.document_file("c-bob", ref)
    assert isinstance(drawn, DocumentFile)
    assert builds == [ref]
    assert drawn.media_type == "application/pdf"
    assert drawn.content.startswith(b"%PDF")
    assert drawn.document == world.portal.document("c-bob", ref)
