"""The gateway kit: what every gateway adapter shares, written once.

Private to :mod:`portal_access.gateways`: each gateway package (``sandbox``, ``stripe``,
``square``, ``paypal``) builds on it, and nothing outside ``gateways`` imports it.

- :mod:`.settings`: :class:`WebhookSettings` (name, secrets, tolerance, clock) validated
  with one set of messages, :func:`positive_seconds` for timeouts and
  :func:`retry_count` for an SDK's retries;
- :mod:`.signatures`: header lookup in any case, HMAC digests, the ``t=...,v1=...``
  header form, constant-time comparison against several secrets, and the tolerance
  check against the injected clock, both ways; :func:`check_timestamped_signature`
  puts them together for the ``t=...,v1=...`` scheme;
- :mod:`.documents`: a verified body decoded as JSON, :class:`Fields`, typed readers
  of its fields (required, optional, money, moments, status tables) whose every failure
  is a :class:`~portal_access.WebhookVerificationError` with reason ``"body"`` naming
  the field's path, and :func:`gateway_event`, an event as ours;
- :mod:`.unbooked`: :class:`Unbooked`, the warning (once per key) about a part of a
  verified event the books cannot hold, which the gateway leaves out instead of refusing
  the event; :class:`ForeignMoney`, money a vendor reports in another currency than its
  payment's, not booked and logged once per payment; :func:`could_be_id` and
  :func:`shown` (an amount for such a warning).
"""

from portal_access.gateways._kit.documents import Fields, decode_json, gateway_event, lookup_id
from portal_access.gateways._kit.settings import (
    DEFAULT_TOLERANCE,
    WebhookSettings,
    positive_seconds,
    retry_count,
)
from portal_access.gateways._kit.signatures import (
    TimestampedSignature,
    any_signature_matches,
    check_timestamped_signature,
    check_tolerance,
    find_header,
    hmac_sha256,
    parse_timestamped_header,
    timestamped_header,
)
from portal_access.gateways._kit.unbooked import ForeignMoney, Unbooked, could_be_id, shown

__all__ = [
    "DEFAULT_TOLERANCE",
    "Fields",
    "ForeignMoney",
    "TimestampedSignature",
    "Unbooked",
    "WebhookSettings",
    "any_signature_matches",
    "check_timestamped_signature",
    "check_tolerance",
    "could_be_id",
    "decode_json",
    "gateway_event",
    "find_header",
    "hmac_sha256",
    "lookup_id",
    "parse_timestamped_header",
    "positive_seconds",
    "retry_count",
    "shown",
    "timestamped_header",
]
