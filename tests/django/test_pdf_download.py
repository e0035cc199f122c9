"""The Django integration's PDF download builds its document once: the file and the
title that names it come from one build."""

from __future__ import annotations

import pytest

from portal_access import DocumentKind, DocumentRef
from portal_access.contrib.django.testing import log_in
from tests.django.documents_world import world
from tests.document_builds import builds  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_download_builds_the_document_once(settings, builds):  # noqa: F811 - the fixture
    web = world(settings)
    log_in(web.client, "c-ann")
    for query, ref, name in (
        ("invoice=inv-ann", DocumentRef(DocumentKind.INVOICE, "inv-ann"), "invoice-1003.pdf"),
        ("statement=acc-1", DocumentRef(DocumentKind.STATEMENT, "acc-1"), "statement.pdf"),
    ):
        builds.clear()
        response = web.client.get(f"/portal/document/pdf/?{query}")
        assert response.status_code == 200
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        assert response.content.startswith(b"%PDF")
        assert builds == [ref]
