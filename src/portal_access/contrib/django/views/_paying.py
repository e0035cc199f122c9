"""Paying and being inside: the account summary, seed 000's pay-invoice view and its
checkout, re-subscribing after a failed renewal, and seed 001's quick pay for guests."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal_access import (
    AccessLevel,
    AccessReason,
    NotFoundError,
    PortalAccessError,
    ValidationError,
)
from portal_access.contrib.django import _auth
from portal_access.contrib.django._settings import current_settings, portal
from portal_access.contrib.django.decorators import serves
from portal_access.contrib.django.views._forms import QuickPayFields, TokenFields
from portal_access.contrib.django.views._pages import (
    absolute,
    form_page,
    found,
    go_to_checkout,
    inside,
    links,
    notice,
    page,
    posted,
    protected,
    render_page,
)
from portal_access.contrib.form_errors import form_error

__all__ = [
    "checkout",
    "dashboard",
    "pay_invoice",
    "quick_pay",
    "quick_pay_done",
    "renew",
    "resubscribe",
]


@protected
@require_GET
@serves(AccessLevel.FULL)
def dashboard(request: HttpRequest) -> HttpResponse:
    """The account summary (seed 004: "a summary of all transactions made and pending")."""
    contact_id, decision = inside(request)
    summary = portal().account_summary(contact_id)
    sites = [
        {"name": site.name, "full": site.id in decision.sites.full}
        for site in found(portal().account_sites, summary.account_id) or ()
        if decision.sites.allows(site.id)
    ]
    context = {
        "summary": summary,
        "contact": found(portal().contact, contact_id),
        "account": found(portal().account, summary.account_id),
        "sites": sites,
        # links to the document view (seed 004), when documents carry signed links
        "documents": current_settings().document_link_key is not None,
    }
    return render_page(request, "dashboard.html", context)


_PAY_STATUS = {
    AccessReason.INVOICE_OPEN: "open",
    AccessReason.PAYMENT_PROCESSING: "processing",
    AccessReason.PAYMENT_FAILED: "failed",
}


@protected
@require_GET
@serves(AccessLevel.PAY_INVOICE_ONLY)
def pay_invoice(request: HttpRequest) -> HttpResponse:
    """Seed 000's Pay Invoice view: the required invoice, and how its payment stands."""
    contact_id, decision = inside(request)
    try:
        invoice = portal().invoice(decision.required_invoice_id or "")
        pending = portal().contact_payments(contact_id).pending
    except (NotFoundError, ValidationError):
        return notice(request, "Page not found", "We could not find that invoice.", status=404)
    processing = [record for record in pending if record.snapshot.invoice_id == invoice.id]
    context = {
        "invoice": invoice,
        "payment_state": _PAY_STATUS.get(decision.reason, "open"),
        "processing": processing,
        "contact": found(portal().contact, contact_id),
    }
    return render_page(request, "pay_invoice.html", context)


@page
@require_POST
@serves(AccessLevel.PAY_INVOICE_ONLY)
def checkout(request: HttpRequest) -> HttpResponse:
    """Open the gateway's hosted page for the required invoice."""
    settings = current_settings()
    contact_id, decision = inside(request)
    try:
        session = portal().start_checkout(
            contact_id,
            success_url=absolute(settings.home_url),
            cancel_url=absolute("portal_access:pay_invoice"),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return notice(request, "We could not open the payment page", message, status=status)
    return go_to_checkout(request, session, invoice_id=decision.required_invoice_id, back="portal")


@page
@require_http_methods(["GET", "POST"])
@serves(AccessLevel.RESUBSCRIBE_ONLY)
def renew(request: HttpRequest) -> HttpResponse:
    """After a failed renewal: ask for a re-subscribe link (mailed, single-use)."""
    contact = found(portal().contact, inside(request)[0])
    email = str(contact.email) if contact is not None and contact.email else ""
    context = {
        "heading": "Your renewal payment did not go through",
        "button": "Email me a re-subscribe link",
        "lead": "Your portal access is paused until your subscription is active again. We "
        f"will email a secure link to {email} where you can enter new payment details.",
        "email": email,
    }
    if request.method == "GET":
        return form_page(request, "renew.html", forms.Form(), **context)
    try:
        portal().having_trouble(email, client_key=_auth.client_key(request))
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return form_page(
            request, "renew.html", forms.Form(), error=message, status=status, **context
        )
    return notice(
        request,
        "Check your email",
        f"We sent a re-subscribe link to {email}. Open it to enter new payment details.",
    )


@page
@require_http_methods(["GET", "POST"])
def resubscribe(request: HttpRequest) -> HttpResponse:
    """A re-subscribe link (seed 000): GET confirms, POST opens the payment page."""
    token = str(request.GET.get("token") or request.POST.get("token") or "")
    try:
        shown = portal().view_resubscribe(token)
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return render_page(request, "link_problem.html", {"problem": message}, status)
    context = {
        "heading": "Re-subscribe",
        "button": "Enter new payment details",
        "lead": f"Welcome back. Enter new payment details for {shown.email} to restore "
        "your portal access.",
        "view": shown,
    }
    form = TokenFields(initial={"token": token})
    if request.method == "GET":
        return form_page(request, "resubscribe.html", form, **context)
    try:
        session = portal().resubscribe(
            token,
            success_url=absolute(current_settings().home_url),
            cancel_url=absolute("portal_access:resubscribe") + f"?token={token}",
            contact_id=_auth.contact_id(request),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return form_page(request, "resubscribe.html", form, error=message, status=status, **context)
    return go_to_checkout(request, session, invoice_id=None, back="portal")


@page
@require_http_methods(["GET", "POST"])
def quick_pay(request: HttpRequest) -> HttpResponse:
    """Seed 001's Invoice Quick Pay: a guest pays with the invoice number and code."""
    options = current_settings().policy.system
    if not options.pay_as_guest:
        return notice(request, "Page not found", "Quick pay is not open.", status=404)
    context = {
        "heading": "Invoice quick pay",
        "button": "Continue to payment",
        "lead": "Pay an invoice without logging in. You will find the quick pay code on "
        "the invoice.",
        "links": links(("portal_access:login", "Log in instead")),
    }
    if request.method == "GET":
        return form_page(request, "quick_pay.html", QuickPayFields(), **context)
    form = QuickPayFields(request.POST)
    fields = posted(request, "invoice_number", "code")
    try:
        result = portal().quick_pay(
            fields["invoice_number"],
            fields["code"],
            success_url=absolute("portal_access:quick_pay_done"),
            cancel_url=absolute("portal_access:quick_pay"),
            client_key=_auth.client_key(request),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return form_page(request, "quick_pay.html", form, error=message, status=status, **context)
    if result.checkout is None:
        error = "We could not find an open invoice with that number and code."
        return form_page(request, "quick_pay.html", form, error=error, status=400, **context)
    return go_to_checkout(request, result.checkout, invoice_id=None, back="guest")


@protected
@require_GET
def quick_pay_done(request: HttpRequest) -> HttpResponse:
    """Where the gateway returns a guest after paying."""
    return notice(
        request, "Thank you", "Your payment was submitted. It appears on the invoice shortly."
    )
