"""Helpers for the host's own tests of a portal-access Flask app.

>>> from flask import Flask
>>> from portal_access.adapters import MemoryMailer
>>> from portal_access.contrib.flask import PortalAccessExtension
>>> from portal_access.storage.memory import MemoryStore
>>> app = Flask(__name__)
>>> app.config.update(SECRET_KEY="test", PORTAL_ACCESS_URL="http://localhost")
>>> _ = PortalAccessExtension(app, store=MemoryStore(), mailer=MemoryMailer())
>>> client = app.test_client()
>>> log_in(client, "c-1")
>>> with client.session_transaction() as session:
...     session["portal_access.contact"]
'c-1'
"""

from __future__ import annotations

from flask.testing import FlaskClient

from portal_access.contrib.flask._sessions import put_contact

__all__ = ["log_in", "log_out"]


def log_in(client: FlaskClient, contact_id: str) -> None:
    """Log ``client`` in as the contact, as the login page would (a fresh session).

    The guard then checks the contact's access decision on every portal request, as
    for a real login; hosts using their own login (``contact_loader``) log their user
    in instead.
    """
    with client.session_transaction() as session:
        put_contact(session, contact_id)


def log_out(client: FlaskClient) -> None:
    """End ``client``'s session."""
    with client.session_transaction() as session:
        session.clear()
