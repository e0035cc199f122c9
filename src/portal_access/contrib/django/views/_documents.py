"""The document view (seed 004): "in each generated document there is a link to access
the portal"; the link opens a view "where you can preview them, download them in PDF,
print them, add comments and even pay based on integrated gateways".

``document/?token=...`` is the signed link an email or a PDF carries: after login (an
anonymous visitor is sent to the login page and back to the same link), it opens the
document it names for the contact it was made for, and nothing for anyone else.
``document/?invoice=<id>`` and ``document/?statement=<account id>`` are the portal's own
links (the dashboard's): the logged-in contact's, under the same rule of who sees what.
Everything goes through :class:`~portal_access.PortalAccess`: a document the contact
may not see answers exactly as one that does not exist (``404``), the contact's own
expired link ``410``, a tampered or another contact's link ``404``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal_access import (
    AccessDecision,
    AccessDeniedError,
    AccessLevel,
    Capability,
    ConfigurationError,
    Document,
    DocumentKind,
    DocumentRef,
    InvalidTokenError,
    InvoiceStatus,
    NotFoundError,
    PortalAccessError,
    TokenExpiredError,
    ValidationError,
)
from portal_access.contrib.django._settings import current_settings, portal
from portal_access.contrib.django.decorators import serves
from portal_access.contrib.django.views._forms import CommentFields
from portal_access.contrib.django.views._pages import (
    absolute,
    go_to_checkout,
    inside,
    notice,
    page,
    protected,
    render_page,
    see_other,
)
from portal_access.contrib.document_pages import pay_gateways, pdf_filename
from portal_access.contrib.form_errors import form_error

__all__ = ["document", "document_pay", "document_pdf", "document_query"]

logger = logging.getLogger("portal_access.contrib.django.views")

_NOT_FOUND = "This link does not open a document for your login."


def document_query(ref: DocumentRef) -> str:
    """The portal's own query naming ``ref`` (``invoice=<id>``, ``statement=<id>``)."""
    return urlencode({ref.kind.value: ref.id})


def _opened(request: HttpRequest, contact_id: str) -> tuple[DocumentRef, str] | HttpResponse:
    """The document the request names for the logged-in contact, and the query that names
    it again (the signed link's, or the portal's own); or the page to answer instead
    (documents are off, or the link or document is not the contact's)."""
    if current_settings().document_link_key is None:
        text = "Documents are not available in this portal."
        return notice(request, "Page not found", text, status=404)
    token = request.GET.get("token")
    try:
        if token is not None:
            return portal().open_document_link(str(token), contact_id), urlencode({"token": token})
        for kind in DocumentKind:
            wanted = request.GET.get(kind.value)
            if wanted is not None:
                ref = DocumentRef(kind, str(wanted))
                return ref, document_query(ref)
    except TokenExpiredError:
        text = "This link has expired. Your documents are listed on your portal's overview."
        return notice(request, "This link has expired", text, status=410)
    except (InvalidTokenError, NotFoundError, ValidationError):
        pass
    except AccessDeniedError:
        return notice(request, "Not available", "Your login cannot open documents now.", status=403)
    return notice(request, "Document not found", _NOT_FOUND, status=404)


def _document(request: HttpRequest, contact_id: str, ref: DocumentRef) -> Document | HttpResponse:
    """The document as the contact sees it, or the page to answer instead."""
    try:
        return portal().document(contact_id, ref)
    except (NotFoundError, ValidationError):
        return notice(request, "Document not found", _NOT_FOUND, status=404)
    except AccessDeniedError:
        return notice(request, "Not available", "Your login cannot open documents now.", status=403)


def _configured() -> frozenset[str]:
    return frozenset(gateway.name for gateway in current_settings().gateways)


def _here(query: str) -> str:
    return f"{reverse('portal_access:document')}?{query}"


