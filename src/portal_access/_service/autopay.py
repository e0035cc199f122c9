"""Autopay: charge due invoices with the contact's saved payment method, up to the maximum.

Seeds 001_345994b3bb014aeb.txt ("Enable auto pay max amount") and
003_11ad6fb0c789d951.txt ("store a payment method through the portal for future
AutoPay"). :func:`run_autopay` is what a host's daily job calls with the day:

- it looks at every contact's saved method at every configured gateway; a contact who
  may no longer use autopay (no "can save payment method", no full access, the gateway
  no longer allowed) is skipped;
- an open invoice of the contact (addressed to them or to no one on the account), due
  on or before the day, payable through the method's gateway, is charged its balance
  when that is at most the maximum
  (:func:`~portal_access._domain.autopay.autopay_maximum`), never above: an invoice above
  it is left for the contact, who is mailed once;
- a charge that is declined is recorded and mailed; it is not tried again with that
  method (a new saved method is tried on the next run);
- a method its gateway reported removed is no longer on file: it is not listed, and a
  charge planned before the removal arrived is not sent (``NO_METHOD``, not mailed: the
  removal was);
- each invoice and method is charged under one idempotency key and one attempt row: a
  second run on the same day (or any later day) charges nothing twice; a run that
  stopped between the charge and recording it asks the gateway again with the same key
  and records its answer;
- a gateway that cannot charge a saved method (it lacks
  :class:`~portal_access.ports.SavedMethodCharging`) is reported as skipped.

:func:`save_payment_method` keeps a method saved without a payment from a token the
payer's browser got from the vendor's own script (a gateway with
:class:`~portal_access.ports.SavedMethodSaving`), only where the contact may save one.

The gateway is called between two units of work, never inside one (as checkout does).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime
from functools import partial

import attrs

from portal_access._domain.access import decide
from portal_access._domain.autopay import (
    AutopayAttempt,
    AutopayOutcome,
    AutopayVerdict,
    SavedMethodCharge,
    SavedMethodSetup,
    SavedPaymentMethod,
    autopay_maximum,
    autopay_verdict,
)
from portal_access._domain.billing import Invoice, InvoicePurpose
from portal_access._domain.capabilities import Capability
from portal_access._domain.documents import DocumentKind, DocumentRef
from portal_access._domain.duplicate_payments import checkout_refusal
from portal_access._domain.errors import (
    AccessDeniedError,
    GatewayError,
    GatewayRejectedError,
    ValidationError,
)
from portal_access._domain.money import Money
from portal_access._domain.payment_gateways import ensure_payable
from portal_access._domain.payments import PaymentSnapshot, PaymentStatus
from portal_access._domain.validation import ensure_identifier
from portal_access._service.access_states import require_access_state
from portal_access._service.context import ServiceContext, Work, run
from portal_access._service.document_links import mailed_link
from portal_access._service.emails import EmailTemplate
from portal_access._service.lookups import require_account, require_contact
from portal_access._service.mailings import send_email, template_values
from portal_access._service.payment_history import invoice_payments
from portal_access._service.webhooks import APPLIED, apply_payment, apply_saved_method
from portal_access.ports import SavedMethodCharging, SavedMethodSaving

__all__ = ["AutopayReport", "run_autopay", "save_payment_method", "saved_payment_method"]

log = logging.getLogger("portal_access.autopay")

_OUTCOME = {
    PaymentStatus.SUCCEEDED: AutopayOutcome.SUCCEEDED,
    PaymentStatus.PROCESSING: AutopayOutcome.PROCESSING,
    PaymentStatus.FAILED: AutopayOutcome.DECLINED,
}
#: Why an attempt ended ``NO_METHOD``.
_NOT_ON_FILE = "no saved payment method on file"
#: Attempts that mean the invoice's money is (being) taken by autopay.
_UNDER_WAY = frozenset(
    {AutopayOutcome.CHARGING, AutopayOutcome.SUCCEEDED, AutopayOutcome.PROCESSING,
     AutopayOutcome.UNREACHABLE}
)  # fmt: skip


@attrs.frozen
class AutopayReport:
    """What one :func:`run_autopay` did.

    Attributes:
        day: the day it ran for.
        attempts: the attempts it decided or finished, in order (charged, declined,
            over the maximum, unreachable).
        skipped: ``(contact id, why)`` for each contact it could not run for.
    """

    day: date
    attempts: tuple[AutopayAttempt, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()

    def with_outcome(self, outcome: AutopayOutcome) -> tuple[AutopayAttempt, ...]:
        """The attempts that ended with ``outcome``."""
        return tuple(attempt for attempt in self.attempts if attempt.outcome is outcome)

    @property
    def charged(self) -> tuple[AutopayAttempt, ...]:
        """The attempts whose charge succeeded or is processing (a bank payment)."""
        taken = (AutopayOutcome.SUCCEEDED, AutopayOutcome.PROCESSING)
        return tuple(attempt for attempt in self.attempts if attempt.outcome in taken)


def saved_payment_method(work: Work, contact_id: str) -> SavedPaymentMethod | None:
    """The contact's saved payment method, or ``None``.

    Raises:
        NotFoundError: no such contact.
    """
    contact = require_contact(work, contact_id)
    return work.uow.saved_methods.get(contact.id)


def save_payment_method(
    context: ServiceContext, contact_id: str, *, gateway: str, token: str
) -> SavedPaymentMethod:
    """Save, without a payment, the method ``token`` stands for (a token the payer's
    browser got from ``gateway``'s own script), where the contact may save one (seed
    003) through that gateway (seed 004); it becomes the contact's saved method.

    The contact is checked before the gateway is asked, and again when its answer is
    recorded (staff may have switched the toggle off in between). The same token sent
    again saves once (the idempotency key is derived from it).

    Raises:
        ValidationError: a blank token, or one that is no vendor token.
        ConfigurationError: no such gateway configured.
        GatewayRejectedError: the gateway cannot save a method from a token
            (``code="unsupported_purpose"``), or refused the token.
        GatewayNotAllowedError: the contact may not use ``gateway``.
        AccessDeniedError: the contact lacks full access or "can save payment method".
        GatewayError: the gateway could not be reached (try again with the same token).
    """
    ensure_identifier(token, field="token")
    saver = context.gateway(gateway)
    if not isinstance(saver, SavedMethodSaving):
        raise GatewayRejectedError(
            f"{gateway} cannot save a payment method without a payment",
            gateway=gateway,
            code="unsupported_purpose",
        )
    setup = run(context, partial(_setup, contact_id=contact_id, gateway=gateway, token=token))
    method = saver.save_method(setup)
    if method.contact_id != contact_id or method.gateway != gateway:
        raise GatewayRejectedError(
            "the gateway saved a method for someone else", gateway=gateway, code="method_owner"
        )
    return run(context, partial(_keep, method=method))


def _may_save(work: Work, contact_id: str, gateway: str) -> None:
    state = require_access_state(work, contact_id)
    policy = work.context.policy
    ensure_payable(gateway, state.portal.allowed_gateways, policy.gateways)
    decision = decide(state, policy, work.context.clock.now())
    if not decision.can(Capability.SAVE_PAYMENT_METHOD) or gateway not in decision.gateways:
        raise AccessDeniedError("this contact may not save a payment method here")


def _setup(work: Work, contact_id: str, gateway: str, token: str) -> SavedMethodSetup:
    _may_save(work, contact_id, gateway)
    contact = require_contact(work, contact_id)
    digest = hashlib.sha256(token.encode()).hexdigest()[:32]
    return SavedMethodSetup(
        contact_id=contact.id,
        token=token,
        idempotency_key=f"save:{contact.id}:{digest}",
        customer_email=contact.email,
        customer_name=contact.full_name,
    )


def _keep(work: Work, method: SavedPaymentMethod) -> SavedPaymentMethod:
    _may_save(work, method.contact_id, method.gateway)
    outcome = apply_saved_method(work, method, work.context.clock.now())
    stored = work.uow.saved_methods.get(method.contact_id)
    if outcome != APPLIED and (stored is None or stored.method_id != method.method_id):
        raise AccessDeniedError(f"the saved method was not kept: {outcome}")
    assert stored is not None
    return stored


def run_autopay(context: ServiceContext, today: date) -> AutopayReport:
    """Charge what is due on ``today`` (see the module docstring).

    Raises:
        ValidationError: ``today`` is not a date.
    """
    given: object = today
    if not isinstance(given, date) or isinstance(given, datetime):
        raise ValidationError("must be a date", field="today", value=given)
    methods = run(context, _saved_methods)
    attempts: list[AutopayAttempt] = []
    skipped: list[tuple[str, str]] = []
    for method in methods:
        gateway = _charger(context.gateways.get(method.gateway))
        if gateway is None:
            skipped.append((method.contact_id, f"{method.gateway} cannot charge a saved method"))
            continue
        planned = run(context, partial(_plan, method=method, today=today))
        if isinstance(planned, str):
            skipped.append((method.contact_id, planned))
            continue
        decided, to_charge = planned
        attempts += decided
        for attempt in to_charge:
            attempts.append(_charge(context, gateway, attempt))
    return AutopayReport(day=today, attempts=tuple(attempts), skipped=tuple(skipped))


def _charger(gateway: object) -> SavedMethodCharging | None:
    """``gateway`` when it can charge a saved method off-session, else ``None``."""
    return gateway if isinstance(gateway, SavedMethodCharging) else None


def _saved_methods(work: Work) -> list[SavedPaymentMethod]:
    found: list[SavedPaymentMethod] = []
    for name in sorted(work.context.gateways):
        found += work.uow.saved_methods.for_gateway(name)
    return found


def _plan(
    work: Work, method: SavedPaymentMethod, today: date
) -> str | tuple[list[AutopayAttempt], list[AutopayAttempt]]:
    """In one unit of work: the attempts decided without the gateway (over the maximum,
    mailed) and those to charge (recorded as ``CHARGING`` first); or why the contact is
    skipped."""
    uow, policy = work.uow, work.context.policy
    current = uow.saved_methods.get(method.contact_id)
    if current != method:
        return "the saved method changed during the run"
    state = uow.access.get(method.contact_id)
    contact = uow.contacts.get(method.contact_id)
    if state is None or contact is None:
        return "no such contact"
    decision = decide(state, policy, work.context.clock.now())
    if not decision.can(Capability.AUTOPAY) or method.gateway not in decision.gateways:
        return "the contact may not use autopay through this gateway"
    account = require_account(work, contact.account_id)
    maximum = autopay_maximum(account.account_class, policy.system)
    decided: list[AutopayAttempt] = []
    to_charge: list[AutopayAttempt] = []
    for invoice in uow.invoices.for_account(contact.account_id):
        if invoice.contact_id not in (None, contact.id) or not _chargeable(work, invoice, method):
            continue
        verdict = autopay_verdict(invoice, today, maximum)
        if verdict in (AutopayVerdict.NOT_DUE, AutopayVerdict.NOT_OPEN):
            continue
        earlier = uow.autopay_attempts.get(invoice.id, method.method_id)
        if earlier is not None and earlier.outcome.final:
            continue
        if earlier is not None:  # asked before, never answered: ask again, same key
            to_charge.append(earlier)
            continue
        attempt = AutopayAttempt(
            invoice_id=invoice.id,
            contact_id=contact.id,
            gateway=method.gateway,
            method_id=method.method_id,
            amount=invoice.balance,
            attempted_on=today,
            outcome=AutopayOutcome.CHARGING,
        )
        if verdict is AutopayVerdict.OVER_MAXIMUM:
            assert maximum is not None
            attempt = attrs.evolve(
                attempt, outcome=AutopayOutcome.OVER_MAXIMUM, reason=f"maximum {maximum}"
            )
            _mail(work, invoice, attempt, work.context.templates.autopay_over_maximum, maximum)
            decided.append(attempt)
        else:
            to_charge.append(attempt)
        uow.autopay_attempts.save(attempt)
    return decided, to_charge


def _chargeable(work: Work, invoice: Invoice, method: SavedPaymentMethod) -> bool:
    """Whether autopay may take this invoice's money with ``method``: payable through the
    method's gateway (reports of another gateway never pay it), not a renewal (the
    subscription charges itself), no payment of it processing or succeeded, and no other
    method's autopay of it under way."""
    if invoice.gateway != method.gateway or invoice.purpose is InvoicePurpose.RENEWAL:
        return False
    payments = (record.snapshot for record in invoice_payments(work, invoice))
    if checkout_refusal(invoice.id, payments) is not None:
        return False
    return not any(
        other.method_id != method.method_id and other.outcome in _UNDER_WAY
        for other in work.uow.autopay_attempts.for_invoice(invoice.id)
    )


