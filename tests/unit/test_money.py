"""Money: integer minor units with an ISO 4217 currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal_access._domain.errors import (
    CurrencyMismatchError,
    InvalidMoneyError,
    PortalAccessError,
    UnknownCurrencyError,
)
from portal_access._domain.money import Money, currency_exponent


@pytest.mark.parametrize(("currency", "exponent"), [("USD", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4)])
def test_currencies_have_their_real_exponents(currency, exponent):
    """docs/rules.md: zero- and three-decimal currencies are real (JPY, KWD)."""
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("25.00", "USD", 2500), ("500", "JPY", 500), ("1.234", "KWD", 1234), ("0.5", "usd", 50)],
)
def test_parse_is_exact(text, currency, minor):
    """docs/rules.md: money is integer minor units; parsing a decimal is exact."""
    assert Money.parse(text, currency) == Money(minor, currency.upper())


@pytest.mark.parametrize(
    "bad",
    [1.5, "1.5", True, -1, None],
)
def test_amount_must_be_a_non_negative_int(bad):
    """docs/rules.md: never float; bad amounts are a typed error naming the field."""
    with pytest.raises(InvalidMoneyError) as caught:
        Money(bad, "USD")
    assert caught.value.field == "amount"


@pytest.mark.parametrize("bad", ["12.345", "abc", "NaN", "-1", 0.1])
def test_parse_refuses_what_is_not_exact_money(bad):
    """docs/rules.md: too many decimals, floats, negatives and non-numbers are refused."""
    with pytest.raises(InvalidMoneyError):
        Money.parse(bad, "USD")


@pytest.mark.parametrize("bad", ["XXX", "US", "", 840, "EURO"])
def test_unknown_currency_is_refused(bad):
    """docs/rules.md: the currency is an ISO 4217 code with a known exponent."""
    with pytest.raises(UnknownCurrencyError) as caught:
        Money(1, bad)
    assert caught.value.field == "currency"
    assert isinstance(caught.value, PortalAccessError)
    assert isinstance(caught.value, ValueError)


def test_two_currencies_never_combine():
    """docs/rules.md: adding or comparing two currencies is an error, never a silent conversion."""
    with pytest.raises(CurrencyMismatchError):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = Money(1, "USD") < Money(1, "EUR")
    assert Money(1, "USD") != Money(1, "EUR")


def test_subtraction_below_zero_is_refused_and_shortfall_clamps():
    """docs/rules.md: money is never negative; shortfall answers "how much is still owed"."""
    with pytest.raises(InvalidMoneyError):
        Money(1, "USD") - Money(2, "USD")
    assert Money(5, "USD").shortfall(Money(2, "USD")) == Money(3, "USD")


def test_str_and_major_use_the_exponent():
    """docs/rules.md: display follows the currency's exponent."""
    assert str(Money(1234, "KWD")) == "1.234 KWD"
    assert str(Money(5, "USD")) == "0.05 USD"
    assert Money(99, "JPY").major == Decimal(99)


def test_total_sums_one_currency():
    """docs/rules.md: a total is in one currency; a stray currency is an error."""
    assert Money.total([], "USD") == Money(0, "USD")
    with pytest.raises(CurrencyMismatchError):
        Money.total([Money(1, "EUR")], "USD")
