"""Recipient lists: splitting, display names, deduplication and the invoice email "To"."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import InvalidEmailError, ValidationError
from portal_access._domain.recipients import (
    format_recipients,
    invoice_email_addresses,
    parse_recipients,
)

SEED_002 = "002_50038a73eff95302.txt"


def email(text: str) -> EmailAddress:
    """A parsed address (local factory)."""
    return EmailAddress.parse(text)


def values(addresses: tuple[EmailAddress, ...]) -> list[str]:
    """The exact spellings, so tests see more than case-insensitive equality."""
    return [address.value for address in addresses]


# -- parse_recipients ------------------------------------------------------------------


def test_seed_semicolon_separates_recipients() -> None:
    """Seed 002_50038a73eff95302.txt: several emails in one field are separated by ';'."""
    assert values(parse_recipients("a@example.com;b@example.com")) == [
        "a@example.com",
        "b@example.com",
    ]


def test_comma_separates_recipients_too() -> None:
    """A comma separates recipients like a semicolon, and both may be mixed."""
    found = parse_recipients("a@example.com, b@example.com; c@example.com")
    assert values(found) == ["a@example.com", "b@example.com", "c@example.com"]


def test_entries_are_trimmed_and_empty_ones_skipped() -> None:
    """Whitespace around entries is trimmed and empty entries are skipped."""
    found = parse_recipients("  ;a@example.com ;; \n b@example.com\t;, ")
    assert values(found) == ["a@example.com", "b@example.com"]


@pytest.mark.parametrize("text", ["", "   ", ";", " ; , ;"])
def test_blank_text_is_no_recipient(text: str) -> None:
    """Blank or separators-only text parses to no recipient at all."""
    assert parse_recipients(text) == ()


def test_display_name_form_keeps_only_the_address() -> None:
    """'Display Name <address>' keeps only the address."""
    found = parse_recipients("Ann Lee <ann@example.com>; <bob@example.com>")
    assert values(found) == ["ann@example.com", "bob@example.com"]


def test_separator_inside_a_quoted_display_name_does_not_split() -> None:
    """A comma or semicolon inside a quoted display name is part of the name."""
    found = parse_recipients('"Lee, Ann" <ann@example.com>, "Roe; Bob" <bob@example.com>')
    assert values(found) == ["ann@example.com", "bob@example.com"]


def test_seed_duplicates_dropped_case_insensitively_keeping_first() -> None:
    """Seed 002_50038a73eff95302.txt: duplicates differing in case appear once, first kept."""
    found = parse_recipients("Ann@Example.com; bob@example.com; ANN@example.COM; ann@example.com")
    assert values(found) == ["Ann@example.com", "bob@example.com"]


def test_domain_is_lower_cased_and_local_part_kept() -> None:
    """The domain is lower-cased while the local part keeps its case."""
    assert values(parse_recipients("Ann.Lee@EXAMPLE.COM")) == ["Ann.Lee@example.com"]


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("a@example.com; not-an-email", "not-an-email"),
        ("Ann <ann@@example.com>", "Ann <ann@@example.com>"),
        ("Ann <>", "Ann <>"),
        ("ann@example.com>", "ann@example.com>"),
        ('"Ann <ann@example.com>; b@example.com', '"Ann <ann@example.com>; b@example.com'),
    ],
)
def test_bad_entry_is_invalid_email_naming_field_and_entry(text: str, entry: str) -> None:
    """A bad entry raises InvalidEmailError naming the field and the entry."""
    with pytest.raises(InvalidEmailError) as caught:
        parse_recipients(text, field="cc")
    assert caught.value.field == "cc"
    assert caught.value.value == entry
    assert repr(entry) in str(caught.value)


def test_default_field_is_to() -> None:
    """Without a field name, errors name the "to" field."""
    with pytest.raises(InvalidEmailError) as caught:
        parse_recipients("nobody")
    assert caught.value.field == "to"


def test_iterable_of_texts_is_split_and_deduplicated_as_one_list() -> None:
    """An iterable of texts is split like one field and deduplicated across items."""
    found = parse_recipients(["a@example.com; b@example.com", "B@EXAMPLE.com", "c@example.com"])
    assert values(found) == ["a@example.com", "b@example.com", "c@example.com"]


def test_non_string_item_is_invalid_email() -> None:
    """A non-string item in an iterable raises InvalidEmailError naming the field."""
    with pytest.raises(InvalidEmailError) as caught:
        parse_recipients(["a@example.com", 42], field="bcc")  # type: ignore[list-item]
    assert (caught.value.field, caught.value.value) == ("bcc", 42)


def test_non_iterable_is_validation_error() -> None:
    """Something neither a string nor an iterable raises ValidationError naming the field."""
    with pytest.raises(ValidationError) as caught:
        parse_recipients(None, field="to")  # type: ignore[arg-type]
    assert caught.type is ValidationError
    assert caught.value.field == "to"


# -- format_recipients -----------------------------------------------------------------


def test_format_joins_with_semicolon_and_space() -> None:
    """format_recipients joins the addresses with '; '."""
    assert format_recipients([email("a@example.com"), email("B@x.io")]) == "a@example.com; B@x.io"


def test_format_of_nothing_is_empty() -> None:
    """No address formats as the empty string."""
    assert format_recipients([]) == ""


def test_format_refuses_non_addresses() -> None:
    """An item that is not an EmailAddress raises ValidationError naming 'addresses'."""
    with pytest.raises(ValidationError) as caught:
        format_recipients(["a@example.com"])  # type: ignore[list-item]
    assert caught.type is ValidationError
    assert caught.value.field == "addresses"


# -- invoice_email_addresses -------------------------------------------------------------


def test_seed_matter_email_overrides_client_email() -> None:
    """Seed 002_50038a73eff95302.txt: the project/matter email overrides the client email."""
    found = invoice_email_addresses("client@example.com", "matter@example.com")
    assert values(found) == ["matter@example.com"]


@pytest.mark.parametrize("matter", [None, "", "   ", " ; "])
def test_blank_matter_email_falls_back_to_client(matter: str | None) -> None:
    """A missing or blank matter email leaves the client email in use."""
    found = invoice_email_addresses("client@example.com", matter)
    assert values(found) == ["client@example.com"]


def test_seed_fields_hold_several_semicolon_separated_addresses() -> None:
    """Seed 002_50038a73eff95302.txt: each email field may hold several addresses by ';'."""
    assert values(invoice_email_addresses("a@example.com; b@example.com", None)) == [
        "a@example.com",
        "b@example.com",
    ]
    assert values(invoice_email_addresses("x@example.com", "c@example.com;d@example.com")) == [
        "c@example.com",
        "d@example.com",
    ]


@pytest.mark.parametrize(("client", "matter"), [(None, None), ("", ""), (" ", None)])
def test_no_email_anywhere_is_no_recipient(client: str | None, matter: str | None) -> None:
    """With no email in either field the default "To" is empty."""
    assert invoice_email_addresses(client, matter) == ()


def test_bad_matter_email_names_matter_field() -> None:
    """A bad entry in the matter email raises InvalidEmailError naming 'matter_email'."""
    with pytest.raises(InvalidEmailError) as caught:
        invoice_email_addresses("client@example.com", "matter@")
    assert caught.value.field == "matter_email"


def test_bad_client_email_names_client_field() -> None:
    """A bad entry in the client email in use raises InvalidEmailError naming 'client_email'."""
    with pytest.raises(InvalidEmailError) as caught:
        invoice_email_addresses("client@", None)
    assert caught.value.field == "client_email"


def test_overridden_client_email_is_not_parsed() -> None:
    """A client email overridden by the matter email is not used, so not validated."""
    assert values(invoice_email_addresses("client@", "matter@example.com")) == [
        "matter@example.com"
    ]


# -- properties --------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits
_ATOM = st.text(alphabet=_ALNUM + "!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=8)
_LOCAL = st.lists(_ATOM, min_size=1, max_size=3).map(".".join)
_LABEL = st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(_ALNUM),
    st.text(alphabet=_ALNUM + "-", max_size=6),
    st.sampled_from(_ALNUM),
) | st.sampled_from(_ALNUM)
_TLD = st.text(alphabet=string.ascii_letters, min_size=2, max_size=6)
ADDRESSES = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    _LOCAL,
    st.lists(_LABEL, min_size=1, max_size=3),
    _TLD,
)
_NAME = st.text(alphabet=string.ascii_letters + string.digits + " .'", max_size=12)
_SEPARATORS = st.sampled_from([";", ",", "; ", " , ", ";;", ";\n", "\t,  ;"])


@st.composite
def recipient_texts(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A recipient field's text and the address spellings it lists, in order."""
    pool = draw(st.lists(ADDRESSES, min_size=1, max_size=5))
    spellings: list[str] = []
    parts: list[str] = []
    for _ in range(draw(st.integers(min_value=0, max_value=10))):
        base = draw(st.sampled_from(pool))
        spelling = draw(st.sampled_from([str, str.upper, str.lower, str.swapcase]))(base)
        form = draw(st.sampled_from(["bare", "name", "quoted"]))
        name = draw(_NAME)
        entry = {
            "bare": spelling,
            "name": f"{name} <{spelling}>",
            "quoted": f'"{name}, {name}; x" <{spelling}>',
        }[form]
        spellings.append(spelling)
        parts.append(draw(st.sampled_from(["", " ", "\t", "  "])) + entry)
        parts.append(draw(_SEPARATORS))
    return "".join(parts), spellings


