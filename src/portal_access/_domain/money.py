"""Money: integer minor units with an ISO 4217 currency, never a float.

>>> fee = Money(25000, "USD")
>>> fee + Money(4999, "USD")
Money(amount=29999, currency='USD')
>>> str(Money.parse("1.234", "KWD")), str(Money(500, "JPY"))
('1.234 KWD', '500 JPY')
>>> Money(1, "USD") + Money(1, "EUR")
Traceback (most recent call last):
...
portal_access.CurrencyMismatchError: currency: cannot combine USD and EUR
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from portal_access._domain.errors import (
    CurrencyMismatchError,
    InvalidMoneyError,
    UnknownCurrencyError,
)

__all__ = [
    "CURRENCY_EXPONENTS",
    "MAX_AMOUNT_TEXT_LENGTH",
    "MAX_MINOR_UNITS",
    "Money",
    "currency_code",
    "currency_exponent",
]

#: The largest amount, in minor units: 18 digits, so every amount fits a signed 64-bit
#: integer (every processor's limit is far lower).
MAX_MINOR_UNITS = 10**18 - 1
#: The longest text :meth:`Money.parse` reads; longer text is refused before any work.
MAX_AMOUNT_TEXT_LENGTH = 40
# A plain decimal in ASCII digits: no exponent, no underscores, no other scripts' digits.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)

_ZERO_DECIMAL = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMAL = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMAL = "CLF UYW"
_TWO_DECIMAL = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED "
    "VES WST XCD XCG YER ZAR ZMW ZWG"
)

#: ISO 4217 active currency codes and the number of digits after the decimal point.
CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMAL.split(), 2),
    **dict.fromkeys(_ZERO_DECIMAL.split(), 0),
    **dict.fromkeys(_THREE_DECIMAL.split(), 3),
    **dict.fromkeys(_FOUR_DECIMAL.split(), 4),
}


def currency_exponent(currency: str, *, field: str = "currency") -> int:
    """Return how many minor-unit digits ``currency`` has (USD 2, JPY 0, KWD 3).

    Raises:
        UnknownCurrencyError: ``currency`` is not an active ISO 4217 code.

    >>> currency_exponent("JPY"), currency_exponent("usd")
    (0, 2)
    """
    try:
        return CURRENCY_EXPONENTS[currency.upper()]
    except (KeyError, AttributeError):
        raise UnknownCurrencyError(
            "not an ISO 4217 currency code", field=field, value=currency
        ) from None


def currency_code(value: object) -> str:
    """Validate an ISO 4217 code and return it upper-cased (an attrs converter too).

    Raises:
        UnknownCurrencyError: not a code we know.

    >>> currency_code("kwd")
    'KWD'
    """
    code = value.upper() if isinstance(value, str) else value
    if not isinstance(code, str) or code not in CURRENCY_EXPONENTS:
        raise UnknownCurrencyError("not an ISO 4217 currency code", field="currency", value=value)
    return code


def _decimal(major: object) -> Decimal:
    """``major`` as a ``Decimal``, refusing anything whose reading could cost more than
    its bounded length."""
    if isinstance(major, float | bool):
        raise InvalidMoneyError("floats are never money", field="amount", value=major)
    if isinstance(major, int):
        if abs(major) > MAX_MINOR_UNITS:
            raise InvalidMoneyError(
                f"must be at most {MAX_MINOR_UNITS} minor units", field="amount", value=None
            )
        return Decimal(major)
    if isinstance(major, Decimal):
        return major
    if not isinstance(major, str) or len(major) > MAX_AMOUNT_TEXT_LENGTH:
        raise InvalidMoneyError("not a plain decimal number", field="amount", value=None)
    stripped = major.strip()
    if _DECIMAL_TEXT.fullmatch(stripped) is None:
        raise InvalidMoneyError("not a plain decimal number", field="amount", value=major)
    return Decimal(stripped)


def _normalise_currency(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _check_amount(_instance: Money, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int:
        raise InvalidMoneyError(
            "must be an int of minor units (cents), never a float or str",
            field=attribute.name,
            value=value,
        )
    if value < 0:
        raise InvalidMoneyError("must not be negative", field=attribute.name, value=value)
    if value > MAX_MINOR_UNITS:
        raise InvalidMoneyError(
            f"must be at most {MAX_MINOR_UNITS} minor units", field=attribute.name, value=None
        )


def _check_currency(_instance: Money, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or value not in CURRENCY_EXPONENTS:
        raise UnknownCurrencyError(
            "not an ISO 4217 currency code", field=attribute.name, value=value
        )


@attrs.frozen(order=False)
class Money:
    """A non-negative amount of integer minor units (cents, yen, fils) in one currency.

    Adding, subtracting or ordering two currencies raises
    :class:`~portal_access.CurrencyMismatchError`; there is no silent conversion.
    Equality between currencies is simply ``False``.

    Args:
        amount: minor units, an ``int`` from 0 to :data:`MAX_MINOR_UNITS` (``2500`` is
            25.00 USD but 2500 JPY).
        currency: ISO 4217 code; lowercase is accepted and upper-cased.

    Raises:
        InvalidMoneyError: a negative or too large amount, a float, a bool or a string.
        UnknownCurrencyError: the currency is not ISO 4217.
    """

    amount: int = attrs.field(validator=_check_amount)
    currency: str = attrs.field(converter=_normalise_currency, validator=_check_currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in ``currency``.

        >>> Money.zero("EUR")
        Money(amount=0, currency='EUR')
        """
        return cls(0, currency)

    @classmethod
    def parse(cls, major: str | Decimal | int, currency: str) -> Money:
        """Build from a major-unit decimal (``"25.00"``), exactly.

        Text is a plain decimal in ASCII digits, at most :data:`MAX_AMOUNT_TEXT_LENGTH`
        characters: exponents (``"1e3"``), underscores (``"1_000"``) and other scripts'
        digits are refused, so the work done is bounded by the length checked first.

        Raises:
            InvalidMoneyError: more digits than the currency has, negative, too large,
                or not a plain decimal number.

        >>> Money.parse("25.5", "USD")
        Money(amount=2550, currency='USD')
        >>> Money.parse("1.5", "JPY")
        Traceback (most recent call last):
        ...
        portal_access.InvalidMoneyError: amount: JPY has 0 decimal places
        >>> Money.parse("9e999998", "JPY")
        Traceback (most recent call last):
        ...
        portal_access.InvalidMoneyError: amount: not a plain decimal number
        """
        exponent = currency_exponent(currency)
        value = _decimal(major)
        if not value.is_finite():
            raise InvalidMoneyError("not a finite number", field="amount", value=major)
        if value.adjusted() + exponent >= len(str(MAX_MINOR_UNITS)):
            raise InvalidMoneyError(
                f"must be at most {MAX_MINOR_UNITS} minor units", field="amount", value=None
            )
        minor = value.scaleb(exponent)
        if minor != minor.to_integral_value():
            raise InvalidMoneyError(
                f"{currency.upper()} has {exponent} decimal places", field="amount", value=major
            )
        return cls(int(minor), currency)

    @classmethod
    def total(cls, amounts: Iterable[Money], currency: str) -> Money:
        """Sum ``amounts``, all of which must be in ``currency``.

        >>> Money.total([Money(100, "USD"), Money(250, "USD")], "USD")
        Money(amount=350, currency='USD')
        """
        result = cls.zero(currency)
        for amount in amounts:
            result = result + amount
        return result

    @property
    def exponent(self) -> int:
        """Digits after the decimal point for this currency."""
        return CURRENCY_EXPONENTS[self.currency]

    @property
    def major(self) -> Decimal:
        """The amount in major units, as an exact ``Decimal``.

        >>> Money(1234, "KWD").major
        Decimal('1.234')
        """
        return Decimal(self.amount).scaleb(-self.exponent)

    def _same(self, other: Money, operation: str) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(
                f"cannot {operation} {self.currency} and {other.currency}",
                field="currency",
                value=(self.currency, other.currency),
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "combine")
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        """Subtract; the result may not go below zero (use :meth:`shortfall` for that)."""
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "combine")
        return Money(self.amount - other.amount, self.currency)

    def shortfall(self, other: Money) -> Money:
        """``self - other``, or zero where ``other`` covers ``self``.

        >>> Money(500, "USD").shortfall(Money(700, "USD"))
        Money(amount=0, currency='USD')
        """
        self._same(other, "combine")
        return Money(max(self.amount - other.amount, 0), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount >= other.amount

    def __bool__(self) -> bool:
        return self.amount != 0

    def __str__(self) -> str:
        return f"{self.major:.{self.exponent}f} {self.currency}"
