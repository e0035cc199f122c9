"""Pages for getting in: sign up, invitations and password links, log in and out,
"Having trouble?", and invoice-verified self-registration (seeds 000, 001, 003).

Anonymous forms answer the same way whether or not anything matched; single-use links
are consumed on POST only (GET shows a confirm form, because mail scanners open links).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from flask import Blueprint, abort, flash, redirect, request
from flask.typing import ResponseReturnValue

from portal_access import (
    InvalidTokenError,
    InvitationView,
    KickoffForm,
    PasswordChangeRequiredError,
    PortalAccess,
    PortalAccessError,
    TokenAlreadyUsedError,
    ValidationError,
)
from portal_access.contrib.flask import _links, _reads, _sessions
from portal_access.contrib.flask._pages import (
    client_key,
    form_error,
    notice,
    page,
    safe_next,
    see_other,
)
from portal_access.contrib.flask._state import app_state

__all__ = ["register_routes"]


def _field(name: str) -> str:
    return request.form.get(name, "").strip()


def join(offer_id: str) -> ResponseReturnValue:
    """The offer's kickoff form (seed 000): contact, required invoice and invitation."""
    state = app_state()
    offer = _reads.offer(state.portal, offer_id)
    if offer is None or not offer.active:
        abort(404)
    if request.method == "GET":
        return page("join.html", offer=offer, form={})
    form = {key: _field(key) for key in ("first_name", "last_name", "email", "company")}
    try:
        kickoff = KickoffForm(
            first_name=form["first_name"],
            last_name=form["last_name"],
            email=form["email"],
            account_name=form["company"] or None,
        )
        signup = state.portal.submit_kickoff_form(offer.id, kickoff)
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return page("join.html", status, offer=offer, form=form, error=message)
    if signup.invited:
        text = f"We sent a link to {form['email']}. Open it to set your password."
    else:
        text = f"Thank you. We will email {form['email']} when your portal is ready."
    return notice("Check your email", text)


@attrs.frozen
class PasswordPage:
    """A page behind a set-password kind of link: what checks the link (GET), what
    consumes it (POST), and what the page says."""

    view: Callable[[PortalAccess], Callable[[str], InvitationView]]
    complete: Callable[[PortalAccess], Callable[[str, str], str]]
    heading: str
    button: str

    def __call__(self) -> ResponseReturnValue:
        """GET: check the link and show the form; POST: set the password, log in."""
        portal = app_state().portal
        token = request.values.get("token", "")
        try:
            shown = self.view(portal)(token)
        except PortalAccessError as exc:
            message, status = form_error(exc)
            return page("link_problem.html", status, problem=message)
        context = {"view": shown, "token": token, "heading": self.heading, "button": self.button}
        if request.method == "GET":
            return page("password_link.html", **context)
        password = request.form.get("password", "")
        try:
            if password != request.form.get("confirm", ""):
                raise ValidationError("do not match", field="passwords")
            contact_id = self.complete(portal)(token, password)
        except (InvalidTokenError, TokenAlreadyUsedError) as exc:
            message, status = form_error(exc)
            return page("link_problem.html", status, problem=message)
        except PortalAccessError as exc:
            message, status = form_error(exc)
            return page("password_link.html", status, error=message, **context)
        _sessions.log_in(contact_id)
        flash("Your password is set. Welcome!", "success")
        return see_other(app_state().settings.home_endpoint)


#: The invitation (registration), "send portal instructions" (seed 003) and "Having
#: trouble?" reset pages, by endpoint and path.
PASSWORD_PAGES = {
    ("invitation", _links.INVITATION): PasswordPage(
        lambda portal: portal.view_invitation,
        lambda portal: portal.accept_invitation,
        "Set up your portal login",
        "Create my login",
    ),
    ("set_password", _links.SET_PASSWORD): PasswordPage(
        lambda portal: portal.view_password_link,
        lambda portal: portal.set_password,
        "Choose your password",
        "Save password",
    ),
    ("reset_password", _links.RESET_PASSWORD): PasswordPage(
        lambda portal: portal.view_password_link,
        lambda portal: portal.set_password,
        "Choose a new password",
        "Save new password",
    ),
}


