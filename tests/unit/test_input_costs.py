"""Unbounded input costs (docs/security.md "Limits"): every parser bounds its work by a
length checked first, and every free-text field a visitor submits has a limit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_access import InvalidMoneyError, Money, SelfRegistrationRequest, ValidationError
from portal_access._domain.money import MAX_AMOUNT_TEXT_LENGTH, MAX_MINOR_UNITS
from portal_access._domain.visitor_input import MAX_CODE_LENGTH, MAX_NAME_LENGTH
from portal_access._service.signup import KickoffForm


@pytest.mark.parametrize(
    "text",
    [
        "1e3",
        "9e99999",
        "9E2",
        "1_000",
        "1_0.00",
        "\u0661\u0662",  # Arabic-Indic digits
        "\uff11\uff12",  # fullwidth digits
        "\u0967",  # Devanagari one
        "0x10",
        "Infinity",
        "NaN",
        "1.2.3",
        "",
        " ",
    ],
)
def test_money_parse_refuses_anything_but_a_plain_ascii_decimal(text):
    """Exponents, underscores and other scripts' digits are refused (Decimal takes them all)."""
    with pytest.raises(InvalidMoneyError) as caught:
        Money.parse(text, "JPY")
    assert caught.value.field == "amount"


def test_money_parse_refuses_long_text_unread():
    """Text past the limit is refused before anything reads it."""
    with pytest.raises(InvalidMoneyError):
        Money.parse("1" * (MAX_AMOUNT_TEXT_LENGTH + 1), "USD")
    with pytest.raises(InvalidMoneyError):
        Money.parse("1" * 10_000_000, "USD")


@pytest.mark.parametrize(
    "major", [Decimal("9e999998"), 10**5000, Decimal("1e18")], ids=["9e999998", "10**5000", "1e18"]
)
def test_money_parse_refuses_huge_decimals_and_ints_without_expanding_them(major):
    """A Decimal with a huge exponent (27 s of CPU to expand before) is refused at once."""
    with pytest.raises(InvalidMoneyError):
        Money.parse(major, "JPY")


def test_amounts_fit_64_bits():
    """Money past 18 digits of minor units is refused (it could not be stored or printed)."""
    assert Money(MAX_MINOR_UNITS, "USD").amount == MAX_MINOR_UNITS
    with pytest.raises(InvalidMoneyError):
        Money(MAX_MINOR_UNITS + 1, "USD")
    with pytest.raises(InvalidMoneyError):
        Money(10**4301, "USD")


@given(st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False))
def test_plain_decimals_still_parse_exactly(value):
    """The refusals take nothing from the decimals a person types."""
    assert Money.parse(str(value), "USD").amount == int(value * 100)


@pytest.mark.parametrize(
    "fields",
    [
        {"first_name": "A" * (MAX_NAME_LENGTH + 1)},
        {"last_name": "L" * (MAX_NAME_LENGTH + 1)},
        {"account_name": "N" * (MAX_NAME_LENGTH + 1)},
        {"email": "a" * 300 + "@example.com"},
        {"first_name": "Ann\r\nBcc: x@example.com"},
        {"first_name": "Ann\x00"},
        {"last_name": "Lee\ud800"},
    ],
)
def test_kickoff_form_fields_are_bounded(fields):
    """Seed 000_07c53b15302458c1.txt kickoff form: names at most 255 characters, no controls."""
    form = {"first_name": "Ann", "email": "ann@example.com"} | fields
    with pytest.raises(ValidationError) as caught:
        KickoffForm(**form)
    assert caught.value.field == next(iter(fields))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("invoice_number", "1" * (MAX_CODE_LENGTH + 1)),
        ("code", "C" * (MAX_CODE_LENGTH + 1)),
        ("contact_name", "N" * (MAX_NAME_LENGTH + 1)),
        ("code", "QP\x00CODE"),
    ],
)
def test_self_registration_fields_are_bounded(field, value):
    """Seed 001_345994b3bb014aeb.txt self-registration form: every field has a limit."""
    form = {"invoice_number": "1001", "code": "QP", "contact_name": "Ann Lee"} | {field: value}
    with pytest.raises(ValidationError) as caught:
        SelfRegistrationRequest.from_form(
            form["invoice_number"], form["code"], form["contact_name"], "ann@example.com"
        )
    assert caught.value.field == field
