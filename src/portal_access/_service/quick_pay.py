"""Invoice quick pay for guests (seed 001_345994b3bb014aeb.txt: "Enable payment as
guest", "Invoice Quick Pay").

A guest gives the invoice number and the quick-pay code printed on it. The code is a
per-invoice secret, so a full match opens the payment page at once; anything else (no
such invoice, a wrong code, nothing owed) gets one and the same answer, and attempts
are rate-limited per invoice number and per client. The account number is *not*
accepted here (unlike self-registration): it is printed on every statement and never
changes, so it is too weak to open a payment page without a login.
"""

from __future__ import annotations

import hmac

import attrs

from portal_access._domain.billing import InvoiceLine, InvoiceStatus
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest, CheckoutSession
from portal_access._domain.errors import AccessDeniedError
from portal_access._domain.return_urls import check_return_urls
from portal_access._domain.visitor_input import MAX_CODE_LENGTH, ensure_visitor_text
from portal_access._service.anonymous import LOOKUP_FLOOR, hit_limits, no_faster_than
from portal_access._service.checkout import (
    ensure_payable_invoice,
    invoice_target,
    open_checkout,
    payment_methods_for,
    reuse_open_session,
)
from portal_access._service.context import ServiceContext, Work, run

__all__ = ["QuickPayResult", "count_quick_pay", "prepare_quick_pay", "quick_pay"]


@attrs.frozen
class QuickPayResult:
    """The answer to a quick-pay request: the page to go to, or ``None`` (the same
    ``None`` whether the invoice is unknown, the code wrong, or nothing is owed)."""

    checkout: CheckoutSession | None


def _normalised(code: str) -> bytes:
    return "".join(code.split()).replace("-", "").upper().encode()


def count_quick_pay(
    context: ServiceContext,
    invoice_number: str,
    code: str,
    *,
    success_url: str,
    cancel_url: str,
    client_key: str,
) -> str:
    """Check a quick-pay request's input and count the attempt, outside any unit of work
    (a refused or failed attempt still counts); the invoice number to look up.

    Raises:
        AccessDeniedError: guest payment is switched off (system option).
        ValidationError: an invoice number or code longer than 64 characters or with
            control characters, a blank ``client_key``, or a return URL off the portal.
        ConfigurationError: no portal origin is configured to check return URLs against.
        RateLimitedError: too many attempts for this invoice number or client.
    """
    if not context.policy.system.pay_as_guest:
        raise AccessDeniedError("payment as guest is not enabled")
    check_return_urls(
        context.policy.system.portal_origins, success_url=success_url, cancel_url=cancel_url
    )
    number = ensure_visitor_text(
        invoice_number, field="invoice_number", max_length=MAX_CODE_LENGTH
    ).strip()
    ensure_visitor_text(code, field="code", max_length=MAX_CODE_LENGTH, blank=True)
    hit_limits(context, "quick-pay", client_key, invoice=number.upper())
    return number


def prepare_quick_pay(
    work: Work,
    number: str,
    code: str,
    *,
    success_url: str,
    cancel_url: str,
) -> CheckoutRequest | CheckoutSession | None:
    """The checkout request for the open invoice ``number`` (as :func:`count_quick_pay`
    returned it) when ``code`` matches, a reusable page, or ``None``.

    Raises:
        PaymentInProgressError: a payment of the matched invoice is under way.
        GatewayNotAllowedError: the invoice's contact may not use its gateway (seed 004).
    """
    context = work.context
    now = context.clock.now()
    invoice = work.uow.invoices.with_number(number)
    expected = _normalised(invoice.quick_pay_code or "") if invoice else b"\0" * 8
    matched = hmac.compare_digest(_normalised(code), expected) and bool(expected.strip(b"\0"))
    if invoice is None or not matched or invoice.status is not InvoiceStatus.OPEN:
        return None
    balance = invoice.balance
    if not balance or invoice.gateway is None or invoice.gateway not in context.gateways:
        return None
    ensure_payable_invoice(work, invoice)  # the code matched: say why no page opens
    key = f"quick-pay:{invoice.id}:{balance.amount}:{now.date().isoformat()}"
    reused = reuse_open_session(work, key)
    if reused is not None:
        return reused
    return CheckoutRequest(
        purpose=CheckoutPurpose.QUICK_PAY,
        currency=invoice.currency,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=key,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        lines=(InvoiceLine(f"Invoice {invoice.number}", balance),),
        payment_methods=payment_methods_for(invoice.currency),
    )


def quick_pay(
    context: ServiceContext,
    invoice_number: str,
    code: str,
    *,
    success_url: str,
    cancel_url: str,
    client_key: str,
) -> QuickPayResult:
    """A guest pays an invoice with its number and quick-pay code: the attempt is
    counted (:func:`count_quick_pay`), the lookup takes no less than
    :data:`~portal_access._service.anonymous.LOOKUP_FLOOR` whatever matched, then a page
    opens for a full match."""

    def look_up() -> CheckoutRequest | CheckoutSession | None:
        number = count_quick_pay(
            context,
            invoice_number,
            code,
            success_url=success_url,
            cancel_url=cancel_url,
            client_key=client_key,
        )

        def prepare(work: Work) -> CheckoutRequest | CheckoutSession | None:
            return prepare_quick_pay(
                work, number, code, success_url=success_url, cancel_url=cancel_url
            )

        return run(context, prepare, deliver=False)

    prepared = no_faster_than(LOOKUP_FLOOR, look_up)
    if prepared is None or isinstance(prepared, CheckoutSession):
        return QuickPayResult(checkout=prepared)
    request: CheckoutRequest = prepared
    session = open_checkout(
        context, lambda _work: request, lambda found: invoice_target(context, found)
    )
    return QuickPayResult(checkout=session)
