"""Portal invitations: who may invite, who may be invited, and from which email fields.

- Seed 001_345994b3bb014aeb.txt: "The checkbox becomes available after the contact has
  been saved and reopened, and it requires a valid email address to send the
  invitation"; invitations are sent automatically on contact creation when the account
  class says "Auto Send Portal Invitation on Contact Creation", the account is active and
  an email address is entered.
- Seed 002_50038a73eff95302.txt: only "a System Admin with Firm Settings access" invites
  from Settings; from an invoice email "The "To" field is the only field that allows for
  recipients to be Invited to the Client Portal ... The CC and BCC field email recipients
  are not invited to the Client Portal."
- Seed 000_07c53b15302458c1.txt: a kickoff form may "Send Portal Access Invitation
  Immediately".

>>> email = InvoiceEmail.compose("ann@example.com", cc="bob@example.com",
...                              invite_recipients=True)
>>> invoice_email_invitees(email)
(EmailAddress('ann@example.com'),)
"""

from __future__ import annotations

import enum

import attrs

from portal_access._domain.accounts import Account
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import (
    AccessDeniedError,
    ConflictError,
    InvalidEmailError,
    ValidationError,
)
from portal_access._domain.recipients import parse_recipients
from portal_access._domain.validation import identifier, instance_of, non_blank, tuple_of

__all__ = [
    "InvitationSource",
    "InvoiceEmail",
    "StaffMember",
    "StaffPermission",
    "authorize",
    "auto_invite_on_creation",
    "ensure_invitable",
    "invoice_email_invitees",
]


class InvitationSource(enum.Enum):
    """Where an invitation came from."""

    STAFF = "staff"  # staff sent it from the contact or from Settings (seeds 001, 002)
    INVOICE_EMAIL = "invoice_email"  # "Invite recipients to Client Portal" (seed 002)
    CONTACT_CREATED = "contact_created"  # auto-invite on contact creation (seed 001)
    KICKOFF_FORM = "kickoff_form"  # "Send Portal Access Invitation Immediately" (seed 000)
    SELF_REGISTRATION = "self_registration"  # invoice-verified self-registration (seed 001)


class StaffPermission(enum.Enum):
    """What a staff member may do to the portal."""

    INVITE_CONTACTS = "invite_contacts"  # seed 002: "System Admin with Firm Settings access"
    CANCEL_REQUIRED_PAYMENT = "cancel_required_payment"  # seed 000
    MANAGE_OFFERS = "manage_offers"  # seed 000: kickoff forms with paid portal access
    MANAGE_PORTAL_SETTINGS = "manage_portal_settings"  # seed 001: class and system options
    SET_TEMPORARY_PASSWORD = "set_temporary_password"  # noqa: S105 - seed 003
    REFUND_PAYMENTS = "refund_payments"  # a second payment of one invoice, or any other


def _permissions(value: object) -> frozenset[StaffPermission]:
    if isinstance(value, str) or not isinstance(value, frozenset | set | list | tuple):
        raise ValidationError(
            "must be a collection of StaffPermission", field="permissions", value=value
        )
    for item in value:
        if not isinstance(item, StaffPermission):
            raise ValidationError("must be a StaffPermission", field="permissions", value=item)
    return frozenset(value)


