"""portal-access in Flask: ``pip install "portal-access[flask]"``.

::

    from portal_access.contrib.flask import PortalAccessExtension

    app.config.update(SECRET_KEY=..., PORTAL_ACCESS_URL="https://portal.example.com")
    extension = PortalAccessExtension(app, store=SqlStore("portal.db", create=True),
                                      mailer=SmtpMailer(...), gateways=[StripeGateway(...)])

The extension mounts:

- the portal's pages under ``PORTAL_ACCESS_URL_PREFIX`` (``/portal``): kickoff form
  (``/join/<offer>``), invitation and password links, log in and out, first-login
  password change, "Having trouble?", invoice-verified registration, quick pay, the
  pay-invoice view and its checkout, the re-subscribe path, the account summary, and
  with ``PORTAL_ACCESS_DOCUMENT_LINK_KEY`` each document's page (preview, PDF, print,
  comments, pay: seed 004);
  every form CSRF-protected, every template overridable (``portal_access/*.html``);
- a guard on those pages (and on the host's, with :func:`guard` and
  :func:`portal_required`) that enforces the contact's access decision;
- one webhook endpoint per gateway, ``POST <PORTAL_ACCESS_WEBHOOK_PREFIX>/<gateway>``;
- ``flask portal-access`` commands; blinker signals (:mod:`.signals`); with
  ``PORTAL_ACCESS_SANDBOX``, the sandbox gateway and its development checkout page.

The settings are listed in :mod:`portal_access.contrib.flask._settings` and
``docs/flask.md``; :mod:`portal_access.contrib.flask.testing` logs a contact in from a
test client.
"""

try:
    import flask as _flask  # noqa: F401 - fail here, with the fix, when it is missing
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'portal_access.contrib.flask needs Flask: pip install "portal-access[flask]"',
        name=exc.name,
    ) from exc

from portal_access.contrib.flask import signals
from portal_access.contrib.flask._extension import PortalAccessExtension, PortalParts
from portal_access.contrib.flask._guard import guard, portal_required
from portal_access.contrib.flask._settings import DEFAULTS as SETTINGS
from portal_access.contrib.flask._state import current_portal

__all__ = [
    "SETTINGS",
    "PortalAccessExtension",
    "PortalParts",
    "current_portal",
    "guard",
    "portal_required",
    "signals",
]
