"""The sandbox gateway's development pages: its hosted checkout page, and the bank's and
vendor's console for a contact (clear or fail an ACH payment, renew or fail a renewal).
Served only while the sandbox gateway is configured."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal_access import NotFoundError, PaymentMethodKind, ValidationError
from portal_access.contrib.django._settings import current_settings, portal
from portal_access.contrib.django.sandbox import SandboxCheckoutGateway
from portal_access.contrib.django.views._pages import (
    found,
    notice,
    page,
    protected,
    render_page,
    sandbox_gateway,
    see_other,
)
from portal_access.testing.sandbox import SandboxError

__all__ = ["sandbox_checkout", "sandbox_console", "sandbox_renew", "sandbox_settle"]

_PAYMENTS = {
    "card": (PaymentMethodKind.CARD, True),
    "card_declined": (PaymentMethodKind.CARD, False),
    "ach": (PaymentMethodKind.BANK_ACCOUNT, True),
}


def _no_sandbox(request: HttpRequest) -> HttpResponse:
    return notice(request, "Page not found", "The sandbox gateway is not configured.", status=404)


def _deliver(request: HttpRequest, sandbox: SandboxCheckoutGateway) -> None:
    """POST the queued webhooks to this site's own webhook view, through the whole
    request stack (CSRF checks on, as a vendor's request would meet them)."""
    from django.test import Client  # noqa: PLC0415 - development pages only

    client = Client(enforce_csrf_checks=True)
    path = reverse("portal_access:webhook", args=[sandbox.name])

    def post(headers: Mapping[str, str], body: bytes) -> int:
        sent = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        kind = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        return client.post(
            path,
            data=body,
            content_type=kind or "application/json",
            headers=sent,
            HTTP_HOST=request.get_host(),
            secure=request.is_secure(),
        ).status_code

    statuses = sandbox.deliver(post)
    if statuses:
        answers = ", ".join(str(status) for status in statuses)
        text = f"Sandbox: {len(statuses)} webhook(s) delivered to this site (HTTP {answers})."
        messages.info(request, text, fail_silently=True)


@page
@require_http_methods(["GET", "POST"])
def sandbox_checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """The sandbox's hosted page: what is being paid and how to pay it."""
    sandbox = sandbox_gateway()
    if sandbox is None:
        return _no_sandbox(request)
    back = "guest" if request.POST.get("back", request.GET.get("back")) == "guest" else "portal"
    invoice_id = str(request.POST.get("invoice") or request.GET.get("invoice") or "")
    invoice = None
    if invoice_id:
        try:
            invoice = portal().invoice(invoice_id)
        except (NotFoundError, ValidationError):
            invoice = None
    context = {"session_id": session_id, "invoice": invoice, "back": back}
    if request.method == "GET":
        return render_page(request, "sandbox_checkout.html", context)
    method, succeed = _PAYMENTS.get(str(request.POST.get("method", "")), (None, False))
    if method is None:
        error = "Choose a way to pay."
        return render_page(request, "sandbox_checkout.html", {**context, "error": error}, 400)
    try:
        sandbox.pay(session_id, method=method, succeed=succeed)
    except SandboxError as exc:
        error = f"The sandbox refused: {exc}"
        return render_page(request, "sandbox_checkout.html", {**context, "error": error}, 409)
    _deliver(request, sandbox)
    if not succeed:
        declined = "The card was declined. Try another way to pay."
        messages.error(request, declined, fail_silently=True)
        return see_other(
            "portal_access:sandbox_checkout", session_id, query=f"invoice={invoice_id}&back={back}"
        )
    if back == "guest":
        return see_other("portal_access:quick_pay_done")
    return see_other(current_settings().home_url)


@protected
@require_GET
def sandbox_console(request: HttpRequest, contact_id: str) -> HttpResponse:
    """The bank's and vendor's side for one contact: processing payments, subscriptions."""
    if sandbox_gateway() is None:
        return _no_sandbox(request)
    if found(portal().contact, contact_id) is None:
        return notice(request, "Page not found", "There is no such contact.", status=404)
    context = {
        "contact_id": contact_id,
        "processing": portal().contact_payments(contact_id).pending,
        "subscriptions": portal().contact_subscriptions(contact_id),
    }
    return render_page(request, "sandbox_console.html", context)


def _act(
    request: HttpRequest, contact_id: str, action: Callable[[SandboxCheckoutGateway], None]
) -> HttpResponse:
    sandbox = sandbox_gateway()
    if sandbox is None:
        return _no_sandbox(request)
    try:
        action(sandbox)
    except SandboxError as exc:
        messages.error(request, f"The sandbox refused: {exc}", fail_silently=True)
    else:
        _deliver(request, sandbox)
    return see_other("portal_access:sandbox_console", contact_id)


@page
@require_POST
def sandbox_settle(request: HttpRequest, contact_id: str, payment_id: str) -> HttpResponse:
    """The bank clears (``outcome=clear``) or returns (``outcome=fail``) an ACH payment."""
    cleared = request.POST.get("outcome") == "clear"
    return _act(request, contact_id, lambda desk: desk.settle_ach(payment_id, cleared=cleared))


@page
@require_POST
def sandbox_renew(request: HttpRequest, contact_id: str, subscription_id: str) -> HttpResponse:
    """The vendor renews a subscription (``outcome=pay``) or the renewal fails."""
    succeed = request.POST.get("outcome") == "pay"
    return _act(request, contact_id, lambda desk: desk.renew(subscription_id, succeed=succeed))
