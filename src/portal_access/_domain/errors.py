"""The one exception hierarchy of portal-access.

Every error the library raises on purpose is a :class:`PortalAccessError`. Where the
meaning fits, an error is also the matching built-in, so ``except ValueError`` and
``except LookupError`` in host code keep working::

    PortalAccessError
    ├── ValidationError (ValueError)         bad input; ``field`` names the offending field
    │   ├── InvalidEmailError                not a usable email address
    │   ├── InvalidMoneyError                negative, non-integer or float amount
    │   │   └── UnknownCurrencyError         not an ISO 4217 code we know the exponent of
    │   ├── CurrencyMismatchError            two currencies added, subtracted or compared
    │   ├── TemplateError                    malformed tag or unknown placeholder, with position
    │   ├── HeaderInjectionError             CR or LF in a header such as a subject line
    │   └── ConfigurationError               offer, plan or policy set up wrongly
    ├── NotFoundError (LookupError)          no such offer, contact...; ``kind`` and ``key``
    ├── ConflictError                        the current state does not allow the operation
    │   ├── StaleStateError                  someone else changed the row first (row version)
    │   ├── TokenAlreadyUsedError            a single-use token was redeemed before
    │   └── PaymentInProgressError           money is on its way or in: no second checkout
    ├── AccessDeniedError (PermissionError)  not allowed: permission, access level, registration
    │   ├── InvalidTokenError                unknown, expired or someone else's token
    │   │   └── TokenExpiredError
    │   ├── AuthenticationError              wrong email or password
    │   ├── PasswordChangeRequiredError      a staff-set temporary password must be changed
    │   └── GatewayNotAllowedError           the payment's gateway is not one the contact may use
    ├── RateLimitedError                     too many tries; ``retry_after`` in seconds
    ├── GatewayError                         the payment gateway failed; ``retry_safe``
    │   ├── GatewayUnavailableError          network, timeout, 5xx: retrying is safe
    │   ├── GatewayRejectedError             the vendor refused the request: fix it first
    │   └── PaymentDeclinedError             the payer's bank or card said no
    ├── WebhookVerificationError             signature, timestamp or body failed verification
    └── StorageError                         the store failed
        └── SchemaVersionError               the database schema is not the one we understand

Errors carry their context as attributes (``field``, ``kind``/``key``, ``retry_safe``,
``reason``, ``gateway``/``allowed``) so a host can act on them without parsing messages.

>>> try:
...     raise InvalidEmailError("not an email address", field="email", value="bob@")
... except ValueError as exc:
...     (exc.field, isinstance(exc, PortalAccessError))
('email', True)
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "CurrencyMismatchError",
    "GatewayError",
    "GatewayNotAllowedError",
    "GatewayRejectedError",
    "GatewayUnavailableError",
    "HeaderInjectionError",
    "InvalidEmailError",
    "InvalidMoneyError",
    "InvalidTokenError",
    "NotFoundError",
    "PasswordChangeRequiredError",
    "PaymentDeclinedError",
    "PaymentInProgressError",
    "PortalAccessError",
    "RateLimitedError",
    "SchemaVersionError",
    "StaleStateError",
    "StorageError",
    "TemplateError",
    "TokenAlreadyUsedError",
    "TokenExpiredError",
    "UnknownCurrencyError",
    "ValidationError",
    "WebhookVerificationError",
]


class PortalAccessError(Exception):
    """The root of every error portal-access raises on purpose."""


class ValidationError(PortalAccessError, ValueError):
    """Input that can never be right; ``field`` names the offending field.

    Args:
        message: what is wrong, for a person.
        field: the dotted name of the offending field (``"offer.plan.currency"``).
        value: the offending value, when it is safe to keep (never a password).
    """

    def __init__(self, message: str, *, field: str, value: object = None) -> None:
        super().__init__(f"{field}: {message}")
        self.message = message
        self.field = field
        self.value = value


class InvalidEmailError(ValidationError):
    """Not a usable email address."""


class InvalidMoneyError(ValidationError):
    """An amount that is not a non-negative integer of minor units."""


class UnknownCurrencyError(InvalidMoneyError):
    """A currency code that is not ISO 4217 (or whose exponent we do not know)."""


class CurrencyMismatchError(ValidationError):
    """Two amounts in different currencies met; we never convert silently."""


class TemplateError(ValidationError):
    """A placeholder template that cannot be compiled.

    ``position`` is the 0-based offset of the problem in the source, ``line`` and
    ``column`` its 1-based line and column.
    """

    def __init__(
        self, message: str, *, field: str = "template", source: str = "", position: int = 0
    ) -> None:
        line = source.count("\n", 0, position) + 1
        column = position - (source.rfind("\n", 0, position) + 1) + 1
        super().__init__(f"{message} (line {line}, column {column})", field=field, value=source)
        self.position = position
        self.line = line
        self.column = column


class HeaderInjectionError(ValidationError):
    """A carriage return or line feed where a single header line is required."""


class ConfigurationError(ValidationError):
    """An offer, plan, gateway or policy that is set up wrongly."""


class NotFoundError(PortalAccessError, LookupError):
    """No object of ``kind`` under ``key``."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key!r}")
        self.kind = kind
        self.key = key


