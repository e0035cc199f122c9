"""Comments on a document: contacts and staff write, in order, on an invoice or statement.

Seed 004_67d5e53a019b49ae.txt: contacts "will be able to view business history, leave
comments"; a document's view lets them "add comments". A comment is plain text (the
portal escapes it wherever it shows it): 1 to :data:`MAX_COMMENT_LENGTH` characters
after trimming, line breaks and tabs allowed, no other control characters.

>>> from datetime import datetime, timezone
>>> from portal_access._domain.documents import DocumentKind, DocumentRef
>>> comment = DocumentComment(
...     id="cm-1", document=DocumentRef(DocumentKind.INVOICE, "inv-1"), account_id="acc-1",
...     author=CommentAuthor.contact("c-1", "Ann Lee"), body="  Is VAT included?  ",
...     posted_at=datetime(2026, 1, 1, tzinfo=timezone.utc), number=1)
>>> comment.body, comment.author.kind.value
('Is VAT included?', 'contact')
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from portal_access._domain.documents import DocumentRef
from portal_access._domain.errors import ValidationError
from portal_access._domain.validation import (
    aware_datetime,
    ensure_text,
    identifier,
    instance_of,
    int64,
)

__all__ = [
    "MAX_COMMENT_LENGTH",
    "AuthorKind",
    "CommentAuthor",
    "DocumentComment",
    "comment_body",
    "document_key",
]

#: The longest comment, in characters after trimming.
MAX_COMMENT_LENGTH = 4000
_ALLOWED_CONTROLS = frozenset("\n\t")


def comment_body(value: object) -> str:
    """``value`` trimmed, when it is a comment's text.

    Raises:
        ValidationError: not a ``str``, blank, longer than :data:`MAX_COMMENT_LENGTH`
            characters, or holding control characters other than line breaks and tabs
            (``field="body"``; the text is not kept in the error).

    >>> comment_body("a" * 4001)
    Traceback (most recent call last):
    ...
    portal_access.ValidationError: body: must be at most 4000 characters
    """
    if not isinstance(value, str):
        raise ValidationError("must be text", field="body")
    if len(value) > 4 * MAX_COMMENT_LENGTH:  # refused before any further work
        raise ValidationError(f"must be at most {MAX_COMMENT_LENGTH} characters", field="body")
    text = value.replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError("must not be blank", field="body")
    if len(text) > MAX_COMMENT_LENGTH:
        raise ValidationError(f"must be at most {MAX_COMMENT_LENGTH} characters", field="body")
    if any(
        (ord(c) < 32 or 0x7F <= ord(c) < 0xA0) and c not in _ALLOWED_CONTROLS for c in text
    ) or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise ValidationError("must not hold control characters", field="body")
    return text


class AuthorKind(enum.Enum):
    """Who wrote a comment: the contact side or the staff side."""

    CONTACT = "contact"
    STAFF = "staff"


def _name(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if len(ensure_text(value, field=attribute.name)) > 255:
        raise ValidationError("must be at most 255 characters", field=attribute.name)


@attrs.frozen
class CommentAuthor:
    """A comment's author: a contact or a staff member, by id, and the name shown."""

    kind: AuthorKind = attrs.field(validator=instance_of(AuthorKind))
    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=_name)

    @classmethod
    def contact(cls, contact_id: str, name: str) -> CommentAuthor:
        """A contact writing from the portal."""
        return cls(AuthorKind.CONTACT, contact_id, name)

    @classmethod
    def staff(cls, staff_id: str, name: str) -> CommentAuthor:
        """A staff member writing from the back office."""
        return cls(AuthorKind.STAFF, staff_id, name)


@attrs.frozen
class DocumentComment:
    """One comment on a document.

    Args:
        id: the comment's id.
        document: the invoice or statement it is on.
        account_id: the document's account.
        author: who wrote it.
        body: its text (see :func:`comment_body`).
        posted_at: when (timezone-aware).
        number: its place among every comment (increasing as they are posted): the
            order comments are listed in.
    """

    id: str = attrs.field(validator=identifier)
    document: DocumentRef = attrs.field(validator=instance_of(DocumentRef))
    account_id: str = attrs.field(validator=identifier)
    author: CommentAuthor = attrs.field(validator=instance_of(CommentAuthor))
    body: str = attrs.field(converter=comment_body)
    posted_at: datetime = attrs.field(validator=aware_datetime)
    number: int = attrs.field(validator=int64)

    @property
    def document_key(self) -> str:
        """``"<kind>:<id>"``: the document's comments are looked up by it."""
        return document_key(self.document)


def document_key(ref: DocumentRef) -> str:
    """The lookup key of a document's comments."""
    return f"{ref.kind.value}:{ref.id}"
