"""Helpers for the host's own tests of a Django project with the portal.

::

    from portal_access.contrib.django.testing import log_in

    def test_reports_need_a_paid_portal(client, contact_id):
        log_in(client, contact_id)          # as the login page would, then the guard decides
        assert client.get("/reports/").status_code == 200
"""

from __future__ import annotations

from django.test import Client

from portal_access.contrib.django._auth import CONTACT_KEY, session_backend, user_for_contact

__all__ = ["log_in", "log_out"]


def log_in(client: Client, contact_id: str) -> None:
    """Log ``client`` in as the contact, as the login page would: ``force_login`` as the
    contact's user (made on first login), and the contact id in the session.

    The guard then checks the contact's access decision on every guarded request, as for
    a real login.

    Raises:
        NotFoundError: no such contact, or it has no email.
        PermissionDenied: the contact's email is a staff account's.
    """
    client.force_login(user_for_contact(contact_id), backend=session_backend())
    session = client.session
    session[CONTACT_KEY] = contact_id
    session.save()


def log_out(client: Client) -> None:
    """End ``client``'s session."""
    client.logout()