def _charge(
    context: ServiceContext, gateway: SavedMethodCharging, attempt: AutopayAttempt
) -> AutopayAttempt:
    """Ask the gateway, then record its answer in a unit of work of its own; a method no
    longer on file (removed at its gateway since the run planned the charge) is never
    sent to the gateway (seed 003): the attempt ends ``NO_METHOD``."""
    if not run(context, partial(_on_file, attempt=attempt)):
        log.info("autopay of invoice %s: method %s no longer on file", attempt.invoice_id,
                 attempt.method_id)  # fmt: skip
        gone = attrs.evolve(attempt, outcome=AutopayOutcome.NO_METHOD, reason=_NOT_ON_FILE)
        return run(context, lambda work: _record(work, gone, None))
    charge = SavedMethodCharge(
        contact_id=attempt.contact_id,
        method_id=attempt.method_id,
        invoice_id=attempt.invoice_id,
        amount=attempt.amount,
        idempotency_key=attempt.idempotency_key,
    )
    snapshot: PaymentSnapshot | None = None
    try:
        snapshot = gateway.charge_saved_method(charge)
    except GatewayError as exc:
        log.warning("autopay of invoice %s: %s", attempt.invoice_id, exc)
        outcome = AutopayOutcome.UNREACHABLE if exc.retry_safe else AutopayOutcome.DECLINED
        answered = attrs.evolve(attempt, outcome=outcome, reason=exc.code or str(exc))
    else:
        answered = attrs.evolve(
            attempt,
            outcome=_OUTCOME.get(snapshot.status, AutopayOutcome.SUCCEEDED),
            payment_id=snapshot.payment_id,
            reason="declined" if snapshot.status is PaymentStatus.FAILED else "",
        )
    return run(context, lambda work: _record(work, answered, snapshot))


