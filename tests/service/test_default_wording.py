"""The default emails read well with a business name and without one (issue #13, item
8): never "Customer portal invites you to your customer portal"."""

from __future__ import annotations

import re

import attrs
import pytest

from portal_access import EmailTemplates

NAMED = {
    "business.name": "Acme Services",
    "contact.first_name": "Ann",
    "contact.email": "ann@example.com",
    "link.url": "https://portal.example.com/portal/invitation?token=t0k",
    "link.expires": "2026-03-04 09:00 UTC",
    "portal.url": "https://portal.example.com",
    "invoice.number": "1001",
    "invoice.total": "$250.00",
    "invoice.due_date": "2026-03-31",
    "autopay.maximum": "$200.00",
    "document.title": "Invoice 1001",
    "comment.author": "Bo Staff",
    "comment.body": "Paid by cheque on Monday.",
    "payment_method.label": "VISA ending 4242",
}
UNNAMED = {**NAMED, "business.name": None}

SUBJECTS = {
    "invitation": ("You are invited to the Acme Services portal", "You are invited to the customer portal"),
    "portal_instructions": ("Your Acme Services portal login", "Your customer portal login"),
    "password_reset": ("Help with your Acme Services portal login", "Help with your customer portal login"),
    "already_registered": ("Your Acme Services portal login", "Your customer portal login"),
    "resubscribe": ("Restore your Acme Services portal access", "Restore your customer portal access"),
    "invoice": ("Invoice 1001 from Acme Services", "Invoice 1001 from your customer portal"),
    "statement": ("Your statement from Acme Services", "Your statement from your customer portal"),
    "autopay_over_maximum": ("Invoice 1001 from Acme Services is yours to pay", "Invoice 1001 from your customer portal is yours to pay"),
    "autopay_declined": ("Autopay of invoice 1001 was declined", "Autopay of invoice 1001 was declined"),
    "document_comment": ("New comment on Invoice 1001 from Acme Services", "New comment on Invoice 1001 from your customer portal"),
    "saved_method_removed": ("Your saved payment method was removed", "Your saved payment method was removed"),
}  # fmt: skip


def test_every_default_template_has_its_subjects_checked():
    assert set(SUBJECTS) == {field.name for field in attrs.fields(EmailTemplates)}


@pytest.mark.parametrize("name", SUBJECTS)
def test_subjects_read_well_with_and_without_a_business_name(name: str):
    template = getattr(EmailTemplates(), name)
    named, unnamed = SUBJECTS[name]
    assert template.render(NAMED).subject == named
    assert template.render(UNNAMED).subject == unnamed


@pytest.mark.parametrize("name", SUBJECTS)
def test_bodies_greet_fill_every_placeholder_and_repeat_no_word(name: str):
    template = getattr(EmailTemplates(), name)
    for values in (NAMED, UNNAMED, {**UNNAMED, "contact.first_name": None}):
        message = template.render(values)
        for text in (message.subject, message.text, message.html):
            assert "{{" not in text
            assert "None" not in text
            assert not re.search(r"\b(\w+) \1\b", text, re.IGNORECASE), text  # "portal portal"
        assert message.text.startswith(("Hello Ann,", "Hello there,"))
        assert "Customer portal" not in message.subject
