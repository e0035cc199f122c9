"""The portal's views: every flow of the Flask blueprint, the Django way.

Getting in (seeds 000, 001, 003): the offer's kickoff form, the invitation and password
links, log in and out, the first-login password change, "Having trouble?" and
invoice-verified self-registration. Paying and being inside: the account summary, the
pay-invoice view and its checkout, re-subscribing after a failed renewal, quick pay for
guests. Then one webhook view for every gateway, and the sandbox's development pages.

Every form is checked by Django's CSRF protection (``csrf_protect``, so even a project
without ``CsrfViewMiddleware`` is protected); the webhook view is ``csrf_exempt`` (the
vendor's signature is its proof). Anonymous forms answer the same way whether or not
anything matched; single-use links are consumed on POST only (GET shows a confirm form,
because mail scanners open links). Pages are sent ``Cache-Control: no-store`` and
``Referrer-Policy: no-referrer`` (tokens live in URLs).

Templates are ``portal_access/<page>.html``; every form page falls back to
``portal_access/form.html``. A template of the same name earlier in ``TEMPLATES``
(the project's ``DIRS``, or an app listed before this one) replaces ours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import wraps
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal_access import (
    AccessLevel,
    AccessReason,
    AuthenticationError,
    CheckoutSession,
    ConflictError,
    InvalidTokenError,
    InvitationView,
    KickoffForm,
    NotFoundError,
    PasswordChangeRequiredError,
    PaymentMethodKind,
    PortalAccess,
    PortalAccessError,
    StorageError,
    TokenAlreadyUsedError,
    ValidationError,
    WebhookVerificationError,
)
from portal_access.contrib.django import _auth
from portal_access.contrib.django._settings import current_settings, portal
from portal_access.contrib.django.decorators import serves
from portal_access.contrib.django.sandbox import SandboxCheckoutGateway
from portal_access.contrib.form_errors import form_error
from portal_access.repositories import unit_of_work
from portal_access.testing.sandbox import SandboxError

__all__ = [
    "change_password",
    "checkout",
    "dashboard",
    "having_trouble",
    "invitation",
    "join",
    "login",
    "logout",
    "pay_invoice",
    "quick_pay",
    "quick_pay_done",
    "register",
    "renew",
    "reset_password",
    "resubscribe",
    "sandbox_checkout",
    "sandbox_console",
    "sandbox_renew",
    "sandbox_settle",
    "set_password",
    "stylesheet",
    "webhook",
]

logger = logging.getLogger(__name__)
View = Callable[..., HttpResponse]

# -- what every page shares ------------------------------------------------------------------


def _protected(view: View) -> View:
    """Headers for pages that carry personal data and single-use links."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Referrer-Policy", "no-referrer")  # tokens are in URLs
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return never_cache(wrapped)


def page(view: View) -> View:
    """A portal page: CSRF-checked on POST, never cached, framed nowhere."""
    return _protected(csrf_protect(view))


def _sandbox() -> SandboxCheckoutGateway | None:
    for gateway in current_settings().gateways:
        if isinstance(gateway, SandboxCheckoutGateway):
            return gateway
    return None


def _render(
    request: HttpRequest, template: str, context: Mapping[str, Any], status: int = 200
) -> HttpResponse:
    """``portal_access/<template>`` (falling back to ``form.html`` for forms) with what
    every page shows."""
    settings = current_settings()
    contact = _auth.contact_id(request)
    console = None
    if contact is not None and _sandbox() is not None:
        console = reverse("portal_access:sandbox_console", args=[contact])
    shared = {
        "portal_business_name": settings.business_name,
        "portal_options": settings.policy.system,
        "portal_decision": getattr(request, "portal_access_decision", None),
        "portal_contact_id": contact,
        "portal_logged_in": contact is not None,
        "portal_sandbox_console": console,
    }
    names = [f"portal_access/{template}"]
    if "form" in context:
        names.append("portal_access/form.html")
    return render(request, names, {**shared, **context}, status=status)


