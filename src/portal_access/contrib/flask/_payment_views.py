"""Pages for paying and being inside: the account summary, the pay-invoice view and its
checkout, re-subscribing after a failed renewal, and quick pay for guests.

Seed 000: a registered Client whose required invoice is open sees only the pay-invoice
view; after a failed renewal only the re-subscribe path. Seeds 001, 003 and 004: the
summary of invoices, balances, aging, payments settled and pending, and sites.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, request
from flask.typing import ResponseReturnValue

from portal_access import AccessLevel, AccessReason, DocumentKind, DocumentRef, PortalAccessError
from portal_access.contrib.flask import _links, _reads
from portal_access.contrib.flask._document_views import document_links
from portal_access.contrib.flask._guard import serves
from portal_access.contrib.flask._pages import (
    client_key,
    form_error,
    go_to_checkout,
    notice,
    page,
)
from portal_access.contrib.flask._state import app_state

__all__ = ["register_routes"]


@serves(AccessLevel.FULL)
def dashboard() -> ResponseReturnValue:
    """The account summary (seed 004: "a summary of all transactions made and pending"),
    each invoice and the statement linked to its document page when the portal signs
    document links."""
    state = app_state()
    summary = state.portal.account_summary(g.portal_contact_id)
    refs = [DocumentRef(DocumentKind.STATEMENT, summary.account_id)]
    refs += [DocumentRef(DocumentKind.INVOICE, invoice.id) for invoice in summary.invoices]
    links = document_links(state, g.portal_contact_id, refs)
    return page(
        "dashboard.html",
        summary=summary,
        account=_reads.account(state.portal, summary.account_id),
        contact=_reads.contact(state.portal, g.portal_contact_id),
        statement_link=links[0] if links else None,
        invoice_links={ref.id: link for ref, link in zip(refs[1:], links[1:], strict=True)}
        if links
        else {},
    )


_PAY_STATUS = {
    AccessReason.INVOICE_OPEN: "open",
    AccessReason.PAYMENT_PROCESSING: "processing",
    AccessReason.PAYMENT_FAILED: "failed",
}


@serves(AccessLevel.PAY_INVOICE_ONLY)
def pay_invoice() -> ResponseReturnValue:
    """Seed 000's Pay Invoice view: the required invoice, and how its payment stands."""
    state = app_state()
    decision = g.portal_decision
    invoice = _reads.invoice(state.portal, decision.required_invoice_id or "")
    if invoice is None:
        abort(404)
    processing = [
        record
        for record in _reads.pending_payments(state.portal, g.portal_contact_id)
        if record.snapshot.invoice_id == invoice.id
    ]
    return page(
        "pay_invoice.html",
        invoice=invoice,
        payment_state=_PAY_STATUS.get(decision.reason, "open"),
        processing=processing,
        contact=_reads.contact(state.portal, g.portal_contact_id),
    )


@serves(AccessLevel.PAY_INVOICE_ONLY)
def checkout() -> ResponseReturnValue:
    """Open the gateway's hosted page for the required invoice."""
    state = app_state()
    try:
        session = state.portal.start_checkout(
            g.portal_contact_id,
            success_url=state.absolute(state.settings.home_endpoint),
            cancel_url=state.absolute("portal_access.pay_invoice"),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return notice("We could not open the payment page", message, status=status)
    return go_to_checkout(session, invoice_id=g.portal_decision.required_invoice_id, back="portal")


@serves(AccessLevel.RESUBSCRIBE_ONLY)
def renew() -> ResponseReturnValue:
    """After a failed renewal: ask for a re-subscribe link (mailed, single-use)."""
    state = app_state()
    contact = _reads.contact(state.portal, g.portal_contact_id)
    email = str(contact.email) if contact is not None and contact.email else ""
    if request.method == "GET":
        return page("renew.html", email=email, contact=contact)
    try:
        state.portal.having_trouble(email, client_key=client_key())
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return page("renew.html", status, email=email, contact=contact, error=message)
    return notice(
        "Check your email",
        f"We sent a re-subscribe link to {email}. Open it to enter new payment details.",
    )


def resubscribe() -> ResponseReturnValue:
    """A re-subscribe link (seed 000): GET confirms, POST opens the payment page."""
    state = app_state()
    token = request.values.get("token", "")
    try:
        shown = state.portal.view_resubscribe(token)
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return page("link_problem.html", status, problem=message)
    if request.method == "GET":
        return page("resubscribe.html", view=shown, token=token)
    try:
        session = state.portal.resubscribe(
            token,
            success_url=state.absolute(state.settings.home_endpoint),
            cancel_url=state.absolute("portal_access.resubscribe", token=token),
            contact_id=state.current_contact_id(),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return page("resubscribe.html", status, view=shown, token=token, error=message)
    return go_to_checkout(session, invoice_id=None, back="portal")


def quick_pay() -> ResponseReturnValue:
    """Seed 001's Invoice Quick Pay: a guest pays with the invoice number and code."""
    state = app_state()
    if not state.portal.policy.system.pay_as_guest:
        abort(404)
    form = {key: request.form.get(key, "").strip() for key in ("invoice_number", "code")}
    if request.method == "GET":
        return page("quick_pay.html", form=form)
    try:
        result = state.portal.quick_pay(
            form["invoice_number"],
            form["code"],
            success_url=state.absolute("portal_access.quick_pay_done"),
            cancel_url=state.absolute("portal_access.quick_pay"),
            client_key=client_key(),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return page("quick_pay.html", status, form=form, error=message)
    if result.checkout is None:
        error = "We could not find an open invoice with that number and code."
        return page("quick_pay.html", 400, form=form, error=error)
    return go_to_checkout(result.checkout, invoice_id=None, back="guest")


def quick_pay_done() -> ResponseReturnValue:
    """Where the gateway returns a guest after paying."""
    return notice("Thank you", "Your payment was submitted. It appears on the invoice shortly.")


def register_routes(blueprint: Blueprint) -> None:
    """Add these pages to the portal's blueprint."""
    both = ["GET", "POST"]
    blueprint.add_url_rule("/", view_func=dashboard)
    blueprint.add_url_rule("/pay", view_func=pay_invoice)
    blueprint.add_url_rule("/pay/checkout", view_func=checkout, methods=["POST"])
    blueprint.add_url_rule("/renew", view_func=renew, methods=both)
    blueprint.add_url_rule(_links.RESUBSCRIBE, view_func=resubscribe, methods=both)
    blueprint.add_url_rule("/quick-pay", view_func=quick_pay, methods=both)
    blueprint.add_url_rule("/quick-pay/done", view_func=quick_pay_done)
