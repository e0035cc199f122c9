"""Invoice-verified self-registration: when it is offered and when a request matches."""

from __future__ import annotations

import string
from datetime import date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_access._domain.accounts import Account, AccountClass, SystemPortalOptions
from portal_access._domain.billing import Invoice, InvoiceLine, InvoiceStatus
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import InvalidEmailError, ValidationError
from portal_access._domain.money import Money
from portal_access._domain.self_registration import (
    SelfRegistrationRequest,
    matches_invoice,
    self_registration_allowed,
)

TODAY = date(2026, 6, 1)


def make_account(**overrides: Any) -> Account:
    """An account numbered 49418 (local factory)."""
    fields: dict[str, Any] = {
        "id": "acc-1",
        "number": "49418",
        "name": "Renovation Gym",
        "account_class": AccountClass(id="k", name="Commercial"),
    }
    return Account(**{**fields, **overrides})


def make_invoice(**overrides: Any) -> Invoice:
    """An open invoice 1001 of :func:`make_account` issued a month ago (local factory)."""
    fields: dict[str, Any] = {
        "id": "inv-1",
        "number": "INV-1001",
        "account_id": "acc-1",
        "title": "May service",
        "currency": "USD",
        "lines": (InvoiceLine("Service", Money(7500, "USD")),),
        "issued_on": TODAY - timedelta(days=31),
        "due_on": TODAY,
        "quick_pay_code": "QP-7K2X",
    }
    fields.update(overrides)
    fields["due_on"] = max(fields["due_on"], fields["issued_on"])
    return Invoice(**fields)


def make_contact(**overrides: Any) -> Contact:
    """John Doe on :func:`make_account` (local factory)."""
    fields: dict[str, Any] = {
        "id": "c-1",
        "account_id": "acc-1",
        "first_name": "John",
        "last_name": "Doe",
        "email": EmailAddress.parse("john.doe@example.com"),
    }
    return Contact(**{**fields, **overrides})


def make_request(**overrides: str) -> SelfRegistrationRequest:
    """A form filled in correctly for the factories above (local factory)."""
    fields = {
        "invoice_number": "INV-1001",
        "code": "QP-7K2X",
        "contact_name": "John Doe",
        "email": "john.doe@example.com",
    }
    return SelfRegistrationRequest.from_form(**{**fields, **overrides})


def matches(request: SelfRegistrationRequest, **overrides: Any) -> bool:
    """matches_invoice with the factories' records unless overridden."""
    kwargs: dict[str, Any] = {
        "invoice": make_invoice(),
        "account": make_account(),
        "contact": make_contact(),
        "today": TODAY,
    }
    return matches_invoice(request, **{**kwargs, **overrides})


# -- the request ---------------------------------------------------------------------------


def test_from_form_parses_the_email() -> None:
    """from_form keeps the text fields and parses the email address."""
    request = make_request(email=" John.Doe@EXAMPLE.com ")
    assert request.email.value == "John.Doe@example.com"
    assert request.invoice_number == "INV-1001"


def test_from_form_bad_email_names_email() -> None:
    """A bad email raises InvalidEmailError naming 'email'."""
    with pytest.raises(InvalidEmailError) as caught:
        make_request(email="john.doe@")
    assert caught.value.field == "email"


@pytest.mark.parametrize("field", ["invoice_number", "code", "contact_name"])
@pytest.mark.parametrize("value", ["", "   ", "x" * 256])
def test_blank_or_too_long_field_is_invalid(field: str, value: str) -> None:
    """A blank field or one over 255 characters raises ValidationError naming it."""
    with pytest.raises(ValidationError) as caught:
        make_request(**{field: value})
    assert caught.type is ValidationError
    assert caught.value.field == field


def test_email_must_be_an_email_address() -> None:
    """The constructor refuses an email that is not an EmailAddress."""
    with pytest.raises(ValidationError) as caught:
        SelfRegistrationRequest("1", "2", "Ann", "ann@example.com")  # type: ignore[arg-type]
    assert caught.value.field == "email"


def test_code_is_kept_out_of_repr() -> None:
    """The quick pay code or account number never shows in the request's repr."""
    assert "7K2X" not in repr(make_request())


# -- when it is offered ----------------------------------------------------------------------


def test_seed_allowed_with_system_option_and_class_option() -> None:
    """Seed 001_345994b3bb014aeb.txt: request-login button plus class self-registration."""
    account_class = AccountClass(id="k", name="K", invoice_verified_self_registration=True)
    assert self_registration_allowed(SystemPortalOptions(request_login_button=True), account_class)


