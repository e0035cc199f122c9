"""The rate-limit windows a shared limiter keeps in the store: one row per key and
fixed window, pruned as they expire.

A limit of ``limit`` attempts per ``window`` is checked as a *sliding window counter*:
the attempts of the current fixed window plus those of the previous one weighted by the
share of it the sliding window still covers, rounded up. That is one or two rows per
key, whatever the number of attempts. A client trying at an even pace gets ``limit``
attempts per window; one that bunches its attempts at the very end of one window and of
the next can get up to twice ``limit`` within one window's span, but never more (plain
fixed windows allow that at every boundary; an exact count needs a row per attempt).
Use :class:`~portal_access.adapters.MemoryRateLimiter` (exact) where one process serves.

A row is kept until the end of the window after its own (it is the "previous" window
until then); every count that adds a row deletes up to eight whose time has passed, so
the table holds about two rows per key seen in the last two windows.

>>> from datetime import UTC, datetime, timedelta
>>> from portal_access.repositories import unit_of_work
>>> from portal_access.storage.memory import MemoryStore
>>> store, now = MemoryStore(), datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
>>> minute = timedelta(minutes=1)
>>> with unit_of_work(store) as uow:
...     [uow.rate_limits.count("k", limit=2, window=minute, now=now) for _ in range(3)]
[None, None, 60.0]
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal_access._domain.errors import StaleStateError
from portal_access._domain.validation import ensure_aware
from portal_access.ports import Lock, Row
from portal_access.repositories._base import Repository
from portal_access.repositories._tables import RATE_LIMITS, RATE_LIMITS_BY_EXPIRY

__all__ = ["PRUNE_BATCH", "RateLimitRepository"]

#: How many expired rows one count deletes at most (more than it can add: one).
PRUNE_BATCH = 8
#: Where slots are counted from (a window of a second counts 2**31 of them by 2088).
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)


class RateLimitRepository(Repository):
    """Attempts per key and fixed window, for a limiter shared by several workers."""

    table = RATE_LIMITS

    def count(self, key: str, *, limit: int, window: timedelta, now: datetime) -> float | None:
        """Count one attempt under ``key`` at ``now`` unless ``limit`` attempts are
        already in the sliding ``window`` before it. An attempt that adds a row (a key's
        first in its window) also deletes up to :data:`PRUNE_BATCH` expired ones.

        Returns:
            ``None`` when the attempt was counted; else how many seconds to wait before
            one would be (the attempt is not counted).

        Raises:
            ValidationError: ``now`` is naive.
            StaleStateError: a concurrent unit of work created the key's row first (run
                the count again).
        """
        ensure_aware(now, field="now")
        span = window // _TICK
        slot, into = divmod((now - _EPOCH) // _TICK, span)
        tx = self.transaction
        found = tx.get(self.table, (key, slot), lock=Lock.WAIT)
        before = tx.get(self.table, (key, slot - 1))
        current = _attempts(found)
        previous = _attempts(before)
        if current + _weighted(previous, span - into, span) >= limit:
            return _retry_after(current, previous, limit, into, span) * _TICK / _SECOND
        expires_at = _EPOCH + (slot + 2) * span * _TICK
        row = Row({"key": key, "slot": slot, "attempts": current + 1, "expires_at": expires_at})
        if found is not None:
            tx.update(self.table, row)
            return None
        if not tx.insert(self.table, row):
            raise StaleStateError(f"rate limit {key!r} was counted by a concurrent worker")
        self._prune(now)  # only a new row grows the table: each one makes room for it
        return None

    def _prune(self, now: datetime) -> None:
        """Delete up to :data:`PRUNE_BATCH` rows whose windows stopped mattering by
        ``now`` (rows another worker holds are left for later)."""
        oldest = self.transaction.find(
            self.table, RATE_LIMITS_BY_EXPIRY, (), limit=PRUNE_BATCH, lock=Lock.SKIP
        )
        for row in oldest:
            expires_at = row.values["expires_at"]
            assert isinstance(expires_at, datetime)
            if expires_at > now:
                return
            self.transaction.delete(self.table, self.table.key_of(row.values))


def _attempts(row: Row | None) -> int:
    if row is None:
        return 0
    attempts = row.values["attempts"]
    assert isinstance(attempts, int)
    return attempts


def _weighted(attempts: int, covered: int, span: int) -> int:
    """``attempts * covered / span`` rounded up, in integers (no float rounding)."""
    return -(-attempts * covered // span)


def _retry_after(current: int, previous: int, limit: int, into: int, span: int) -> int:
    """Ticks until an attempt would be counted: later in this window, once the previous
    window's weighted share leaves room; else in the next one, once this window's does."""
    if current < limit:  # current + ceil(previous * (span - t) / span) <= limit - 1
        room = limit - 1 - current
        return max(span - (room * span) // previous - into, 0) if previous else 0
    return (span - into) + span - ((limit - 1) * span) // current
