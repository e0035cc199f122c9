"""The document page (seed 004_67d5e53a019b49ae.txt): "clicking on any of the documents
will open a new view where you can preview them, download them in PDF, print them, add
comments and even pay based on integrated gateways".

Every route takes the document's signed link (``?token=``, the link each document and
its email carry) and opens it for the logged-in contact: a visitor who is not logged in
logs in first and comes back to the same link (the guard's ``next``); a link made for
another contact, tampered with or for a document the contact may no longer see answers
404, the contact's own expired link 410, and neither shows anything of a document. The
pages exist only when the portal signs links (``PORTAL_ACCESS_DOCUMENT_LINK_KEY``).
"""

from __future__ import annotations

import io
import logging

import attrs
from flask import Blueprint, abort, g, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue

from portal_access import (
    AccessDeniedError,
    AccessLevel,
    Capability,
    ConfigurationError,
    DocumentComment,
    DocumentKind,
    DocumentRef,
    InvalidTokenError,
    Invoice,
    NotFoundError,
    PortalAccessError,
    TokenExpiredError,
    ValidationError,
)
from portal_access.contrib.document_pages import pay_gateways, pdf_filename
from portal_access.contrib.flask import _links, _reads
from portal_access.contrib.flask._guard import serves
from portal_access.contrib.flask._pages import form_error, go_to_checkout, notice, page
from portal_access.contrib.flask._state import PortalApp, app_state

__all__ = ["document_links", "register_routes"]

log = logging.getLogger("portal_access.contrib.flask")


@attrs.frozen
class Opened:
    """A document link opened for the logged-in contact."""

    token: str
    ref: DocumentRef


def _open(state: PortalApp) -> Opened | ResponseReturnValue:
    """The document the request's link opens for the logged-in contact, or the page
    that says why it does not."""
    if not state.documents:
        abort(404)
    token = request.values.get("token", "")
    try:
        ref = state.portal.open_document_link(token, g.portal_contact_id)
    except TokenExpiredError:
        return notice(
            "This document link has expired",
            "Open the document from your portal's overview: its invoices and statement "
            "are listed there.",
            status=410,
        )
    except InvalidTokenError:
        return notice(
            "We could not open this document",
            "This link is not valid for your login. Open the document from your portal's "
            "overview, or log in as the person the link was sent to.",
            status=404,
        )
    except PortalAccessError as exc:  # no full access any more: the guard's next request
        message, status = form_error(exc)
        return notice("That is not available", message, status=status)
    return Opened(token, ref)


def _invoice(state: PortalApp, ref: DocumentRef) -> Invoice | None:
    return _reads.invoice(state.portal, ref.id) if ref.kind is DocumentKind.INVOICE else None


def _comments(state: PortalApp, ref: DocumentRef) -> tuple[DocumentComment, ...] | None:
    if not g.portal_decision.can(Capability.COMMENTS):
        return None
    return state.portal.document_comments(g.portal_contact_id, ref)


def _show(
    state: PortalApp, opened: Opened, status: int = 200, **context: object
) -> ResponseReturnValue:
    try:
        document = state.portal.document(g.portal_contact_id, opened.ref)
        comments = _comments(state, opened.ref)
    except (NotFoundError, AccessDeniedError):
        abort(404)  # the contact lost sight of it between two reads
    invoice = _invoice(state, opened.ref)
    return page(
        "document.html",
        status,
        document=document,
        token=opened.token,
        invoice=invoice,
        comments=comments,
        can_download=state.pdf and g.portal_decision.can(Capability.DOWNLOAD_DOCUMENTS),
        pay_gateways=pay_gateways(g.portal_decision, invoice, state.gateway_names),
        **context,
    )


@serves(AccessLevel.FULL)
def document() -> ResponseReturnValue:
    """The document's page: preview, PDF, print, comments, pay."""
    state = app_state()
    opened = _open(state)
    if not isinstance(opened, Opened):
        return opened
    return _show(state, opened, body="")


@serves(AccessLevel.FULL)
def document_pdf() -> ResponseReturnValue:
    """The document as a PDF download."""
    state = app_state()
    opened = _open(state)
    if not isinstance(opened, Opened):
        return opened
    if not state.pdf:
        return notice(
            "PDF download is not available", "This portal does not offer PDF downloads.", status=404
        )
    try:  # one build: the file and the title that names it
        drawn = state.portal.document_file(g.portal_contact_id, opened.ref)
    except ConfigurationError as exc:  # e.g. a character the PDF font cannot draw
        log.error("document %s of %s not drawn: %s", opened.ref.id, g.portal_contact_id, exc)
        text = "We could not draw this document as a PDF. Please print it from this page."
        return notice("PDF not available", text, status=503)
    except AccessDeniedError:
        return notice("That is not available", "You cannot download documents.", status=403)
    except NotFoundError:
        abort(404)
    return send_file(
        io.BytesIO(drawn.content),
        mimetype=drawn.media_type,
        as_attachment=True,
        download_name=pdf_filename(drawn.document.title),
        max_age=0,
    )


@serves(AccessLevel.FULL)
def document_comment() -> ResponseReturnValue:
    """Post the contact's comment, then back to the document (303)."""
    state = app_state()
    opened = _open(state)
    if not isinstance(opened, Opened):
        return opened
    body = request.form.get("body", "")
    try:
        state.portal.comment_on_document(g.portal_contact_id, opened.ref, body)
    except ValidationError as exc:
        message, status = form_error(exc)
        return _show(state, opened, status, body=body, comment_error=message)
    except (NotFoundError, AccessDeniedError):
        abort(404)
    target = url_for("portal_access.document", token=opened.token, _anchor="comments")
    return redirect(target, code=303)


@serves(AccessLevel.FULL)
def document_pay() -> ResponseReturnValue:
    """ "Pay this document" through the gateway chosen (one the contact may use)."""
    state = app_state()
    opened = _open(state)
    if not isinstance(opened, Opened):
        return opened
    if opened.ref.kind is not DocumentKind.INVOICE:
        abort(404)  # a statement is paid invoice by invoice
    try:
        session = state.portal.pay_document(
            g.portal_contact_id,
            opened.ref.id,
            gateway=request.form.get("gateway", ""),
            success_url=state.absolute(state.settings.home_endpoint),
            cancel_url=state.absolute("portal_access.document", token=opened.token),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return _show(state, opened, status, body="", pay_error=message)
    return go_to_checkout(session, invoice_id=opened.ref.id, back="portal")


def document_links(state: PortalApp, contact_id: str, refs: list[DocumentRef]) -> list[str]:
    """The signed links of ``refs`` for the contact's pages; none when the portal signs
    no links or the contact may not see documents now."""
    if not state.documents or not refs:
        return []
    try:
        return list(state.portal.document_links(contact_id, refs))
    except (NotFoundError, AccessDeniedError):
        return []


def register_routes(blueprint: Blueprint) -> None:
    """Add the document pages to the portal's blueprint."""
    path = _links.DOCUMENT
    blueprint.add_url_rule(path, view_func=document)
    blueprint.add_url_rule(f"{path}/pdf", view_func=document_pdf)
    blueprint.add_url_rule(f"{path}/comments", view_func=document_comment, methods=["POST"])
    blueprint.add_url_rule(f"{path}/pay", view_func=document_pay, methods=["POST"])