def notice(request: HttpRequest, title: str, message: str, *, status: int = 200) -> HttpResponse:
    """A page that only tells the visitor something."""
    return _render(request, "notice.html", {"title": title, "message": message}, status)


def _see_other(target: str, *args: object, query: str = "") -> HttpResponse:
    url = resolve_url(target, *args) if not args else reverse(target, args=args)
    return HttpResponseRedirect(f"{url}?{query}" if query else url, status=303)


def _absolute(name: str, *args: object) -> str:
    """The absolute URL of a view under the portal's ``URL`` origin."""
    return current_settings().origin + resolve_url(name, *args)


def _go_to_checkout(
    request: HttpRequest, session: CheckoutSession, *, invoice_id: str | None, back: str
) -> HttpResponse:
    """Send the payer to the gateway's hosted page; the sandbox's is this site's own."""
    sandbox = _sandbox()
    if sandbox is not None and session.gateway == sandbox.name:
        url = reverse("portal_access:sandbox_checkout", args=[session.session_id])
        query = f"invoice={invoice_id or ''}&back={back}"
        return HttpResponseRedirect(f"{url}?{query}", status=303)
    return HttpResponseRedirect(session.url, status=303)


def _read(read: Callable[[Any], Any]) -> Any:
    """One read-only unit of work over the ORM store, for what the facade does not read."""
    with unit_of_work(_auth.portal_store()) as uow:
        return read(uow)


def _log_in(request: HttpRequest, contact: str) -> HttpResponse | None:
    """Log the contact in; ``None``, or the page saying it cannot be."""
    try:
        _auth.log_in(request, contact)
    except (PermissionDenied, PortalAccessError):
        return notice(request, "We could not log you in", "Please contact us.", status=403)
    return None


# -- forms: fields only; the library checks the values --------------------------------------


def _text(label: str, *, kind: str = "text", required: bool = True, help_text: str = "") -> Any:
    widgets = {"text": forms.TextInput, "email": forms.EmailInput, "password": forms.PasswordInput}
    return forms.CharField(
        label=label, required=required, help_text=help_text, widget=widgets[kind]()
    )


class KickoffFields(forms.Form):
    """Seed 000's kickoff form."""

    first_name = _text("First name")
    last_name = _text("Last name", required=False)
    email = _text("Email", kind="email", help_text="your portal username")
    company = _text("Company", required=False, help_text="optional")


class PasswordFields(forms.Form):
    """A new password, twice, behind a single-use link."""

    token = forms.CharField(widget=forms.HiddenInput)
    password = _text("Password", kind="password", help_text="at least 10 characters")
    confirm = _text("Repeat the password", kind="password")


class LoginFields(forms.Form):
    """Email and password (seed 003: the email is the username)."""

    next = forms.CharField(widget=forms.HiddenInput, required=False)
    email = _text("Email", kind="email")
    password = _text("Password", kind="password")


class ChangePasswordFields(forms.Form):
    """The current password and a new one."""

    email = _text("Email", kind="email")
    current_password = _text("Current password", kind="password")
    new_password = _text("New password", kind="password", help_text="at least 10 characters")
    confirm = _text("Repeat the new password", kind="password")


class EmailFields(forms.Form):
    """One email address."""

    email = _text("Email", kind="email")


class RegisterFields(forms.Form):
    """Seed 001's invoice-verified self-registration."""

    invoice_number = _text("Invoice number")
    code = _text("Quick pay code or account number")
    contact_name = _text("Contact name")
    email = _text("Email address", kind="email")


class QuickPayFields(forms.Form):
    """Seed 001's Invoice Quick Pay."""

    invoice_number = _text("Invoice number")
    code = _text("Quick pay code")


class TokenFields(forms.Form):
    """A single-use link's token, posted back to consume it."""

    token = forms.CharField(widget=forms.HiddenInput)


