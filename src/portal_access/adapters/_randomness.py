"""Token bytes and ids: from :mod:`secrets` in production, a counter in tests.

>>> ids = SequentialIds()
>>> ids.new_id("c_"), ids.new_id("c_")
('c_000001', 'c_000002')
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading

__all__ = ["SecretsTokenSource", "SequentialIds"]


class SecretsTokenSource:
    """Cryptographically strong tokens and random ids (``secrets``)."""

    def token_bytes(self, size: int) -> bytes:
        """``size`` random bytes."""
        return secrets.token_bytes(size)

    def new_id(self, prefix: str) -> str:
        """``prefix`` plus 20 random URL-safe characters."""
        return f"{prefix}{secrets.token_urlsafe(15)}"


class SequentialIds:
    """Deterministic ids and token bytes for tests and the demo. Never in production:
    its tokens are guessable by design.

    Args:
        seed: mixed into token bytes, so two sources give different tokens.
    """

    def __init__(self, seed: str = "portal-access") -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._seed = seed

    def token_bytes(self, size: int) -> bytes:
        """``size`` bytes derived from the seed and a counter."""
        with self._lock:
            n = next(self._counter)
        out = b""
        block = 0
        while len(out) < size:
            out += hashlib.sha256(f"{self._seed}:{n}:{block}".encode()).digest()
            block += 1
        return out[:size]

    def new_id(self, prefix: str) -> str:
        """``prefix`` plus a six-digit counter."""
        with self._lock:
            return f"{prefix}{next(self._counter):06d}"
