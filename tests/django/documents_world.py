"""The world of the document tests: Ann (hostile name) and Bob on acc-1, Cid on acc-2,
all with full access; Ann's own invoice, one of the account's and one of acc-2."""

from __future__ import annotations

from datetime import date

from portal_access import (
    Contact,
    EmailAddress,
    Invoice,
    InvoiceLine,
    Money,
    StaffMember,
    StaffPermission,
)
from portal_access.adapters import FpdfDocumentRenderer
from tests.django.web_harness import PASSWORD, WebPortal, build
from tests.service.harness import CLASS, account

__all__ = ["ADMIN", "HOSTILE", "KEY", "contact", "invoice", "world"]

KEY = bytes(range(32))
HOSTILE = "<script>alert('x')</script> & \"Bob\""
ADMIN = StaffMember(id="staff-1", name="Admin", permissions=frozenset(StaffPermission))


def invoice(invoice_id: str, number: str, cents: int, **changes: object) -> Invoice:
    return Invoice(
        id=invoice_id,
        number=number,
        account_id=changes.pop("account_id", "acc-1"),  # type: ignore[arg-type]
        title=changes.pop("title", "March service"),  # type: ignore[arg-type]
        currency="USD",
        lines=(InvoiceLine(str(changes.pop("line", "Cleaning")), Money(cents, "USD")),),
        issued_on=date(2026, 3, 1),
        due_on=date(2026, 3, 31),
        **changes,  # type: ignore[arg-type]
    )


def contact(web: WebPortal, contact_id: str, email: str, first: str, **changes: object) -> None:
    portal = web.portal
    contact = Contact(
        id=contact_id,
        account_id=changes.pop("account_id", "acc-1"),  # type: ignore[arg-type]
        first_name=first,
        last_name="Lee",
        email=EmailAddress.parse(email),
        **changes,  # type: ignore[arg-type]
    )
    portal.create_contact(contact)
    portal.invite_contact(contact_id, staff=ADMIN)
    token = web.link(email, "/invitation/").split("token=", 1)[1]
    portal.accept_invitation(token, PASSWORD)


def world(settings, **options: object) -> WebPortal:
    """Ann (hostile name) and Bob on acc-1, Cid on acc-2; Ann's own invoice, one of the
    account's, one of acc-2."""
    config: dict[str, object] = {"DOCUMENT_LINK_KEY": KEY, "RENDERER": FpdfDocumentRenderer()}
    config.update(options)
    web = build(settings, offer=False, **{k: v for k, v in config.items() if v is not None})
    portal = web.portal
    portal.save_account_class(CLASS)
    portal.save_account(account())
    portal.save_account(account("acc-2", number="50000", name="Other Gym"))
    contact(web, "c-ann", "ann@example.com", HOSTILE)
    contact(web, "c-bob", "bob@example.com", "Bob")
    contact(web, "c-cid", "cid@example.com", "Cid", account_id="acc-2")
    portal.save_invoice(invoice("inv-ann", "1003", 999, contact_id="c-ann"))
    portal.save_invoice(invoice("inv-acc", "1004", 12000, line="April <b>service</b>"))
    portal.save_invoice(invoice("inv-cid", "2001", 100, account_id="acc-2"))
    return web
