"""Every ``stripe`` SDK error, translated to a :class:`~portal_access.GatewayError`.

The table names each SDK class (a test walks ``stripe.StripeError``'s subclasses and
fails when one is missing), so a new SDK error is a decision, never an accident:

=================================================  ===================================
``stripe`` SDK error                               ours
=================================================  ===================================
``APIConnectionError`` (network, timeout)          :class:`GatewayUnavailableError`
``RateLimitError`` (429)                           :class:`GatewayUnavailableError`
``APIError`` (5xx, 409 lock/idempotency in flight) :class:`GatewayUnavailableError`
``QuotaExceededError``                             :class:`GatewayUnavailableError`
``CardError`` (402)                                :class:`PaymentDeclinedError`
``InsufficientFundsError``                         :class:`PaymentDeclinedError`
everything else (400, 401, 403, 404, v2, OAuth)    :class:`GatewayRejectedError`
=================================================  ===================================

``GatewayUnavailableError.retry_safe`` is true: every POST we send carries an
idempotency key, so the same request again cannot charge or create twice.

>>> import stripe
>>> error = translate(stripe.RateLimitError("slow down", http_status=429), gateway="stripe")
>>> type(error).__name__, error.retry_safe
('GatewayUnavailableError', True)
"""

from __future__ import annotations

import stripe
from stripe import oauth_error

from portal_access._domain.errors import (
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    PaymentDeclinedError,
)

__all__ = ["ERROR_TABLE", "gateway_error_class", "translate"]

_UNAVAILABLE, _REJECTED, _DECLINED = (
    GatewayUnavailableError,
    GatewayRejectedError,
    PaymentDeclinedError,
)

#: Each SDK error class -> the class of ours it becomes (nearest entry in the MRO wins).
ERROR_TABLE: dict[type[stripe.StripeError], type[GatewayError]] = {
    stripe.StripeError: _REJECTED,
    stripe.APIError: _UNAVAILABLE,
    stripe.APIConnectionError: _UNAVAILABLE,
    stripe.RateLimitError: _UNAVAILABLE,
    stripe.StripeErrorWithParamCode: _REJECTED,
    stripe.CardError: _DECLINED,
    stripe.InvalidRequestError: _REJECTED,
    stripe.IdempotencyError: _REJECTED,
    stripe.AuthenticationError: _REJECTED,
    stripe.PermissionError: _REJECTED,
    stripe.SignatureVerificationError: _REJECTED,
    # v2 API errors: none of our calls reach them, but they are Stripe's errors too.
    stripe.AlreadyCanceledError: _REJECTED,
    stripe.BlockedByStripeError: _REJECTED,
    stripe.CannotProceedError: _REJECTED,
    stripe.CapabilityNotEnabledError: _REJECTED,
    stripe.ControlledByAlternateResourceError: _REJECTED,
    stripe.FeatureNotEnabledError: _REJECTED,
    stripe.FinancialAccountNotOpenError: _REJECTED,
    stripe.FxQuoteNeedsRefreshError: _REJECTED,
    stripe.InsufficientFundsError: _DECLINED,
    stripe.InvalidPaymentMethodError: _REJECTED,
    stripe.InvalidPayoutMethodError: _REJECTED,
    stripe.InvalidVaultedCredentialError: _REJECTED,
    stripe.NotCancelableError: _REJECTED,
    stripe.QuotaExceededError: _UNAVAILABLE,
    stripe.RecipientNotNotifiableError: _REJECTED,
    stripe.TemporarySessionExpiredError: _REJECTED,
    stripe.VerificationAttemptFailedError: _REJECTED,
    stripe.VerificationExpiredError: _REJECTED,
    stripe.VerificationNotInitiatedError: _REJECTED,
    oauth_error.OAuthError: _REJECTED,
}


def gateway_error_class(error_class: type[stripe.StripeError]) -> type[GatewayError]:
    """Our class for an SDK error class: the nearest table entry along its MRO."""
    for klass in error_class.__mro__:
        if klass in ERROR_TABLE:
            return ERROR_TABLE[klass]
    return _REJECTED  # pragma: no cover - every StripeError has StripeError in its MRO


def translate(exc: stripe.StripeError, *, gateway: str) -> GatewayError:
    """The :class:`GatewayError` for ``exc``; raise it ``from exc``.

    A bare ``StripeError`` (or an unknown subclass) with a 5xx or 429 status, or no
    status at all, is treated as unavailable: retrying with the same key is safe.
    """
    klass = gateway_error_class(type(exc))
    status = exc.http_status
    if type(exc) is stripe.StripeError and (status is None or status >= 500 or status == 429):
        klass = _UNAVAILABLE
    code = exc.code if isinstance(exc.code, str) else None
    message = exc.user_message if isinstance(exc.user_message, str) else type(exc).__name__
    return klass(f"{message} (HTTP {status})" if status else message, gateway=gateway, code=code)