def _on_file(work: Work, attempt: AutopayAttempt) -> bool:
    """Whether the attempt's method is still the contact's saved method."""
    method = work.uow.saved_methods.get(attempt.contact_id)
    return method is not None and (method.gateway, method.method_id) == (
        attempt.gateway,
        attempt.method_id,
    )


def _record(
    work: Work, attempt: AutopayAttempt, snapshot: PaymentSnapshot | None
) -> AutopayAttempt:
    uow = work.uow
    stored = uow.autopay_attempts.get(attempt.invoice_id, attempt.method_id)
    if stored is not None and stored.outcome.final:
        return stored  # another run recorded the answer first
    uow.autopay_attempts.save(attempt)
    if snapshot is not None:
        apply_payment(work, snapshot, work.context.clock.now())
    if attempt.outcome is AutopayOutcome.DECLINED:
        invoice = uow.invoices.get(attempt.invoice_id)
        if invoice is not None:
            _mail(work, invoice, attempt, work.context.templates.autopay_declined, None)
    return attempt


def _mail(
    work: Work,
    invoice: Invoice,
    attempt: AutopayAttempt,
    template: EmailTemplate,
    maximum: Money | None,
) -> None:
    contact = work.uow.contacts.get(attempt.contact_id)
    if contact is None or contact.email is None:
        log.warning("autopay: contact %s has no email to tell", attempt.contact_id)
        return
    account = work.uow.accounts.get(contact.account_id)
    values = template_values(
        work,
        contact,
        account,
        invoice__number=invoice.number,
        invoice__total=str(attempt.amount),
        invoice__due_date=invoice.due_on.isoformat(),
        autopay__maximum=None if maximum is None else str(maximum),
        document__url=mailed_link(work, contact, DocumentRef(DocumentKind.INVOICE, invoice.id)),
    )
    send_email(
        work,
        kind=f"autopay_{attempt.outcome.value}",
        template=template,
        to=(contact.email,),
        values=values,
        contact_id=contact.id,
    )
