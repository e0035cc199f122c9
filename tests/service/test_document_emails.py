"""Autopay emails carry the signed link of the invoice they are about, made for the
contact they go to (seed 004_67d5e53a019b49ae.txt: "in each generated document there is
a link to access the portal"), and the portal's address when the portal signs no links."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from portal_access import (
    DocumentKind,
    DocumentRef,
    InvalidTokenError,
    Money,
    SystemPortalOptions,
)
from tests.service.harness import PORTAL_URL
from tests.service.ledger_world import CONTACT, TODAY, ledger_world
from tests.service.stores import store

__all__ = ["store"]

MAX_100 = SystemPortalOptions(autopay_max_amount=Money(10000, "USD"))
_LINK = re.compile(r"in your portal: (\S+)")


def _token(text: str) -> str:
    (link,) = _LINK.findall(text)
    assert link.startswith(f"{PORTAL_URL}/portal/document?token="), link
    return unquote(link.split("token=", 1)[1])


def test_autopay_emails_link_the_invoice_for_the_contact(store):
    """Over the maximum, and declined: each email's link opens its invoice for Ann only."""
    w = ledger_world(store, system=MAX_100)
    w.portal._context.document_link_key = bytes(range(32))
    method_id = w.save_method()
    above = w.invoice(10001)
    w.sandbox.decline_saved_method(method_id)
    declined = w.invoice(2500)
    w.portal.run_autopay(TODAY)
    for word, invoice in (("is yours to pay", above), ("was declined", declined)):
        (mail,) = w.mails(word)
        token = _token(mail.text)
        ref = DocumentRef(DocumentKind.INVOICE, invoice.id)
        assert w.portal.open_document_link(token, CONTACT) == ref
        with pytest.raises(InvalidTokenError):
            w.portal.open_document_link(token, "c-2")


def test_without_a_key_autopay_emails_link_the_portal(store):
    """No document_link_key: the portal's address, as before."""
    w = ledger_world(store, system=MAX_100)
    w.save_method()
    w.invoice(10001)
    w.portal.run_autopay(TODAY)
    (mail,) = w.mails("is yours to pay")
    assert _LINK.findall(mail.text) == [PORTAL_URL]
