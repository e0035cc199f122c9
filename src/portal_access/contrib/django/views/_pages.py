"""What every portal page shares: headers, the page template with what each page shows,
notices, redirects, the form pages, the logged-in contact, and the stylesheet."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from importlib.resources import files
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET

from portal_access import (
    AccessDecision,
    CheckoutSession,
    NotFoundError,
    PortalAccessError,
    ValidationError,
)
from portal_access.contrib.django import _auth
from portal_access.contrib.django._settings import current_settings
from portal_access.contrib.django.sandbox import SandboxCheckoutGateway

__all__ = [
    "View",
    "absolute",
    "form_page",
    "found",
    "go_to_checkout",
    "inside",
    "links",
    "log_contact_in",
    "notice",
    "page",
    "posted",
    "protected",
    "render_page",
    "sandbox_gateway",
    "see_other",
    "script",
    "stylesheet",
]

View = Callable[..., HttpResponse]
Found = TypeVar("Found")


def inside(request: HttpRequest) -> tuple[str, AccessDecision]:
    """The logged-in contact and its decision, as the guard left them on the request."""
    contact_id: str = request.portal_contact_id  # type: ignore[attr-defined]
    decision: AccessDecision = request.portal_access_decision  # type: ignore[attr-defined]
    return contact_id, decision


def protected(view: View) -> View:
    """Headers for pages that carry personal data and single-use links."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Referrer-Policy", "no-referrer")  # tokens are in URLs
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return never_cache(wrapped)


def page(view: View) -> View:
    """A portal page: CSRF-checked on POST, never cached, framed nowhere."""
    return protected(csrf_protect(view))


def sandbox_gateway() -> SandboxCheckoutGateway | None:
    """The sandbox gateway, when it is configured."""
    for gateway in current_settings().gateways:
        if isinstance(gateway, SandboxCheckoutGateway):
            return gateway
    return None


def render_page(
    request: HttpRequest, template: str, context: Mapping[str, Any], status: int = 200
) -> HttpResponse:
    """``portal_access/<template>`` (falling back to ``form.html`` for forms) with what
    every page shows."""
    settings = current_settings()
    contact = _auth.contact_id(request)
    console = None
    if contact is not None and sandbox_gateway() is not None:
        console = reverse("portal_access:sandbox_console", args=[contact])
    shared = {
        "portal_business_name": settings.business_name,
        "portal_options": settings.policy.system,
        "portal_decision": getattr(request, "portal_access_decision", None),
        "portal_contact_id": contact,
        "portal_logged_in": contact is not None,
        "portal_sandbox_console": console,
    }
    names = [f"portal_access/{template}"]
    if "form" in context:
        names.append("portal_access/form.html")
    return render(request, names, {**shared, **context}, status=status)


def notice(request: HttpRequest, title: str, message: str, *, status: int = 200) -> HttpResponse:
    """A page that only tells the visitor something."""
    return render_page(request, "notice.html", {"title": title, "message": message}, status)


def see_other(target: str, *args: object, query: str = "") -> HttpResponse:
    """``303`` to a URL name (with ``args``) or path, and ``query``."""
    url = resolve_url(target, *args) if not args else reverse(target, args=args)
    return HttpResponseRedirect(f"{url}?{query}" if query else url, status=303)


def absolute(name: str, *args: object) -> str:
    """The absolute URL of a view under the portal's ``URL`` origin."""
    return current_settings().origin + resolve_url(name, *args)


def go_to_checkout(
    request: HttpRequest, session: CheckoutSession, *, invoice_id: str | None, back: str
) -> HttpResponse:
    """Send the payer to the gateway's hosted page; the sandbox's is this site's own."""
    sandbox = sandbox_gateway()
    if sandbox is not None and session.gateway == sandbox.name:
        url = reverse("portal_access:sandbox_checkout", args=[session.session_id])
        query = f"invoice={invoice_id or ''}&back={back}"
        return HttpResponseRedirect(f"{url}?{query}", status=303)
    return HttpResponseRedirect(session.url, status=303)


def log_contact_in(request: HttpRequest, contact: str) -> HttpResponse | None:
    """Log the contact in; ``None``, or the page saying it cannot be."""
    try:
        _auth.log_in(request, contact)
    except (PermissionDenied, PortalAccessError):
        return notice(request, "We could not log you in", "Please contact us.", status=403)
    return None


def form_page(
    request: HttpRequest, template: str, form: forms.Form, **context: Any
) -> HttpResponse:
    """A form page: ``heading``, ``button``, ``lead``, ``links``, ``error`` and the HTTP
    ``status`` (default 200) come in ``context``."""
    status = int(context.pop("status", 200))
    defaults = {"action": request.get_full_path(), "links": [], "lead": ""}
    return render_page(request, template, {**defaults, **context, "form": form}, status)


def posted(request: HttpRequest, *keys: str) -> dict[str, str]:
    """The posted ``keys``, trimmed (``""`` when missing)."""
    return {key: str(request.POST.get(key, "")).strip() for key in keys}


def links(*pairs: tuple[str, str]) -> list[tuple[str, str]]:
    """``(URL name, text)`` pairs as ``(path, text)``."""
    return [(reverse(name), text) for name, text in pairs]


# -- the stylesheet and the script, shared with the Flask pages -------------------------------

_CSS = files("portal_access.contrib").joinpath("flask", "static", "portal.css")
_JS = files("portal_access.contrib").joinpath("flask", "static", "portal.js")


@require_GET
def stylesheet(request: HttpRequest) -> HttpResponse:
    """The portal's stylesheet (the same file the Flask pages use)."""
    response = HttpResponse(_CSS.read_bytes(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def script(request: HttpRequest) -> HttpResponse:
    """The portal's script (the same file the Flask pages use): served from the portal's
    own origin, so a Content-Security-Policy of ``script-src 'self'`` allows it (the
    pages have no inline script or event handler)."""
    response = HttpResponse(_JS.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


def found(read: Callable[[str], Found], key: str) -> Found | None:
    """``read(key)`` through the facade, or ``None`` when there is no such row."""
    try:
        return read(key)
    except (NotFoundError, ValidationError):
        return None
