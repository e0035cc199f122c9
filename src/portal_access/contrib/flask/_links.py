"""Where the portal's emailed links point: this app's own pages (the single-use links,
and the signed link of each document).

The paths are the blueprint's routes, so an emailed link always opens the page that
handles it (a dead link is impossible by construction).
"""

from __future__ import annotations

from portal_access import PortalLinks
from portal_access.contrib.flask._settings import FlaskSettings

__all__ = [
    "DOCUMENT",
    "INVITATION",
    "RESET_PASSWORD",
    "RESUBSCRIBE",
    "SET_PASSWORD",
    "portal_links",
]

INVITATION = "/invitation"
SET_PASSWORD = "/set-password"  # noqa: S105 - a path
RESET_PASSWORD = "/reset-password"  # noqa: S105 - a path
RESUBSCRIBE = "/resubscribe"
DOCUMENT = "/document"


def portal_links(settings: FlaskSettings) -> PortalLinks:
    """The links under ``PORTAL_ACCESS_URL`` and ``PORTAL_ACCESS_URL_PREFIX``.

    >>> from portal_access.contrib.flask._settings import FlaskSettings
    >>> settings = FlaskSettings.from_config({"SECRET_KEY": "x",
    ...     "PORTAL_ACCESS_URL": "https://portal.example.com"}, debug=False, testing=False)
    >>> portal_links(settings).link(portal_links(settings).invitation, "abc")
    'https://portal.example.com/portal/invitation?token=abc'
    """
    prefix = settings.url_prefix
    return PortalLinks(
        base_url=settings.url,
        invitation=prefix + INVITATION,
        set_password=prefix + SET_PASSWORD,
        reset_password=prefix + RESET_PASSWORD,
        resubscribe=prefix + RESUBSCRIBE,
        document=prefix + DOCUMENT,
    )
