"""The ``t=<seconds>,v1=<hex>`` signature, made as the vendor makes it (Stripe's scheme;
the sandbox vendor signs the same way under its own header name).

Each ``v1`` is the hex HMAC-SHA256 of ``f"{t}.".encode() + body`` under one secret;
while a secret rotates, the vendor sends one ``v1`` per secret.

>>> from datetime import UTC, datetime
>>> from portal_access.adapters import ManualClock
>>> signer = TimestampedSigner("Stripe-Signature", ["whsec_a", "whsec_b"],
...                            ManualClock(datetime(1970, 1, 1, 0, 0, 7, tzinfo=UTC)))
>>> signer.sign(b"{}")["Stripe-Signature"].startswith("t=7,v1=")
True
>>> signer.sign(b"{}")["Stripe-Signature"].count("v1=")
2
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import timedelta

from portal_access.ports import Clock

__all__ = ["TimestampedSigner"]


class TimestampedSigner:
    """Signs bodies now, with every secret, under one header name.

    Args:
        header: the header's name (``Stripe-Signature``).
        secrets: the endpoint's secret, or several (one ``v1`` each).
        clock: whose now is the signature's timestamp.
        tolerance: the receiver's tolerance (:meth:`stale` signs beyond it).
    """

    def __init__(
        self,
        header: str,
        secrets: str | Sequence[str],
        clock: Clock,
        tolerance: timedelta = timedelta(minutes=5),
    ) -> None:
        self.header = header
        self.secrets = (secrets,) if isinstance(secrets, str) else tuple(secrets)
        self._clock, self._tolerance = clock, tolerance

    def now(self) -> int:
        """The clock's now in unix seconds."""
        return int(self._clock.now().timestamp())

    def sign(
        self, body: bytes, *, secrets: Sequence[str] = (), timestamp: int | None = None
    ) -> dict[str, str]:
        """The header for ``body``, signed at ``timestamp`` (default: now) with
        ``secrets`` (default: the signer's)."""
        at = self.now() if timestamp is None else timestamp
        signed = f"{at}.".encode() + body
        v1 = (
            hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()
            for s in secrets or self.secrets
        )
        return {self.header: ",".join([f"t={at}", *(f"v1={digest}" for digest in v1)])}

    def stale(self, body: bytes) -> dict[str, str]:
        """The header for ``body`` correctly signed a minute beyond the tolerance ago."""
        return self.sign(body, timestamp=self.now() - int(self._tolerance.total_seconds()) - 60)
