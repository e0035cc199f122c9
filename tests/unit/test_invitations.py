"""Invitations: staff permissions, who may be invited, auto-invite and invoice emails."""

from __future__ import annotations

import string
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_access._domain.accounts import Account, AccountClass
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import (
    AccessDeniedError,
    ConflictError,
    InvalidEmailError,
    ValidationError,
)
from portal_access._domain.invitations import (
    InvitationSource,
    InvoiceEmail,
    StaffMember,
    StaffPermission,
    auto_invite_on_creation,
    ensure_invitable,
    invoice_email_invitees,
)


def make_class(**overrides: Any) -> AccountClass:
    """An account class with the portal enabled (local factory)."""
    return AccountClass(**{"id": "class-1", "name": "Commercial", **overrides})


def make_account(**overrides: Any) -> Account:
    """An active account of :func:`make_class` (local factory)."""
    fields: dict[str, Any] = {
        "id": "acc-1",
        "number": "49418",
        "name": "Renovation Gym",
        "account_class": make_class(),
    }
    return Account(**{**fields, **overrides})


def make_contact(**overrides: Any) -> Contact:
    """A contact on :func:`make_account` with an email address (local factory)."""
    fields: dict[str, Any] = {
        "id": "c-1",
        "account_id": "acc-1",
        "first_name": "John",
        "last_name": "Doe",
        "email": EmailAddress.parse("somers378@example.com"),
    }
    return Contact(**{**fields, **overrides})


def emails(*texts: str) -> tuple[EmailAddress, ...]:
    """Parsed addresses (local factory)."""
    return tuple(EmailAddress.parse(text) for text in texts)


# -- sources and staff -------------------------------------------------------------------


def test_invitation_sources_have_lowercase_string_values() -> None:
    """Every invitation source has its lowercase name as value."""
    assert {source.value for source in InvitationSource} == {
        "staff",
        "invoice_email",
        "contact_created",
        "kickoff_form",
        "self_registration",
    }


def test_staff_permissions_have_lowercase_string_values() -> None:
    """Every staff permission has its lowercase name as value."""
    for permission in StaffPermission:
        assert permission.value == permission.name.lower()
    assert len(StaffPermission) == 6


def test_seed_staff_with_permission_may_invite() -> None:
    """Seed 002_50038a73eff95302.txt: staff with Firm Settings access may invite."""
    admin = StaffMember(id="s-1", name="Aliena", permissions={StaffPermission.INVITE_CONTACTS})
    admin.require(StaffPermission.INVITE_CONTACTS)


def test_seed_staff_without_permission_may_not_invite() -> None:
    """Seed 002_50038a73eff95302.txt: staff without the permission get AccessDeniedError."""
    clerk = StaffMember(id="s-2", name="Clerk", permissions=[StaffPermission.MANAGE_OFFERS])
    with pytest.raises(AccessDeniedError) as caught:
        clerk.require(StaffPermission.INVITE_CONTACTS)
    assert caught.type is AccessDeniedError
    assert "invite_contacts" in str(caught.value)
    assert isinstance(caught.value, PermissionError)


def test_staff_permissions_become_a_frozenset() -> None:
    """Permissions given as a list, set or tuple are kept as a frozenset."""
    staff = StaffMember(id="s-1", name="A", permissions=(StaffPermission.MANAGE_OFFERS,) * 2)
    assert staff.permissions == frozenset({StaffPermission.MANAGE_OFFERS})
    assert StaffMember(id="s-1", name="A").permissions == frozenset()


@pytest.mark.parametrize("permissions", ["invite_contacts", ["invite_contacts"], 3])
def test_staff_permissions_must_be_staff_permissions(permissions: object) -> None:
    """Strings or other non-permissions raise ValidationError naming 'permissions'."""
    with pytest.raises(ValidationError) as caught:
        StaffMember(id="s-1", name="A", permissions=permissions)
    assert caught.value.field == "permissions"


@pytest.mark.parametrize(("field", "value"), [("id", " "), ("name", "")])
def test_staff_member_needs_id_and_name(field: str, value: str) -> None:
    """A blank id or name raises ValidationError naming it."""
    with pytest.raises(ValidationError) as caught:
        StaffMember(**{"id": "s-1", "name": "A", field: value})
    assert caught.value.field == field


