"""One settings value for every gateway's webhooks, validated with one set of messages.

>>> from datetime import timedelta
>>> settings = WebhookSettings.build(name="stripe", webhook_secret=["whsec_a", "whsec_b"])
>>> settings.secrets, settings.tolerance
(('whsec_a', 'whsec_b'), datetime.timedelta(seconds=300))
>>> WebhookSettings.build(name="stripe", webhook_secret=" ")
Traceback (most recent call last):
...
portal_access.ConfigurationError: webhook_secret: needs one or more non-blank secrets
>>> positive_seconds(0, field="timeout")
Traceback (most recent call last):
...
portal_access.ConfigurationError: timeout: must be a positive number of seconds
>>> retry_count(2, field="max_retries")
2
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import attrs

from portal_access._domain.errors import ConfigurationError
from portal_access.adapters import SystemClock
from portal_access.ports import Clock

__all__ = ["DEFAULT_TOLERANCE", "WebhookSettings", "positive_seconds", "retry_count"]

#: How far a signed timestamp may be from now, either way, by default (Stripe's default).
DEFAULT_TOLERANCE = timedelta(minutes=5)


@attrs.frozen
class WebhookSettings:
    """A gateway's name and what its webhook check needs.

    Build it with :meth:`build`, which validates every argument.
    """

    name: str
    secrets: tuple[str, ...] = attrs.field(repr=False)  # never in a repr or a log
    tolerance: timedelta
    clock: Clock

    @classmethod
    def build(
        cls,
        *,
        name: str,
        webhook_secret: str | Sequence[str],
        tolerance: timedelta = DEFAULT_TOLERANCE,
        clock: Clock | None = None,
        secret_field: str = "webhook_secret",  # noqa: S107 - an argument's name
    ) -> WebhookSettings:
        """Validated settings.

        Args:
            name: the gateway's name as offers and contacts use it.
            webhook_secret: the signing secret, or several while rotating (any may match).
            tolerance: how far a signature's timestamp may be from now, either way.
            clock: the time the tolerance is checked against (default: the system clock).
            secret_field: the argument's name in the gateway's own signature, for messages
                (PayPal's ``webhook_id`` plays the secret's part: it is in what PayPal signs).

        Raises:
            ConfigurationError: a blank name, no secret or a blank one, a tolerance that
                is not a non-negative ``timedelta``.
        """
        if not _text(name):
            raise ConfigurationError("must not be blank", field="name")
        given: list[object] = (
            [webhook_secret] if isinstance(webhook_secret, str) else list(webhook_secret)
        )
        secrets = tuple(s for s in given if isinstance(s, str) and s.strip())
        if not secrets or len(secrets) != len(given):
            raise ConfigurationError("needs one or more non-blank secrets", field=secret_field)
        if not _non_negative(tolerance):
            raise ConfigurationError(
                "must be a timedelta that is not negative", field="tolerance", value=tolerance
            )
        return cls(name=name, secrets=secrets, tolerance=tolerance, clock=clock or SystemClock())


def positive_seconds(value: float, *, field: str) -> float:
    """``value`` when it is a positive number of seconds (a timeout).

    Raises:
        ConfigurationError: zero, negative, or not a number.
    """
    if not _positive(value):
        raise ConfigurationError("must be a positive number of seconds", field=field, value=value)
    return float(value)


def retry_count(value: int, *, field: str) -> int:
    """``value`` when it is a whole number of retries, zero or more (an SDK's retries).

    Raises:
        ConfigurationError: negative, or not an ``int`` (``True`` is not a count).
    """
    if not _count(value):
        raise ConfigurationError("must be a whole number, zero or more", field=field, value=value)
    return value


# Arguments arrive from untyped host code too: these checks take ``object``.


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _non_negative(value: object) -> bool:
    return isinstance(value, timedelta) and value >= timedelta(0)


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
