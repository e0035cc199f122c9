"""Invoice-verified self-registration (seed 001_345994b3bb014aeb.txt).

"Please enter the information from a recent Invoice to verify your account and an
[invitation will be] sent to the provided email address." The visitor always gets the
same answer, in the same time: the request checks the form, counts the attempt (per
client, per email and per invoice number) and queues the job that compares the form
with the invoice (:func:`invite_if_matched`); when everything matches, the set-password
link goes to the contact's email (never shown on the page).
"""

from __future__ import annotations

from portal_access._domain.errors import AccessDeniedError
from portal_access._domain.invitations import InvitationSource
from portal_access._domain.self_registration import (
    SelfRegistrationRequest,
    matches_invoice,
    self_registration_allowed,
)
from portal_access._service.anonymous import answer_later, hit_limits
from portal_access._service.context import ServiceContext, Work
from portal_access._service.invitations import invite
from portal_access._service.staff_invitations import registered

__all__ = ["invite_if_matched", "self_register"]


def self_register(
    context: ServiceContext, request: SelfRegistrationRequest, *, client_key: str
) -> None:
    """Queue the check of ``request`` against the invoice; nothing is said of the outcome.

    Raises:
        AccessDeniedError: self-registration is switched off system-wide (the request
            login button, seed 001); this says nothing about any account.
        ValidationError: a blank ``client_key``.
        RateLimitedError: too many attempts from this client, for this email or for
            this invoice number.
    """
    if not context.policy.system.request_login_button:
        raise AccessDeniedError("self-registration is not enabled")
    hit_limits(
        context,
        "self-registration",
        client_key,
        email=request.email.key,
        invoice=request.invoice_number.strip().casefold(),
    )
    answer_later(context, "self-registration", lambda work: invite_if_matched(work, request))


def invite_if_matched(work: Work, request: SelfRegistrationRequest) -> None:
    """The background part of :func:`self_register`: mail an invitation if the form
    matches a recent invoice, its account and an unregistered contact (seed 001)."""
    context = work.context
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
