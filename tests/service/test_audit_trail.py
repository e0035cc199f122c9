"""The audit trail kept by the store: every staff action and access change, with who,
what, when and why, readable and exportable through ``PortalAccess``.

Seed 000_07c53b15302458c1.txt (staff "cancel required payment"; access follows the
payment), seed 003_11ad6fb0c789d951.txt (temporary passwords, portal instructions,
refunds), seed 002_50038a73eff95302.txt (invitations sent from settings). Each story runs
on the sandbox and on Stripe, on the memory store and on SQLite (the ``kind`` fixture).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import attrs
import pytest

from portal_access import (
    AUDIT_CSV_COLUMNS,
    AccessDeniedError,
    ActorKind,
    AuditAction,
    AuditExportFormat,
    AuditRecord,
    ConflictError,
    Money,
    NotFoundError,
    ValidationError,
)
from portal_access._portal import PortalAccess
from portal_access.adapters import SequentialIds
from tests.service.harness import ADMIN, CLERK, PASSWORD
from tests.service.money_world import World, world

#: Reasons a member of staff could type that a spreadsheet would run, or that break rows.
HOSTILE = (
    '=HYPERLINK("https://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\tindented",
    "\rreturned",
    'a "quoted", comma\nand a second line',
    "partner, since 2019",
)


def _new(w: World, before: tuple[AuditRecord, ...]) -> list[AuditRecord]:
    """The entries the trail gained since ``before`` (which must still be its start)."""
    after = w.portal.audit_trail()
    assert after[: len(before)] == before
    return list(after[len(before) :])


def test_the_trail_is_kept_without_any_subscriber(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: who cancelled a required payment is on record even
    when nothing in the process subscribed to events (it used to be an outbox event only)."""
    with world(*kind, tmp_path) as w:
        h = w.harness
        bare = PortalAccess(store=h.store, gateways=[h.gateway], clock=h.clock, development=True,
                            ids=SequentialIds("bare"))  # fmt: skip
        h.advance(minutes=5)
        invoice_id = bare.cancel_required_payment(w.contact_id, staff=ADMIN, reason="partner")
        cancel, changed = bare.audit_trail(contact_id=w.contact_id)[-2:]
        assert (cancel.action, cancel.actor.kind, cancel.actor.id, cancel.actor.name) == (
            AuditAction.CANCEL_REQUIRED_PAYMENT,
            ActorKind.STAFF,
            ADMIN.id,
            ADMIN.name,
        )
        assert (cancel.reason, cancel.invoice_id, cancel.occurred_at) == (
            "partner",
            invoice_id,
            h.clock.now(),
        )
        assert changed.action is AuditAction.ACCESS_CHANGED
        assert (changed.actor.id, changed.reason, changed.details["level"]) == (
            ADMIN.id,
            "payment_waived",
            "full",
        )


def test_each_staff_action_leaves_exactly_one_entry(kind, tmp_path):
    """Seeds 002_50038a73eff95302.txt and 003_11ad6fb0c789d951.txt: an invitation, a
    temporary password, portal instructions and a refund each add one entry naming the
    staff member, the action, the time and the subjects."""
    with world(*kind, tmp_path) as w:
        account_id = w.portal.contact_invoices(w.contact_id)[0].account_id
        steps = [
            (AuditAction.SEND_INVITATION,
             lambda: w.portal.invite_email_address(account_id, "bob@example.com", staff=ADMIN)),
        ]  # fmt: skip
        before = w.portal.audit_trail()
        w.harness.advance(minutes=1)
        bob = steps[0][1]()
        (invited,) = _new(w, before)
        assert (invited.action, invited.actor.id, invited.contact_id, invited.account_id) == (
            AuditAction.SEND_INVITATION,
            ADMIN.id,
            bob,
            account_id,
        )
        assert invited.occurred_at == w.harness.clock.now()
        for action, call in [
            (AuditAction.SET_TEMPORARY_PASSWORD,
             lambda: w.portal.set_temporary_password(bob, "Temporary-Pass-42", staff=ADMIN)),
            (AuditAction.SEND_PORTAL_INSTRUCTIONS,
             lambda: w.portal.send_portal_instructions(bob, staff=ADMIN)),
        ]:  # fmt: skip
            before = w.portal.audit_trail()
            w.harness.advance(minutes=1)
            call()
            (entry,) = _new(w, before)
            assert (entry.action, entry.actor.kind, entry.actor.id, entry.contact_id) == (
                action,
                ActorKind.STAFF,
                ADMIN.id,
                bob,
            )
            assert entry.occurred_at == w.harness.clock.now()
        card = w.pay(w.open_page())
        w.deliver()
        before = w.portal.audit_trail()
        w.portal.refund_payment(w.gateway, card, staff=ADMIN, reason="goodwill")
        (refund,) = _new(w, before)
        assert (refund.action, refund.actor.id, refund.reason, refund.payment_id) == (
            AuditAction.REFUND_PAYMENT,
            ADMIN.id,
            "goodwill",
            f"{w.gateway}:{card}",
        )


