"""New passwords: length in characters, not blank, not the username, never kept in errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ValidationError
from portal_access._domain.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_new_password,
)

ANN = EmailAddress.parse("ann.lee.smith@example.com")


def refused(password: object, email: EmailAddress | None = None) -> ValidationError:
    """The ValidationError check_new_password raises for ``password``."""
    with pytest.raises(ValidationError) as caught:
        check_new_password(password, email=email)  # type: ignore[arg-type]
    assert caught.type is ValidationError
    assert (caught.value.field, caught.value.value) == ("password", None)
    return caught.value


def test_limits() -> None:
    """Passwords are 10 to 1024 characters."""
    assert (MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH) == (10, 1024)


@pytest.mark.parametrize(
    "password", ["x" * MIN_PASSWORD_LENGTH, "y" * MAX_PASSWORD_LENGTH, "é" * 10, "🔑" * 10]
)
def test_lengths_within_the_limits_are_accepted(password: str) -> None:
    """A password of 10 to 1024 characters is accepted, counting characters not bytes."""
    check_new_password(password)


@pytest.mark.parametrize("password", ["", "Sekrit-123"[:9], "z" * (MAX_PASSWORD_LENGTH + 1)])
def test_lengths_outside_the_limits_are_refused(password: str) -> None:
    """A password shorter than 10 or longer than 1024 characters is refused."""
    refused(password)


@pytest.mark.parametrize("password", [None, 1234567890, b"bytes-password"])
def test_non_string_is_refused(password: object) -> None:
    """A password that is not a str is refused."""
    refused(password)


@pytest.mark.parametrize("password", [" " * 10, "\t \n" * 5, "\u00a0" * 12])
def test_whitespace_only_is_refused(password: str) -> None:
    """A password of only whitespace is refused."""
    refused(password)


@pytest.mark.parametrize(
    "password",
    ["ann.lee.smith@example.com", "ANN.LEE.SMITH@EXAMPLE.COM", " Ann.Lee.Smith@example.com "],
)
def test_seed_email_username_is_not_a_password(password: str) -> None:
    """Seed 003_11ad6fb0c789d951.txt: the email is the username, so not the password."""
    refused(password, ANN)


@pytest.mark.parametrize("password", ["ann.lee.smith", "ANN.LEE.SMITH", "Ann.Lee.Smith "])
def test_email_local_part_is_not_a_password(password: str) -> None:
    """The email's local part, in any case, is not a password."""
    refused(password, ANN)


def test_password_containing_the_email_is_accepted() -> None:
    """A password that merely contains the local part is accepted."""
    check_new_password("ann.lee.smith-and-more", email=ANN)


def test_email_match_only_checked_when_email_given() -> None:
    """Without an email the local part is an ordinary password."""
    check_new_password("ann.lee.smith")


def test_email_must_be_an_email_address() -> None:
    """An email that is not an EmailAddress raises ValidationError naming 'email'."""
    with pytest.raises(ValidationError) as caught:
        check_new_password("long enough password", email="ann@example.com")  # type: ignore[arg-type]
    assert caught.value.field == "email"


def test_error_never_shows_the_password() -> None:
    """The refused password appears neither in the error's value nor in its message."""
    error = refused("Zq9Zq9", ANN)
    assert "Zq9Zq9" not in str(error)
    assert "ann.lee.smith" not in str(refused("ann.lee.smith", ANN))


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_any_text_is_accepted_or_refused_without_keeping_it(password: str) -> None:
    """Any text is accepted or refused with field 'password' and value None."""
    error: ValidationError | None = None
    try:
        check_new_password(password, email=ANN)
    except ValidationError as exc:
        error = exc
    if error is not None:
        assert (error.field, error.value) == ("password", None)
        return
    assert MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
    assert password.strip()
    assert password.strip().casefold() not in {ANN.key, "ann.lee.smith"}


@pytest.mark.parametrize("password", ["correct horse\ud800", "\udfffcorrect horse battery"])
def test_a_lone_surrogate_is_refused_before_anything_hashes_it(password: str) -> None:
    """A password holding a lone surrogate (no encoding takes it) is a ValidationError."""
    assert "surrogate" in refused(password).message
