"""The portal's views: every flow of the Flask blueprint, the Django way, one module per
flow.

- getting in (``_getting_in``, seeds 000, 001, 003): the offer's kickoff form, the
  invitation and password links, log in and out, the first-login password change,
  "Having trouble?" and invoice-verified self-registration;
- paying and being inside (``_paying``): the account summary, the pay-invoice view and
  its checkout, re-subscribing after a failed renewal, quick pay for guests;
- documents (``_documents``, seed 004): the document view behind every document's
  signed link: preview, PDF, print, comments, "pay this document";
- one webhook view for every gateway (``_webhooks``), and the sandbox's development
  pages (``_sandbox_pages``).

Every view reads and writes through :class:`~portal_access.PortalAccess` only, never
through the store or the repositories (a test holds the boundary). Every form is
checked by Django's CSRF protection (``csrf_protect``, so even a project without
``CsrfViewMiddleware`` is protected); the webhook view is ``csrf_exempt`` (the vendor's
signature is its proof). Pages are sent ``Cache-Control: no-store`` and
``Referrer-Policy: no-referrer`` (tokens live in URLs).

Templates are ``portal_access/<page>.html``; every form page falls back to
``portal_access/form.html``. A template of the same name earlier in ``TEMPLATES``
(the project's ``DIRS``, or an app listed before this one) replaces ours.
"""

from __future__ import annotations

from portal_access.contrib.django.views._documents import document, document_pay, document_pdf
from portal_access.contrib.django.views._getting_in import (
    change_password,
    having_trouble,
    invitation,
    join,
    login,
    logout,
    register,
    reset_password,
    set_password,
)
from portal_access.contrib.django.views._pages import script, stylesheet
from portal_access.contrib.django.views._paying import (
    checkout,
    dashboard,
    pay_invoice,
    quick_pay,
    quick_pay_done,
    renew,
    resubscribe,
)
from portal_access.contrib.django.views._sandbox_pages import (
    sandbox_checkout,
    sandbox_console,
    sandbox_renew,
    sandbox_settle,
)
from portal_access.contrib.django.views._webhooks import webhook

__all__ = [
    "change_password",
    "checkout",
    "dashboard",
    "document",
    "document_pay",
    "document_pdf",
    "having_trouble",
    "invitation",
    "join",
    "login",
    "logout",
    "pay_invoice",
    "quick_pay",
    "quick_pay_done",
    "register",
    "renew",
    "reset_password",
    "resubscribe",
    "sandbox_checkout",
    "sandbox_console",
    "sandbox_renew",
    "sandbox_settle",
    "set_password",
    "script",
    "stylesheet",
    "webhook",
]
