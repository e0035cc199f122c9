"""The account summary a contact sees on entering the portal.

Seed 004_67d5e53a019b49ae.txt: "your contacts will immediately see a summary of all
transactions made and pending"; seed 003_11ad6fb0c789d951.txt: invoices, balances,
payment history; seed 001_345994b3bb014aeb.txt: aging buckets (when displayed).
"""

from __future__ import annotations

from datetime import date

import attrs

from portal_access._domain.access import decide
from portal_access._domain.aging import AgingBuckets, age_invoices
from portal_access._domain.billing import Invoice, InvoiceStatus
from portal_access._domain.capabilities import Capability
from portal_access._domain.duplicate_payments import DuplicatePayment
from portal_access._domain.errors import AccessDeniedError
from portal_access._domain.money import Money
from portal_access._service.access_states import require_access_state
from portal_access._service.context import Work
from portal_access._service.payment_history import payment_history
from portal_access.repositories import PaymentRecord

__all__ = ["AccountSummary", "account_summary"]


@attrs.frozen
class AccountSummary:
    """Balances, aging, invoices and payments of the contact's account.

    Args:
        account_id: the account.
        as_of: the day balances and aging are computed for.
        balances: open balance per currency (only currencies with open invoices).
        aging: aging buckets per currency; empty when the portal hides aging buckets.
        invoices: every invoice of the account, newest first.
        settled_payments: succeeded, refunded and disputed payments, newest first.
        pending_payments: payments still processing (ACH), newest first.
        duplicate_payments: payments that brought more than their invoice asked (a
            second payment of one invoice), with the surplus for staff to refund; each
            leaves the list once refunded (seed 000: an invoice is paid once).
    """

    account_id: str
    as_of: date
    balances: dict[str, Money]
    aging: dict[str, AgingBuckets]
    invoices: tuple[Invoice, ...]
    settled_payments: tuple[PaymentRecord, ...]
    pending_payments: tuple[PaymentRecord, ...]
    duplicate_payments: tuple[DuplicatePayment, ...] = ()


def account_summary(work: Work, contact_id: str) -> AccountSummary:
    """The summary for a contact with full access.

    Raises:
        NotFoundError: no such contact.
        AccessDeniedError: the contact may not view invoices (no full access).
    """
    state = require_access_state(work, contact_id)
    now = work.context.clock.now()
    decision = decide(state, work.context.policy, now)
    if not decision.can(Capability.VIEW_INVOICES):
        raise AccessDeniedError(f"no access to the account summary ({decision.reason.value})")
    as_of = now.date()
    invoices = tuple(
        sorted(
            work.uow.invoices.for_account(state.account_id),
            key=lambda invoice: (invoice.issued_on, invoice.id),
            reverse=True,
        )
    )
    currencies = sorted({i.currency for i in invoices if i.status is InvoiceStatus.OPEN})
    balances = {
        currency: Money.total(
            (
                i.balance
                for i in invoices
                if i.currency == currency and i.status is InvoiceStatus.OPEN
            ),
            currency,
        )
        for currency in currencies
    }
    aging = (
        {
            currency: age_invoices(
                (i for i in invoices if i.currency == currency), as_of=as_of, currency=currency
            )
            for currency in currencies
        }
        if decision.can(Capability.AGING_BUCKETS)
        else {}
    )
    history = payment_history(work.uow.payments.for_account(state.account_id), invoices, now=now)
    return AccountSummary(
        account_id=state.account_id,
        as_of=as_of,
        balances=balances,
        aging=aging,
        invoices=invoices,
        settled_payments=history.settled,
        pending_payments=history.pending,
        duplicate_payments=history.duplicates,
    )
