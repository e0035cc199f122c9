"""One webhook view for every gateway: verify the vendor's signature, record the
delivery once and apply it (``csrf_exempt``: the signature is the proof)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal_access import ConflictError, StorageError, WebhookVerificationError
from portal_access.contrib.django._settings import current_settings, portal

__all__ = ["webhook"]

logger = logging.getLogger("portal_access.contrib.django.views")
_RETRY_AFTER = "30"


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, gateway: str) -> HttpResponse:
    """``POST .../webhooks/<gateway>``: verify, record once and apply one delivery.

    The raw body and the headers go to :meth:`~portal_access.PortalAccess.handle_webhook`
    untouched (the signature is over the exact bytes). Answers: ``200`` processed,
    duplicate or ignored; ``400`` failed verification (logged with why); ``503`` with
    ``Retry-After`` when the event must wait for another (``retry_later``) or the store
    failed for now; ``404`` for a gateway that is not configured. No CSRF token: the
    signature is the proof.
    """
    if gateway not in {configured.name for configured in current_settings().gateways}:
        return JsonResponse({"error": "no such gateway"}, status=404)
    headers = {str(name): str(value) for name, value in request.headers.items()}
    try:
        result = portal().handle_webhook(gateway, headers, request.body)
    except WebhookVerificationError as exc:
        logger.warning("webhook for %s refused: %s", gateway, exc.reason)
        return JsonResponse({"error": "verification failed", "reason": exc.reason}, status=400)
    except (StorageError, ConflictError):  # a lost race past its retries, or the store
        response = JsonResponse({"error": "try again later"}, status=503)
        response["Retry-After"] = _RETRY_AFTER
        return response
    if result.retry_later:
        response = JsonResponse({"outcome": result.outcome}, status=503)
        response["Retry-After"] = _RETRY_AFTER
        return response
    return JsonResponse({"outcome": result.outcome}, status=200)
