"""What a document's page offers beside the document (seed 004: download it, pay it):
one rule for the Flask and Django integrations and for a host's own pages.

>>> pdf_filename("Invoice H-100 / March")
'invoice-h-100-march.pdf'
>>> pdf_filename("..")
'document.pdf'
"""

from __future__ import annotations

import re
from collections.abc import Collection

from portal_access import AccessDecision, Capability, Invoice, InvoiceStatus

__all__ = ["pay_gateways", "pdf_filename"]

#: What may not stand in a downloaded file's name: anything but letters, digits, ``. _ -``.
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def pay_gateways(
    decision: AccessDecision, invoice: Invoice | None, configured: Collection[str]
) -> list[str]:
    """The gateways "pay this document" offers, sorted: none for a statement, an invoice
    with nothing owed, or a contact who may not pay; else the contact's gateways that
    the portal has configured, narrowed to the invoice's own gateway when it has one."""
    if invoice is None or not decision.can(Capability.PAY_INVOICES):
        return []
    if invoice.status is not InvoiceStatus.OPEN or not invoice.balance.amount:
        return []
    usable = decision.gateways & frozenset(configured)
    return sorted(name for name in usable if invoice.gateway in (None, name))


def pdf_filename(title: str) -> str:
    """A safe file name for a document's PDF from its title: lower case, runs of other
    characters as one ``-``, no leading or trailing ``-`` or ``.``."""
    name = _UNSAFE_IN_FILENAME.sub("-", title.lower()).strip("-.") or "document"
    return f"{name}.pdf"
