"""Staff "Cancel Required Payment" (seed 000_07c53b15302458c1.txt).

"The Invoice will be marked as Void and the Client will be given access to the Portal."
The hosted page opened for the invoice is closed afterwards so it cannot take money for
a void invoice.
"""

from __future__ import annotations

import attrs

from portal_access._domain.audit import Actor, AuditAction
from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.checkout import CheckoutSession
from portal_access._domain.errors import ConflictError
from portal_access._domain.events import InvoiceVoided
from portal_access._domain.invitations import StaffMember, StaffPermission, authorize
from portal_access._domain.validation import ensure_text
from portal_access._service import audit_trail
from portal_access._service.access_states import change_access, require_access_state
from portal_access._service.checkout import close_pages
from portal_access._service.context import ServiceContext, Work, run
from portal_access._service.lookups import require_invoice

__all__ = ["cancel_required_payment", "waive_required_payment"]


def cancel_required_payment(
    work: Work, contact_id: str, *, staff: StaffMember, reason: str = ""
) -> str:
    """Void the contact's required invoice and grant access; returns the invoice id.
    The audit trail records who and ``reason`` (why).

    Idempotent: cancelling again changes nothing.

    Raises:
        AccessDeniedError: the staff member lacks ``CANCEL_REQUIRED_PAYMENT``.
        NotFoundError: no such contact.
        ConflictError: no required payment, or the invoice is already paid (refund it
            instead).
    """
    authorize(staff, StaffPermission.CANCEL_REQUIRED_PAYMENT)
    ensure_text(reason, field="reason")
    work.actor = Actor.staff(staff)
    state = require_access_state(work, contact_id)
    requirement = state.requirement
    if requirement is None:
        raise ConflictError("this contact has no required payment")
    invoice = require_invoice(work, requirement.invoice_id)
    if invoice.status is InvoiceStatus.PAID:
        raise ConflictError(f"invoice {invoice.number} is paid; refund it instead")
    if invoice.status is InvoiceStatus.OPEN:
        work.uow.invoices.save(invoice.void())
        work.emit(InvoiceVoided(invoice_id=invoice.id, contact_id=contact_id, staff_id=staff.id))
        audit_trail.record(
            work,
            AuditAction.CANCEL_REQUIRED_PAYMENT,
            reason=reason,
            contact_id=contact_id,
            account_id=state.account_id,
            invoice_id=invoice.id,
        )
    change_access(work, contact_id, lambda s: attrs.evolve(s, requirement=requirement.waive()))
    return invoice.id


def waive_required_payment(
    context: ServiceContext, contact_id: str, *, staff: StaffMember, reason: str = ""
) -> str:
    """:func:`cancel_required_payment` in its own unit of work, then close the pages
    opened for the invoice so none takes money for a void invoice; the invoice id."""
    invoice_id = run(
        context,
        lambda work: cancel_required_payment(work, contact_id, staff=staff, reason=reason),
    )

    def sessions(work: Work) -> list[CheckoutSession]:
        return [record.session for record in work.uow.checkouts.for_invoice(invoice_id)]

    close_pages(context, run(context, sessions))
    return invoice_id