class ConflictError(PortalAccessError):
    """The current state does not allow the operation (it may later)."""


class StaleStateError(ConflictError):
    """The row changed since it was read; reload and try again."""


class TokenAlreadyUsedError(ConflictError):
    """A single-use token was presented a second time."""


class PaymentInProgressError(ConflictError):
    """Money for this is on its way or already in, so no second checkout page opens.

    Show the payer what is going on instead of a payment page; ``reason`` says what:

    - ``"bank_payment_processing"``: a bank (ACH) payment is clearing ("your bank payment
      is processing");
    - ``"payment_processing"``: another payment is pending at the gateway;
    - ``"paid"``: a payment of the invoice succeeded;
    - ``"subscription_live"``: re-subscribing while a subscription is live or starting.

    ``invoice_id`` names the invoice (or ``None``), ``payment_id`` the payment and
    ``subscription_id`` the subscription, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        invoice_id: str | None = None,
        payment_id: str | None = None,
        subscription_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.invoice_id = invoice_id
        self.payment_id = payment_id
        self.subscription_id = subscription_id


class AccessDeniedError(PortalAccessError, PermissionError):
    """The caller may not do this."""


class InvalidTokenError(AccessDeniedError):
    """The token is unknown, malformed, for another purpose or for someone else."""


class TokenExpiredError(InvalidTokenError):
    """The token was right but is past its expiry."""


class AuthenticationError(AccessDeniedError):
    """Wrong email or password (deliberately not saying which)."""


class PasswordChangeRequiredError(AccessDeniedError):
    """The password is a staff-set temporary one and must be changed before use."""


class GatewayNotAllowedError(AccessDeniedError):
    """The payment would go through a gateway this contact may not use (seed 004's
    per-contact PayPal / Stripe / Square selectors).

    ``gateway`` is the gateway the payment needs (the offer's or the invoice's);
    ``allowed`` the contact's gateways as staff set them, sorted. Staff fix it on the
    contact or the offer; the payer cannot.
    """

    def __init__(self, message: str, *, gateway: str, allowed: tuple[str, ...]) -> None:
        super().__init__(message)
        self.gateway = gateway
        self.allowed = allowed


class RateLimitedError(PortalAccessError):
    """Too many attempts; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GatewayError(PortalAccessError):
    """A payment gateway call failed.

    ``retry_safe`` says whether sending the same request again (with the same idempotency
    key) is safe and may succeed. ``gateway`` names the gateway (``"stripe"``).
    """

    retry_safe: bool = False

    def __init__(self, message: str, *, gateway: str, code: str | None = None) -> None:
        super().__init__(f"{gateway}: {message}")
        self.gateway = gateway
        self.code = code


class GatewayUnavailableError(GatewayError):
    """Network failure, timeout, rate limit or a vendor 5xx: retrying is safe."""

    retry_safe = True


class GatewayRejectedError(GatewayError):
    """The vendor refused the request as invalid or unauthorised: fix it before retrying."""


class PaymentDeclinedError(GatewayError):
    """The card or bank declined the payment."""


class WebhookVerificationError(PortalAccessError):
    """A webhook failed verification; nothing of it was parsed or stored.

    ``reason`` is a short machine-readable word: ``"signature"``, ``"timestamp"``,
    ``"header"``, ``"body"``, ``"gateway"``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class StorageError(PortalAccessError):
    """The store failed to read or write."""


class SchemaVersionError(StorageError):
    """The database schema is older or newer than this version of the library understands."""


# Tracebacks and reprs name the public module the errors are imported from.
for _name in __all__:
    globals()[_name].__module__ = "portal_access"
del _name
