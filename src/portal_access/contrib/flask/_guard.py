"""The guard: every portal request is checked against the contact's access decision.

=====================  =====================================================
decision               what the guard does
=====================  =====================================================
``FULL``               lets full-access pages through
``PAY_INVOICE_ONLY``   only the pay-invoice view and its checkout; anything
                       else redirects there (seed 000: "unable to access any
                       part of the platform until the Invoice is paid")
``RESUBSCRIBE_ONLY``   only the re-subscribe path; anything else redirects there
``NONE`` / no login    logs out and redirects to the login page
=====================  =====================================================

The decision, its site scope and the contact id are on ``g`` for the view and its
templates: ``g.portal_decision``, ``g.portal_sites``, ``g.portal_contact_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Blueprint, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue

from portal_access import AccessLevel, AccessReason, NotFoundError
from portal_access.contrib.flask import _sessions
from portal_access.contrib.flask._state import app_state

__all__ = ["enforce", "guard", "portal_required", "serves"]

P = ParamSpec("P")
R = TypeVar("R")

#: Where a contact restricted to one page is sent.
RESTRICTED_PAGES = {
    AccessLevel.PAY_INVOICE_ONLY: "portal_access.pay_invoice",
    AccessLevel.RESUBSCRIBE_ONLY: "portal_access.renew",
}

_WHY_NO_ACCESS = {
    AccessReason.PORTAL_DISABLED: "Portal access is switched off for your account.",
    AccessReason.NOT_REGISTERED: "Finish registering from your invitation email first.",
    AccessReason.PAYMENT_REFUNDED: "Your access ended because the payment was refunded.",
    AccessReason.PAYMENT_DISPUTED: "Your access is paused while a payment is disputed.",
}


def _to_login() -> ResponseReturnValue:
    state = app_state()
    nxt = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for(state.settings.login_endpoint, next=nxt), code=303)


def enforce(level: AccessLevel) -> ResponseReturnValue | None:
    """Check the request against the contact's decision for a page serving ``level``;
    ``None`` lets it through, anything else is the redirect to answer with."""
    state = app_state()
    contact_id = state.current_contact_id()
    if contact_id is None:
        return _to_login()
    try:
        decision = state.portal.check_access(contact_id)
    except NotFoundError:  # the contact was deleted while logged in
        _sessions.log_out()
        return _to_login()
    g.portal_contact_id = contact_id
    g.portal_decision = decision
    g.portal_sites = decision.sites
    if decision.level is level:
        return None
    if decision.level is AccessLevel.NONE:
        _sessions.log_out()
        flash(_WHY_NO_ACCESS.get(decision.reason, "You cannot use the portal now."), "error")
        return redirect(url_for(state.settings.login_endpoint), code=303)
    target = RESTRICTED_PAGES.get(decision.level, state.settings.home_endpoint)
    return redirect(url_for(target), code=303)


def serves(level: AccessLevel) -> Callable[[Callable[P, R]], Callable[P, R | ResponseReturnValue]]:
    """Decorate a view that serves contacts whose decision is ``level``."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | ResponseReturnValue]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R | ResponseReturnValue:
            refused = enforce(level)
            return view(*args, **kwargs) if refused is None else refused

        return guarded

    return decorate


def portal_required(view: Callable[P, R]) -> Callable[P, R | ResponseReturnValue]:
    """Decorate a host view that needs full portal access (see the module docstring).

    >>> from flask import Flask, g
    >>> app = Flask(__name__)
    >>> @app.get("/reports")
    ... @portal_required
    ... def reports():
    ...     return f"sites: {sorted(g.portal_sites.full)}"
    """
    return serves(AccessLevel.FULL)(view)


def guard(blueprint: Blueprint) -> Blueprint:
    """Enforce full portal access on every view of the host's ``blueprint``; returns it.

    >>> from flask import Blueprint
    >>> reports = guard(Blueprint("reports", __name__))
    """

    def check() -> ResponseReturnValue | None:
        return enforce(AccessLevel.FULL)

    blueprint.before_request(check)
    return blueprint
