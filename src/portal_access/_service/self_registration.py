"""Invoice-verified self-registration (seed 001_345994b3bb014aeb.txt).

"Please enter the information from a recent Invoice to verify your account and an
[invitation will be] sent to the provided email address." The visitor always gets the
same answer; when everything matches, the set-password link goes to the contact's
email (never shown on the page), and the attempt is rate-limited per email.
"""

from __future__ import annotations

from portal_access._domain.errors import AccessDeniedError
from portal_access._domain.invitations import InvitationSource
from portal_access._domain.self_registration import (
    SelfRegistrationRequest,
    matches_invoice,
    self_registration_allowed,
)
from portal_access._service.context import Work
from portal_access._service.invitations import invite
from portal_access._service.staff_invitations import registered

__all__ = ["self_register"]


def self_register(work: Work, request: SelfRegistrationRequest) -> None:
    """Check the request against the invoice; mail an invitation if it matches.

    Raises:
        AccessDeniedError: self-registration is switched off system-wide (the request
            login button, seed 001); this says nothing about any account.
        RateLimitedError: too many attempts for this email.
    """
    context = work.context
    if not context.policy.system.request_login_button:
        raise AccessDeniedError("self-registration is not enabled")
    context.limiter.hit(f"self-registration:{request.email.key}", now=context.clock.now())
    invoice = work.uow.invoices.with_number(request.invoice_number.strip())
    if invoice is None:
        return
    account = work.uow.accounts.get(invoice.account_id)
    if account is None or not self_registration_allowed(
        context.policy.system, account.account_class
    ):
        return
    today = context.clock.now().date()
    for contact in work.uow.contacts.with_email(request.email):
        if contact.account_id != account.id:
            continue
        if matches_invoice(request, invoice=invoice, account=account, contact=contact, today=today):
            if not registered(work, contact.id):
                invite(work, contact, account, source=InvitationSource.SELF_REGISTRATION)
            return
