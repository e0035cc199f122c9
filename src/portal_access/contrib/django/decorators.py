"""The guard, per view: every guarded request is checked against the contact's decision.

=====================  =====================================================
decision               what the guard does
=====================  =====================================================
``FULL``               lets full-access views through
``PAY_INVOICE_ONLY``   only the pay-invoice view and its checkout; anything
                       else redirects there (seed 000: "unable to access any
                       part of the platform until the Invoice is paid")
``RESUBSCRIBE_ONLY``   only the re-subscribe path; anything else redirects there
``NONE`` / no login    logs out and redirects to the login page
=====================  =====================================================

The redirects are ``303 See Other``. The decision is on the request for the view and its
templates: ``request.portal_access_decision`` (its site scope is
``request.portal_access_decision.sites``) and ``request.portal_contact_id``.

>>> from django.http import HttpResponse
>>> @portal_required
... def reports(request):
...     return HttpResponse(f"sites: {sorted(request.portal_access_decision.sites.full)}")
>>> reports.portal_access_level
<AccessLevel.FULL: 'full'>
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import URLPattern, URLResolver

from portal_access import AccessLevel, AccessReason, NotFoundError
from portal_access.contrib.django import _auth
from portal_access.contrib.django._settings import current_settings, portal

__all__ = ["RESTRICTED_VIEWS", "enforce", "guard", "portal_required", "serves"]

View = TypeVar("View", bound=Callable[..., HttpResponse])

#: Where a contact restricted to one page is sent.
RESTRICTED_VIEWS = {
    AccessLevel.PAY_INVOICE_ONLY: "portal_access:pay_invoice",
    AccessLevel.RESUBSCRIBE_ONLY: "portal_access:renew",
}

_WHY_NO_ACCESS = {
    AccessReason.PORTAL_DISABLED: "Portal access is switched off for your account.",
    AccessReason.NOT_REGISTERED: "Finish registering from your invitation email first.",
    AccessReason.PAYMENT_REFUNDED: "Your access ended because the payment was refunded.",
    AccessReason.PAYMENT_DISPUTED: "Your access is paused while a payment is disputed.",
}

#: Set on a request once its guard ran, so middleware and decorator check only once.
CHECKED = "_portal_access_checked"


def _see_other(url: str) -> HttpResponse:
    return HttpResponseRedirect(url, status=303)


def _to_login(request: HttpRequest, *, keep_next: bool = True) -> HttpResponse:
    url = resolve_url(current_settings().login_url)
    if keep_next and request.method == "GET":
        url = f"{url}?{urlencode({'next': request.get_full_path()})}"
    return _see_other(url)


def enforce(request: HttpRequest, level: AccessLevel) -> HttpResponse | None:
    """Check ``request`` against its contact's decision for a view serving ``level``;
    ``None`` lets it through, anything else is the redirect to answer with. Puts the
    decision on the request."""
    contact = _auth.contact_id(request)
    request.portal_contact_id = contact  # type: ignore[attr-defined]
    request.portal_access_decision = None  # type: ignore[attr-defined]
    if contact is None:
        return _to_login(request)
    try:
        decision = portal().check_access(contact)
    except NotFoundError:  # the contact was deleted while logged in
        _auth.log_out(request)
        return _to_login(request)
    request.portal_access_decision = decision  # type: ignore[attr-defined]
    setattr(request, CHECKED, True)
    if decision.level is level:
        return None
    if decision.level is AccessLevel.NONE:
        _auth.log_out(request)
        why = _WHY_NO_ACCESS.get(decision.reason, "You cannot use the portal now.")
        messages.error(request, why, fail_silently=True)
        return _to_login(request, keep_next=False)
    target = RESTRICTED_VIEWS.get(decision.level, current_settings().home_url)
    return _see_other(resolve_url(target))


def serves(level: AccessLevel) -> Callable[[View], View]:
    """Decorate a view that serves contacts whose decision is ``level``.

    The view is marked (``view.portal_access_level``) so :class:`.PortalAccessMiddleware`
    enforces it before the view runs; without the middleware, the decorator does.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not getattr(request, CHECKED, False):
                refused = enforce(request, level)
                if refused is not None:
                    return refused
            return view(request, *args, **kwargs)

        guarded.portal_access_level = level  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def portal_required(view: View) -> View:
    """Decorate a host view that needs full portal access (see the module docstring)."""
    return serves(AccessLevel.FULL)(view)


def guard(patterns: Iterable[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """Every view of ``patterns`` (a urlconf's ``urlpatterns``, included ones too) needing
    full portal access: ``path("reports/", include(guard(reports.urls.urlpatterns)))``.
    The patterns are changed in place (an included module's list too); views that
    already declare a level keep it.

    >>> from django.http import HttpResponse
    >>> from django.urls import path
    >>> [pattern] = guard([path("r/", lambda request: HttpResponse("r"))])
    >>> pattern.callback.portal_access_level.value
    'full'
    """
    guarded: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            pattern.url_patterns[:] = guard(pattern.url_patterns)
        elif getattr(pattern.callback, "portal_access_level", None) is None:
            pattern.callback = portal_required(pattern.callback)
        guarded.append(pattern)
    return guarded
