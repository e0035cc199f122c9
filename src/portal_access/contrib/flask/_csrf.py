"""CSRF protection for every form the portal's pages post, without Flask-WTF.

A random token per session (the synchronizer-token pattern), put in each form by
``{{ portal_access_csrf_field() }}`` and compared in constant time on every unsafe
request to the portal's blueprints. Webhook endpoints are not checked (the vendor's
signature is their proof), and are exempted from Flask-WTF's ``CSRFProtect`` too.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session
from markupsafe import Markup

__all__ = ["FIELD", "SESSION_KEY", "check", "field", "token"]

SESSION_KEY = "portal_access.csrf"
FIELD = "csrf_token"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def token() -> str:
    """This session's token, made on first use."""
    value = session.get(SESSION_KEY)
    if not isinstance(value, str):
        value = secrets.token_urlsafe(32)
        session[SESSION_KEY] = value
    return value


def field() -> Markup:
    """The hidden input carrying the token, for a form."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, token())


def check() -> None:
    """Refuse (400) an unsafe request whose form or ``X-CSRF-Token`` header lacks this
    session's token."""
    if request.method not in _UNSAFE:
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="This form has expired. Go back, reload the page and try again.")
