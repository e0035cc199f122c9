"""Comments on documents (seed 004_67d5e53a019b49ae.txt: contacts "leave comments"; a
document's view lets them "add comments").

- A contact comments on, and lists the comments of, only a document it may see (the
  rule of :mod:`~portal_access._service.documents`: its account, addressed to it or to no
  one, within its site scope) and only with the "comments" capability; any other
  document answers as one that does not exist.
- Staff comment on any document of an existing account or invoice.
- Each comment notifies the other side through the outbox, in the unit of work that
  stores it: a :class:`~portal_access._domain.events.DocumentCommented` event (the staff
  side subscribes to it) and, for a staff comment, an email to every contact who may see
  the document (with the document's signed link when the portal signs links, else the
  portal's address).
- Comments list oldest first, in the order they were posted.
"""

from __future__ import annotations

from portal_access._domain.billing import Invoice
from portal_access._domain.capabilities import Capability
from portal_access._domain.comments import CommentAuthor, DocumentComment, comment_body
from portal_access._domain.documents import DocumentKind, DocumentRef
from portal_access._domain.errors import AccessDeniedError, NotFoundError
from portal_access._domain.events import DocumentCommented
from portal_access._domain.invitations import StaffMember
from portal_access._domain.validation import ensure_instance
from portal_access._service import documents
from portal_access._service.context import Work
from portal_access._service.lookups import require_account
from portal_access._service.mailings import send_email, template_values

__all__ = ["comment_as_contact", "comment_as_staff", "comments_for_contact", "comments_for_staff"]


def comment_as_contact(work: Work, contact_id: str, ref: DocumentRef, body: str) -> DocumentComment:
    """Post the contact's comment on a document it may see.

    Raises:
        ValidationError: a blank body, one over 4000 characters, or control characters.
        NotFoundError: no such contact or document, or a document the contact may not see.
        AccessDeniedError: no full access, or comments are not among its capabilities.
    """
    text = comment_body(body)
    viewer = documents.require_viewer(work, contact_id, Capability.COMMENTS)
    found = documents.require_document(work, viewer, ensure_instance(ref, DocumentRef, field="ref"))
    contact = viewer[0]
    account_id = found.account_id if isinstance(found, Invoice) else found.id
    author = CommentAuthor.contact(contact.id, contact.full_name or contact.id)
    return _post(work, ref, account_id, author, text)


def comment_as_staff(
    work: Work, ref: DocumentRef, body: str, *, staff: StaffMember
) -> DocumentComment:
    """Post a staff member's comment, and mail it to the contacts who see the document.

    Raises:
        ValidationError: as :func:`comment_as_contact`.
        NotFoundError: no such invoice or account.
    """
    text = comment_body(body)
    staff = ensure_instance(staff, StaffMember, field="staff")
    ref = ensure_instance(ref, DocumentRef, field="ref")
    account_id = _account_of(work, ref)
    comment = _post(work, ref, account_id, CommentAuthor.staff(staff.id, staff.name), text)
    _mail_contacts(work, comment)
    return comment


def comments_for_contact(
    work: Work, contact_id: str, ref: DocumentRef
) -> tuple[DocumentComment, ...]:
    """The comments of a document the contact may see, oldest first.

    Raises:
        NotFoundError, AccessDeniedError: as :func:`comment_as_contact`.
    """
    viewer = documents.require_viewer(work, contact_id, Capability.COMMENTS)
    documents.require_document(work, viewer, ensure_instance(ref, DocumentRef, field="ref"))
    return work.uow.document_comments.for_document(ref)


def comments_for_staff(work: Work, ref: DocumentRef) -> tuple[DocumentComment, ...]:
    """Every comment of a document, oldest first.

    Raises:
        NotFoundError: no such invoice or account.
    """
    _account_of(work, ensure_instance(ref, DocumentRef, field="ref"))
    return work.uow.document_comments.for_document(ref)


def _account_of(work: Work, ref: DocumentRef) -> str:
    if ref.kind is DocumentKind.INVOICE:
        invoice = work.uow.invoices.get(ref.id)
        if invoice is None:
            raise NotFoundError("document", ref.id)
        return invoice.account_id
    return require_account(work, ref.id).id


def _post(
    work: Work, ref: DocumentRef, account_id: str, author: CommentAuthor, body: str
) -> DocumentComment:
    comments = work.uow.document_comments
    comment = DocumentComment(
        id=work.context.ids.new_id("cm_"),
        document=ref,
        account_id=account_id,
        author=author,
        body=body,
        posted_at=work.context.clock.now(),
        number=comments.next_number(),
    )
    comments.save(comment)
    work.emit(
        DocumentCommented(
            comment_id=comment.id,
            document_kind=ref.kind.value,
            document_id=ref.id,
            account_id=account_id,
            author_kind=author.kind.value,
            author_id=author.id,
            number=comment.number,
        )
    )
    return comment


def _mail_contacts(work: Work, comment: DocumentComment) -> None:
    """Mail ``comment`` to each contact of its account who may see its document."""
    account = require_account(work, comment.account_id)
    ref = comment.document
    title = None
    for contact in work.uow.contacts.for_account(account.id):
        if contact.email is None:
            continue
        try:
            viewer = documents.require_viewer(work, contact.id, Capability.COMMENTS)
            found = documents.require_document(work, viewer, ref)
        except (NotFoundError, AccessDeniedError):
            continue
        if title is None:
            title = f"Invoice {found.number}" if isinstance(found, Invoice) else "your statement"
        link = (
            documents.document_link(work, contact.id, ref)
            if work.context.document_link_key is not None
            else work.context.links.base_url
        )
        send_email(
            work,
            kind="document_comment",
            template=work.context.templates.document_comment,
            to=(contact.email,),
            values=template_values(
                work,
                contact,
                account,
                document__title=title,
                comment__author=comment.author.name,
                comment__body=comment.body,
                document__url=link,
                link__url=link,  # the name templates written before document.url use
            ),
            contact_id=contact.id,
        )
