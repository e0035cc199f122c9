"""Webhook endpoints: ``POST <PORTAL_ACCESS_WEBHOOK_PREFIX>/<gateway>``, one per gateway.

The raw body and the headers go to :meth:`~portal_access.PortalAccess.handle_webhook`
untouched (the signature is over the exact bytes). The answer is what vendors retry on:

- ``200`` processed, a duplicate, or verified and ignored: the vendor stops sending;
- ``400`` the signature, timestamp or body failed verification (logged with why);
- ``503`` (``Retry-After``) the event must wait for another (``retry_later``) or the
  store failed for now: the vendor sends it again later;
- ``404`` no such gateway is configured.

The endpoints take no CSRF token (the signature is their proof) and are exempted from
Flask-WTF's ``CSRFProtect`` when it is installed.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, Flask, abort, request
from flask.typing import ResponseReturnValue

from portal_access import ConflictError, StorageError, WebhookVerificationError
from portal_access.contrib.flask._state import app_state

__all__ = ["BLUEPRINT", "exempt_from_flask_wtf", "plain_headers", "webhook_blueprint"]

BLUEPRINT = "portal_access_webhooks"
_RETRY_AFTER = {"Retry-After": "30"}


def plain_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Werkzeug's headers as the ``Mapping[str, str]`` the portal takes; a header sent
    several times keeps every value, comma-joined (RFC 9110 5.3).

    >>> plain_headers([("Stripe-Signature", "t=1,v1=a"), ("X-A", "1"), ("X-A", "2")])
    {'Stripe-Signature': 't=1,v1=a', 'X-A': '1, 2'}
    """
    joined: dict[str, str] = {}
    for name, value in headers:
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return joined


def receive(gateway: str) -> ResponseReturnValue:
    """Verify, record once and apply one delivery; answer as the vendor expects."""
    state = app_state()
    if gateway not in state.gateway_names:
        abort(404)
    headers = plain_headers(request.headers.items())
    try:
        result = state.portal.handle_webhook(gateway, headers, request.get_data(cache=False))
    except WebhookVerificationError as exc:
        return {"error": "verification failed", "reason": exc.reason}, 400
    except (StorageError, ConflictError):  # a lost race past its retries, or the store
        return {"error": "try again later"}, 503, _RETRY_AFTER
    if result.retry_later:
        return {"outcome": result.outcome}, 503, _RETRY_AFTER
    return {"outcome": result.outcome}, 200


def webhook_blueprint() -> Blueprint:
    """The endpoints' blueprint (mounted by the extension)."""
    blueprint = Blueprint(BLUEPRINT, __name__)
    blueprint.add_url_rule("/<gateway>", view_func=receive, methods=["POST"])
    return blueprint


def exempt_from_flask_wtf(app: Flask) -> None:
    """Exempt the endpoints' blueprint (registered on ``app``) from Flask-WTF's
    ``CSRFProtect``, whichever of the two is set up first.

    Set up before us, it is in ``app.extensions`` now. Set up after us, its check runs
    after the app-level hook added here, which exempts the blueprint on the first
    request, before that check looks.
    """

    def exempt() -> bool:
        protect = app.extensions.get("csrf")
        exempt_view = getattr(protect, "exempt", None)
        if callable(exempt_view):
            exempt_view(app.blueprints[BLUEPRINT])
            return True
        return False

    if exempt():
        return
    done = False

    def exempt_once() -> None:
        nonlocal done
        if not done:
            done = exempt() or done

    app.before_request(exempt_once)
