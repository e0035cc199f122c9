"""``PortalAccessMiddleware``: the guard (:mod:`.decorators`) for the whole site.

Add it after ``SessionMiddleware``, ``AuthenticationMiddleware`` and
``MessageMiddleware``::

    MIDDLEWARE = [..., "portal_access.contrib.django.middleware.PortalAccessMiddleware"]

On every request it puts the logged-in contact on ``request.portal_contact_id`` and the
contact's decision on ``request.portal_access_decision`` (read on first use, ``None``
without a contact), so any view or template can look. Before a view marked by
:func:`~.decorators.serves` or :func:`~.decorators.portal_required` (every portal page
is), and before every view of the URL namespaces in :attr:`guarded_namespaces`, it
enforces the decision with the guard's outcomes: a contact who owes the required
invoice is sent to the pay-invoice view, one whose renewal failed to the re-subscribe
path, anyone else without access is logged out and sent to the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from portal_access import AccessDecision, AccessLevel, NotFoundError
from portal_access.contrib.django import _auth
from portal_access.contrib.django._settings import portal
from portal_access.contrib.django.decorators import CHECKED, enforce

__all__ = ["PortalAccessMiddleware"]


def _decision(contact: str | None) -> AccessDecision | None:
    if contact is None:
        return None
    try:
        return portal().check_access(contact)
    except NotFoundError:
        return None


class PortalAccessMiddleware:
    """Enforce the access decision before guarded views; the decision on every request.

    Subclass it to guard whole URL namespaces of your own (each view there needs full
    access)::

        class SiteGuard(PortalAccessMiddleware):
            guarded_namespaces = frozenset({"reports"})
    """

    #: The URL namespaces (``app_name`` or ``namespace``) whose every view needs full access.
    guarded_namespaces: frozenset[str] = frozenset()

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Put the contact and (lazily) the decision on the request, then answer."""
        contact = _auth.contact_id(request)
        request.portal_contact_id = contact  # type: ignore[attr-defined]
        request.portal_access_decision = (  # type: ignore[attr-defined]
            None if contact is None else SimpleLazyObject(lambda: _decision(contact))
        )
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., HttpResponse],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        """Enforce the level the view serves, if it is guarded; ``None`` lets it run."""
        level: AccessLevel | None = getattr(view, "portal_access_level", None)
        match = getattr(request, "resolver_match", None)
        if level is None and match is not None and set(match.namespaces) & self.guarded_namespaces:
            level = AccessLevel.FULL
        if level is None or getattr(request, CHECKED, False):
            return None
        return enforce(request, level)
