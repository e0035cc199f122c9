"""Email addresses: the portal username, validated and compared case-insensitively."""

from __future__ import annotations

import pytest

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import InvalidEmailError


@pytest.mark.parametrize(
    "good", ["ann@example.com", "a.b+tag@sub.example.org", "o'neil@example.ie", "a@münchen.de"]
)
def test_valid_addresses_parse(good):
    """Seed 003_11ad6fb0c789d951.txt: customers log in with their email address."""
    assert str(EmailAddress.parse(good)).lower() == good.lower()


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@@example.com",
        "ann@example",
        "a b@example.com",
        "ann@example.com\r\nBcc: x@y.com",
        ".ann@example.com",
        "ann..x@example.com",
        "ann@-x.com",
        "x" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_invalid_addresses_are_refused(bad):
    """Seed 001_345994b3bb014aeb.txt: an invitation requires a valid email address."""
    with pytest.raises(InvalidEmailError) as caught:
        EmailAddress.parse(bad, field="contact.email")
    assert caught.value.field == "contact.email"


def test_case_insensitive_equality_keeps_what_was_typed():
    """Seed 003_11ad6fb0c789d951.txt: the email is the username, whatever its case."""
    typed = EmailAddress.parse("Ann.Lee@Example.COM")
    assert typed == EmailAddress.parse("ann.lee@example.com")
    assert hash(typed) == hash(EmailAddress.parse("ANN.LEE@EXAMPLE.COM"))
    assert typed.value == "Ann.Lee@example.com"
    assert typed.domain == "example.com"


def test_non_string_is_refused():
    """DESIGN.md: bad input is a typed error, never an AttributeError."""
    with pytest.raises(InvalidEmailError):
        EmailAddress.parse(None)  # type: ignore[arg-type]