def login() -> ResponseReturnValue:
    """Email and password (seed 003: the email is the username)."""
    state = app_state()
    nxt = request.values.get("next", "")
    if request.method == "GET":
        return page("login.html", email=request.args.get("email", ""), next=nxt)
    email = _field("email")
    try:
        result = state.portal.log_in(
            email, request.form.get("password", ""), client_key=client_key()
        )
    except PasswordChangeRequiredError:
        flash("Your password was set by our staff. Choose your own to continue.", "info")
        return see_other("portal_access.change_password", email=email)
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return page("login.html", status, email=email, next=nxt, error=message)
    _sessions.log_in(result.contact_id)
    return redirect(safe_next(state.settings.home_endpoint), code=303)


def change_password() -> ResponseReturnValue:
    """Replace a password; the first login after staff set a temporary one lands here."""
    state = app_state()
    email = request.values.get("email", "").strip()
    if request.method == "GET":
        return page("change_password.html", email=email)
    new = request.form.get("new_password", "")
    try:
        if new != request.form.get("confirm", ""):
            raise ValidationError("do not match", field="new_passwords")
        result = state.portal.change_password(
            email, request.form.get("current_password", ""), new, client_key=client_key()
        )
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return page("change_password.html", status, email=email, error=message)
    _sessions.log_in(result.contact_id)
    flash("Your new password is saved.", "success")
    return see_other(state.settings.home_endpoint)


def logout() -> ResponseReturnValue:
    """End the session (POST only, with the CSRF token)."""
    _sessions.log_out()
    flash("You are logged out.", "info")
    return see_other(app_state().settings.login_endpoint)


def _same_answer_form(
    template: str,
    keys: tuple[str, ...],
    submit: Callable[[dict[str, str]], None],
    answer: str,
) -> ResponseReturnValue:
    """An anonymous form whose answer is the same whether or not anything matched (the
    real answer goes by email); only input that can never be right is refused."""
    if request.method == "GET":
        return page(template, form={key: request.args.get(key, "") for key in keys})
    form = {key: _field(key) for key in keys}
    try:
        submit(form)
    except PortalAccessError as exc:
        message, status = form_error(exc)
        return page(template, status, form=form, error=message)
    return notice("Check your email", answer)


def having_trouble() -> ResponseReturnValue:
    """Seed 000's "Having Trouble?": a reset link, and a re-subscribe link when due."""
    portal = app_state().portal
    return _same_answer_form(
        "having_trouble.html",
        ("email",),
        lambda form: portal.having_trouble(form["email"], client_key=client_key()),
        "If that address has a portal login, we have emailed it a link to choose a new "
        "password (and to re-subscribe, if a renewal payment failed).",
    )


def self_registration() -> ResponseReturnValue:
    """Seed 001's invoice-verified self-registration (when the system option is on)."""
    portal = app_state().portal
    if not portal.policy.system.request_login_button:
        abort(404)
    keys = ("invoice_number", "code", "contact_name", "email")
    return _same_answer_form(
        "register.html",
        keys,
        lambda form: portal.self_register(*(form[key] for key in keys), client_key=client_key()),
        "If these details match a recent invoice, we have emailed a link to set up your "
        "portal login.",
    )


def register_routes(blueprint: Blueprint) -> None:
    """Add these pages to the portal's blueprint."""
    both = ["GET", "POST"]
    blueprint.add_url_rule("/join/<offer_id>", view_func=join, methods=both)
    for (endpoint, path), password_page in PASSWORD_PAGES.items():
        blueprint.add_url_rule(path, endpoint=endpoint, view_func=password_page, methods=both)
    blueprint.add_url_rule("/login", view_func=login, methods=both)
    blueprint.add_url_rule("/change-password", view_func=change_password, methods=both)
    blueprint.add_url_rule("/logout", view_func=logout, methods=["POST"])
    blueprint.add_url_rule("/having-trouble", view_func=having_trouble, methods=both)
    blueprint.add_url_rule(
        "/register", endpoint="register", view_func=self_registration, methods=both
    )