def _form_page(
    request: HttpRequest, template: str, form: forms.Form, **context: Any
) -> HttpResponse:
    """A form page: ``heading``, ``button``, ``lead``, ``links``, ``error`` and the HTTP
    ``status`` (default 200) come in ``context``."""
    status = int(context.pop("status", 200))
    defaults = {"action": request.get_full_path(), "links": [], "lead": ""}
    return _render(request, template, {**defaults, **context, "form": form}, status)


def _posted(request: HttpRequest, *keys: str) -> dict[str, str]:
    return {key: str(request.POST.get(key, "")).strip() for key in keys}


def _links(*pairs: tuple[str, str]) -> list[tuple[str, str]]:
    return [(reverse(name), text) for name, text in pairs]


# -- getting in ------------------------------------------------------------------------------


@page
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, offer_id: str) -> HttpResponse:
    """The offer's kickoff form (seed 000): contact, required invoice and invitation."""
    offer = _read(lambda uow: uow.offers.get(offer_id))
    if offer is None or not offer.active:
        return notice(request, "Page not found", "There is no such sign-up form.", status=404)
    login_link = _links(("portal_access:login", "Already have a login? Log in"))
    context = {"offer": offer, "links": login_link, "lead": "Sign up below."}
    if request.method == "GET":
        form = KickoffFields()
        return _form_page(
            request, "join.html", form, heading=offer.name, button="Sign up", **context
        )
    form = KickoffFields(request.POST)
    fields = _posted(request, "first_name", "last_name", "email", "company")
    try:
        kickoff = KickoffForm(
            first_name=fields["first_name"],
            last_name=fields["last_name"],
            email=fields["email"],
            account_name=fields["company"] or None,
        )
        signup = portal().submit_kickoff_form(offer.id, kickoff)
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return _form_page(
            request, "join.html", form, heading=offer.name, button="Sign up",
            error=message, status=status, **context,
        )  # fmt: skip
    if signup.invited:
        text = f"We sent a link to {fields['email']}. Open it to set your password."
    else:
        text = f"Thank you. We will email {fields['email']} when your portal is ready."
    return notice(request, "Check your email", text)


def _password_page(
    view: Callable[[PortalAccess], Callable[[str], InvitationView]],
    complete: Callable[[PortalAccess], Callable[[str, str], str]],
    heading: str,
    button: str,
    doc: str,
) -> View:
    """A page behind a set-password kind of link: GET checks the link and shows the
    form, POST consumes it, sets the password and logs the contact in."""

    def password_page(request: HttpRequest) -> HttpResponse:
        token = str(request.GET.get("token") or request.POST.get("token") or "")
        try:
            shown = view(portal())(token)
        except PortalAccessError as exc:
            message, status = form_error(exc)
            return _render(request, "link_problem.html", {"problem": message}, status)
        who = f", {shown.first_name}" if shown.first_name else ""
        lead = f"Welcome{who}. You will log in with {shown.email}."
        context = {"heading": heading, "button": button, "lead": lead, "view": shown}
        if request.method == "GET":
            form = PasswordFields(initial={"token": token})
            return _form_page(request, "password_link.html", form, **context)
        form = PasswordFields(request.POST)
        password = str(request.POST.get("password", ""))
        try:
            if password != request.POST.get("confirm", ""):
                raise ValidationError("do not match", field="passwords")
            contact = complete(portal())(token, password)
        except (InvalidTokenError, TokenAlreadyUsedError) as exc:
            message, status = form_error(exc)
            return _render(request, "link_problem.html", {"problem": message}, status)
        except PortalAccessError as exc:
            message, status = form_error(exc)
            return _form_page(
                request, "password_link.html", form, error=message, status=status, **context
            )
        refused = _log_in(request, contact)
        if refused is not None:
            return refused
        messages.success(request, "Your password is set. Welcome!", fail_silently=True)
        return _see_other(current_settings().home_url)

    password_page.__doc__ = doc
    return page(require_http_methods(["GET", "POST"])(password_page))