@pytest.mark.parametrize(
    ("button", "class_option", "portal"),
    [(False, True, True), (True, False, True), (True, True, False)],
    ids=["no-button", "class-off", "portal-disabled"],
)
def test_seed_not_allowed_unless_every_option_is_on(
    button: bool, class_option: bool, portal: bool
) -> None:
    """Seed 001_345994b3bb014aeb.txt: no self-registration unless every option is on."""
    account_class = AccountClass(
        id="k", name="K", invoice_verified_self_registration=class_option, portal_enabled=portal
    )
    system = SystemPortalOptions(request_login_button=button)
    assert self_registration_allowed(system, account_class) is False


# -- matching ----------------------------------------------------------------------------------


def test_seed_matches_with_quick_pay_code() -> None:
    """Seed 001_345994b3bb014aeb.txt: invoice number, quick pay code, name and email match."""
    assert matches(make_request()) is True


def test_seed_matches_with_account_number() -> None:
    """Seed 001_345994b3bb014aeb.txt: the account number may stand for the quick pay code."""
    assert matches(make_request(code="49418")) is True


def test_account_number_matches_when_invoice_has_no_quick_pay_code() -> None:
    """An invoice without a quick pay code is verified by the account number."""
    invoice = make_invoice(quick_pay_code=None)
    assert matches(make_request(code="49418"), invoice=invoice) is True
    assert matches(make_request(), invoice=invoice) is False


@pytest.mark.parametrize("code", ["qp7k2x", " QP 7K2X ", "qp--7k-2x", "494-18", "49 418"])
def test_code_ignores_case_spaces_and_dashes(code: str) -> None:
    """The code is compared ignoring case, spaces and dashes."""
    assert matches(make_request(code=code)) is True


def test_code_of_only_dashes_never_matches_an_empty_code() -> None:
    """A code that normalises to nothing never matches, even an account number of dashes."""
    assert matches(make_request(code="- -"), account=make_account(number="--")) is False


def test_invoice_number_is_trimmed_and_case_insensitive() -> None:
    """The invoice number is compared trimmed and case-insensitively."""
    assert matches(make_request(invoice_number="  inv-1001 ")) is True


def test_name_ignores_case_and_runs_of_whitespace() -> None:
    """The name is compared case-insensitively with whitespace collapsed."""
    assert matches(make_request(contact_name="  john \t DOE ")) is True


def test_email_is_case_insensitive() -> None:
    """The email is compared case-insensitively."""
    assert matches(make_request(email="JOHN.DOE@example.COM")) is True


@pytest.mark.parametrize(
    "overrides",
    [
        {"invoice_number": "INV-1002"},
        {"code": "QP-7K2Y"},
        {"code": "49419"},
        {"contact_name": "Jane Doe"},
        {"contact_name": "Doe, John"},
        {"contact_name": "John"},
        {"email": "jane.doe@example.com"},
    ],
)
def test_a_wrong_form_field_does_not_match(overrides: dict[str, str]) -> None:
    """Any one wrong field (invoice number, code, name, email) means no match."""
    assert matches(make_request(**overrides)) is False


def test_invoice_of_another_account_does_not_match() -> None:
    """An invoice of another account does not verify this account's contact."""
    assert matches(make_request(), invoice=make_invoice(account_id="acc-2")) is False


def test_contact_of_another_account_does_not_match() -> None:
    """A contact of another account is never matched."""
    assert matches(make_request(), contact=make_contact(account_id="acc-2")) is False


def test_contact_without_email_does_not_match() -> None:
    """A contact with no email is never matched."""
    assert matches(make_request(), contact=make_contact(email=None)) is False


def test_void_invoice_does_not_match() -> None:
    """A void invoice verifies nothing."""
    assert matches(make_request(), invoice=make_invoice(status=InvoiceStatus.VOID)) is False


def test_paid_invoice_still_matches() -> None:
    """A paid recent invoice verifies the account like an open one."""
    assert matches(make_request(), invoice=make_invoice(status=InvoiceStatus.PAID)) is True


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [(0, True), (365, True), (366, False), (-1, False)],
    ids=["today", "oldest-allowed", "too-old", "future"],
)
def test_seed_invoice_must_be_recent(days_ago: int, expected: bool) -> None:
    """Seed 001_345994b3bb014aeb.txt: only a recent invoice (default a year, not future)."""
    invoice = make_invoice(issued_on=TODAY - timedelta(days=days_ago))
    assert matches(make_request(), invoice=invoice) is expected


