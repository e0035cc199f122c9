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
>>> AuditRecord.from_json_line(record.to_json_line()) == record
True

An export is JSON lines (one :meth:`AuditRecord.to_json_line` per line) or CSV
(:data:`AUDIT_CSV_COLUMNS`, :func:`audit_csv_cells`). A CSV cell that a spreadsheet would
run as a formula (one starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) is written with a ``'`` in front:

>>> escape_csv_cell("=1+2"), escape_csv_cell("@SUM(A1)"), escape_csv_cell("partner")
("'=1+2", "'@SUM(A1)", 'partner')
"""

from __future__ import annotations

import enum
import json
from datetime import datetime

import attrs

from portal_access._domain.errors import ValidationError
from portal_access._domain.invitations import StaffMember
from portal_access._domain.serialization import from_json, to_json
from portal_access._domain.validation import (
    aware_datetime,
    ensure_text,
    identifier,
    instance_of,
    optional,
    text,
)

__all__ = [
    "AUDIT_CSV_COLUMNS",
    "Actor",
    "ActorKind",
    "AuditAction",
    "AuditExportFormat",
    "AuditRecord",
    "audit_csv_cells",
    "escape_csv_cell",
]


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
    for item in value.items():
        for part in item:
            ensure_text(part, field="details")
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
    reason: str = attrs.field(default="", validator=text)
    contact_id: str | None = attrs.field(default=None, validator=optional(identifier))
    account_id: str | None = attrs.field(default=None, validator=optional(identifier))
    invoice_id: str | None = attrs.field(default=None, validator=optional(identifier))
    payment_id: str | None = attrs.field(default=None, validator=optional(identifier))
    subscription_id: str | None = attrs.field(default=None, validator=optional(identifier))
    details: dict[str, str] = attrs.field(factory=dict, converter=_details)

    def to_json_line(self) -> str:
        """The entry as one line of JSON (no newline inside): an export's line."""
        return to_json(self)

    @classmethod
    def from_json_line(cls, line: str | bytes) -> AuditRecord:
        """The entry :meth:`to_json_line` wrote.

        Raises:
            ValidationError: the line is not an audit entry.
        """
        try:
            return from_json(line, cls)
        except ValidationError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise ValidationError(f"not an audit entry: {exc}", field="line") from None

    @property
    def subjects(self) -> dict[str, str]:
        """The subject ids that are set, by field name (what a trail is searched by)."""
        names = ("contact_id", "account_id", "invoice_id", "payment_id", "subscription_id")
        return {name: value for name in names if (value := getattr(self, name)) is not None}


class AuditExportFormat(enum.Enum):
    """How :meth:`~portal_access.PortalAccess.export_audit_trail` writes the trail."""

    CSV = "csv"  # AUDIT_CSV_COLUMNS, a header row first; formula-like cells escaped
    JSON_LINES = "jsonl"  # one AuditRecord.to_json_line() per line


#: The columns of a CSV export, in order (``details`` is a JSON object).
AUDIT_CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "action",
    "reason",
    "contact_id",
    "account_id",
    "invoice_id",
    "payment_id",
    "subscription_id",
    "details",
)

#: What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_csv_cell(cell: str) -> str:
    """``cell`` with a ``'`` in front when a spreadsheet would run it as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def audit_csv_cells(record: AuditRecord) -> list[str]:
    """The CSV cells of ``record``, in :data:`AUDIT_CSV_COLUMNS` order, escaped."""
    cells = [
        record.id,
        record.occurred_at.isoformat(),
        record.actor.kind.value,
        record.actor.id,
        record.actor.name,
        record.action.value,
        record.reason,
        record.contact_id or "",
        record.account_id or "",
        record.invoice_id or "",
        record.payment_id or "",
        record.subscription_id or "",
        json.dumps(record.details, ensure_ascii=False, sort_keys=True),
    ]
    return [escape_csv_cell(cell) for cell in cells]


# Resolve the annotations now, against this module's own classes: the converter then
# never looks them up by module name again (a second import of this file, as a doctest
# runner does, would hand it another module's classes).
attrs.resolve_types(Actor)
attrs.resolve_types(AuditRecord)
