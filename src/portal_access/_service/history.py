"""Reads a host needs for its pages and tests: an invoice, a contact's invoices, a
contact's payments with pending vs settled (seeds 003 and 004: "view their invoices and
outstanding balances", "a summary of all transactions made and pending").

These are the host's reads (staff screens, its own portal pages, tests): they check
no access decision. Show a contact only what :meth:`~portal_access.PortalAccess.check_access`
allows.
"""

from __future__ import annotations

from portal_access._domain.billing import Invoice
from portal_access._domain.errors import NotFoundError
from portal_access._domain.gateway_events import resubscribed_invoice_id
from portal_access._domain.validation import ensure_text
from portal_access._service.context import Work
from portal_access._service.lookups import require_contact, require_invoice
from portal_access._service.payment_history import PaymentHistory, payment_history

__all__ = ["contact_invoices", "contact_payments", "invoice", "invoice_with_number"]


def invoice(work: Work, invoice_id: str) -> Invoice:
    """The invoice with this id.

    Raises:
        NotFoundError: no such invoice.
    """
    return require_invoice(work, invoice_id)


def invoice_with_number(work: Work, number: str) -> Invoice:
    """The invoice with this number (surrounding spaces ignored).

    Raises:
        NotFoundError: no such invoice.
        ValidationError: ``number`` is not text a store can keep (``field="number"``).
    """
    found = work.uow.invoices.with_number(ensure_text(number, field="number").strip())
    if found is None:
        raise NotFoundError("invoice number", number)
    return found


def _mine(work: Work, contact_id: str) -> tuple[str, list[Invoice]]:
    """The contact's account and its invoices addressed to the contact or to no one."""
    contact = require_contact(work, contact_id)
    invoices = [
        i
        for i in work.uow.invoices.for_account(contact.account_id)
        if i.contact_id in (None, contact.id)
    ]
    return contact.account_id, invoices


def contact_invoices(work: Work, contact_id: str) -> tuple[Invoice, ...]:
    """The contact's invoices, newest first: those addressed to the contact and the
    account's invoices addressed to no one (another contact's own invoices, such as
    their paid-access invoice, are theirs).

    Raises:
        NotFoundError: no such contact.
    """
    _account, invoices = _mine(work, contact_id)
    return tuple(sorted(invoices, key=lambda i: (i.issued_on, i.id), reverse=True))


def contact_payments(work: Work, contact_id: str) -> PaymentHistory:
    """The payments of the contact's invoices (as :func:`contact_invoices` chooses them,
    re-subscribe payments included), newest first: settled, pending, and duplicates
    still to refund.

    Raises:
        NotFoundError: no such contact.
    """
    account_id, invoices = _mine(work, contact_id)
    ids = {i.id for i in invoices}
    records = [
        r
        for r in work.uow.payments.for_account(account_id)
        if (resubscribed_invoice_id(r.snapshot.invoice_id) or r.snapshot.invoice_id) in ids
    ]
    return payment_history(records, invoices, now=work.context.clock.now())
