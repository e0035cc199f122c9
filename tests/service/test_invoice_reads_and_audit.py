"""Invoices and payments a host reads, and staff actions on the audit trail.

Seed 003_11ad6fb0c789d951.txt ("view their invoices and outstanding balances, view
payment history"), seed 004_67d5e53a019b49ae.txt ("a summary of all transactions made
and pending"), seed 000_07c53b15302458c1.txt (staff "cancel required payment"). Each
story runs on the sandbox and on Stripe, on the memory store and on SQLite.
"""

from __future__ import annotations

from typing import Any

import pytest

from portal_access import (
    AccessDeniedError,
    ConflictError,
    InvoicePurpose,
    Money,
    NotFoundError,
)
from portal_access._domain.serialization import unstructure
from tests.service.harness import ADMIN, CLERK
from tests.service.money_world import FIRST_INVOICE, World, world


def _audit(w: World, action: str) -> list[dict[str, Any]]:
    """The stored trail's ``action`` entries, as JSON data; the ``audit.recorded`` events
    the world's subscriber received carry exactly the same entries."""
    stored = [unstructure(entry) for entry in w.portal.audit_trail()]
    assert stored == [m.payload["record"] for m in w.topics("audit.recorded")]
    return [entry for entry in stored if entry["action"] == action]


def test_an_invoice_by_id_or_number_and_a_contacts_invoices(kind, tmp_path):
    """Seed 003_11ad6fb0c789d951.txt: the host reads an invoice by id or number and the contact's invoices."""
    with world(*kind, tmp_path) as w:
        invoice_id = w.portal.check_access(w.contact_id).required_invoice_id
        assert invoice_id is not None
        invoice = w.portal.invoice(invoice_id)
        assert invoice.purpose is InvoicePurpose.REQUIRED_PAYMENT
        assert w.portal.invoice_with_number(f" {invoice.number} ") == invoice
        assert w.portal.contact_invoices(w.contact_id) == (invoice,)
        with pytest.raises(NotFoundError):
            w.portal.invoice("inv-missing")
        with pytest.raises(NotFoundError):
            w.portal.invoice_with_number("999999")
        with pytest.raises(NotFoundError):
            w.portal.contact_invoices("c-missing")


def test_a_contacts_payments_pending_then_settled(kind, tmp_path):
    """Seed 004_67d5e53a019b49ae.txt: a bank payment shows as pending until it clears, then as settled."""
    with world(*kind, tmp_path) as w:
        bank = w.pay(w.open_page(), bank=True)
        w.deliver()
        history = w.portal.contact_payments(w.contact_id)
        assert [r.snapshot.payment_id for r in history.pending] == [bank]
        assert history.settled == ()
        w.settle(bank, cleared=True)
        w.deliver()
        history = w.portal.contact_payments(w.contact_id)
        assert history.pending == ()
        ((record),) = history.settled
        assert (record.snapshot.payment_id, record.snapshot.amount.amount) == (
            bank,
            FIRST_INVOICE,
        )
        assert history.duplicates == ()


def test_cancel_required_payment_is_on_the_audit_trail_with_who_and_why(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: cancel required payment records the staff member, the reason, the invoice, and the access change it made."""
    with world(*kind, tmp_path) as w:
        invoice_id = w.portal.cancel_required_payment(w.contact_id, staff=ADMIN, reason="partner")
        (cancel,) = _audit(w, "cancel_required_payment")
        assert cancel["actor"] == {"kind": "staff", "id": ADMIN.id, "name": ADMIN.name}
        assert (cancel["reason"], cancel["invoice_id"], cancel["contact_id"]) == (
            "partner",
            invoice_id,
            w.contact_id,
        )
        changed = _audit(w, "access_changed")[-1]
        assert changed["actor"]["id"] == ADMIN.id
        assert (changed["reason"], changed["details"]["level"]) == ("payment_waived", "full")


def test_an_access_change_from_a_webhook_names_the_gateway_event(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: the payment that opens the portal is on the audit trail, by the gateway's event."""
    with world(*kind, tmp_path) as w:
        w.pay(w.open_page())
        w.deliver()
        changed = _audit(w, "access_changed")[-1]
        assert changed["actor"]["kind"] == "gateway"
        assert changed["actor"]["id"].startswith(f"{w.gateway}:")
        assert (changed["reason"], changed["details"]["previous_level"]) == (
            "paid",
            "pay_invoice_only",
        )


def test_staff_refund_a_payment_on_the_audit_trail(kind, tmp_path):
    """Seed 003_11ad6fb0c789d951.txt: staff with the refund permission refund a payment through its gateway; who and why are recorded."""
    with world(*kind, tmp_path) as w:
        card = w.pay(w.open_page())
        w.deliver()
        with pytest.raises(AccessDeniedError):
            w.portal.refund_payment(w.gateway, card, staff=CLERK)
        w.portal.refund_payment(
            w.gateway, card, staff=ADMIN, amount=Money(1000, "USD"), reason="goodwill"
        )
        ((_paid, amount),) = w.refunds()
        assert amount == 1000
        (refund,) = _audit(w, "refund_payment")
        assert (refund["actor"]["id"], refund["reason"], refund["payment_id"]) == (
            ADMIN.id,
            "goodwill",
            f"{w.gateway}:{card}",
        )
        with pytest.raises(NotFoundError):
            w.portal.refund_payment(w.gateway, "py_missing", staff=ADMIN)


def test_staff_invitations_and_passwords_are_on_the_audit_trail(tmp_path):
    """Seed 003_11ad6fb0c789d951.txt: temporary passwords, portal instructions and invitations sent by staff are recorded with who did it."""
    with world("sandbox", "memory", tmp_path) as w:
        account_id = w.portal.contact_invoices(w.contact_id)[0].account_id
        w.portal.invite_email_address(account_id, "bob@example.com", staff=ADMIN)
        kickoff, invited = _audit(w, "send_invitation")  # the client's own form, then staff's
        assert (kickoff["actor"]["kind"], kickoff["reason"]) == ("contact", "kickoff_form")
        bob = invited["contact_id"]
        w.portal.set_temporary_password(bob, "Temporary-Pass-42", staff=ADMIN)
        w.portal.send_portal_instructions(bob, staff=ADMIN)
        for action in ("send_invitation", "set_temporary_password", "send_portal_instructions"):
            (record,) = [r for r in _audit(w, action) if r["contact_id"] == bob]
            assert (record["actor"]["id"], record["contact_id"]) == (ADMIN.id, bob), action
        w.pay(w.open_page())
        w.deliver()
        with pytest.raises(ConflictError):  # a paid invoice is refunded, not cancelled
            w.portal.cancel_required_payment(w.contact_id, staff=ADMIN)
        assert _audit(w, "cancel_required_payment") == []  # a refused action records nothing