def test_a_refused_staff_action_leaves_no_entry(kind, tmp_path):
    """A call that fails (no permission, a bad reason, a missing payment, a paid invoice
    to cancel) changes nothing and puts nothing on the trail."""
    with world(*kind, tmp_path) as w:
        card = w.pay(w.open_page())
        w.deliver()
        before = w.portal.audit_trail()
        with pytest.raises(AccessDeniedError):
            w.portal.cancel_required_payment(w.contact_id, staff=CLERK, reason="x")
        with pytest.raises(ConflictError):  # paid: refund it instead
            w.portal.cancel_required_payment(w.contact_id, staff=ADMIN, reason="x")
        with pytest.raises(AccessDeniedError):
            w.portal.refund_payment(w.gateway, card, staff=CLERK)
        with pytest.raises(ValidationError):  # refused before the money moves
            w.portal.refund_payment(w.gateway, card, staff=ADMIN, reason="bad\x00reason")
        with pytest.raises(ValidationError):
            w.portal.refund_payment(w.gateway, card, staff=ADMIN, amount=Money(0, "USD"))
        with pytest.raises(NotFoundError):
            w.portal.refund_payment(w.gateway, "py_missing", staff=ADMIN)
        with pytest.raises(AccessDeniedError):
            w.portal.set_temporary_password(w.contact_id, "Temporary-Pass-42", staff=CLERK)
        with pytest.raises(NotFoundError):
            w.portal.send_portal_instructions("c-missing", staff=ADMIN)
        assert w.portal.audit_trail() == before
        assert w.refunds() == []


