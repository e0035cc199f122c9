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
    """docs/rules.md: bad input is a typed error, never an AttributeError."""
    with pytest.raises(InvalidEmailError):
        EmailAddress.parse(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "look_alike",
    [
        "ann@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",  # fullwidth letters in the domain
        "ann@exam\u00adple.com",  # a soft hyphen in the domain
        "ann@exam\u200bple.com",  # a zero-width space in the domain
        "ann@example\u3002com",  # an ideographic full stop
        "\uff41nn@example.com",  # a fullwidth letter in the local part
        "ANN@EXAMPLE.COM",
    ],
)
def test_look_alike_spellings_are_the_same_address(look_alike):
    """An address that prints like ann@example.com is ann@example.com: one username, not two."""
    address = EmailAddress.parse(look_alike)
    assert address == EmailAddress.parse("ann@example.com")
    assert address.value.lower() == "ann@example.com"


@pytest.mark.parametrize(
    "invisible", ["a\u200bnn@example.com", "a\u00adnn@example.com", "ann\u2060@example.com"]
)
def test_invisible_characters_in_the_local_part_are_refused(invisible):
    """An invisible character where it would make another mailbox is refused, not kept."""
    with pytest.raises(InvalidEmailError):
        EmailAddress.parse(invisible)


def test_an_idn_domain_has_one_spelling():
    """The Unicode and the xn-- spelling of a domain are one address, shown in Unicode."""
    assert EmailAddress.parse("a@xn--mnchen-3ya.de") == EmailAddress.parse("a@münchen.de")
    assert str(EmailAddress.parse("a@xn--mnchen-3ya.de")) == "a@münchen.de"
