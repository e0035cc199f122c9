"""Every ``paypalserversdk`` error, translated to a :class:`~portal_access.GatewayError`.

The table names each SDK class (a test walks ``ApiException``'s subclasses and fails when
one is missing), so a new SDK error is a decision, never an accident. Whatever the
class, the HTTP status decides first:

=============================================  =====================================
what went wrong                                ours
=============================================  =====================================
network, timeout (``OSError``: ``requests``'s  :class:`GatewayUnavailableError`
errors are ``OSError`` s)
HTTP 408, 429, 5xx (any SDK class)             :class:`GatewayUnavailableError`
HTTP 422 with a declining issue                :class:`PaymentDeclinedError`
(``INSTRUMENT_DECLINED``, ...)
``AuthValidationException`` (no token)         :class:`GatewayRejectedError`
every other 4xx (the class's table entry)      :class:`GatewayRejectedError`
=============================================  =====================================

``GatewayUnavailableError.retry_safe`` is true: every POST we send carries a
``PayPal-Request-Id``, so the same request again cannot charge or create twice.

>>> error = translate(OSError("connection refused"), gateway="paypal")
>>> type(error).__name__, error.retry_safe
('GatewayUnavailableError', True)
"""

from __future__ import annotations

from typing import Any

from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.exceptions.default_error_exception import DefaultErrorException
from paypalserversdk.exceptions.error_exception import ErrorException
from paypalserversdk.exceptions.o_auth_provider_exception import OAuthProviderException
from paypalserversdk.exceptions.search_error_exception import SearchErrorException
from paypalserversdk.exceptions.subscription_error_exception import SubscriptionErrorException

from portal_access._domain.errors import (
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    PaymentDeclinedError,
)

__all__ = [
    "DECLINING_ISSUES",
    "ERROR_TABLE",
    "SDK_ERRORS",
    "answer_error",
    "gateway_error_class",
    "translate",
]

#: Each SDK error class -> ours for a 4xx answer (nearest entry in the MRO wins).
ERROR_TABLE: dict[type[Exception], type[GatewayError]] = {
    ApiException: GatewayRejectedError,
    ErrorException: GatewayRejectedError,
    DefaultErrorException: GatewayRejectedError,
    OAuthProviderException: GatewayRejectedError,
    SearchErrorException: GatewayRejectedError,
    SubscriptionErrorException: GatewayRejectedError,
    AuthValidationException: GatewayRejectedError,
}

#: What :func:`translate` takes: the SDK's errors, and the network's.
SDK_ERRORS = (ApiException, AuthValidationException, OSError)

#: ``details[].issue`` values meaning the payer's funding source said no.
DECLINING_ISSUES = frozenset(
    {
        "INSTRUMENT_DECLINED",
        "PAYER_CANNOT_PAY",
        "TRANSACTION_REFUSED",
        "PAYER_ACCOUNT_RESTRICTED",
        "CARD_EXPIRED",
        "COMPLIANCE_VIOLATION",
    }
)
_RETRY = frozenset({408, 429})


def gateway_error_class(error_class: type[Exception]) -> type[GatewayError]:
    """Our class for an SDK error class answering 4xx: the nearest entry along its MRO."""
    for klass in error_class.__mro__:
        if klass in ERROR_TABLE:
            return ERROR_TABLE[klass]
    return GatewayRejectedError


def _issues(exc: Any) -> list[str]:
    details = getattr(exc, "details", None) or []
    return [issue for detail in details if isinstance(issue := getattr(detail, "issue", None), str)]


def _classify(
    status: int,
    issues: list[str],
    code: str | None,
    text: str,
    base: type[GatewayError],
    *,
    gateway: str,
) -> GatewayError:
    if status in _RETRY or status >= 500:
        return GatewayUnavailableError(text, gateway=gateway, code=code)
    if status == 422 and DECLINING_ISSUES.intersection(issues):
        return PaymentDeclinedError(text, gateway=gateway, code=code)
    return base(text, gateway=gateway, code=code)


def translate(exc: Exception, *, gateway: str) -> GatewayError:
    """The :class:`GatewayError` for ``exc`` (one of :data:`SDK_ERRORS`); raise it
    ``from exc``. Its ``code`` is PayPal's first ``issue`` (or error ``name``)."""
    if isinstance(exc, OSError):
        return GatewayUnavailableError(f"PayPal unreachable: {type(exc).__name__}", gateway=gateway)
    if not isinstance(exc, ApiException):
        return gateway_error_class(type(exc))(str(exc), gateway=gateway, code="no_token")
    issues = _issues(exc)
    name = getattr(exc, "name", None) or getattr(exc, "error", None)
    code = issues[0] if issues else name if isinstance(name, str) else None
    message = getattr(exc, "message", None) or getattr(exc, "error_description", None)
    status = exc.response_code
    text = f"{message or exc.reason} (HTTP {status}{', ' + code if code else ''})"
    base = gateway_error_class(type(exc))
    return _classify(status, issues, code, text, base, gateway=gateway)


def answer_error(status: int, document: object, *, gateway: str) -> GatewayError:
    """The :class:`GatewayError` for an error answer of a REST call the SDK lacks
    (PayPal's ``{"name", "message", "details": [{"issue"}]}`` body)."""
    body = document if isinstance(document, dict) else {}
    details = body.get("details")
    listed: list[Any] = details if isinstance(details, list) else []
    issues = [d["issue"] for d in listed if isinstance(d, dict) and isinstance(d.get("issue"), str)]
    name = body.get("name")
    code = issues[0] if issues else name if isinstance(name, str) else None
    message = body.get("message") if isinstance(body.get("message"), str) else "PayPal refused"
    text = f"{message} (HTTP {status}{', ' + code if code else ''})"
    return _classify(status, issues, code, text, GatewayRejectedError, gateway=gateway)
