"""What a verified event carried that the books cannot hold: left out, and said once.

A verified delivery is the vendor's word, and a refused one comes back for days with the
same body: whatever else it carried (a payment's success, a refund, a dispute) would
never be booked. So where a vendor sends a shape the domain cannot hold (a fee given
back, a refund of a tip, a credit invoice, a metadata value that could be no id of ours),
the gateway books what it can and leaves that part out with a warning on its logger,
naming the object and what was left out. :class:`Unbooked` says it once per key: the
same event delivered three times, then replayed by ``reconcile``, warns once.
:class:`ForeignMoney` is the one such warning every gateway words alike: money (a fee, a
dispute's) reported in another currency than its payment's.

>>> import logging
>>> unbooked = Unbooked(logging.getLogger("portal_access.gateways.example"))
>>> unbooked.warn(("fee", "pay_1"), "payment %s: its fee is not booked", "pay_1")
True
>>> unbooked.warn(("fee", "pay_1"), "payment %s: its fee is not booked", "pay_1")
False
>>> could_be_id("inv-1"), could_be_id(" "), could_be_id("x" * 256)
(True, False, False)
>>> shown(-120, "usd"), shown(5, "XUS")
('-1.20 USD', '5 XUS minor units')
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Iterable

from portal_access._domain.errors import ValidationError
from portal_access._domain.money import CURRENCY_EXPONENTS, MAX_MINOR_UNITS, Money
from portal_access._domain.validation import ensure_identifier

__all__ = ["ForeignMoney", "Unbooked", "could_be_id", "shown"]


class Unbooked:
    """A gateway's warnings about what it left out of the books, each logged once per
    key; remembers the last ``size`` keys it warned about.

    Args:
        logger: the gateway's logger (``portal_access.gateways.<name>``).
        size: how many keys it remembers.
    """

    def __init__(self, logger: logging.Logger, *, size: int = 4096) -> None:
        self._logger, self._size = logger, size
        self._warned: dict[Hashable, None] = {}
        self._lock = threading.Lock()

    def warn(self, key: Hashable, message: str, *args: object) -> bool:
        """Log ``message % args`` as a warning unless ``key`` was warned about already;
        whether it logged."""
        with self._lock:
            if key in self._warned:
                return False
            self._warned[key] = None
            if len(self._warned) > self._size:
                del self._warned[next(iter(self._warned))]
        self._logger.warning(message, *args)
        return True


class ForeignMoney:
    """Money a vendor reported in another currency than its payment's: every entry of a
    payment is in the payment's currency and the library never converts (it has no
    exchange rate it could trust), so it is not booked, and logged once per payment and
    kind of money (an :class:`Unbooked` of its own). Remembers the last ``size`` it
    warned about.

    >>> import logging
    >>> foreign = ForeignMoney("paypal", logging.getLogger("portal_access.gateways.paypal"))
    >>> foreign.warn("fee", "3C679366HH908993F", "USD", ("EUR",))
    True
    >>> foreign.warn("fee", "3C679366HH908993F", "USD", ("EUR",))
    False

    Args:
        vendor: the vendor's word that starts each line (``"stripe"``, ``"paypal"``).
        logger: the gateway's logger.
        size: how many ``(kind, payment)`` pairs to remember.
    """

    def __init__(self, vendor: str, logger: logging.Logger, size: int = 4096) -> None:
        self._vendor, self._once = vendor, Unbooked(logger, size=size)

    def warn(self, what: str, payment_id: str, currency: str, others: Iterable[str]) -> bool:
        """Log that ``what`` (``"fee"``, ``"dispute fee"``) of ``payment_id``, paid in
        ``currency``, is in ``others`` and is not booked; whether it logged."""
        return self._once.warn(
            (what, payment_id),
            "%s payment %s: its %s is in %s, not the payment's %s: not booked "
            "(no exchange rate is assumed)",
            self._vendor,
            payment_id,
            what,
            "/".join(others),
            currency,
        )


def could_be_id(value: str) -> bool:
    """Whether ``value`` could be an id of ours (our invoices', contacts', plans'): not
    blank, printable, at most 255 characters (see
    :func:`~portal_access._domain.validation.ensure_identifier`). A vendor's metadata or
    reference holds any text up to its own limit (Stripe's values 500 characters), so a
    value that could not be ours names something that is not ours."""
    try:
        ensure_identifier(value, field="id")
    except ValidationError:
        return False
    return True


def shown(minor: int, currency: str) -> str:
    """A vendor's amount for a log line, whatever its sign or currency: ``-1.20 USD``; in
    minor units where the currency is not one we know."""
    code = currency.upper()
    if code not in CURRENCY_EXPONENTS or abs(minor) > MAX_MINOR_UNITS:
        return f"{minor} {code} minor units"
    return f"{'-' if minor < 0 else ''}{Money(abs(minor), code)}"