invitation = _password_page(
    lambda portal: portal.view_invitation,
    lambda portal: portal.accept_invitation,
    "Set up your portal login",
    "Create my login",
    "The invitation link (registration): GET shows the form, POST sets the first password.",
)
set_password = _password_page(
    lambda portal: portal.view_password_link,
    lambda portal: portal.set_password,
    "Choose your password",
    "Save password",
    'Seed 003\'s "send portal instructions" link: choose a password.',
)
reset_password = _password_page(
    lambda portal: portal.view_password_link,
    lambda portal: portal.set_password,
    "Choose a new password",
    "Save new password",
    'The "Having trouble?" link: choose a new password.',
)


def _safe_next(request: HttpRequest) -> str:
    """The ``next`` path when it stays on this site, else the home page (never an open
    redirect)."""
    target = str(request.POST.get("next") or request.GET.get("next") or "")
    local = target.startswith("/") and not urlsplit(target).netloc
    if local and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return resolve_url(current_settings().home_url)


@page
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Email and password (seed 003: the email is the username)."""
    options = current_settings().policy.system
    pairs = [("portal_access:having_trouble", "Having trouble?")]
    if options.request_login_button:
        pairs.append(("portal_access:register", "New here? Register with a recent invoice"))
    if options.pay_as_guest:
        pairs.append(("portal_access:quick_pay", "Pay an invoice without logging in"))
    context = {
        "heading": "Log in",
        "button": "Log in",
        "lead": "Manage your account, invoices and payments.",
        "links": _links(*pairs),
    }
    if request.method == "GET":
        initial = {"email": request.GET.get("email", ""), "next": request.GET.get("next", "")}
        return _form_page(request, "login.html", LoginFields(initial=initial), **context)
    form = LoginFields(request.POST)
    email = _posted(request, "email")["email"]
    try:
        result = portal().log_in(
            email, str(request.POST.get("password", "")), client_key=_auth.client_key(request)
        )
        _auth.log_in(request, result.contact_id)
    except PasswordChangeRequiredError:
        text = "Your password was set by our staff. Choose your own to continue."
        messages.info(request, text, fail_silently=True)
        return _see_other("portal_access:change_password", query=f"email={email}")
    except (PortalAccessError, PermissionDenied) as exc:
        if isinstance(exc, PortalAccessError):
            message, status = form_error(exc)
        else:  # a staff account's email: the same answer as a wrong password
            message, status = form_error(AuthenticationError("no portal login"))
        return _form_page(request, "login.html", form, error=message, status=status, **context)
    return HttpResponseRedirect(_safe_next(request), status=303)


@page
@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    """Replace a password; the first login after staff set a temporary one lands here."""
    context = {
        "heading": "Choose your own password",
        "button": "Save and continue",
        "lead": "Enter the password you were given, then a new one only you know.",
    }
    if request.method == "GET":
        form = ChangePasswordFields(initial={"email": request.GET.get("email", "")})
        return _form_page(request, "change_password.html", form, **context)
    form = ChangePasswordFields(request.POST)
    fields = _posted(request, "email")
    new = str(request.POST.get("new_password", ""))
    try:
        if new != request.POST.get("confirm", ""):
            raise ValidationError("do not match", field="new_passwords")
        result = portal().change_password(
            fields["email"],
            str(request.POST.get("current_password", "")),
            new,
            client_key=_auth.client_key(request),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return _form_page(
            request, "change_password.html", form, error=message, status=status, **context
        )
    refused = _log_in(request, result.contact_id)
    if refused is not None:
        return refused
    messages.success(request, "Your new password is saved.", fail_silently=True)
    return _see_other(current_settings().home_url)


@page
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """End the session (POST only, with the CSRF token)."""
    _auth.log_out(request)
    messages.info(request, "You are logged out.", fail_silently=True)
    return _see_other(current_settings().login_url)


def _same_answer(
    request: HttpRequest,
    template: str,
    form_class: type[forms.Form],
    submit: Callable[[dict[str, str]], None],
    answer: str,
    **context: Any,
) -> HttpResponse:
    """An anonymous form whose answer is the same whether or not anything matched (the
    real answer goes by email); only input that can never be right is refused."""
    keys = list(form_class.base_fields)
    if request.method == "GET":
        form = form_class(initial={key: request.GET.get(key, "") for key in keys})
        return _form_page(request, template, form, **context)
    form = form_class(request.POST)
    try:
        submit(_posted(request, *keys))
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return _form_page(request, template, form, error=message, status=status, **context)
    return notice(request, "Check your email", answer)


@page
@require_http_methods(["GET", "POST"])
def having_trouble(request: HttpRequest) -> HttpResponse:
    """Seed 000's "Having Trouble?": a reset link, and a re-subscribe link when due."""
    key = _auth.client_key(request)
    return _same_answer(
        request,
        "having_trouble.html",
        EmailFields,
        lambda form: portal().having_trouble(form["email"], client_key=key),
        "If that address has a portal login, we have emailed it a link to choose a new "
        "password (and to re-subscribe, if a renewal payment failed).",
        heading="Having trouble?",
        button="Email me a link",
        lead="Enter the email you log in with. We will send you a link to choose a new "
        "password, and a link to re-subscribe if your last renewal payment did not go through.",
        links=_links(("portal_access:login", "Back to log in")),
    )


