"""Clocks: the system clock for production, a manual one for tests and the demo.

>>> from datetime import timedelta
>>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
>>> clock.advance(timedelta(days=1)).isoformat()
'2026-01-02T00:00:00+00:00'
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from portal_access._domain.validation import ensure_aware

__all__ = ["ManualClock", "SystemClock"]


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        return datetime.now(UTC)  # noqa: TID251 - the one place the clock is read


class ManualClock:
    """A clock that moves only when told to (tests, the demo, simulations).

    Args:
        start: the initial time; must be timezone-aware.
    """

    def __init__(self, start: datetime) -> None:
        ensure_aware(start, field="start")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The clock's current time."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (which must be timezone-aware)."""
        ensure_aware(moment, field="moment")
        with self._lock:
            self._now = moment