def test_the_contact_and_the_gateway_are_named_for_their_own_changes(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: registering (the contact) and paying (the gateway's
    event) move access; each entry names who moved it."""
    with world(*kind, tmp_path) as w:
        trail = w.portal.audit_trail(contact_id=w.contact_id)
        registered = [e for e in trail if e.details.get("previous_level") == "none"]
        assert [(e.actor.kind, e.actor.id) for e in registered] == [
            (ActorKind.CONTACT, w.contact_id)
        ]
        w.pay(w.open_page())
        w.deliver()
        paid = w.portal.audit_trail(contact_id=w.contact_id, newest_first=True, limit=1)
        (entry,) = paid
        assert entry.actor.kind is ActorKind.GATEWAY
        assert entry.actor.id.startswith(f"{w.gateway}:")
        assert (entry.reason, entry.details["level"]) == ("paid", "full")


def test_reads_by_window_and_subject(kind, tmp_path):
    """The public read filters by contact, account and time window, oldest first or newest
    first, with a limit."""
    with world(*kind, tmp_path) as w:
        start = w.harness.clock.now()
        w.harness.advance(hours=1)
        w.portal.cancel_required_payment(w.contact_id, staff=ADMIN, reason="partner")
        account_id = w.portal.contact_invoices(w.contact_id)[0].account_id
        recent = w.portal.audit_trail(account_id=account_id, since=start + timedelta(hours=1))
        assert [e.action for e in recent] == [
            AuditAction.CANCEL_REQUIRED_PAYMENT,
            AuditAction.ACCESS_CHANGED,
        ]
        older = w.portal.audit_trail(contact_id=w.contact_id, until=start + timedelta(hours=1))
        assert older
        assert all(e.occurred_at <= start for e in older)
        newest = w.portal.audit_trail(newest_first=True, limit=2)
        assert newest == tuple(reversed(recent))
        with pytest.raises(ValidationError):
            w.portal.audit_trail(since=start.replace(tzinfo=None))


def test_export_round_trips_as_json_lines_and_csv(kind, tmp_path):
    """Both exports hold every entry of the read, oldest first: JSON lines read back equal;
    CSV reads back cell for cell (escaped cells with their ``'``), hostile reasons too."""
    with world(*kind, tmp_path) as w:
        for reason in HOSTILE:
            w.portal.cancel_required_payment(w.contact_id, staff=ADMIN, reason=reason)
        w.portal.invite_email_address(
            w.portal.contact_invoices(w.contact_id)[0].account_id,
            "bob@example.com",
            staff=ADMIN,
        )
        trail = w.portal.audit_trail()
        lines = io.StringIO()
        assert w.portal.export_audit_trail(lines) == len(trail)
        text = lines.getvalue()
        assert text.count("\n") == len(trail)  # one line each: newlines inside are escaped
        assert tuple(AuditRecord.from_json_line(line) for line in text.splitlines()) == trail

        sheet = io.StringIO(newline="")
        assert w.portal.export_audit_trail(sheet, format="csv") == len(trail)
        rows = list(csv.reader(io.StringIO(sheet.getvalue(), newline="")))
        assert tuple(rows[0]) == AUDIT_CSV_COLUMNS
        assert len(rows) == len(trail) + 1
        for row, entry in zip(rows[1:], trail, strict=True):
            cells = dict(zip(AUDIT_CSV_COLUMNS, row, strict=True))
            assert cells["id"] == entry.id
            assert cells["action"] == entry.action.value
            assert cells["actor_id"] == entry.actor.id
            assert cells["occurred_at"] == entry.occurred_at.isoformat()
            reason = cells["reason"]
            if entry.reason[:1] in ("=", "+", "-", "@", "\t", "\r"):
                assert reason == "'" + entry.reason  # a spreadsheet shows it as text
            else:
                assert reason == entry.reason
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_export_of_a_slice_and_bad_formats(tmp_path):
    """An export takes the read's filters; an unknown format is a ValidationError and
    writes nothing."""
    with world("sandbox", "memory", tmp_path) as w:
        w.portal.cancel_required_payment(w.contact_id, staff=ADMIN, reason="partner")
        out = io.StringIO()
        count = w.portal.export_audit_trail(
            out, format=AuditExportFormat.JSON_LINES, contact_id="c-nobody"
        )
        assert (count, out.getvalue()) == (0, "")
        for wrong in ("xlsx", None, 3):
            with pytest.raises(ValidationError):
                w.portal.export_audit_trail(out, format=wrong)  # type: ignore[arg-type]
        assert out.getvalue() == ""
        with pytest.raises(ValidationError, match="out"):
            w.portal.export_audit_trail(object())  # type: ignore[arg-type]


def test_no_password_or_link_reaches_the_trail(tmp_path):
    """Seed 003_11ad6fb0c789d951.txt: a temporary password and the set-password link are
    recorded as actions, never as text."""
    with world("sandbox", "sqlite", tmp_path) as w:
        w.portal.set_temporary_password(w.contact_id, "Temporary-Pass-42", staff=ADMIN)
        w.portal.send_portal_instructions(w.contact_id, staff=ADMIN)
        out = io.StringIO()
        w.portal.export_audit_trail(out)
        token = w.harness.link("ann@example.com", "/portal/set-password")
        for secret in ("Temporary-Pass-42", PASSWORD, token):
            assert secret not in out.getvalue()


def test_staff_screens_name_who_changed_a_contacts_access(kind, tmp_path):
    """Seed 001_345994b3bb014aeb.txt: staff turning a contact's portal user off is an
    access change on the trail by that staff member; a call that names no one is put
    down to the library, and a staff value that is not a StaffMember is refused."""
    with world(*kind, tmp_path) as w:
        contact = w.portal.contact(w.contact_id)
        off = attrs.evolve(contact, portal=attrs.evolve(contact.portal, enabled=False))
        before = w.portal.audit_trail()
        with pytest.raises(ValidationError):
            w.portal.update_contact(off, staff="Admin")  # type: ignore[arg-type]
        assert w.portal.audit_trail() == before
        w.portal.update_contact(off, staff=ADMIN)
        (changed,) = _new(w, before)
        assert (changed.action, changed.actor.kind, changed.actor.id) == (
            AuditAction.ACCESS_CHANGED,
            ActorKind.STAFF,
            ADMIN.id,
        )
        assert changed.details["level"] == "none"
        before = w.portal.audit_trail()
        w.portal.update_contact(contact)
        (back,) = _new(w, before)
        assert (back.actor.kind, back.details["previous_level"]) == (ActorKind.SYSTEM, "none")
