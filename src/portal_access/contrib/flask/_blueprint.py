"""The portal's blueprints: the pages (``portal_access``) and the sandbox's development
pages (``portal_access_sandbox``), with what every one of their responses shares.

Templates are namespaced, ``portal_access/<page>.html``: a file of the same name in
the app's own ``templates/portal_access/`` replaces ours (Flask looks in the app first).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, g
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from portal_access import Money
from portal_access.contrib.flask import (
    _account_views,
    _csrf,
    _document_views,
    _payment_views,
    _sandbox_checkout,
)
from portal_access.contrib.flask._pages import notice
from portal_access.contrib.flask._state import app_state

__all__ = ["day", "money", "portal_blueprint", "sandbox_blueprint"]

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}


def money(value: Money) -> str:
    """An amount as people read it.

    >>> money(Money(123450, "USD")), money(Money(1500, "JPY")), money(Money(5, "KWD"))
    ('$1,234.50', '¥1,500', '0.005 KWD')
    """
    text = f"{value.major:,.{value.exponent}f}"
    symbol = _SYMBOLS.get(value.currency)
    return f"{symbol}{text}" if symbol else f"{text} {value.currency}"


def day(value: date) -> str:
    """A date as people read it.

    >>> day(date(2026, 3, 2))
    'Mar 2, 2026'
    """
    return f"{value:%b} {value.day}, {value.year}"


def _protect(response: Response) -> Response:
    """Headers for pages that carry personal data and single-use links."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # tokens are in URLs
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault(
        "Content-Security-Policy", "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    return response


def _template_context() -> dict[str, object]:
    state = app_state()
    return {
        "portal_business_name": state.settings.business_name,
        "portal_home_endpoint": state.settings.home_endpoint,
        "portal_options": state.portal.policy.system,
        "portal_decision": g.get("portal_decision"),
        "portal_contact_id": g.get("portal_contact_id"),
        "portal_logged_in": state.current_contact_id() is not None,
        "portal_access_csrf_field": _csrf.field,
        "portal_sandbox_console": _sandbox_checkout.console_url,
    }


_TITLES = {
    400: "We could not accept that",
    403: "That is not available",
    404: "Page not found",
    405: "That is not available",
    410: "That link has expired",
}


def _http_error(error: HTTPException) -> ResponseReturnValue:
    """An HTTP error inside the portal, as a portal page."""
    code = error.code or 500
    if code < 400:
        return error
    return notice(_TITLES.get(code, "Something went wrong"), error.description or "", status=code)


def portal_blueprint() -> Blueprint:
    """Every portal page, CSRF-checked, with the shared template helpers."""
    blueprint = Blueprint(
        "portal_access",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    blueprint.before_request(_csrf.check)
    blueprint.after_request(_protect)
    blueprint.register_error_handler(HTTPException, _http_error)
    blueprint.app_context_processor(_template_context)
    blueprint.add_app_template_filter(money, "portal_money")
    blueprint.add_app_template_filter(day, "portal_date")
    _account_views.register_routes(blueprint)
    _payment_views.register_routes(blueprint)
    _document_views.register_routes(blueprint)
    return blueprint


def sandbox_blueprint() -> Blueprint:
    """The sandbox's development checkout page and console."""
    blueprint = Blueprint("portal_access_sandbox", __name__)
    blueprint.before_request(_csrf.check)
    blueprint.after_request(_protect)
    blueprint.register_error_handler(HTTPException, _http_error)
    _sandbox_checkout.register_routes(blueprint)
    return blueprint
