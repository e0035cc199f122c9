"""A sliding-window rate limiter kept in memory (one process).

Several workers need a shared limiter (Redis, the database); implement the
:class:`~portal_access.ports.RateLimiter` port for it.

>>> from datetime import UTC, datetime
>>> limiter = MemoryRateLimiter(limit=2, window=timedelta(minutes=1))
>>> now = datetime(2026, 1, 1, tzinfo=UTC)
>>> limiter.hit("quick-pay:1.2.3.4", now=now); limiter.hit("quick-pay:1.2.3.4", now=now)
>>> limiter.hit("quick-pay:1.2.3.4", now=now)
Traceback (most recent call last):
...
portal_access.RateLimitedError: too many attempts; try again in 60 seconds
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from datetime import datetime, timedelta

from portal_access._domain.errors import RateLimitedError

__all__ = ["MemoryRateLimiter"]


class MemoryRateLimiter:
    """At most ``limit`` attempts per key in any ``window``.

    Args:
        limit: attempts allowed per window (default 10: the 11th is refused).
        window: the sliding window (default 15 minutes).
    """

    def __init__(self, *, limit: int = 10, window: timedelta = timedelta(minutes=15)) -> None:
        self.limit = limit
        self.window = window
        self._hits: defaultdict[str, deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, *, now: datetime) -> None:
        """Count an attempt; refuse it when the window is full.

        Raises:
            RateLimitedError: ``limit`` attempts already in the window.
        """
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                retry_after = (hits[0] + self.window - now).total_seconds()
                raise RateLimitedError(
                    f"too many attempts; try again in {retry_after:.0f} seconds",
                    retry_after=retry_after,
                )
            hits.append(now)
