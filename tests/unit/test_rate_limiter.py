"""The memory rate limiter: a sliding window per key, bounded in memory (docs/security.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_access import ConfigurationError, RateLimitedError
from portal_access.adapters import MemoryRateLimiter

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def test_keys_are_forgotten_once_their_window_passed():
    """A million one-off keys do not stay held after their window (the old limiter kept them all)."""
    limiter = MemoryRateLimiter(limit=3, window=WINDOW)
    for n in range(5_000):
        limiter.hit(f"login:client:{n}", now=NOW)
    assert len(limiter) == 5_000
    limiter.hit("login:client:late", now=NOW + WINDOW + timedelta(seconds=1))
    assert len(limiter) == 1


def test_the_number_of_keys_is_bounded():
    """Past ``max_keys``, the least recently tried key is forgotten first."""
    limiter = MemoryRateLimiter(limit=2, window=WINDOW, max_keys=100)
    limiter.hit("victim", now=NOW)
    limiter.hit("victim", now=NOW)
    for n in range(1_000):
        limiter.hit(f"spray:{n}", now=NOW)
        assert len(limiter) <= 100
    assert len(limiter) == 100


def test_a_recently_tried_key_is_kept_over_older_ones():
    """Eviction takes the least recently tried keys, so an active key keeps its count."""
    limiter = MemoryRateLimiter(limit=2, window=WINDOW, max_keys=10)
    for n in range(9):
        limiter.hit(f"old:{n}", now=NOW)
    limiter.hit("active", now=NOW)
    limiter.hit("active", now=NOW)
    limiter.hit("new", now=NOW)
    with pytest.raises(RateLimitedError):
        limiter.hit("active", now=NOW)


@pytest.mark.parametrize(
    "settings",
    [{"limit": 0}, {"limit": 1.5}, {"window": timedelta(0)}, {"window": 60}, {"max_keys": 0}],
)
def test_bad_settings_are_configuration_errors(settings):
    """A limiter that would limit nothing (or everything) is refused at construction."""
    with pytest.raises(ConfigurationError):
        MemoryRateLimiter(**settings)


@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3_000)), max_size=80),
    st.integers(1, 4),
    st.integers(1, 8),
)
def test_refuses_exactly_when_the_window_is_full(hits, limit, max_keys):
    """Whatever the sequence: at most ``max_keys`` keys are held, and while nothing is
    evicted an attempt is refused exactly when ``limit`` attempts fill its window."""
    limiter = MemoryRateLimiter(limit=limit, window=WINDOW, max_keys=max_keys)
    counted: dict[str, list[datetime]] = {}
    for key_number, step in sorted(hits, key=lambda pair: pair[1]):
        moment = NOW + timedelta(seconds=step)
        key = f"k{key_number}"
        in_window = [t for t in counted.get(key, []) if t > moment - WINDOW]
        try:
            limiter.hit(key, now=moment)
        except RateLimitedError:
            refused = True
        else:
            refused = False
            counted.setdefault(key, []).append(moment)
        assert len(limiter) <= max_keys
        if max_keys >= 5:  # five keys at most: nothing is evicted, the count is exact
            assert refused == (len(in_window) >= limit)