def test_recent_within_is_configurable() -> None:
    """recent_within narrows or widens what counts as recent."""
    invoice = make_invoice(issued_on=TODAY - timedelta(days=40))
    assert matches(make_request(), invoice=invoice, recent_within=timedelta(days=30)) is False
    assert matches(make_request(), invoice=invoice, recent_within=timedelta(days=40)) is True


def test_today_must_be_a_date_not_a_datetime() -> None:
    """A datetime for today raises ValidationError naming 'today'."""
    with pytest.raises(ValidationError) as caught:
        matches(make_request(), today=datetime(2026, 6, 1))
    assert caught.value.field == "today"


@pytest.mark.parametrize("recent_within", [timedelta(days=-1), 30])
def test_recent_within_must_be_a_non_negative_timedelta(recent_within: object) -> None:
    """A negative or non-timedelta recent_within raises ValidationError naming it."""
    with pytest.raises(ValidationError) as caught:
        matches(make_request(), recent_within=recent_within)
    assert caught.value.field == "recent_within"


# -- properties ----------------------------------------------------------------------------------

_WORD = st.text(alphabet=string.ascii_letters, min_size=1, max_size=8)
_CODE = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=4, max_size=10)
_EMAIL = st.builds(
    "{}.{}@{}.com".format, _WORD, _WORD, st.sampled_from(["example", "firm", "mail"])
)


def _code_key(code: str) -> str:
    return "".join(code.casefold().replace("-", "").split())


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


@st.composite
def matching_cases(draw: st.DrawFn) -> dict[str, Any]:
    """Records and a request made from them, in a random but equivalent spelling."""
    number = draw(_CODE)
    quick_pay = draw(_CODE)
    account_number = draw(_CODE)
    first, last = draw(_WORD), draw(_WORD)
    email = draw(_EMAIL)
    days_ago = draw(st.integers(min_value=0, max_value=365))
    account = make_account(number=account_number)
    invoice = make_invoice(
        number=number, quick_pay_code=quick_pay, issued_on=TODAY - timedelta(days=days_ago)
    )
    contact = make_contact(first_name=first, last_name=last, email=EmailAddress.parse(email))
    code = draw(st.sampled_from([quick_pay, account_number]))
    spell = draw(st.sampled_from([str, str.lower, str.swapcase]))
    request = SelfRegistrationRequest.from_form(
        invoice_number=f" {spell(number)} ",
        code="-".join(spell(code)) if draw(st.booleans()) else spell(code),
        contact_name=spell(f"{first}  {last}"),
        email=spell(email),
    )
    return {"request": request, "invoice": invoice, "account": account, "contact": contact}


@settings(max_examples=300)
@given(matching_cases())
def test_request_built_from_matching_records_always_matches(case: dict[str, Any]) -> None:
    """A request typed from the matching records always matches, however it is spelled."""
    assert matches_invoice(today=TODAY, **case) is True


@settings(max_examples=400)
@given(
    case=matching_cases(),
    field=st.sampled_from(["invoice_number", "code", "contact_name", "email"]),
    data=st.data(),
)
def test_changing_any_one_field_never_matches(
    case: dict[str, Any], field: str, data: st.DataObject
) -> None:
    """Changing the invoice number, code, name or email alone never matches."""
    request: SelfRegistrationRequest = case["request"]
    invoice: Invoice = case["invoice"]
    account: Account = case["account"]
    contact: Contact = case["contact"]
    if field == "invoice_number":
        value: Any = data.draw(
            _CODE.filter(lambda text: text.casefold() != invoice.number.casefold())
        )
    elif field == "code":
        taken = {_code_key(invoice.quick_pay_code or ""), _code_key(account.number)}
        value = data.draw(_CODE.filter(lambda text: _code_key(text) not in taken))
    elif field == "contact_name":
        value = data.draw(
            st.builds("{} {}".format, _WORD, _WORD).filter(
                lambda text: _name_key(text) != _name_key(contact.full_name)
            )
        )
    else:
        value = data.draw(
            _EMAIL.map(EmailAddress.parse).filter(lambda address: address != contact.email)
        )
    changed = attrs.evolve(request, **{field: value})
    assert matches_invoice(today=TODAY, **{**case, "request": changed}) is False
