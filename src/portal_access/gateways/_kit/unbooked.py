"""Money a gateway reports that the books cannot hold, logged once.

Every entry of a payment is in the payment's currency, and the library never converts
between currencies (it has no exchange rate it could trust). A fee (or a dispute) a
vendor reports in another currency is therefore not booked; :class:`ForeignMoney` says
so on the gateway's logger, once per payment and kind of money, so a webhook delivered
three times and then replayed by reconcile warns once.

>>> import logging
>>> foreign = ForeignMoney("paypal", logging.getLogger("portal_access.gateways.paypal"))
>>> foreign.warn("fee", "3C679366HH908993F", "USD", ("EUR",))
True
>>> foreign.warn("fee", "3C679366HH908993F", "USD", ("EUR",))
False
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

__all__ = ["ForeignMoney"]


class ForeignMoney:
    """Money a vendor reported in another currency than its payment's: not booked, and
    logged once per payment and kind of money. Remembers the last ``size`` it warned
    about.

    Args:
        vendor: the vendor's word that starts each line (``"stripe"``, ``"paypal"``).
        logger: the gateway's logger.
        size: how many ``(kind, payment)`` pairs to remember.
    """

    def __init__(self, vendor: str, logger: logging.Logger, size: int = 4096) -> None:
        self._vendor, self._log, self._size = vendor, logger, size
        self._warned: dict[tuple[str, str], None] = {}
        self._lock = threading.Lock()

    def warn(self, what: str, payment_id: str, currency: str, others: Iterable[str]) -> bool:
        """Log that ``what`` (``"fee"``, ``"dispute fee"``) of ``payment_id``, paid in
        ``currency``, is in ``others`` and is not booked; whether it logged."""
        key = (what, payment_id)
        with self._lock:
            if key in self._warned:
                return False
            self._warned[key] = None
            if len(self._warned) > self._size:
                del self._warned[next(iter(self._warned))]
        self._log.warning(
            "%s payment %s: its %s is in %s, not the payment's %s: not booked "
            "(no exchange rate is assumed)",
            self._vendor,
            payment_id,
            what,
            "/".join(others),
            currency,
        )
        return True
