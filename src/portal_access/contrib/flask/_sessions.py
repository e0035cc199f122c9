"""Who is logged in to the portal: the contact id in Flask's session.

Logging in clears the whole session first, so a session id (or cookie) planted before
login is worth nothing after it (session fixation); logging out clears it too.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from flask import current_app, session

__all__ = ["CONTACT_KEY", "log_in", "log_out", "logged_in_contact", "put_contact"]

CONTACT_KEY = "portal_access.contact"


def put_contact(target: MutableMapping[str, Any], contact_id: str) -> None:
    """Write a login into ``target`` (Flask's session, or a test client's)."""
    target.clear()
    target[CONTACT_KEY] = contact_id


def log_in(contact_id: str) -> None:
    """Start a fresh session for ``contact_id``."""
    put_contact(session, contact_id)
    # Server-side sessions (Flask-Session 0.7+) also get a new session id.
    regenerate = getattr(current_app.session_interface, "regenerate", None)
    if callable(regenerate):
        regenerate(session)


def log_out() -> None:
    """End the session."""
    session.clear()


def logged_in_contact() -> str | None:
    """The contact id of this session's login, or ``None``."""
    value = session.get(CONTACT_KEY)
    return value if isinstance(value, str) else None