def _normalised(spelling: str) -> str:
    local, _, host = spelling.rpartition("@")
    return f"{local}@{host.lower()}"


@settings(max_examples=400)
@given(recipient_texts())
def test_parsing_deduplicates_case_insensitively_in_first_occurrence_order(
    case: tuple[str, list[str]],
) -> None:
    """Parsing keeps each address once, first spelling first, whatever the case."""
    text, spellings = case
    expected: dict[str, str] = {}
    for spelling in spellings:
        expected.setdefault(spelling.casefold(), _normalised(spelling))
    found = parse_recipients(text)
    assert values(found) == list(expected.values())
    assert len({address.key for address in found}) == len(found)


@settings(max_examples=400)
@given(recipient_texts())
def test_parsing_is_idempotent(case: tuple[str, list[str]]) -> None:
    """Formatting parsed recipients and parsing again gives the same addresses, same spelling."""
    found = parse_recipients(case[0])
    again = parse_recipients(format_recipients(found))
    assert again == found
    assert values(again) == values(found)


@settings(max_examples=300)
@given(st.text(alphabet=string.printable + '<>"é', max_size=60))
def test_any_text_parses_idempotently_or_raises_invalid_email(text: str) -> None:
    """Any text either raises InvalidEmailError or parses idempotently."""
    try:
        found = parse_recipients(text)
    except InvalidEmailError as exc:
        error: InvalidEmailError | None = exc
    else:
        error = None
    if error is not None:
        assert error.field == "to"
        return
    assert values(parse_recipients(format_recipients(found))) == values(found)