# -- ensure_invitable --------------------------------------------------------------------


def test_seed_saved_contact_with_email_is_invitable() -> None:
    """Seed 001_345994b3bb014aeb.txt: a saved contact with a valid email may be invited."""
    assert ensure_invitable(make_contact(), make_account(), saved=True) == EmailAddress.parse(
        "somers378@example.com"
    )


def test_seed_unsaved_contact_is_a_conflict() -> None:
    """Seed 001_345994b3bb014aeb.txt: the invite is available only after the contact is saved."""
    with pytest.raises(ConflictError) as caught:
        ensure_invitable(make_contact(email=None), make_account(), saved=False)
    assert caught.type is ConflictError


def test_contact_on_another_account_names_account_id() -> None:
    """A contact of another account raises ValidationError naming 'account_id'."""
    with pytest.raises(ValidationError) as caught:
        ensure_invitable(make_contact(account_id="acc-2"), make_account(), saved=True)
    assert caught.type is ValidationError
    assert (caught.value.field, caught.value.value) == ("account_id", "acc-2")


def test_seed_contact_without_email_is_invalid_email() -> None:
    """Seed 001_345994b3bb014aeb.txt: an invitation requires an email address."""
    with pytest.raises(InvalidEmailError) as caught:
        ensure_invitable(make_contact(email=None), make_account(), saved=True)
    assert caught.value.field == "email"


def test_account_class_with_portal_disabled_is_a_conflict() -> None:
    """Seed 001_345994b3bb014aeb.txt: no invitation when the class has the portal disabled."""
    account = make_account(account_class=make_class(portal_enabled=False))
    with pytest.raises(ConflictError) as caught:
        ensure_invitable(make_contact(), account, saved=True)
    assert caught.type is ConflictError


def test_inactive_account_may_still_be_invited_by_staff() -> None:
    """Only auto-invite needs an active account; staff may invite contacts of inactive ones."""
    assert ensure_invitable(make_contact(), make_account(active=False), saved=True)


# -- auto_invite_on_creation -------------------------------------------------------------


def test_seed_auto_invite_when_class_says_so_account_active_and_email_given() -> None:
    """Seed 001_345994b3bb014aeb.txt: auto-invite on creation with class on, active, email."""
    account = make_account(account_class=make_class(auto_invite_on_contact_creation=True))
    assert auto_invite_on_creation(make_contact(), account) is True


@pytest.mark.parametrize(
    ("class_overrides", "account_overrides", "contact_overrides"),
    [
        ({"auto_invite_on_contact_creation": False}, {}, {}),
        ({"portal_enabled": False}, {}, {}),
        ({}, {"active": False}, {}),
        ({}, {}, {"email": None}),
    ],
    ids=["class-off", "portal-disabled", "inactive-account", "no-email"],
)
def test_seed_no_auto_invite_when_any_condition_fails(
    class_overrides: dict[str, Any],
    account_overrides: dict[str, Any],
    contact_overrides: dict[str, Any],
) -> None:
    """Seed 001_345994b3bb014aeb.txt: no auto-invite unless every condition holds."""
    account_class = make_class(**{"auto_invite_on_contact_creation": True, **class_overrides})
    account = make_account(account_class=account_class, **account_overrides)
    assert auto_invite_on_creation(make_contact(**contact_overrides), account) is False


def test_auto_invite_for_contact_of_another_account_is_an_error() -> None:
    """A contact of another account raises ValidationError naming 'account_id'."""
    account = make_account(account_class=make_class(auto_invite_on_contact_creation=True))
    with pytest.raises(ValidationError) as caught:
        auto_invite_on_creation(make_contact(account_id="acc-9"), account)
    assert caught.value.field == "account_id"


# -- invoice emails ------------------------------------------------------------------------


def test_compose_parses_each_recipient_field() -> None:
    """compose splits, validates and deduplicates To, CC and BCC."""
    email = InvoiceEmail.compose(
        "a@example.com; A@example.com, b@example.com",
        cc="Carl <c@example.com>",
        bcc="d@example.com;",
        invite_recipients=True,
    )
    assert email.to == emails("a@example.com", "b@example.com")
    assert email.cc == emails("c@example.com")
    assert email.bcc == emails("d@example.com")
    assert email.invite_recipients is True


