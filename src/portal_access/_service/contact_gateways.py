"""Staff see where a contact's gateways clash with what the contact owes (seed 004).

Seed 004_67d5e53a019b49ae.txt: staff switch PayPal, Stripe and Square on or off per
contact. A contact who signed up through an offer on Stripe, then was allowed only
PayPal, can no longer pay the required invoice (or re-subscribe, or quick-pay their
open invoices); the staff screen that configures the contact shows these conflicts.
"""

from __future__ import annotations

from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.payment_gateways import GatewayConflict, gateway_conflicts
from portal_access._service.access_states import require_access_state
from portal_access._service.context import Work

__all__ = ["contact_gateway_conflicts"]


def contact_gateway_conflicts(work: Work, contact_id: str) -> tuple[GatewayConflict, ...]:
    """What the contact owes, or may have to pay again, through a gateway they may not use.

    The required invoice counts while it is unpaid, or for good when a plan is tied to
    it (renewals and re-subscribing go through the offer's gateway); so does every open
    invoice addressed to the contact that names a gateway.

    Raises:
        NotFoundError: no such contact.
    """
    state = require_access_state(work, contact_id)
    owed: list[tuple[str, str, str]] = []
    requirement = state.effective_requirement
    if requirement is not None and (not requirement.settled or requirement.plan_id):
        owed.append((requirement.invoice_id, requirement.gateway, "required_payment"))
    required = requirement.invoice_id if requirement is not None else None
    for invoice in work.uow.invoices.for_account(state.account_id):
        if (
            invoice.contact_id == contact_id
            and invoice.id != required
            and invoice.status is InvoiceStatus.OPEN
            and invoice.gateway is not None
        ):
            owed.append((invoice.id, invoice.gateway, "invoice"))
    policy = work.context.policy
    return gateway_conflicts(contact_id, state.portal.allowed_gateways, policy.gateways, owed)
