"""Signature checks every gateway needs: headers in any case, HMAC, several secrets,
constant-time comparison and the tolerance, against the injected clock.

The order is fixed and the same for every gateway: find the header (reason
``"header"``), compare the signature over the *raw* body with every secret (reason
``"signature"``), then the timestamp (reason ``"timestamp"``); nothing of the body is
parsed before the signature matched. :func:`check_timestamped_signature` is the whole
check for the ``t=<seconds>,v1=<hex>`` scheme (Stripe's, and the sandbox's).

>>> body = b'{"id": "evt_1"}'
>>> value = timestamped_header(body, secrets=["whsec_a", "whsec_b"], timestamp=1)
>>> header = parse_timestamped_header(value, header="Stripe-Signature")
>>> header.timestamp, len(header.signatures)
(1, 2)
>>> any_signature_matches([hmac_sha256("whsec_b", b"1." + body).hex()], header.signatures)
True
>>> find_header({"STRIPE-SIGNATURE": value}, "Stripe-Signature") == value
True
>>> from portal_access.adapters import ManualClock
>>> settings = WebhookSettings.build(name="stripe", webhook_secret="whsec_b",
...                                  clock=ManualClock(header.signed_at))
>>> check_timestamped_signature({"stripe-signature": value}, body,
...                             header="Stripe-Signature", settings=settings)
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from portal_access._domain.errors import WebhookVerificationError
from portal_access.gateways._kit.settings import WebhookSettings

__all__ = [
    "TimestampedSignature",
    "any_signature_matches",
    "check_timestamped_signature",
    "check_tolerance",
    "find_header",
    "hmac_sha256",
    "parse_timestamped_header",
    "timestamped_header",
]

_SECONDS = re.compile(r"[0-9]{1,15}")


def find_header(headers: Mapping[str, str], name: str) -> str:
    """The value of header ``name``, matched in any case.

    Raises:
        WebhookVerificationError: ``reason="header"``: no such header, or its value is
            not text.
    """
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            if not isinstance(value, str):  # bytes from a host that passed raw headers
                raise WebhookVerificationError(f"{name} is not text", reason="header")
            return value
    raise WebhookVerificationError(f"no {name} header", reason="header")


def hmac_sha256(secret: str | bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of ``message`` under ``secret`` (text secrets as UTF-8)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.digest(key, message, "sha256")  # OpenSSL's one-shot: no HMAC object


def any_signature_matches(expected: Iterable[str], given: Iterable[str]) -> bool:
    """Whether any given signature equals any expected one, each pair compared in
    constant time (``hmac.compare_digest``), as ASCII-safe bytes."""
    wanted = [e.encode("utf-8", "replace") for e in expected]
    offered = [g.encode("utf-8", "replace") for g in given]
    found = False
    for e in wanted:
        for g in offered:
            found |= hmac.compare_digest(e, g)
    return found


@attrs.frozen
class TimestampedSignature:
    """A ``t=<seconds>,v1=<signature>[,v1=...]`` header, read."""

    timestamp: int
    signatures: tuple[str, ...]

    @property
    def signed_at(self) -> datetime:
        """The timestamp as an instant.

        Raises:
            WebhookVerificationError: ``reason="timestamp"``: beyond the calendar.
        """
        try:
            return datetime.fromtimestamp(self.timestamp, UTC)
        except (OverflowError, OSError, ValueError):
            raise WebhookVerificationError(
                f"timestamp {self.timestamp} is out of range", reason="timestamp"
            ) from None


def parse_timestamped_header(value: str, *, header: str) -> TimestampedSignature:
    """Read a ``t=...,v1=...`` value (Stripe's form; the sandbox signs the same way).

    Raises:
        WebhookVerificationError: ``reason="header"``: not exactly one ``t`` of digits,
            or no ``v1``.
    """
    timestamps: list[int] = []
    signatures: list[str] = []
    for item in value.split(","):
        key, _, part = item.strip().partition("=")
        if key == "t" and _SECONDS.fullmatch(part):
            timestamps.append(int(part))
        elif key == "v1" and part:
            signatures.append(part)
    if len(timestamps) != 1 or not signatures:
        raise WebhookVerificationError(
            f"{header} needs one t=<seconds> and a v1=<signature>", reason="header"
        )
    return TimestampedSignature(timestamps[0], tuple(signatures))


def timestamped_header(body: bytes, *, secrets: Sequence[str], timestamp: int) -> str:
    """A ``t=...,v1=...`` value signing ``f"{timestamp}." + body`` with every secret."""
    signed = f"{timestamp}.".encode() + body
    signatures = ",".join(f"v1={hmac_sha256(s, signed).hex()}" for s in secrets)
    return f"t={timestamp},{signatures}"


def check_tolerance(signed_at: datetime, *, now: datetime, tolerance: timedelta) -> None:
    """Refuse a signature made more than ``tolerance`` before or after ``now``.

    Raises:
        WebhookVerificationError: ``reason="timestamp"``.
    """
    if abs(now - signed_at) > tolerance:
        raise WebhookVerificationError(
            f"signed at {signed_at.isoformat()}, outside the tolerance of {tolerance}",
            reason="timestamp",
        )


def check_timestamped_signature(
    headers: Mapping[str, str], body: bytes, *, header: str, settings: WebhookSettings
) -> None:
    """The whole check of a ``t=<seconds>,v1=<hex>`` header named ``header``: each
    ``v1`` is the hex HMAC-SHA256 of ``f"{t}.".encode() + body``; any of them may match
    any of ``settings.secrets``; ``t`` must be within ``settings.tolerance`` of
    ``settings.clock``'s now, either way.

    Raises:
        WebhookVerificationError: ``reason`` ``"header"``, ``"signature"`` or
            ``"timestamp"``, checked in that order.
    """
    signature = parse_timestamped_header(find_header(headers, header), header=header)
    signed = f"{signature.timestamp}.".encode() + body
    expected = [hmac_sha256(secret, signed).hex() for secret in settings.secrets]
    if not any_signature_matches(expected, signature.signatures):
        raise WebhookVerificationError("no signature matches a webhook secret", reason="signature")
    check_tolerance(signature.signed_at, now=settings.clock.now(), tolerance=settings.tolerance)
