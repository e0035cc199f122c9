"""Every error the ``squareup`` SDK lets out, translated to a :class:`~portal_access.GatewayError`.

The SDK raises :class:`square.core.api_error.ApiError` for any answer that is not 2xx
(or not JSON), and lets its transport's errors (``httpx``) through unchanged. The table
names each class (a test walks the SDK's and ``httpx``'s exception classes and fails when
one is missing), so a new one is a decision, never an accident:

====================================================  ==================================
raised                                                ours
====================================================  ==================================
``ApiError`` 5xx, 429, 408, 409, a 2xx that is not    :class:`GatewayUnavailableError`
JSON, or no status at all
``ApiError`` 402, or category ``PAYMENT_METHOD_ERROR``  :class:`PaymentDeclinedError`
``ApiError`` any other 4xx (400, 401, 403, 404)       :class:`GatewayRejectedError`
``httpx`` timeouts, network and protocol errors,      :class:`GatewayUnavailableError`
proxies, decoding, redirect loops, ``SSEError``
``httpx.UnsupportedProtocol`` (a base URL that is     :class:`GatewayRejectedError`
not http or https), ``httpx.LocalProtocolError``
``ReportingPollTimeoutError`` /                       unavailable / rejected
``ReportingPollCancelledError``
====================================================  ==================================

``GatewayUnavailableError.retry_safe`` is true: every POST that creates something
carries an idempotency key, so the same request again cannot charge or create twice.

>>> from square.core.api_error import ApiError
>>> error = translate(ApiError(status_code=429, body={"errors": [{"category":
...     "RATE_LIMIT_ERROR", "code": "RATE_LIMITED", "detail": "slow down"}]}), gateway="square")
>>> type(error).__name__, error.retry_safe, error.code
('GatewayUnavailableError', True, 'RATE_LIMITED')
"""

from __future__ import annotations

import httpx
from square.core.api_error import ApiError
from square.core.http_sse._exceptions import SSEError
from square.utils.reporting_helper import ReportingPollCancelledError, ReportingPollTimeoutError

from portal_access._domain.errors import (
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    PaymentDeclinedError,
)

__all__ = ["ERROR_TABLE", "SDK_ERRORS", "gateway_error_class", "translate"]

_UNAVAILABLE, _REJECTED, _DECLINED = (
    GatewayUnavailableError,
    GatewayRejectedError,
    PaymentDeclinedError,
)

#: What a call through the SDK can raise: catch these at the adapter's edge.
SDK_ERRORS = (ApiError, httpx.HTTPError, ReportingPollTimeoutError, ReportingPollCancelledError)

#: Each class the SDK can raise -> the class of ours it becomes (nearest entry in the MRO
#: wins; an ``ApiError`` is refined by its status, see :func:`translate`).
ERROR_TABLE: dict[type[Exception], type[GatewayError]] = {
    ApiError: _REJECTED,
    httpx.HTTPError: _UNAVAILABLE,
    httpx.HTTPStatusError: _UNAVAILABLE,
    httpx.RequestError: _UNAVAILABLE,
    httpx.TransportError: _UNAVAILABLE,
    httpx.TimeoutException: _UNAVAILABLE,
    httpx.ConnectTimeout: _UNAVAILABLE,
    httpx.ReadTimeout: _UNAVAILABLE,
    httpx.WriteTimeout: _UNAVAILABLE,
    httpx.PoolTimeout: _UNAVAILABLE,
    httpx.NetworkError: _UNAVAILABLE,
    httpx.ConnectError: _UNAVAILABLE,
    httpx.ReadError: _UNAVAILABLE,
    httpx.WriteError: _UNAVAILABLE,
    httpx.CloseError: _UNAVAILABLE,
    httpx.ProtocolError: _UNAVAILABLE,
    httpx.RemoteProtocolError: _UNAVAILABLE,
    httpx.LocalProtocolError: _REJECTED,
    httpx.ProxyError: _UNAVAILABLE,
    httpx.UnsupportedProtocol: _REJECTED,
    httpx.DecodingError: _UNAVAILABLE,
    httpx.TooManyRedirects: _UNAVAILABLE,
    SSEError: _UNAVAILABLE,
    ReportingPollTimeoutError: _UNAVAILABLE,
    ReportingPollCancelledError: _REJECTED,
}

_RETRY_STATUS = frozenset({408, 409, 429})


def gateway_error_class(error_class: type[Exception]) -> type[GatewayError]:
    """Our class for a raised class: the nearest table entry along its MRO (an unknown
    class is rejected: fix it before retrying)."""
    for klass in error_class.__mro__:
        if klass in ERROR_TABLE:
            return ERROR_TABLE[klass]
    return _REJECTED


def _api_error(exc: ApiError, gateway: str) -> GatewayError:
    status = exc.status_code
    first = exc.errors[0] if exc.errors else None
    code = str(first.code) if first is not None and first.code else None
    detail = first.detail if first is not None and first.detail else code or "no detail"
    category = str(first.category) if first is not None else ""
    if status is None or status >= 500 or status in _RETRY_STATUS or 200 <= status < 300:
        klass: type[GatewayError] = _UNAVAILABLE
    elif status == 402 or category == "PAYMENT_METHOD_ERROR":
        klass = _DECLINED
    else:
        klass = _REJECTED
    return klass(f"{detail} (HTTP {status})", gateway=gateway, code=code)


def translate(exc: Exception, *, gateway: str) -> GatewayError:
    """The :class:`GatewayError` for ``exc`` (one of :data:`SDK_ERRORS`); raise it
    ``from exc``."""
    if isinstance(exc, ApiError):
        return _api_error(exc, gateway)
    klass = gateway_error_class(type(exc))
    return klass(f"{type(exc).__name__}: {exc}", gateway=gateway, code=None)
