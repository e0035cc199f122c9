"""A fixture counting the documents the service builds (the real builder runs): a PDF
download builds its document once."""

from __future__ import annotations

import pytest

from portal_access import DocumentRef
from portal_access._service import documents


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[DocumentRef]:
    """The documents the service builds during the test, in order."""
    built: list[DocumentRef] = []
    build = documents.build_document

    def counted(work, contact_id, ref, capability):
        built.append(ref)
        return build(work, contact_id, ref, capability)

    monkeypatch.setattr(documents, "build_document", counted)
    return built
