"""The sandbox vendor's error replies, translated to :class:`~portal_access.GatewayError`.

The vendor's API answers a refusal as a REST API does, with an error body:
``{"error": {"type": ..., "code": ..., "message": ...}}``. Each ``type`` has its own
entry (a test checks every type the vendor answers with), so a new one is a decision:

=====================  ========================================================
vendor ``type``        ours
=====================  ========================================================
``invalid_request``    :class:`GatewayRejectedError` (fix it; do not retry)
``api_error``          :class:`GatewayUnavailableError` (retry: the same key is safe)
``rate_limited``       :class:`GatewayUnavailableError`
=====================  ========================================================

>>> answer({"error": {"type": "rate_limited", "code": "slow", "message": "later"}},
...        gateway="sandbox")
Traceback (most recent call last):
...
portal_access.GatewayUnavailableError: sandbox: later
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal_access._domain.errors import (
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
)
from portal_access.gateways._kit import Fields

__all__ = ["ERROR_TABLE", "answer"]

#: The vendor's error ``type`` -> the class of ours it becomes (unknown: rejected).
ERROR_TABLE: dict[str, type[GatewayError]] = {
    "invalid_request": GatewayRejectedError,
    "api_error": GatewayUnavailableError,
    "rate_limited": GatewayUnavailableError,
}


def answer(reply: Mapping[str, Any], *, gateway: str) -> Fields:
    """The vendor's ``reply``, ready to read, or its error raised as ours.

    Raises:
        GatewayError: the reply is an error (its ``code`` carried over).
    """
    fields = Fields(reply, gateway=gateway)
    error = fields.optional_object("error")
    if error is None:
        return fields
    klass = ERROR_TABLE.get(error.optional_text("type") or "", GatewayRejectedError)
    message = error.optional_text("message") or "the vendor refused"
    raise klass(message, gateway=gateway, code=error.optional_text("code"))
