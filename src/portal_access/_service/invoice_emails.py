"""Invoice and statement emails, and inviting an invoice email's recipients.

- Seed 002_50038a73eff95302.txt: "Check the box to 'Invite recipients to Client
  Portal'"; only the "To" recipients are invited, never CC or BCC; the "To" field
  defaults to the project/matter email, else the client email, each of which may hold
  several addresses separated by semicolons.
- Seed 003_11ad6fb0c789d951.txt: invoice emails and statement emails both carry the
  portal link.
"""

from __future__ import annotations

from collections.abc import Iterable

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ValidationError
from portal_access._domain.invitations import (
    InvitationSource,
    InvoiceEmail,
    StaffMember,
    StaffPermission,
    authorize,
    invoice_email_invitees,
)
from portal_access._service.context import Work
from portal_access._service.invitations import invite
from portal_access._service.lookups import require_account, require_invoice
from portal_access._service.mailings import send_email, template_values
from portal_access._service.staff_invitations import contact_for_address, registered

__all__ = ["send_invoice_email", "send_statement_email"]


def send_invoice_email(
    work: Work, invoice_id: str, email: InvoiceEmail, *, staff: StaffMember
) -> tuple[str, ...]:
    """Email the invoice to To, CC and BCC; when the box is checked, invite the To
    recipients (making contacts on the invoice's account as needed). Returns the ids of
    the contacts invited.

    Raises:
        NotFoundError: no such invoice.
        AccessDeniedError: inviting without ``INVITE_CONTACTS``.
    """
    invoice = require_invoice(work, invoice_id)
    account = require_account(work, invoice.account_id)
    invitees = invoice_email_invitees(email)
    if invitees:
        authorize(staff, StaffPermission.INVITE_CONTACTS)
    values = template_values(
        work,
        None,
        account,
        invoice__number=invoice.number,
        invoice__total=str(invoice.total),
        invoice__due_date=invoice.due_on.isoformat(),
    )
    for group in (email.to, email.cc, email.bcc):
        for address in group:  # one message each: BCC recipients stay invisible
            send_email(
                work,
                kind="invoice",
                template=work.context.templates.invoice,
                to=(address,),
                values=values,
            )
    invited: list[str] = []
    for address in invitees:
        contact = contact_for_address(work, account.id, address)
        if not registered(work, contact.id):
            invite(work, contact, account, source=InvitationSource.INVOICE_EMAIL)
            invited.append(contact.id)
    return tuple(invited)


def send_statement_email(work: Work, account_id: str, to: object) -> None:
    """Email a statement notice (all open balances live in the portal) to ``to``.

    Raises:
        ValidationError: ``to`` is not a collection of EmailAddress (``field="to"``).
    """
    if not isinstance(to, Iterable) or isinstance(to, str | bytes):
        raise ValidationError("must be a collection of EmailAddress", field="to")
    addresses = tuple(to)
    if not all(isinstance(address, EmailAddress) for address in addresses):
        raise ValidationError("must be a collection of EmailAddress", field="to")
    account = require_account(work, account_id)
    values = template_values(work, None, account)
    for address in addresses:
        send_email(
            work,
            kind="statement",
            template=work.context.templates.statement,
            to=(address,),
            values=values,
        )
