"""The audit trail's record: who did what to whom, when, and why.

Every staff action (cancel required payment, temporary password, invitations, portal
instructions, refunds) and every change of a contact's access is one
:class:`AuditRecord`. The service builds it in the unit of work of the change itself,
so a record exists exactly when the change committed.

>>> from datetime import UTC, datetime
>>> from portal_access._domain.invitations import StaffMember
>>> record = AuditRecord(id="au_1", occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
...     actor=Actor.staff(StaffMember(id="s-1", name="Aliena")),
...     action=AuditAction.CANCEL_REQUIRED_PAYMENT, reason="client is a partner",
...     contact_id="c-1", invoice_id="inv-1")
>>> record.actor.kind.value, record.action.value, record.subjects
('staff', 'cancel_required_payment', {'contact_id': 'c-1', 'invoice_id': 'inv-1'})
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from portal_access._domain.errors import ValidationError
from portal_access._domain.invitations import StaffMember
from portal_access._domain.validation import (
    aware_datetime,
    identifier,
    instance_of,
    optional,
)

__all__ = ["Actor", "ActorKind", "AuditAction", "AuditRecord"]


class ActorKind(enum.Enum):
    """Who acted."""

    STAFF = "staff"  # a member of staff, through the host's staff screens
    CONTACT = "contact"  # the contact, in the portal
    GATEWAY = "gateway"  # a verified gateway event (webhook or reconcile)
    SYSTEM = "system"  # the library on its own (a policy, e.g. refunding a duplicate)


class AuditAction(enum.Enum):
    """What was done."""

    CANCEL_REQUIRED_PAYMENT = "cancel_required_payment"  # seed 000
    SET_TEMPORARY_PASSWORD = "set_temporary_password"  # noqa: S105 - seed 003
    SEND_INVITATION = "send_invitation"  # seeds 001, 002
    SEND_PORTAL_INSTRUCTIONS = "send_portal_instructions"  # seed 003
    REFUND_PAYMENT = "refund_payment"  # staff, or the refund_duplicates policy
    CANCEL_SUBSCRIPTION = "cancel_subscription"  # a duplicate subscription
    ACCESS_CHANGED = "access_changed"  # the access decision's level or reason moved
    MAP_LEDGER_ACCOUNT = "map_ledger_account"  # seed 004: payment methods to bank accounts


@attrs.frozen
class Actor:
    """Who acted: a kind and an id (``name`` for people, for display).

    Use :meth:`staff`, :meth:`contact`, :meth:`gateway` or :meth:`system`.
    """

    kind: ActorKind = attrs.field(validator=instance_of(ActorKind))
    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(default="", validator=instance_of(str))

    @classmethod
    def staff(cls, member: StaffMember) -> Actor:
        """A member of staff."""
        return cls(ActorKind.STAFF, member.id, member.name)

    @classmethod
    def contact(cls, contact_id: str) -> Actor:
        """A contact acting in the portal."""
        return cls(ActorKind.CONTACT, contact_id)

    @classmethod
    def gateway(cls, gateway: str, event_id: str) -> Actor:
        """A verified gateway event: ``"<gateway>:<event id>"``."""
        return cls(ActorKind.GATEWAY, f"{gateway}:{event_id}")

    @classmethod
    def system(cls) -> Actor:
        """The library itself, following the host's policy."""
        return cls(ActorKind.SYSTEM, "portal-access")


def _details(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError("must be a dict of strings", field="details", value=value)
    return dict(value)


@attrs.frozen
class AuditRecord:
    """One entry of the audit trail.

    Args:
        id: the record's id.
        occurred_at: when the unit of work that made the change ran (the clock's now).
        actor: who acted.
        action: what was done.
        reason: why: the staff member's words, or the rule that decided (an access
            reason's value, a policy's name).
        contact_id: the contact concerned, if any.
        account_id: the account concerned, if any.
        invoice_id: the invoice concerned, if any.
        payment_id: the payment concerned (``"<gateway>:<vendor id>"``), if any.
        subscription_id: the subscription concerned (``"<gateway>:<vendor id>"``), if any.
        details: what else a reader needs (e.g. ``previous_level`` and ``level``).
    """

    id: str = attrs.field(validator=identifier)
    occurred_at: datetime = attrs.field(validator=aware_datetime)
    actor: Actor = attrs.field(validator=instance_of(Actor))
    action: AuditAction = attrs.field(validator=instance_of(AuditAction))
    reason: str = attrs.field(default="", validator=instance_of(str))
    contact_id: str | None = attrs.field(default=None, validator=optional(identifier))
    account_id: str | None = attrs.field(default=None, validator=optional(identifier))
    invoice_id: str | None = attrs.field(default=None, validator=optional(identifier))
    payment_id: str | None = attrs.field(default=None, validator=optional(identifier))
    subscription_id: str | None = attrs.field(default=None, validator=optional(identifier))
    details: dict[str, str] = attrs.field(factory=dict, converter=_details)

    @property
    def subjects(self) -> dict[str, str]:
        """The subject ids that are set, by field name (what a trail is searched by)."""
        names = ("contact_id", "account_id", "invoice_id", "payment_id", "subscription_id")
        return {name: value for name in names if (value := getattr(self, name)) is not None}