def _page(
    request: HttpRequest,
    contact_id: str,
    decision: AccessDecision,
    ref: DocumentRef,
    query: str,
    *,
    form: forms.Form | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    shown = _document(request, contact_id, ref)
    if isinstance(shown, HttpResponse):
        return shown
    commenting = decision.can(Capability.COMMENTS)
    comments = portal().document_comments(contact_id, ref) if commenting else ()
    invoice = portal().invoice(ref.id) if ref.kind is DocumentKind.INVOICE else None
    open_invoices: list[dict[str, Any]] = []
    if ref.kind is DocumentKind.STATEMENT:
        summary = portal().account_summary(contact_id)
        open_invoices = [
            {
                "invoice": row,
                "href": _here(document_query(DocumentRef(DocumentKind.INVOICE, row.id))),
            }
            for row in summary.invoices
            if row.status is InvoiceStatus.OPEN and row.balance.amount
        ]
    downloadable = (
        decision.can(Capability.DOWNLOAD_DOCUMENTS) and current_settings().renderer is not None
    )
    context = {
        "document": shown,
        "invoice": invoice,
        "open_invoices": open_invoices,
        "query": query,
        "here": _here(query),
        "pdf_url": f"{reverse('portal_access:document_pdf')}?{query}" if downloadable else "",
        "pay_url": f"{reverse('portal_access:document_pay')}?{query}",
        "gateways": pay_gateways(decision, invoice, _configured()),
        "commenting": commenting,
        "comments": comments,
        "form": form if form is not None else CommentFields(),
        "error": error,
    }
    return render_page(request, "document.html", context, status)


@page
@require_http_methods(["GET", "POST"])
@serves(AccessLevel.FULL)
def document(request: HttpRequest) -> HttpResponse:
    """The document's page: its preview, download, print, comments and "pay this".

    POST adds the contact's comment (``body``) and comes back to the page.
    """
    contact_id, decision = inside(request)
    opened = _opened(request, contact_id)
    if isinstance(opened, HttpResponse):
        return opened
    ref, query = opened
    if request.method == "GET":
        return _page(request, contact_id, decision, ref, query)
    form = CommentFields(request.POST)
    try:
        portal().comment_on_document(contact_id, ref, str(request.POST.get("body", "")))
    except (ValidationError, AccessDeniedError, NotFoundError) as exc:
        message, status = form_error(exc)
        return _page(
            request, contact_id, decision, ref, query, form=form, error=message, status=status
        )
    messages.success(request, "Your comment was added.", fail_silently=True)
    return see_other(_here(query))


@protected
@require_GET
@serves(AccessLevel.FULL)
def document_pdf(request: HttpRequest) -> HttpResponse:
    """The document as a PDF download (the contact needs the download capability)."""
    contact_id, decision = inside(request)
    opened = _opened(request, contact_id)
    if isinstance(opened, HttpResponse):
        return opened
    ref = opened[0]
    if not decision.can(Capability.VIEW_INVOICES):  # as the document's own page answers
        return notice(request, "Not available", "Your login cannot open documents now.", status=403)
    if not decision.can(Capability.DOWNLOAD_DOCUMENTS):
        text = "Downloading documents is not available for your login."
        return notice(request, "Not available", text, status=403)
    if current_settings().renderer is None:
        text = "PDF downloads are not available in this portal."
        return notice(request, "Not available", text, status=404)
    try:  # one build: the file and the title that names it
        drawn = portal().document_file(contact_id, ref)
    except ConfigurationError as exc:  # e.g. a character the PDF font cannot draw
        logger.error("document %s of %s not drawn: %s", ref.id, contact_id, exc)
        text = "We could not draw this document as a PDF. Please print it from this page."
        return notice(request, "PDF not available", text, status=503)
    except (NotFoundError, ValidationError):
        return notice(request, "Document not found", _NOT_FOUND, status=404)
    except AccessDeniedError:  # the contact lost access since the decision above
        return notice(request, "Not available", "Your login cannot open documents now.", status=403)
    response = HttpResponse(drawn.content, content_type=drawn.media_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=pdf_filename(drawn.document.title)
    )
    return response


@page
@require_POST
@serves(AccessLevel.FULL)
def document_pay(request: HttpRequest) -> HttpResponse:
    """ "Pay this document": the gateway's hosted page for what the invoice still owes,
    through one of the contact's gateways (``gateway`` posted)."""
    contact_id = inside(request)[0]
    opened = _opened(request, contact_id)
    if isinstance(opened, HttpResponse):
        return opened
    ref, query = opened
    if ref.kind is not DocumentKind.INVOICE:
        text = "A statement is paid invoice by invoice: open an invoice to pay it."
        return notice(request, "Choose an invoice", text, status=400)
    back = absolute("portal_access:document") + f"?{query}"
    try:
        session = portal().pay_document(
            contact_id,
            ref.id,
            gateway=str(request.POST.get("gateway", "")),
            success_url=back,
            cancel_url=back,
        )
    except NotFoundError:
        return notice(request, "Document not found", _NOT_FOUND, status=404)
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return notice(request, "We could not open the payment page", message, status=status)
    return go_to_checkout(request, session, invoice_id=ref.id, back="portal")
