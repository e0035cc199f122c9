"""The pages' forms: fields only; the library checks the values."""

from __future__ import annotations

from typing import Any

from django import forms

__all__ = [
    "ChangePasswordFields",
    "CommentFields",
    "EmailFields",
    "KickoffFields",
    "LoginFields",
    "PasswordFields",
    "QuickPayFields",
    "RegisterFields",
    "TokenFields",
]


def _text(label: str, *, kind: str = "text", required: bool = True, help_text: str = "") -> Any:
    widgets = {"text": forms.TextInput, "email": forms.EmailInput, "password": forms.PasswordInput}
    return forms.CharField(
        label=label, required=required, help_text=help_text, widget=widgets[kind]()
    )


class KickoffFields(forms.Form):
    """Seed 000's kickoff form."""

    first_name = _text("First name")
    last_name = _text("Last name", required=False)
    email = _text("Email", kind="email", help_text="your portal username")
    company = _text("Company", required=False, help_text="optional")


class PasswordFields(forms.Form):
    """A new password, twice, behind a single-use link."""

    token = forms.CharField(widget=forms.HiddenInput)
    password = _text("Password", kind="password", help_text="at least 10 characters")
    confirm = _text("Repeat the password", kind="password")


class LoginFields(forms.Form):
    """Email and password (seed 003: the email is the username)."""

    next = forms.CharField(widget=forms.HiddenInput, required=False)
    email = _text("Email", kind="email")
    password = _text("Password", kind="password")


class ChangePasswordFields(forms.Form):
    """The current password and a new one."""

    email = _text("Email", kind="email")
    current_password = _text("Current password", kind="password")
    new_password = _text("New password", kind="password", help_text="at least 10 characters")
    confirm = _text("Repeat the new password", kind="password")


class EmailFields(forms.Form):
    """One email address."""

    email = _text("Email", kind="email")


class RegisterFields(forms.Form):
    """Seed 001's invoice-verified self-registration."""

    invoice_number = _text("Invoice number")
    code = _text("Quick pay code or account number")
    contact_name = _text("Contact name")
    email = _text("Email address", kind="email")


class QuickPayFields(forms.Form):
    """Seed 001's Invoice Quick Pay."""

    invoice_number = _text("Invoice number")
    code = _text("Quick pay code")


class TokenFields(forms.Form):
    """A single-use link's token, posted back to consume it."""

    token = forms.CharField(widget=forms.HiddenInput)


class CommentFields(forms.Form):
    """A comment on a document (seed 004); the library checks its length and text."""

    body = forms.CharField(
        label="Add a comment", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