@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
def test_compose_names_the_field_of_a_bad_entry(field: str) -> None:
    """A bad entry in To, CC or BCC raises InvalidEmailError naming that field."""
    texts = {"to": "a@example.com", "cc": "", "bcc": "", field: "a@example.com; oops"}
    with pytest.raises(InvalidEmailError) as caught:
        InvoiceEmail.compose(texts["to"], cc=texts["cc"], bcc=texts["bcc"])
    assert (caught.value.field, caught.value.value) == (field, "oops")


@pytest.mark.parametrize("to", ["", "  ", " ; , "])
def test_email_without_to_recipient_is_invalid(to: str) -> None:
    """An invoice email with no "To" recipient raises ValidationError naming 'to'."""
    with pytest.raises(ValidationError) as caught:
        InvoiceEmail.compose(to, cc="c@example.com")
    assert caught.type is ValidationError
    assert caught.value.field == "to"


@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
def test_recipient_fields_must_be_tuples_of_addresses(field: str) -> None:
    """A list or a non-address item in a recipient field raises ValidationError naming it."""
    fields: dict[str, Any] = {"to": emails("a@example.com"), "cc": (), "bcc": ()}
    for bad in ([*emails("b@example.com")], ("b@example.com",)):
        with pytest.raises(ValidationError) as caught:
            InvoiceEmail(**{**fields, field: bad})
        assert caught.value.field == field


def test_invite_recipients_must_be_a_bool() -> None:
    """A non-bool checkbox value raises ValidationError naming 'invite_recipients'."""
    with pytest.raises(ValidationError) as caught:
        InvoiceEmail(to=emails("a@example.com"), invite_recipients="yes")  # type: ignore[arg-type]
    assert caught.value.field == "invite_recipients"


def test_seed_to_recipients_are_invited_when_checked() -> None:
    """Seed 002_50038a73eff95302.txt: "To" recipients are invited when the box is checked."""
    email = InvoiceEmail.compose("a@example.com; b@example.com", invite_recipients=True)
    assert invoice_email_invitees(email) == emails("a@example.com", "b@example.com")


def test_seed_nobody_is_invited_when_unchecked() -> None:
    """Seed 002_50038a73eff95302.txt: without the checkbox no recipient is invited."""
    email = InvoiceEmail.compose("a@example.com", cc="c@example.com")
    assert invoice_email_invitees(email) == ()


def test_seed_cc_and_bcc_recipients_are_never_invited() -> None:
    """Seed 002_50038a73eff95302.txt: CC and BCC recipients are never invited."""
    email = InvoiceEmail.compose(
        "a@example.com", cc="c@example.com", bcc="d@example.com", invite_recipients=True
    )
    assert invoice_email_invitees(email) == emails("a@example.com")


def test_seed_address_in_to_and_cc_is_invited_because_of_to() -> None:
    """Seed 002_50038a73eff95302.txt: an address in both To and CC is invited (it is in To)."""
    email = InvoiceEmail.compose("a@example.com", cc="A@EXAMPLE.com", invite_recipients=True)
    assert invoice_email_invitees(email) == emails("a@example.com")


_ADDRESS = st.builds(
    "{}@{}.com".format,
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=4),
    st.sampled_from(["example", "firm", "client"]),
)


@settings(max_examples=300)
@given(
    to=st.lists(_ADDRESS, min_size=1, max_size=4),
    cc=st.lists(_ADDRESS, max_size=4),
    bcc=st.lists(_ADDRESS, max_size=4),
    invite=st.booleans(),
)
def test_seed_invitees_are_exactly_the_to_recipients_when_checked(
    to: list[str], cc: list[str], bcc: list[str], invite: bool
) -> None:
    """Seed 002_50038a73eff95302.txt: invitees are To when checked, else none; never CC-only."""
    email = InvoiceEmail.compose(
        "; ".join(to), cc=", ".join(cc), bcc=";".join(bcc), invite_recipients=invite
    )
    invitees = invoice_email_invitees(email)
    assert invitees == (email.to if invite else ())
    only_copied = (set(email.cc) | set(email.bcc)) - set(email.to)
    assert not only_copied & set(invitees)


def test_invoice_email_is_frozen() -> None:
    """An invoice email is an immutable value."""
    email = InvoiceEmail.compose("a@example.com")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        email.invite_recipients = True  # type: ignore[misc]
