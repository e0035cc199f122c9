"""Seed 002_50038a73eff95302.txt: "If you have an Email contained in both the Client level
and at the Project/Matter level in the "Email" field, the Project/Matter level will
override the Client "Email"."

The invoice email use case takes the matter's address; the rule itself is public
(``portal_access.invoice_email_addresses``). Each story runs on the sandbox's and on
Stripe's required invoice, on the memory store and on SQLite.
"""

from __future__ import annotations

import pytest

import portal_access
from portal_access import EmailAddress, InvoiceEmail, ValidationError
from tests.service.harness import ADMIN
from tests.service.money_world import World, world


def _invoice_mail(w: World, address: str) -> list[str]:
    return [m.subject for m in w.harness.mailer.to(address) if m.subject.startswith("Invoice ")]


def test_the_matter_email_overrides_the_client_email(kind, tmp_path):
    """Seed 002_50038a73eff95302.txt: the project/matter Email (several, semicolon-separated) is the "To", not the client's; its recipients are invited."""
    with world(*kind, tmp_path) as w:
        invoice_id = w.portal.check_access(w.contact_id).required_invoice_id
        assert invoice_id is not None
        invited = w.portal.send_invoice_email(
            invoice_id,
            staff=ADMIN,
            matter_email="Matter Desk <matter@example.com>; pm@example.com",
            invite_recipients=True,
        )
        assert len(invited) == 2
        assert _invoice_mail(w, "matter@example.com")
        assert _invoice_mail(w, "pm@example.com")
        assert _invoice_mail(w, "ann@example.com") == []  # the client's email is overridden
        for address in ("matter@example.com", "pm@example.com"):
            assert w.harness.link(address, "/portal/invitation")


def test_without_a_matter_email_the_client_email_is_the_to(kind, tmp_path):
    """Seed 002_50038a73eff95302.txt: a blank matter Email falls back to the client's (the invoice contact's)."""
    with world(*kind, tmp_path) as w:
        invoice_id = w.portal.check_access(w.contact_id).required_invoice_id
        assert invoice_id is not None
        assert w.portal.send_invoice_email(invoice_id, staff=ADMIN, matter_email=" ; ") == ()
        assert len(_invoice_mail(w, "ann@example.com")) == 1


def test_an_edited_email_and_a_matter_email_together_are_refused(kind, tmp_path):
    """Seed 002_50038a73eff95302.txt: the staff-edited To is used as typed; giving a matter email as well is an error, never silently ignored."""
    with world(*kind, tmp_path) as w:
        invoice_id = w.portal.check_access(w.contact_id).required_invoice_id
        assert invoice_id is not None
        edited = InvoiceEmail.compose("other@example.com")
        with pytest.raises(ValidationError) as caught:
            w.portal.send_invoice_email(
                invoice_id, edited, staff=ADMIN, matter_email="matter@example.com"
            )
        assert caught.value.field == "matter_email"
        assert w.harness.mailer.to("other@example.com") == []


def test_the_rule_is_public():
    """Seed 002_50038a73eff95302.txt: the override rule is exported from portal_access."""
    rule = portal_access.invoice_email_addresses
    assert rule("client@example.com", "a@example.com;b@example.com") == (
        EmailAddress.parse("a@example.com"),
        EmailAddress.parse("b@example.com"),
    )
    assert rule("client@example.com", "") == (EmailAddress.parse("client@example.com"),)
    assert "invoice_email_addresses" in portal_access.__all__
