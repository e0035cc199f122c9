"""The test project's URLs: the portal, the admin, and host views behind the guard."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from portal_access.contrib.django import portal
from portal_access.contrib.django.decorators import guard, portal_required
from portal_access.contrib.django.middleware import PortalAccessMiddleware
from tests.service.harness import ADMIN


class BillingGuard(PortalAccessMiddleware):
    """The middleware guarding the host's ``billing`` namespace as a whole."""

    guarded_namespaces = frozenset({"billing"})


@portal_required
def reports(request: HttpRequest) -> HttpResponse:
    """A host page that needs full portal access (the decorator)."""
    decision = request.portal_access_decision  # type: ignore[attr-defined]
    return HttpResponse(f"reports for {request.portal_contact_id}: {decision.level.value}")  # type: ignore[attr-defined]


def open_page(request: HttpRequest) -> HttpResponse:
    """A host page anyone may see; the middleware still puts the decision on it."""
    decision = getattr(request, "portal_access_decision", None)
    return HttpResponse("open: " + (decision.level.value if decision else "no contact"))


def statements(request: HttpRequest) -> HttpResponse:
    """A page of a guarded URL namespace (the middleware's ``guarded_namespaces``)."""
    return HttpResponse("statements")


def invoices(request: HttpRequest) -> HttpResponse:
    """A page of a urlconf wrapped in ``guard()``."""
    return HttpResponse("invoices")


class HostError(Exception):
    """The host's own code failing after it called the portal."""


def invite_then_fail(request: HttpRequest, contact_id: str) -> HttpResponse:
    """A host view that invites a contact, then fails: under ``ATOMIC_REQUESTS`` the
    request's transaction rolls back, the invitation with it."""
    portal().invite_contact(contact_id, staff=ADMIN)
    raise HostError(contact_id)


billing = ([path("statements/", statements, name="statements")], "billing")

urlpatterns = [
    path("portal/", include("portal_access.contrib.django.urls")),
    path("admin/", admin.site.urls),
    path("reports/", reports, name="reports"),
    path("open/", open_page, name="open"),
    path("billing/", include(billing)),
    path("guarded/", include(guard([path("invoices/", invoices, name="invoices")]))),
    path("invite-then-fail/<contact_id>/", invite_then_fail),
]
