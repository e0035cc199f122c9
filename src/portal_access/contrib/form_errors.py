"""What a portal page tells a visitor about a failed form: one wording and HTTP status
for the Flask and Django integrations and for a host's own pages.

>>> from portal_access import AuthenticationError
>>> form_error(AuthenticationError("no such login"))
('That email and password do not match.', 400)
"""

from __future__ import annotations

from portal_access import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    GatewayError,
    InvalidTokenError,
    NotFoundError,
    PortalAccessError,
    RateLimitedError,
    TokenAlreadyUsedError,
    TokenExpiredError,
    ValidationError,
)

__all__ = ["form_error"]

_TOKEN_MESSAGES: list[tuple[type[PortalAccessError], str]] = [
    (TokenExpiredError, "This link has expired. Ask for a new one below."),
    (TokenAlreadyUsedError, "This link was already used. Log in, or ask for a new link below."),
    (InvalidTokenError, "This link is not valid. Ask for a new one below."),
]


def form_error(exc: PortalAccessError) -> tuple[str, int]:
    """What to tell the visitor about ``exc`` from a form, and the HTTP status.

    Messages never say more than the visitor may know (a wrong login never says which
    part was wrong).
    """
    for kind, message in _TOKEN_MESSAGES:
        if isinstance(exc, kind):
            return message, 400
    if isinstance(exc, AuthenticationError):
        return "That email and password do not match.", 400
    if isinstance(exc, RateLimitedError):
        wait = max(1, round(exc.retry_after / 60)) if exc.retry_after else 15
        return f"Too many attempts. Try again in about {wait} minutes.", 429
    if isinstance(exc, ValidationError):
        label = exc.field.rsplit(".", 1)[-1].replace("_", " ").capitalize()
        return f"{label} {exc.message.rstrip('.')}.", 400
    if isinstance(exc, GatewayError):
        return "The payment provider did not answer. Please try again in a moment.", 502
    if isinstance(exc, ConflictError):
        return str(exc), 409
    if isinstance(exc, NotFoundError):
        return "We could not find that.", 404
    if isinstance(exc, AccessDeniedError):
        return "That is not available.", 403
    return "Something went wrong. Please try again.", 400
