"""What the extension keeps per app, in ``app.extensions["portal_access"]``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
from flask import Flask, current_app, request, url_for

from portal_access import PortalAccess
from portal_access.contrib.flask import _sessions
from portal_access.contrib.flask._settings import FlaskSettings
from portal_access.ports import Store

if TYPE_CHECKING:
    from portal_access.contrib.flask._sandbox_checkout import SandboxDesk

__all__ = ["EXTENSION_KEY", "ContactLoader", "PortalApp", "app_state", "current_portal"]

EXTENSION_KEY = "portal_access"
#: Returns the logged-in contact's id, or ``None``.
ContactLoader = Callable[[], str | None]


@attrs.define(eq=False)
class PortalApp:
    """One app's portal, settings and wiring."""

    app: Flask
    settings: FlaskSettings
    portal: PortalAccess
    store: Store
    gateway_names: frozenset[str]
    sandbox: SandboxDesk | None = None
    pdf: bool = False
    contact_loader: ContactLoader | None = None
    topics: set[str] = attrs.field(factory=set)

    def current_contact_id(self) -> str | None:
        """The logged-in contact: the host's loader when set, else the portal session."""
        if self.contact_loader is not None:
            return self.contact_loader()
        return _sessions.logged_in_contact()

    @property
    def documents(self) -> bool:
        """Whether the portal signs document links (``PORTAL_ACCESS_DOCUMENT_LINK_KEY``):
        the document pages and the links to them exist only then."""
        return self.settings.document_link_key is not None

    def absolute(self, endpoint: str, **values: Any) -> str:
        """The absolute URL of ``endpoint`` under ``PORTAL_ACCESS_URL`` (in a request)."""
        path = url_for(endpoint, **values)
        root = request.script_root
        if root and path.startswith(root):
            path = path[len(root) :]
        return f"{self.settings.url}{path}"


def app_state(app: Flask | None = None) -> PortalApp:
    """The extension's state for ``app`` (default: the current app).

    Raises:
        RuntimeError: the extension was not initialised on the app.
    """
    target = app if app is not None else current_app
    state = target.extensions.get(EXTENSION_KEY)
    if not isinstance(state, PortalApp):
        raise RuntimeError(
            "portal-access is not set up on this app: call PortalAccessExtension(app, ...) "
            "or extension.init_app(app, ...) first"
        )
    return state


def current_portal() -> PortalAccess:
    """The current app's :class:`~portal_access.PortalAccess` (in an app context).

    Raises:
        RuntimeError: no app context, or the extension is not set up on the app.
    """
    return app_state().portal
