"""The document links the portal hands out beyond one document's own view: on the
contact's pages (many at once) and in the emails that announce a document.

Seed 004_67d5e53a019b49ae.txt: "in each generated document there is a link to access
the portal". An invoice or statement email carries the signed link of its document,
made for the contact who receives it (:func:`mailed_link`): each recipient gets a link
bound to them, which opens the document only for them, after login, while they may see
it (:func:`~portal_access._service.documents.open_link` checks that when it is opened).

A recipient who is not a contact of the document's account (an outside address on the
invoice's "To"), or a contact who could never see the document (another contact's own
invoice, a site outside its scope), gets the portal's address instead, and so does
every recipient of a portal without a ``document_link_key``: a link is never made for
someone it cannot open for, and hosts that sign nothing keep their emails as they were.
"""

from __future__ import annotations

from collections.abc import Iterable

from portal_access._domain.billing import Invoice
from portal_access._domain.capabilities import Capability
from portal_access._domain.contacts import Contact
from portal_access._domain.documents import DocumentKind, DocumentRef
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ValidationError
from portal_access._domain.site_access import resolve_sites
from portal_access._domain.validation import ensure_instance
from portal_access._service import documents
from portal_access._service.access_states import require_access_state
from portal_access._service.context import Work

__all__ = ["contact_document_links", "mailed_link", "recipient_contact"]


def contact_document_links(work: Work, contact_id: str, refs: object) -> tuple[str, ...]:
    """The signed links of documents the contact may see, in the order given: one read
    of the contact's access for a page that lists many documents.

    Raises:
        NotFoundError: no such contact, or a document it may not see.
        AccessDeniedError: the contact may not view invoices.
        ConfigurationError: no ``document_link_key``.
        ValidationError: ``refs`` is not a collection of DocumentRef.
    """
    if not isinstance(refs, Iterable) or isinstance(refs, str | bytes):
        raise ValidationError("must be a collection of DocumentRef", field="documents")
    viewer = documents.require_viewer(work, contact_id, Capability.VIEW_INVOICES)
    links = []
    for ref in tuple(refs):
        documents.require_document(work, viewer, ensure_instance(ref, DocumentRef, field="ref"))
        links.append(documents.signed_link(work, viewer[0], ref)[0])
    return tuple(links)


def recipient_contact(work: Work, account_id: str, address: EmailAddress) -> Contact | None:
    """The contact of ``account_id`` whose email is ``address``, if there is one."""
    for contact in work.uow.contacts.with_email(address):
        if contact.account_id == account_id:
            return contact
    return None


def mailed_link(work: Work, contact: Contact | None, ref: DocumentRef) -> str:
    """The link an email about ``ref`` carries for ``contact``: the document's signed
    link made for that contact when the portal signs links and the document is one the
    contact sees once it has full access (its account's, addressed to it or to no one,
    within its site scope); otherwise the portal's address."""
    home = work.context.links.base_url
    if contact is None or work.context.document_link_key is None:
        return home
    if ref.kind is DocumentKind.STATEMENT:
        mine = ref.id == contact.account_id
    else:
        invoice = work.uow.invoices.get(ref.id)
        mine = invoice is not None and _addressed_to(work, invoice, contact)
    return documents.signed_link(work, contact, ref)[0] if mine else home


def _addressed_to(work: Work, invoice: Invoice, contact: Contact) -> bool:
    if invoice.account_id != contact.account_id or invoice.contact_id not in (None, contact.id):
        return False
    if invoice.site_id is None:
        return True
    state = require_access_state(work, contact.id)
    sites = resolve_sites(state.scope, state.sites, state.account_class, state.account_id)
    return sites.account_level or sites.allows(invoice.site_id)
