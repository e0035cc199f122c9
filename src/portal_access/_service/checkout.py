"""Hosted checkout for the required invoice, and for saving a payment method.

The gateway is called between two units of work, never inside one: the first checks
and prepares the request (with a deterministic idempotency key), the second records
the page. A retry, or two clicks, reach the same page; no database lock is held while
the vendor answers.
"""

from __future__ import annotations

from collections.abc import Callable

from portal_access._domain.access import AccessLevel, decide
from portal_access._domain.billing import LineKind
from portal_access._domain.capabilities import Capability
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest, CheckoutSession
from portal_access._domain.errors import AccessDeniedError, ConflictError
from portal_access._domain.payments import PaymentMethodKind
from portal_access._domain.return_urls import check_return_urls
from portal_access._service.access_states import require_access_state
from portal_access._service.context import ServiceContext, Work, run
from portal_access._service.lookups import require_contact, require_invoice, require_plan
from portal_access.ports import CheckoutRecord

__all__ = [
    "open_checkout",
    "payment_methods_for",
    "prepare_required_checkout",
    "prepare_setup_checkout",
    "record_checkout",
    "reuse_open_session",
]


def open_checkout(
    context: ServiceContext,
    prepare: Callable[[Work], CheckoutRequest | CheckoutSession],
    gateway_name: Callable[[CheckoutRequest], str],
    *,
    finish: Callable[[Work, CheckoutRequest, CheckoutSession], None] | None = None,
) -> CheckoutSession:
    """Prepare in one unit of work, call the gateway, record in a second one.

    ``prepare`` may return an already-recorded session (same key, still open) to skip
    the gateway.
    """
    prepared = run(context, prepare)
    if isinstance(prepared, CheckoutSession):
        return prepared
    request = prepared
    session = context.gateway(gateway_name(request)).start_checkout(request)

    def record(work: Work) -> CheckoutSession:
        if finish is not None:
            finish(work, request, session)
        return record_checkout(work, request, session)

    return run(context, record)


def record_checkout(
    work: Work, request: CheckoutRequest, session: CheckoutSession
) -> CheckoutSession:
    """Remember the page under its idempotency key (the first one recorded wins)."""
    existing = work.uow.checkouts.with_key(request.idempotency_key)
    if existing is not None:
        return existing.session
    work.uow.checkouts.save(
        CheckoutRecord(
            session=session,
            purpose=request.purpose.value,
            invoice_id=request.invoice_id,
            contact_id=request.contact_id,
            idempotency_key=request.idempotency_key,
        )
    )
    return session


def payment_methods_for(currency: str) -> frozenset[PaymentMethodKind]:
    """Card always; a US bank account (ACH) too when the invoice is in US dollars."""
    if currency == "USD":  # ACH is a US bank rail
        return frozenset({PaymentMethodKind.CARD, PaymentMethodKind.BANK_ACCOUNT})
    return frozenset({PaymentMethodKind.CARD})


def reuse_open_session(work: Work, key: str) -> CheckoutSession | None:
    """The page recorded under ``key`` when it has not expired."""
    existing = work.uow.checkouts.with_key(key)
    if existing is None:
        return None
    expires = existing.session.expires_at
    if expires is not None and expires <= work.context.clock.now():
        return None
    return existing.session


def prepare_required_checkout(
    work: Work, contact_id: str, *, success_url: str, cancel_url: str
) -> CheckoutRequest | CheckoutSession:
    """The request that pays the contact's required invoice (seed 000's Pay Invoice view).

    Raises:
        NotFoundError: no such contact.
        ConflictError: nothing to pay: no requirement, or it is paid, waived or pending.
        ValidationError, ConfigurationError: a return URL off the portal's origins.
    """
    check_return_urls(
        work.context.policy.system.portal_origins, success_url=success_url, cancel_url=cancel_url
    )
    state = require_access_state(work, contact_id)
    decision = decide(state, work.context.policy, work.context.clock.now())
    requirement = state.effective_requirement
    if decision.level is not AccessLevel.PAY_INVOICE_ONLY or requirement is None:
        raise ConflictError("there is no open required invoice to pay")
    invoice = require_invoice(work, requirement.invoice_id)
    contact = require_contact(work, contact_id)
    today = work.context.clock.now().date().isoformat()
    key = f"required:{invoice.id}:p{len(requirement.payments)}:{today}"
    reused = reuse_open_session(work, key)
    if reused is not None:
        return reused
    plan = require_plan(work, requirement.plan_id) if requirement.plan_id else None
    return CheckoutRequest(
        purpose=CheckoutPurpose.REQUIRED_PAYMENT,
        currency=invoice.currency,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=key,
        contact_id=contact.id,
        customer_email=contact.email,
        customer_name=contact.full_name,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        # the subscription charges its own first period (seed 000: both on the first invoice)
        lines=tuple(line for line in invoice.lines if line.kind is not LineKind.SUBSCRIPTION),
        plan=plan,
        payment_methods=payment_methods_for(invoice.currency),
        save_payment_method=contact.portal.can_save_payment_method,
    )


def prepare_setup_checkout(
    work: Work, contact_id: str, *, gateway: str, success_url: str, cancel_url: str
) -> CheckoutRequest:
    """A page that saves a payment method, only where the contact may (seed 003).

    Raises:
        AccessDeniedError: the contact lacks full access or "can save payment method".
        ValidationError, ConfigurationError: a return URL off the portal's origins.
    """
    check_return_urls(
        work.context.policy.system.portal_origins, success_url=success_url, cancel_url=cancel_url
    )
    state = require_access_state(work, contact_id)
    decision = decide(state, work.context.policy, work.context.clock.now())
    if not decision.can(Capability.SAVE_PAYMENT_METHOD) or gateway not in decision.gateways:
        raise AccessDeniedError("this contact may not save a payment method here")
    contact = require_contact(work, contact_id)
    invoice_currency = "USD" if state.requirement is None else state.requirement.amount_due.currency
    return CheckoutRequest(
        purpose=CheckoutPurpose.SAVE_PAYMENT_METHOD,
        currency=invoice_currency,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=f"setup:{contact.id}:{work.context.ids.new_id('')}",
        contact_id=contact.id,
        customer_email=contact.email,
        customer_name=contact.full_name,
        payment_methods=frozenset({PaymentMethodKind.CARD, PaymentMethodKind.BANK_ACCOUNT}),
        save_payment_method=True,
    )
