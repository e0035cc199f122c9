"""Comments on documents, listed per document in the order they were posted.

Each comment takes the next number of the store's ``comment_number`` counter in the
unit of work that saves it, so two comments posted in the same second still list in the
order they were written (a rollback hands the number out again).
"""

from __future__ import annotations

from portal_access._domain.comments import DocumentComment, document_key
from portal_access._domain.documents import DocumentRef
from portal_access.ports import Scalar
from portal_access.repositories._base import ById
from portal_access.repositories._tables import (
    COMMENT_NUMBERS,
    DOCUMENT_COMMENTS,
    DOCUMENT_COMMENTS_BY_DOCUMENT,
)

__all__ = ["DocumentCommentRepository"]


class DocumentCommentRepository(ById[DocumentComment]):
    """Comments by id, and a document's comments in the order they were posted."""

    table, kind = DOCUMENT_COMMENTS, DocumentComment

    def columns(self, value: DocumentComment) -> dict[str, Scalar]:
        """The document's key and the comment's number."""
        return {"document_key": value.document_key, "number": value.number}

    def next_number(self) -> int:
        """The number of the next comment (1, 2, ...), taken in the unit of work."""
        return self.transaction.next_value(COMMENT_NUMBERS, first=1)

    def for_document(self, document: DocumentRef) -> tuple[DocumentComment, ...]:
        """The document's comments, oldest first."""
        return self._find(DOCUMENT_COMMENTS_BY_DOCUMENT, document_key(document), DocumentComment)
