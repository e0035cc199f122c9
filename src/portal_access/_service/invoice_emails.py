"""Invoice and statement emails, and inviting an invoice email's recipients.

- Seed 002_50038a73eff95302.txt: "Check the box to 'Invite recipients to Client
  Portal'"; only the "To" recipients are invited, never CC or BCC; the "To" field
  defaults to the project/matter email, else the client email, each of which may hold
  several addresses separated by semicolons (:func:`~portal_access.invoice_email_addresses`).
  The client email is the email of the contact the invoice is addressed to; the
  matter's is the host's (we keep no matters), passed as ``matter_email``.
- Seed 003_11ad6fb0c789d951.txt: invoice emails and statement emails both carry the
  portal link; seed 004_67d5e53a019b49ae.txt: "in each generated document there is a link
  to access the portal". Each message (one per address, BCC included) carries
  ``{{ document.url }}``: the document's signed link made for the account's contact with
  that address, or the portal's address for an outside address or a portal without a
  ``document_link_key`` (:func:`~portal_access._service.document_links.mailed_link`).
  The "To" recipients invited by the email get their contact first, so their link opens
  the document once they have registered. A recipient who is a contact of the account is
  greeted by name (``{{ contact.first_name }}``).
"""

from __future__ import annotations

from collections.abc import Iterable

from portal_access._domain.billing import Invoice
from portal_access._domain.documents import DocumentKind, DocumentRef
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
from portal_access._domain.recipients import invoice_email_addresses
from portal_access._service.context import Work
from portal_access._service.document_links import mailed_link, recipient_contact
from portal_access._service.lookups import require_account, require_invoice
from portal_access._service.mailings import send_email, template_values
from portal_access._service.staff_invitations import (
    contact_for_address,
    invite_as_staff,
    registered,
)

__all__ = ["default_invoice_email", "send_invoice_email", "send_statement_email"]


def default_invoice_email(
    work: Work, invoice: Invoice, *, matter_email: str | None, invite_recipients: bool
) -> InvoiceEmail:
    """The invoice email with its "To" filled in as seed 002 does: the project/matter
    "Email" field (``matter_email``; several addresses separated by semicolons) overrides
    the client's (the email of the contact the invoice is addressed to).

    Raises:
        InvalidEmailError: the field in use holds a bad entry.
        ValidationError: neither the matter nor the client has an email (``field="to"``).
    """
    contact = work.uow.contacts.get(invoice.contact_id) if invoice.contact_id else None
    client_email = contact.email.value if contact is not None and contact.email else None
    to = invoice_email_addresses(client_email, matter_email)
    if not to:
        raise ValidationError(
            "no To recipient: neither the matter nor the client has an email", field="to"
        )
    return InvoiceEmail(to=to, invite_recipients=invite_recipients)


def send_invoice_email(
    work: Work,
    invoice_id: str,
    email: InvoiceEmail | None,
    *,
    staff: StaffMember,
    matter_email: str | None = None,
    invite_recipients: bool = False,
) -> tuple[str, ...]:
    """Email the invoice to To, CC and BCC; when the box is checked, invite the To
    recipients (making contacts on the invoice's account as needed). Returns the ids of
    the contacts invited.

    ``email`` is the message as staff edited it; ``None`` sends it to the default "To"
    (:func:`default_invoice_email`: the matter's email overrides the client's) with the
    "Invite recipients" box set to ``invite_recipients``.

    Raises:
        NotFoundError: no such invoice.
        AccessDeniedError: inviting without ``INVITE_CONTACTS``.
        ValidationError: both ``email`` and ``matter_email``/``invite_recipients`` (the
            edited message already says who and whether to invite), or no recipient.
        InvalidEmailError: the matter's or client's email field holds a bad entry.
    """
    invoice = require_invoice(work, invoice_id)
    account = require_account(work, invoice.account_id)
    if email is None:
        email = default_invoice_email(
            work, invoice, matter_email=matter_email, invite_recipients=invite_recipients
        )
    elif matter_email is not None or invite_recipients:
        raise ValidationError(
            "give the email as staff edited it, or the matter's email, not both",
            field="matter_email",
        )
    invitees = invoice_email_invitees(email)
    if invitees:
        authorize(staff, StaffPermission.INVITE_CONTACTS)
    # the invitees' contacts first: their messages carry a link made for them
    invitee_contacts = [contact_for_address(work, account.id, a) for a in invitees]
    ref = DocumentRef(DocumentKind.INVOICE, invoice.id)
    for group in (email.to, email.cc, email.bcc):
        for address in group:  # one message each: BCC recipients stay invisible
            contact = recipient_contact(work, account.id, address)
            send_email(
                work,
                kind="invoice",
                template=work.context.templates.invoice,
                to=(address,),
                values=template_values(
                    work,
                    contact,
                    account,
                    invoice__number=invoice.number,
                    invoice__total=str(invoice.total),
                    invoice__due_date=invoice.due_on.isoformat(),
                    document__url=mailed_link(work, contact, ref),
                ),
            )
    invited: list[str] = []
    for contact in invitee_contacts:
        if not registered(work, contact.id):
            invite_as_staff(
                work, contact, account, staff=staff, source=InvitationSource.INVOICE_EMAIL
            )
            invited.append(contact.id)
    return tuple(invited)


def send_statement_email(work: Work, account_id: str, to: object) -> None:
    """Email a statement notice (all open balances live in the portal) to ``to``; each
    message carries the statement's link for the account's contact with that address.

    Raises:
        ValidationError: ``to`` is not a collection of EmailAddress (``field="to"``).
    """
    if not isinstance(to, Iterable) or isinstance(to, str | bytes):
        raise ValidationError("must be a collection of EmailAddress", field="to")
    addresses = tuple(to)
    if not all(isinstance(address, EmailAddress) for address in addresses):
        raise ValidationError("must be a collection of EmailAddress", field="to")
    account = require_account(work, account_id)
    ref = DocumentRef(DocumentKind.STATEMENT, account.id)
    for address in addresses:
        contact = recipient_contact(work, account.id, address)
        send_email(
            work,
            kind="statement",
            template=work.context.templates.statement,
            to=(address,),
            values=template_values(
                work, contact, account, document__url=mailed_link(work, contact, ref)
            ),
        )
