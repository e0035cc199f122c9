"""A sliding-window rate limiter kept in memory (one process), bounded in size.

Several workers need a shared limiter:
:class:`~portal_access.storage.rate_limits.StoreRateLimiter` counts in the store (or
implement the :class:`~portal_access.ports.RateLimiter` port over Redis).

A key is forgotten once its window has passed without an attempt, and at most
``max_keys`` keys are held: past that, the key whose last attempt is the oldest is
forgotten first. Memory is therefore bounded by ``max_keys`` whatever a client sends.

>>> from datetime import UTC, datetime
>>> limiter = MemoryRateLimiter(limit=2, window=timedelta(minutes=1))
>>> now = datetime(2026, 1, 1, tzinfo=UTC)
>>> limiter.hit("quick-pay:1.2.3.4", now=now); limiter.hit("quick-pay:1.2.3.4", now=now)
>>> limiter.hit("quick-pay:1.2.3.4", now=now)
Traceback (most recent call last):
...
portal_access.RateLimitedError: too many attempts; try again in 60 seconds
>>> limiter.hit("quick-pay:5.6.7.8", now=now + timedelta(minutes=2)); len(limiter)
1
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

from portal_access._domain.errors import ConfigurationError, RateLimitedError

__all__ = ["MemoryRateLimiter"]


class MemoryRateLimiter:
    """At most ``limit`` attempts per key in any ``window``.

    Args:
        limit: attempts allowed per window (default 10: the 11th is refused).
        window: the sliding window (default 15 minutes).
        max_keys: the most keys held at once (default 100,000, a few tens of MiB at
            most); past it the least recently tried key is forgotten.

    Raises:
        ConfigurationError: a ``limit`` or ``max_keys`` below 1, or a ``window`` that is
            not a positive ``timedelta``.
    """

    def __init__(
        self,
        *,
        limit: int = 10,
        window: timedelta = timedelta(minutes=15),
        max_keys: int = 100_000,
    ) -> None:
        if type(limit) is not int or limit < 1:
            raise ConfigurationError("must be an int of at least 1", field="limit", value=limit)
        if not isinstance(window, timedelta):
            raise ConfigurationError("must be a positive timedelta", field="window", value=window)
        if window <= timedelta(0):
            raise ConfigurationError("must be a positive timedelta", field="window", value=window)
        if type(max_keys) is not int or max_keys < 1:
            raise ConfigurationError(
                "must be an int of at least 1", field="max_keys", value=max_keys
            )
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._seconds = window.total_seconds()
        # key -> times (POSIX seconds) of its counted attempts; least recently tried first
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys are held now."""
        return len(self._hits)

    def hit(self, key: str, *, now: datetime) -> None:
        """Count an attempt; refuse it when the window is full.

        Raises:
            RateLimitedError: ``limit`` attempts already in the window.
        """
        moment = now.timestamp()
        cutoff = moment - self._seconds
        with self._lock:
            self._forget_expired(cutoff)
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            else:
                self._hits.move_to_end(key)
            while hits and hits[0] <= cutoff:
                hits.popleft()
            if len(hits) >= self.limit:
                retry_after = hits[0] + self._seconds - moment
                raise RateLimitedError(
                    f"too many attempts; try again in {retry_after:.0f} seconds",
                    retry_after=retry_after,
                )
            hits.append(moment)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)

    def _forget_expired(self, cutoff: float) -> None:
        """Drop the least recently tried keys whose every attempt is before ``cutoff``."""
        while self._hits:
            oldest = next(iter(self._hits.values()))
            if oldest and oldest[-1] > cutoff:
                return
            self._hits.popitem(last=False)
