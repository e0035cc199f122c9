"""How the outbox is delivered and kept: leases, retries, retention.

Several workers (web processes, a ``deliver-outbox`` worker) deliver one outbox. Each
*claims* the messages it sends with a lease: until the lease ends, no other worker
claims them, so each message goes out once while no worker crashes; a worker that dies
mid-send leaves a lease that ends, and another worker sends the message (at least once).
A message whose delivery failed waits before its next attempt, twice as long each time
up to a cap. Delivered messages and processed-event records can be pruned after a
retention the host sets; an undelivered message never is.

>>> settings = OutboxSettings()
>>> [str(settings.retry_delay(n)) for n in (1, 2, 3, 10, 50)]
['0:00:30', '0:01:00', '0:02:00', '1:00:00', '1:00:00']
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from portal_access._domain.errors import ValidationError
from portal_access._domain.validation import ensure_aware

__all__ = ["MIN_EVENT_RETENTION", "OutboxSettings", "Retention"]

#: The shortest retention of processed gateway events: a vendor resends an event for up
#: to three days, and ``reconcile`` replays up to 30 days of them (Stripe lists 30 days of
#: events); an event whose record was pruned would be processed again.
MIN_EVENT_RETENTION = timedelta(days=30)


def _positive(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError("must be a positive timedelta", field=attribute.name, value=value)


def _batch(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        raise ValidationError("must be an int from 1 to 10000", field=attribute.name, value=value)


@attrs.frozen
class OutboxSettings:
    """How outbox messages are claimed and retried.

    Args:
        lease: how long a claim keeps other workers off a message; a worker that dies
            mid-send holds it that long. Longer than the slowest send (the mailer's
            timeout plus the subscribers'), or a slow send may be repeated.
        first_retry: the wait after the first failed attempt; each further failure
            doubles it...
        longest_retry: ...up to this.
        batch: how many messages a worker claims at once.

    Raises:
        ValidationError: a non-positive duration, ``first_retry`` longer than
            ``longest_retry``, or a batch outside 1..10000.
    """

    lease: timedelta = attrs.field(default=timedelta(minutes=5), validator=_positive)
    first_retry: timedelta = attrs.field(default=timedelta(seconds=30), validator=_positive)
    longest_retry: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    batch: int = attrs.field(default=100, validator=_batch)

    def __attrs_post_init__(self) -> None:
        if self.first_retry > self.longest_retry:
            raise ValidationError("must not be longer than longest_retry", field="first_retry")

    def retry_delay(self, attempts: int) -> timedelta:
        """The wait before the next attempt once ``attempts`` attempts failed (1 or more):
        ``first_retry * 2 ** (attempts - 1)``, at most ``longest_retry``."""
        delay: timedelta = self.first_retry
        for _ in range(max(attempts - 1, 0)):  # doubling past the cap would overflow
            if delay >= self.longest_retry:
                break
            delay *= 2
        return min(delay, self.longest_retry)


def _retention(minimum: timedelta) -> Any:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        _positive(_instance, attribute, value)
        assert isinstance(value, timedelta)
        if value < minimum:
            raise ValidationError(f"must be at least {minimum}", field=attribute.name, value=value)

    return check


@attrs.frozen
class Retention:
    """How long delivered outbox messages and processed-event records are kept before
    ``prune`` deletes them. Undelivered messages are never pruned, however old.

    Args:
        delivered_messages: keep a delivered message this long after its delivery.
        processed_events: keep the record of a processed gateway event this long after
            it was processed; at least :data:`MIN_EVENT_RETENTION` (30 days), so neither
            a vendor's retry nor ``reconcile`` applies an event twice.

    Raises:
        ValidationError: a non-positive duration, or ``processed_events`` under 30 days.

    >>> Retention(delivered_messages=timedelta(days=7), processed_events=timedelta(days=1))
    Traceback (most recent call last):
    ...
    portal_access.ValidationError: processed_events: must be at least 30 days, 0:00:00
    """

    delivered_messages: timedelta = attrs.field(validator=_positive)
    processed_events: timedelta = attrs.field(validator=_retention(MIN_EVENT_RETENTION))

    def cutoffs(self, now: datetime) -> tuple[datetime, datetime]:
        """``(messages delivered before, events processed before)`` are pruned at ``now``.

        Raises:
            ValidationError: ``now`` is naive.
        """
        ensure_aware(now, field="now")
        return now - self.delivered_messages, now - self.processed_events
