"""What every portal page shares: rendering, error answers, redirects to checkout."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal_access import (
    CheckoutSession,
)
from portal_access.contrib.flask._state import app_state
from portal_access.contrib.form_errors import form_error

__all__ = [
    "client_key",
    "form_error",
    "go_to_checkout",
    "notice",
    "page",
    "safe_next",
    "see_other",
]

#: The client key of requests that carry no address (a unix socket): they share one
#: limit, never none.
NO_ADDRESS = "no-address"


def page(template: str, status: int = 200, /, **context: object) -> ResponseReturnValue:
    """Render ``portal_access/<template>`` with ``status``."""
    return render_template(f"portal_access/{template}", **context), status


def notice(
    title: str, message: str, *, status: int = 200, **context: object
) -> ResponseReturnValue:
    """A page that only tells the visitor something."""
    return page("notice.html", status, title=title, message=message, **context)


def client_key() -> str:
    """The visitor's address, the client key every anonymous flow is limited by:
    ``request.remote_addr``. Behind a proxy, wrap the app in Werkzeug's ``ProxyFix`` so
    it is the visitor's address and not the proxy's (else every visitor shares one limit).
    Requests without an address share :data:`NO_ADDRESS`."""
    return request.remote_addr or NO_ADDRESS


def see_other(endpoint: str, **values: Any) -> ResponseReturnValue:
    """Redirect with 303 (after a POST the browser GETs the target)."""
    return redirect(url_for(endpoint, **values), code=303)


def safe_next(default_endpoint: str) -> str:
    """The ``next`` path sent with the request when it stays on this site, else the
    default endpoint's URL (never an open redirect)."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    local = target.startswith("/") and not target.startswith("//") and "\\" not in target
    if local and not parts.scheme and not parts.netloc:
        return target
    return url_for(default_endpoint)


def go_to_checkout(
    session: CheckoutSession, *, invoice_id: str | None, back: str
) -> ResponseReturnValue:
    """Send the payer to the gateway's hosted page; the sandbox's is this app's own
    development page (``back`` is where it returns: ``"portal"`` or ``"guest"``)."""
    state = app_state()
    if state.sandbox is not None and session.gateway == state.sandbox.name:
        target = url_for(
            "portal_access_sandbox.checkout",
            session_id=session.session_id,
            invoice=invoice_id or "",
            back=back,
        )
        return redirect(target, code=303)
    return redirect(session.url, code=303)