@page
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Seed 001's invoice-verified self-registration (when the system option is on)."""
    if not current_settings().policy.system.request_login_button:
        return notice(request, "Page not found", "Registration is not open.", status=404)
    key = _auth.client_key(request)
    return _same_answer(
        request,
        "register.html",
        RegisterFields,
        lambda form: portal().self_register(
            form["invoice_number"],
            form["code"],
            form["contact_name"],
            form["email"],
            client_key=key,
        ),
        "If these details match a recent invoice, we have emailed a link to set up your "
        "portal login.",
        heading="Register with a recent invoice",
        button="Submit",
        lead="Enter the details from a recent invoice to verify your account.",
        links=_links(("portal_access:login", "Back to log in")),
    )


# -- paying and being inside -----------------------------------------------------------------


@_protected
@require_GET
@serves(AccessLevel.FULL)
def dashboard(request: HttpRequest) -> HttpResponse:
    """The account summary (seed 004: "a summary of all transactions made and pending")."""
    contact_id: str = request.portal_contact_id  # type: ignore[attr-defined]
    decision = request.portal_access_decision  # type: ignore[attr-defined]
    summary = portal().account_summary(contact_id)

    def read(uow: Any) -> tuple[Any, Any, list[dict[str, object]]]:
        sites = [
            {"name": site.name, "full": site.id in decision.sites.full}
            for site in uow.sites.for_account(summary.account_id)
            if decision.sites.allows(site.id)
        ]
        return uow.contacts.get(contact_id), uow.accounts.get(summary.account_id), sites

    contact, account, sites = _read(read)
    context = {"summary": summary, "contact": contact, "account": account, "sites": sites}
    return _render(request, "dashboard.html", context)


_PAY_STATUS = {
    AccessReason.INVOICE_OPEN: "open",
    AccessReason.PAYMENT_PROCESSING: "processing",
    AccessReason.PAYMENT_FAILED: "failed",
}


@_protected
@require_GET
@serves(AccessLevel.PAY_INVOICE_ONLY)
def pay_invoice(request: HttpRequest) -> HttpResponse:
    """Seed 000's Pay Invoice view: the required invoice, and how its payment stands."""
    contact_id: str = request.portal_contact_id  # type: ignore[attr-defined]
    decision = request.portal_access_decision  # type: ignore[attr-defined]
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
        "contact": _read(lambda uow: uow.contacts.get(contact_id)),
    }
    return _render(request, "pay_invoice.html", context)


