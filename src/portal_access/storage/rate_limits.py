"""A rate limiter whose counts live in a store, so several workers share its limits.

:class:`~portal_access.adapters.MemoryRateLimiter` counts in one process: with four web
workers a client gets four times the attempts. :class:`StoreRateLimiter` keeps the counts
in the store's ``rate_limits`` table (one row per key and fixed window, see
:class:`~portal_access.repositories.RateLimitRepository`), so every worker, thread or
process on one SQLite file or one PostgreSQL database counts against the same limit.
Give it the store the portal uses (or another)::

    store = SqlStore("postgresql://...")
    portal = PortalAccess(store=store, gateways=[...], limiter=StoreRateLimiter(store))

Each attempt is one short transaction of its own (two reads by key, one write, and for a
key's first attempt in a window the deletion of a few expired windows), committed before
the flow looks anything up: a refused or failed login still counts. Keys are stored as
SHA-256 digests, never as the emails or addresses they hold.

>>> from datetime import UTC, datetime
>>> from portal_access.storage.memory import MemoryStore
>>> limiter = StoreRateLimiter(MemoryStore(), limit=1, window=timedelta(minutes=1))
>>> now = datetime(2026, 1, 1, tzinfo=UTC)
>>> limiter.hit("login:client:203.0.113.7", now=now)
>>> limiter.hit("login:client:203.0.113.7", now=now)
Traceback (most recent call last):
...
portal_access.RateLimitedError: too many attempts; try again in 120 seconds
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from portal_access._domain.errors import ConfigurationError, RateLimitedError, StaleStateError
from portal_access.ports import Store
from portal_access.repositories import unit_of_work

__all__ = ["StoreRateLimiter"]

#: How often one attempt is counted again after losing a race to create its row.
MAX_ATTEMPTS = 8


class StoreRateLimiter:
    """At most ``limit`` attempts per key in a sliding ``window``, counted in ``store``
    (a :class:`~portal_access.ports.RateLimiter`).

    Args:
        store: where the counts live (the portal's store, or a store of their own).
        limit: attempts allowed per window (default 10: the 11th is refused).
        window: the window (default 15 minutes; at least one second).

    Raises:
        ConfigurationError: a ``limit`` below 1, or a ``window`` that is not a
            ``timedelta`` of at least a second.
    """

    def __init__(
        self, store: Store, *, limit: int = 10, window: timedelta = timedelta(minutes=15)
    ) -> None:
        if type(limit) is not int or limit < 1:
            raise ConfigurationError("must be an int of at least 1", field="limit", value=limit)
        if not isinstance(window, timedelta):
            raise ConfigurationError("must be a timedelta", field="window", value=window)
        if window < timedelta(seconds=1):
            raise ConfigurationError(
                "must be a timedelta of at least one second", field="window", value=window
            )
        self.store = store
        self.limit = limit
        self.window = window
        self._scope = f"{window // timedelta(microseconds=1)}:"

    def hit(self, key: str, *, now: datetime) -> None:
        """Count an attempt under ``key``; refuse it when the window is full.

        Call it outside any unit of work of the same store (the library does): the
        count commits on its own.

        Raises:
            RateLimitedError: ``limit`` attempts already in the window (this one is not
                counted).
            StorageError: the store failed (a limit never silently passes).
            ValidationError: ``now`` is naive.
        """
        digest = hashlib.sha256((self._scope + key).encode("utf-8", "surrogatepass")).hexdigest()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with unit_of_work(self.store) as uow:
                    wait = uow.rate_limits.count(
                        digest, limit=self.limit, window=self.window, now=now
                    )
                break
            except StaleStateError:
                if attempt == MAX_ATTEMPTS:
                    raise
        if wait is not None:
            raise RateLimitedError(
                f"too many attempts; try again in {wait:.0f} seconds", retry_after=wait
            )