@attrs.frozen
class StaffMember:
    """A member of staff acting on the portal, with their permissions.

    Args:
        id: the host's id for the staff member.
        name: shown in logs and audit events.
        permissions: what they may do (a set, list or tuple is turned into a frozenset).

    Raises:
        ValidationError: a blank id or name, or an item that is not a StaffPermission.

    >>> admin = StaffMember(id="s-1", name="Aliena", permissions={StaffPermission.INVITE_CONTACTS})
    >>> admin.require(StaffPermission.INVITE_CONTACTS)
    >>> admin.require(StaffPermission.MANAGE_OFFERS)
    Traceback (most recent call last):
    ...
    portal_access.AccessDeniedError: staff member 's-1' lacks permission manage_offers
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_blank)
    permissions: frozenset[StaffPermission] = attrs.field(
        default=frozenset(), converter=_permissions
    )

    def require(self, permission: StaffPermission) -> None:
        """Do nothing if this staff member holds ``permission``, else raise.

        Raises:
            AccessDeniedError: they do not; the message names the permission.
        """
        if permission not in self.permissions:
            raise AccessDeniedError(f"staff member {self.id!r} lacks permission {permission.value}")


def authorize(staff: object, permission: StaffPermission) -> StaffMember:
    """``staff`` if it is a :class:`StaffMember` holding ``permission``, else raise.

    Raises:
        ValidationError: ``staff`` is not a StaffMember (``field="staff"``).
        AccessDeniedError: it lacks ``permission``.

    >>> authorize(None, StaffPermission.INVITE_CONTACTS)
    Traceback (most recent call last):
    ...
    portal_access.ValidationError: staff: must be a StaffMember
    """
    if not isinstance(staff, StaffMember):
        raise ValidationError("must be a StaffMember", field="staff", value=staff)
    staff.require(permission)
    return staff


def ensure_invitable(contact: Contact, account: Account, *, saved: bool) -> EmailAddress:
    """Check that ``contact`` may be sent a portal invitation now; return where to send it.

    Seed 001: the invitation needs a saved contact and a valid email address, and the
    account class must have the portal enabled.

    Args:
        contact: the contact to invite.
        account: the account the contact is on.
        saved: whether the contact has been saved (a contact being created is not).

    Raises:
        ConflictError: the contact is not saved yet, or the account class has the
            portal disabled.
        ValidationError: the contact is on another account (``field="account_id"``).
        InvalidEmailError: the contact has no email address (``field="email"``).

    >>> from portal_access._domain.accounts import AccountClass
    >>> account = Account(id="a-1", number="49418", name="Gym",
    ...                   account_class=AccountClass(id="k", name="Commercial"))
    >>> ann = Contact(id="c-1", account_id="a-1", first_name="Ann",
    ...               email=EmailAddress.parse("ann@example.com"))
    >>> ensure_invitable(ann, account, saved=True)
    EmailAddress('ann@example.com')
    """
    if not saved:
        raise ConflictError(f"contact {contact.id!r} must be saved before it is invited")
    if contact.account_id != account.id:
        raise ValidationError(
            f"contact {contact.id!r} is not on account {account.id!r}",
            field="account_id",
            value=contact.account_id,
        )
    if contact.email is None:
        raise InvalidEmailError("an invitation needs an email address", field="email")
    if not account.account_class.portal_enabled:
        raise ConflictError(f"account class {account.account_class.id!r} has the portal disabled")
    return contact.email


def auto_invite_on_creation(contact: Contact, account: Account) -> bool:
    """Whether creating ``contact`` sends a portal invitation by itself (seed 001).

    True only when the account class has "Auto Send Portal Invitation on Contact
    Creation" on and the portal enabled, the account is active, and the contact has an
    email address.

    Raises:
        ValidationError: the contact is on another account (``field="account_id"``); a
            mismatch is a bug in the caller, not a "no".

    >>> from portal_access._domain.accounts import AccountClass
    >>> auto = AccountClass(id="k", name="K", auto_invite_on_contact_creation=True)
    >>> account = Account(id="a-1", number="1", name="Gym", account_class=auto)
    >>> ann = Contact(id="c-1", account_id="a-1", first_name="Ann",
    ...               email=EmailAddress.parse("ann@example.com"))
    >>> auto_invite_on_creation(ann, account)
    True
    >>> auto_invite_on_creation(attrs.evolve(ann, email=None), account)
    False
    """
    if contact.account_id != account.id:
        raise ValidationError(
            f"contact {contact.id!r} is not on account {account.id!r}",
            field="account_id",
            value=contact.account_id,
        )
    account_class = account.account_class
    return (
        account_class.auto_invite_on_contact_creation
        and account_class.portal_enabled
        and account.active
        and contact.email is not None
    )


@attrs.frozen
class InvoiceEmail:
    """An invoice email as staff send it, with the "Invite recipients" checkbox (seed 002).

    Args:
        to: the "To" recipients; at least one.
        cc: the "CC" recipients (never invited).
        bcc: the "BCC" recipients (never invited).
        invite_recipients: the "Invite recipients to Client Portal" checkbox.

    Raises:
        ValidationError: no "To" recipient (``field="to"``), or an item that is not an
            :class:`EmailAddress`.
    """

    to: tuple[EmailAddress, ...] = attrs.field(validator=tuple_of(EmailAddress, non_empty=True))
    cc: tuple[EmailAddress, ...] = attrs.field(default=(), validator=tuple_of(EmailAddress))
    bcc: tuple[EmailAddress, ...] = attrs.field(default=(), validator=tuple_of(EmailAddress))
    invite_recipients: bool = attrs.field(default=False, validator=instance_of(bool))

    @classmethod
    def compose(
        cls, to: str, *, cc: str = "", bcc: str = "", invite_recipients: bool = False
    ) -> InvoiceEmail:
        """Build from the text of the three recipient fields (``;`` or ``,`` separated).

        Raises:
            InvalidEmailError: a bad entry; ``field`` is ``"to"``, ``"cc"`` or ``"bcc"``.
            ValidationError: no "To" recipient (``field="to"``).

        >>> InvoiceEmail.compose("a@example.com; A@EXAMPLE.com", bcc="c@example.com").to
        (EmailAddress('a@example.com'),)
        """
        return cls(
            to=parse_recipients(to, field="to"),
            cc=parse_recipients(cc, field="cc"),
            bcc=parse_recipients(bcc, field="bcc"),
            invite_recipients=invite_recipients,
        )


def invoice_email_invitees(email: InvoiceEmail) -> tuple[EmailAddress, ...]:
    """Who an invoice email invites to the portal: its "To" recipients, if asked (seed 002).

    CC and BCC recipients are never invited; an address that is also in "To" is
    invited because it is in "To".

    >>> email = InvoiceEmail.compose("ann@example.com", cc="bob@example.com")
    >>> invoice_email_invitees(email)
    ()
    """
    if not email.invite_recipients:
        return ()
    return email.to
