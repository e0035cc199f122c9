"""Hosted checkout for the required invoice, and for saving a payment method.

The gateway is called between two units of work, never inside one: the first checks
and prepares the request (with a deterministic idempotency key), the second records
the page. A retry, or two clicks, reach the same page; no database lock is held while
the vendor answers.

One invoice, one open page, paid once (seed 000_07c53b15302458c1.txt):

- both units of work read the invoice's row first (``invoices.get`` locks it where the
  store locks: ``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite and the memory store run
  writers one at a time), so they and the webhook that records a payment of the
  invoice take turns;
- while a payment of the invoice is processing or succeeded, on any gateway, no page
  opens (:class:`~portal_access.PaymentInProgressError`), checked again when recording;
- the key names the invoice, how many of its payments failed, and how many of the pages
  under that count expired: two tabs get one key, so one page; a failure or an expired
  page gives a new one;
- of two pages opened at once (two tabs, two workers), the first recorded under the key
  wins; the loser's page is closed and the winner's returned. A new page closes the
  invoice's earlier, still open pages of the same kind, so only one can take money.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from portal_access._domain.access import AccessLevel, decide
from portal_access._domain.billing import Invoice, InvoiceStatus, LineKind
from portal_access._domain.capabilities import Capability
from portal_access._domain.checkout import (
    CheckoutPurpose,
    CheckoutRequest,
    CheckoutSession,
    payer_fields,
)
from portal_access._domain.duplicate_payments import checkout_refusal
from portal_access._domain.errors import (
    AccessDeniedError,
    ConfigurationError,
    ConflictError,
    GatewayError,
)
from portal_access._domain.payment_gateways import ensure_payable
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.return_urls import check_return_urls
from portal_access._service.access_states import require_access_state
from portal_access._service.context import ServiceContext, Work, run
from portal_access._service.lookups import require_contact, require_invoice, require_plan
from portal_access._service.payment_history import invoice_payments
from portal_access.repositories import CheckoutRecord

__all__ = [
    "Recheck",
    "Target",
    "close_pages",
    "ensure_no_payment_under_way",
    "ensure_payable_invoice",
    "invoice_target",
    "open_checkout",
    "page_key",
    "payment_methods_for",
    "prepare_required_checkout",
    "prepare_setup_checkout",
    "record_checkout",
    "reuse_open_session",
    "start_payment_method_setup",
    "start_required_checkout",
]

log = logging.getLogger("portal_access.checkout")

#: Checked again in the unit of work that records a page: raise to refuse it.
Recheck = Callable[[Work, CheckoutRequest], None]
#: The gateway a page opens at, and the invoice it is for (``None``: none).
Target = tuple[str, str | None]


def open_checkout(
    context: ServiceContext,
    prepare: Callable[[Work], CheckoutRequest | CheckoutSession],
    target: Callable[[CheckoutRequest], Target],
    *,
    finish: Callable[[Work, CheckoutRequest, CheckoutSession], None] | None = None,
    recheck: Recheck | None = None,
) -> CheckoutSession:
    """Prepare in one unit of work, call the gateway, record in a second one.

    ``prepare`` may return an already-recorded session (same key, still open) to skip
    the gateway. ``target`` names the gateway and the invoice the page is for (whose
    row the recording reads first). ``recheck`` runs next in the recording unit of work
    (default: no payment of the request's invoice may be under way), then ``finish``. A
    page the recording refuses, or that lost to one recorded first, is closed; so are
    the invoice's earlier open pages of the same purpose.
    """
    prepared = run(context, prepare)
    if isinstance(prepared, CheckoutSession):
        return prepared
    request = prepared
    gateway_name, invoice_id = target(request)
    session = context.gateway(gateway_name).start_checkout(request)
    check = recheck if recheck is not None else ensure_no_payment_under_way

    def record(work: Work) -> tuple[CheckoutSession, list[CheckoutSession]]:
        if invoice_id is not None:
            require_invoice(work, invoice_id)  # the invoice's row: take turns with its payments
        check(work, request)
        if finish is not None:
            finish(work, request, session)
        return record_checkout(work, request, session, invoice_id=invoice_id)

    try:
        kept, superseded = run(context, record)
    except Exception:
        close_pages(context, [session])  # never handed out: it must not take money
        raise
    if kept != session:
        close_pages(context, [session])  # lost the race: the winner's page is the one
    close_pages(context, superseded)
    return kept


def close_pages(context: ServiceContext, sessions: Sequence[CheckoutSession]) -> None:
    """Close pages that must no longer take money; a failure is logged (a payment that
    lands anyway is caught as a duplicate)."""
    for session in sessions:
        try:
            context.gateway(session.gateway).expire_checkout(session.session_id)
        except GatewayError:
            log.warning("could not close checkout page %s", session.session_id, exc_info=True)


def record_checkout(
    work: Work,
    request: CheckoutRequest,
    session: CheckoutSession,
    *,
    invoice_id: str | None = None,
) -> tuple[CheckoutSession, list[CheckoutSession]]:
    """Remember the page under its idempotency key (the first one recorded wins).

    Returns the page to hand out, and the invoice's earlier pages of the same purpose
    that are still open (to close after commit) when this one is new.
    """
    existing = work.uow.checkouts.with_key(request.idempotency_key)
    if existing is not None:
        return existing.session, []
    now = work.context.clock.now()
    superseded = []
    if invoice_id is not None:
        superseded = [
            record.session
            for record in work.uow.checkouts.for_invoice(invoice_id)
            if record.purpose == request.purpose.value
            and record.idempotency_key != request.idempotency_key
            and (record.session.expires_at is None or record.session.expires_at > now)
        ]
    work.uow.checkouts.save(
        CheckoutRecord(
            session=session,
            purpose=request.purpose.value,
            invoice_id=invoice_id,
            contact_id=request.contact_id,
            idempotency_key=request.idempotency_key,
        )
    )
    return session, superseded


def ensure_no_payment_under_way(work: Work, request: CheckoutRequest) -> None:
    """Refuse a page for an invoice a payment of which is processing or succeeded.

    Raises:
        PaymentInProgressError: see
            :func:`~portal_access._domain.duplicate_payments.checkout_refusal`.
    """
    if request.invoice_id is not None:
        ensure_payable_invoice(work, require_invoice(work, request.invoice_id))


def ensure_payable_invoice(work: Work, invoice: Invoice) -> None:
    """Refuse a page for ``invoice`` while a payment of it is under way, or when its
    contact may not use its gateway (seed 004).

    Raises:
        PaymentInProgressError: a payment is processing or succeeded.
        GatewayNotAllowedError: the invoice's contact may not use its gateway.
    """
    refusal = checkout_refusal(invoice.id, (r.snapshot for r in invoice_payments(work, invoice)))
    if refusal is not None:
        raise refusal
    state = work.uow.access.get(invoice.contact_id) if invoice.contact_id else None
    if state is not None and invoice.gateway is not None:
        policy = work.context.policy
        ensure_payable(invoice.gateway, state.portal.allowed_gateways, policy.gateways)


def page_key(work: Work, prefix: str, invoice_id: str, failed: int, purpose: str) -> str:
    """The idempotency key of the invoice's page: ``<prefix>:<invoice>:<failed>.<n>``,
    where ``failed`` counts the invoice's failed payments and ``n`` the pages recorded
    under that count that have expired. Equal for two calls on the same state."""
    stem = f"{prefix}:{invoice_id}:{failed}."
    now = work.context.clock.now()
    expired = sum(
        1
        for record in work.uow.checkouts.for_invoice(invoice_id)
        if record.purpose == purpose
        and record.idempotency_key.startswith(stem)
        and record.session.expires_at is not None
        and record.session.expires_at <= now
    )
    return f"{stem}{expired}"


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
        PaymentInProgressError: a payment of the invoice is processing or succeeded
            (under either ACH policy): show ``reason`` instead of a page.
        GatewayNotAllowedError: the contact may not use the offer's gateway (seed 004).
        ConflictError: nothing to pay: no requirement, or it is paid, waived or revoked.
        ValidationError, ConfigurationError: a return URL off the portal's origins.
    """
    check_return_urls(
        work.context.policy.system.portal_origins, success_url=success_url, cancel_url=cancel_url
    )
    state = require_access_state(work, contact_id)
    requirement = state.effective_requirement
    if requirement is None:
        raise ConflictError("this contact has no required payment")
    invoice = require_invoice(work, requirement.invoice_id)
    payments = [record.snapshot for record in invoice_payments(work, invoice)]
    refusal = checkout_refusal(invoice.id, payments)
    if refusal is not None:
        raise refusal
    policy = work.context.policy
    gateway = invoice.gateway or requirement.gateway
    if invoice.status is InvoiceStatus.OPEN:
        ensure_payable(gateway, state.portal.allowed_gateways, policy.gateways)
    decision = decide(state, policy, work.context.clock.now())
    if decision.level is not AccessLevel.PAY_INVOICE_ONLY:
        raise ConflictError("there is no open required invoice to pay")
    failed = sum(p.status is PaymentStatus.FAILED for p in payments)
    purpose = CheckoutPurpose.REQUIRED_PAYMENT
    key = page_key(work, "required", invoice.id, failed, purpose.value)
    reused = reuse_open_session(work, key)
    if reused is not None:
        return reused
    contact = require_contact(work, contact_id)
    plan = require_plan(work, requirement.plan_id) if requirement.plan_id else None
    return CheckoutRequest(
        purpose=purpose,
        currency=invoice.currency,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=key,
        **payer_fields(contact),
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
    """A page that saves a payment method, only where the contact may (seed 003), and
    only through a gateway the contact may use (seed 004).

    Raises:
        GatewayNotAllowedError: the contact may not use ``gateway``.
        AccessDeniedError: the contact lacks full access or "can save payment method".
        ValidationError, ConfigurationError: a return URL off the portal's origins.
    """
    check_return_urls(
        work.context.policy.system.portal_origins, success_url=success_url, cancel_url=cancel_url
    )
    state = require_access_state(work, contact_id)
    policy = work.context.policy
    ensure_payable(gateway, state.portal.allowed_gateways, policy.gateways)
    decision = decide(state, policy, work.context.clock.now())
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
        **payer_fields(contact),
        payment_methods=frozenset({PaymentMethodKind.CARD, PaymentMethodKind.BANK_ACCOUNT}),
        save_payment_method=True,
    )


def invoice_target(context: ServiceContext, request: CheckoutRequest) -> Target:
    """The gateway and invoice of a page that pays ``request``'s invoice.

    Raises:
        ConfigurationError: the invoice names no gateway.
    """
    invoice_id = request.invoice_id
    assert invoice_id is not None

    def gateway_of(work: Work) -> Target:
        invoice = work.uow.invoices.get(invoice_id)
        if invoice is None or invoice.gateway is None:
            raise ConfigurationError("the invoice has no gateway", field="gateway")
        return invoice.gateway, invoice.id

    return run(context, gateway_of)


def start_required_checkout(
    context: ServiceContext, contact_id: str, *, success_url: str, cancel_url: str
) -> CheckoutSession:
    """A hosted page that pays the contact's required invoice (see the module's rules)."""

    def prepare(work: Work) -> CheckoutRequest | CheckoutSession:
        return prepare_required_checkout(
            work, contact_id, success_url=success_url, cancel_url=cancel_url
        )

    return open_checkout(context, prepare, lambda request: invoice_target(context, request))


def start_payment_method_setup(
    context: ServiceContext, contact_id: str, *, gateway: str, success_url: str, cancel_url: str
) -> CheckoutSession:
    """A page that saves a payment method through ``gateway``, where the contact may."""

    def prepare(work: Work) -> CheckoutRequest | CheckoutSession:
        return prepare_setup_checkout(
            work, contact_id, gateway=gateway, success_url=success_url, cancel_url=cancel_url
        )

    return open_checkout(context, prepare, lambda _request: (gateway, None))
