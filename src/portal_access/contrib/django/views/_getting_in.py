"""Getting in (seeds 000, 001, 003): the offer's kickoff form, the invitation and
password links, log in and out, the first-login password change, "Having trouble?" and
invoice-verified self-registration.

Anonymous forms answer the same way whether or not anything matched; single-use links
are consumed on POST only (GET shows a confirm form, because mail scanners open links).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from portal_access import (
    AuthenticationError,
    InvalidTokenError,
    InvitationView,
    KickoffForm,
    NotFoundError,
    PasswordChangeRequiredError,
    PortalAccess,
    PortalAccessError,
    TokenAlreadyUsedError,
    ValidationError,
)
from portal_access.contrib.django import _auth
from portal_access.contrib.django._settings import current_settings, portal
from portal_access.contrib.django.views._forms import (
    ChangePasswordFields,
    EmailFields,
    KickoffFields,
    LoginFields,
    PasswordFields,
    RegisterFields,
)
from portal_access.contrib.django.views._pages import (
    View,
    form_page,
    links,
    log_contact_in,
    notice,
    page,
    posted,
    render_page,
    see_other,
)
from portal_access.contrib.form_errors import form_error

__all__ = [
    "change_password",
    "having_trouble",
    "invitation",
    "join",
    "login",
    "logout",
    "register",
    "reset_password",
    "safe_next",
    "set_password",
]


@page
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, offer_id: str) -> HttpResponse:
    """The offer's kickoff form (seed 000): contact, required invoice and invitation."""
    try:
        offer = portal().offer(offer_id)
    except (NotFoundError, ValidationError):
        offer = None
    if offer is None or not offer.active:
        return notice(request, "Page not found", "There is no such sign-up form.", status=404)
    login_link = links(("portal_access:login", "Already have a login? Log in"))
    context = {"offer": offer, "links": login_link, "lead": "Sign up below."}
    if request.method == "GET":
        form = KickoffFields()
        return form_page(
            request, "join.html", form, heading=offer.name, button="Sign up", **context
        )
    form = KickoffFields(request.POST)
    fields = posted(request, "first_name", "last_name", "email", "company")
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
        return form_page(
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
            return render_page(request, "link_problem.html", {"problem": message}, status)
        who = f", {shown.first_name}" if shown.first_name else ""
        lead = f"Welcome{who}. You will log in with {shown.email}."
        context = {"heading": heading, "button": button, "lead": lead, "view": shown}
        if request.method == "GET":
            form = PasswordFields(initial={"token": token})
            return form_page(request, "password_link.html", form, **context)
        form = PasswordFields(request.POST)
        password = str(request.POST.get("password", ""))
        try:
            if password != request.POST.get("confirm", ""):
                raise ValidationError("do not match", field="passwords")
            contact = complete(portal())(token, password)
        except (InvalidTokenError, TokenAlreadyUsedError) as exc:
            message, status = form_error(exc)
            return render_page(request, "link_problem.html", {"problem": message}, status)
        except PortalAccessError as exc:
            message, status = form_error(exc)
            return form_page(
                request, "password_link.html", form, error=message, status=status, **context
            )
        refused = log_contact_in(request, contact)
        if refused is not None:
            return refused
        messages.success(request, "Your password is set. Welcome!", fail_silently=True)
        return see_other(current_settings().home_url)

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


def safe_next(request: HttpRequest) -> str:
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
        "links": links(*pairs),
    }
    if request.method == "GET":
        initial = {"email": request.GET.get("email", ""), "next": request.GET.get("next", "")}
        return form_page(request, "login.html", LoginFields(initial=initial), **context)
    form = LoginFields(request.POST)
    email = posted(request, "email")["email"]
    try:
        result = portal().log_in(
            email, str(request.POST.get("password", "")), client_key=_auth.client_key(request)
        )
        _auth.log_in(request, result.contact_id)
    except PasswordChangeRequiredError:
        text = "Your password was set by our staff. Choose your own to continue."
        messages.info(request, text, fail_silently=True)
        return see_other("portal_access:change_password", query=f"email={email}")
    except (PortalAccessError, PermissionDenied) as exc:
        if isinstance(exc, PortalAccessError):
            message, status = form_error(exc)
        else:  # a staff account's email: the same answer as a wrong password
            message, status = form_error(AuthenticationError("no portal login"))
        return form_page(request, "login.html", form, error=message, status=status, **context)
    return HttpResponseRedirect(safe_next(request), status=303)


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
        return form_page(request, "change_password.html", form, **context)
    form = ChangePasswordFields(request.POST)
    fields = posted(request, "email")
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
        return form_page(
            request, "change_password.html", form, error=message, status=status, **context
        )
    refused = log_contact_in(request, result.contact_id)
    if refused is not None:
        return refused
    messages.success(request, "Your new password is saved.", fail_silently=True)
    return see_other(current_settings().home_url)


@page
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """End the session (POST only, with the CSRF token)."""
    _auth.log_out(request)
    messages.info(request, "You are logged out.", fail_silently=True)
    return see_other(current_settings().login_url)


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
        return form_page(request, template, form, **context)
    form = form_class(request.POST)
    try:
        submit(posted(request, *keys))
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return form_page(request, template, form, error=message, status=status, **context)
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
        links=links(("portal_access:login", "Back to log in")),
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
        links=links(("portal_access:login", "Back to log in")),
    )