@page
@require_POST
@serves(AccessLevel.PAY_INVOICE_ONLY)
def checkout(request: HttpRequest) -> HttpResponse:
    """Open the gateway's hosted page for the required invoice."""
    settings = current_settings()
    decision = request.portal_access_decision  # type: ignore[attr-defined]
    try:
        session = portal().start_checkout(
            request.portal_contact_id,  # type: ignore[attr-defined]
            success_url=_absolute(settings.home_url),
            cancel_url=_absolute("portal_access:pay_invoice"),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return notice(request, "We could not open the payment page", message, status=status)
    return _go_to_checkout(request, session, invoice_id=decision.required_invoice_id, back="portal")


@page
@require_http_methods(["GET", "POST"])
@serves(AccessLevel.RESUBSCRIBE_ONLY)
def renew(request: HttpRequest) -> HttpResponse:
    """After a failed renewal: ask for a re-subscribe link (mailed, single-use)."""
    contact_id: str = request.portal_contact_id  # type: ignore[attr-defined]
    contact = _read(lambda uow: uow.contacts.get(contact_id))
    email = str(contact.email) if contact is not None and contact.email else ""
    context = {
        "heading": "Your renewal payment did not go through",
        "button": "Email me a re-subscribe link",
        "lead": "Your portal access is paused until your subscription is active again. We "
        f"will email a secure link to {email} where you can enter new payment details.",
        "email": email,
    }
    if request.method == "GET":
        return _form_page(request, "renew.html", forms.Form(), **context)
    try:
        portal().having_trouble(email, client_key=_auth.client_key(request))
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return _form_page(
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
        return _render(request, "link_problem.html", {"problem": message}, status)
    context = {
        "heading": "Re-subscribe",
        "button": "Enter new payment details",
        "lead": f"Welcome back. Enter new payment details for {shown.email} to restore "
        "your portal access.",
        "view": shown,
    }
    form = TokenFields(initial={"token": token})
    if request.method == "GET":
        return _form_page(request, "resubscribe.html", form, **context)
    try:
        session = portal().resubscribe(
            token,
            success_url=_absolute(current_settings().home_url),
            cancel_url=_absolute("portal_access:resubscribe") + f"?token={token}",
            contact_id=_auth.contact_id(request),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return _form_page(
            request, "resubscribe.html", form, error=message, status=status, **context
        )
    return _go_to_checkout(request, session, invoice_id=None, back="portal")


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
        "links": _links(("portal_access:login", "Log in instead")),
    }
    if request.method == "GET":
        return _form_page(request, "quick_pay.html", QuickPayFields(), **context)
    form = QuickPayFields(request.POST)
    fields = _posted(request, "invoice_number", "code")
    try:
        result = portal().quick_pay(
            fields["invoice_number"],
            fields["code"],
            success_url=_absolute("portal_access:quick_pay_done"),
            cancel_url=_absolute("portal_access:quick_pay"),
            client_key=_auth.client_key(request),
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return _form_page(request, "quick_pay.html", form, error=message, status=status, **context)
    if result.checkout is None:
        error = "We could not find an open invoice with that number and code."
        return _form_page(request, "quick_pay.html", form, error=error, status=400, **context)
    return _go_to_checkout(request, result.checkout, invoice_id=None, back="guest")


@_protected
@require_GET
def quick_pay_done(request: HttpRequest) -> HttpResponse:
    """Where the gateway returns a guest after paying."""
    return notice(
        request, "Thank you", "Your payment was submitted. It appears on the invoice shortly."
    )


# -- webhooks --------------------------------------------------------------------------------

_RETRY_AFTER = "30"


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, gateway: str) -> HttpResponse:
    """``POST .../webhooks/<gateway>``: verify, record once and apply one delivery.

    The raw body and the headers go to :meth:`~portal_access.PortalAccess.handle_webhook`
    untouched (the signature is over the exact bytes). Answers: ``200`` processed,
    duplicate or ignored; ``400`` failed verification (logged with why); ``503`` with
    ``Retry-After`` when the event must wait for another (``retry_later``) or the store
    failed for now; ``404`` for a gateway that is not configured. No CSRF token: the
    signature is the proof.
    """
    if gateway not in {configured.name for configured in current_settings().gateways}:
        return JsonResponse({"error": "no such gateway"}, status=404)
    headers = {str(name): str(value) for name, value in request.headers.items()}
    try:
        result = portal().handle_webhook(gateway, headers, request.body)
    except WebhookVerificationError as exc:
        logger.warning("webhook for %s refused: %s", gateway, exc.reason)
        return JsonResponse({"error": "verification failed", "reason": exc.reason}, status=400)
    except (StorageError, ConflictError):  # a lost race past its retries, or the store
        response = JsonResponse({"error": "try again later"}, status=503)
        response["Retry-After"] = _RETRY_AFTER
        return response
    if result.retry_later:
        response = JsonResponse({"outcome": result.outcome}, status=503)
        response["Retry-After"] = _RETRY_AFTER
        return response
    return JsonResponse({"outcome": result.outcome}, status=200)


# -- the sandbox's development pages ---------------------------------------------------------

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
    sandbox = _sandbox()
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
        return _render(request, "sandbox_checkout.html", context)
    method, succeed = _PAYMENTS.get(str(request.POST.get("method", "")), (None, False))
    if method is None:
        error = "Choose a way to pay."
        return _render(request, "sandbox_checkout.html", {**context, "error": error}, 400)
    try:
        sandbox.pay(session_id, method=method, succeed=succeed)
    except SandboxError as exc:
        error = f"The sandbox refused: {exc}"
        return _render(request, "sandbox_checkout.html", {**context, "error": error}, 409)
    _deliver(request, sandbox)
    if not succeed:
        declined = "The card was declined. Try another way to pay."
        messages.error(request, declined, fail_silently=True)
        return _see_other(
            "portal_access:sandbox_checkout", session_id, query=f"invoice={invoice_id}&back={back}"
        )
    if back == "guest":
        return _see_other("portal_access:quick_pay_done")
    return _see_other(current_settings().home_url)


@_protected
@require_GET
def sandbox_console(request: HttpRequest, contact_id: str) -> HttpResponse:
    """The bank's and vendor's side for one contact: processing payments, subscriptions."""
    if _sandbox() is None:
        return _no_sandbox(request)
    contact = _read(lambda uow: uow.contacts.get(contact_id))
    if contact is None:
        return notice(request, "Page not found", "There is no such contact.", status=404)
    context = {
        "contact_id": contact_id,
        "processing": portal().contact_payments(contact_id).pending,
        "subscriptions": _read(lambda uow: tuple(uow.subscriptions.for_contact(contact_id))),
    }
    return _render(request, "sandbox_console.html", context)


def _act(
    request: HttpRequest, contact_id: str, action: Callable[[SandboxCheckoutGateway], None]
) -> HttpResponse:
    sandbox = _sandbox()
    if sandbox is None:
        return _no_sandbox(request)
    try:
        action(sandbox)
    except SandboxError as exc:
        messages.error(request, f"The sandbox refused: {exc}", fail_silently=True)
    else:
        _deliver(request, sandbox)
    return _see_other("portal_access:sandbox_console", contact_id)


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


# -- the stylesheet, shared with the Flask pages ----------------------------------------------

_CSS = files("portal_access.contrib").joinpath("flask", "static", "portal.css")


@require_GET
def stylesheet(request: HttpRequest) -> HttpResponse:
    """The portal's stylesheet (the same file the Flask pages use)."""
    response = HttpResponse(_CSS.read_bytes(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response
