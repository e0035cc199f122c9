"""Accounting entries: recorded where payments are applied, listed, exported as CSV.

Seed 004_67d5e53a019b49ae.txt: "match the payment methods that you have integrated with
the accounts that you have created at Banks". Staff map each ``(gateway, payment
method)`` to a bank or ledger account (:func:`map_ledger_account`); every payment report
the service applies (a webhook, a reconciled event, an autopay charge's answer) records
the entries its state implies, in the same unit of work, each once under ``(gateway,
payment id, line)`` (:func:`~portal_access._domain.accounting.implied_entries`): the
payment, its fee, each refund and each dispute by the vendor's own id, a won dispute's
reversal. A method nobody mapped still gets its entries, with no account: they are
listed by :func:`unmapped_entries` and logged, never dropped.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import date, datetime

from portal_access._domain.accounting import (
    CSV_COLUMNS,
    AccountingEntry,
    EntryKind,
    LedgerAccount,
    csv_row,
    implied_entries,
)
from portal_access._domain.audit import Actor, AuditAction
from portal_access._domain.errors import ValidationError
from portal_access._domain.invitations import StaffMember
from portal_access._domain.payments import PaymentSnapshot
from portal_access._domain.validation import ensure_instance
from portal_access._service import audit_trail
from portal_access._service.context import Work

__all__ = [
    "MAX_PERIOD_DAYS",
    "accounting_csv",
    "accounting_entries",
    "ledger_accounts",
    "map_ledger_account",
    "record_entries",
    "unmapped_entries",
]

log = logging.getLogger("portal_access.accounting")

#: The longest period one listing covers (about ten years): each month is one lookup.
MAX_PERIOD_DAYS = 3660


def record_entries(
    work: Work, snapshot: PaymentSnapshot, *, account_id: str, occurred_at: datetime
) -> int:
    """Record the entries ``snapshot``'s state implies that are not recorded yet; how
    many were new. Runs in the unit of work that applies the report.

    An itemized refund or dispute is not recorded where the payment already has the
    unitemized entry of its kind (a report that said "refunded in full" without naming
    the refund, or an entry recorded before refunds were itemized): that entry already
    holds its money.
    """
    uow = work.uow
    lines = implied_entries(snapshot)
    if not lines:  # no money moved yet (a processing payment): nothing to map or record
        return 0
    mapped = uow.ledger_accounts.get(snapshot.gateway, snapshot.method)
    new = 0
    for line in lines:
        if (
            line.itemized
            and line.kind in (EntryKind.REFUND, EntryKind.DISPUTE)
            and (uow.accounting_entries.get(snapshot.gateway, snapshot.payment_id, line.kind.value))
        ):
            continue
        entry = AccountingEntry(
            gateway=snapshot.gateway,
            payment_id=snapshot.payment_id,
            kind=line.kind,
            invoice_id=snapshot.invoice_id,
            account_id=account_id,
            method=snapshot.method,
            amount=line.amount,
            occurred_at=line.at or occurred_at,
            ledger_account=None if mapped is None else mapped.code,
            reference=line.reference,
        )
        if uow.accounting_entries.add(entry):
            new += 1
            if mapped is None:
                log.warning(
                    "accounting entry %s of %s payment %s: no ledger account for %s",
                    line.line,
                    snapshot.gateway,
                    snapshot.payment_id,
                    snapshot.method.value,
                )
    return new


def map_ledger_account(work: Work, account: LedgerAccount, *, staff: StaffMember) -> LedgerAccount:
    """Map ``account.gateway`` and ``account.method`` to ``account`` (entries recorded
    from now on carry its code); on the audit trail.

    Raises:
        ValidationError: ``account`` is not a :class:`LedgerAccount`.
        ConfigurationError: no such gateway is configured.
    """
    account = ensure_instance(account, LedgerAccount, field="account")
    ensure_instance(staff, StaffMember, field="staff")
    work.context.gateway(account.gateway)
    work.uow.ledger_accounts.save(account)
    work.actor = Actor.staff(staff)
    audit_trail.record(
        work,
        AuditAction.MAP_LEDGER_ACCOUNT,
        details={"gateway": account.gateway, "method": account.method.value,
                 "code": account.code},
    )  # fmt: skip
    return account


def ledger_accounts(work: Work) -> tuple[LedgerAccount, ...]:
    """Every mapping, by gateway then method."""
    found: list[LedgerAccount] = []
    for gateway in sorted(work.context.gateways):
        found += work.uow.ledger_accounts.for_gateway(gateway)
    return tuple(found)


def _day(value: object, name: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError("must be a date", field=name, value=value)
    return value


def _period(start: object, end: object) -> tuple[date, date]:
    start, end = _day(start, "start"), _day(end, "end")
    if end < start:
        raise ValidationError("the period ends before it starts", field="end", value=end)
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationError(
            f"a period covers at most {MAX_PERIOD_DAYS} days", field="end", value=end
        )
    return start, end


def accounting_entries(work: Work, start: date, end: date) -> tuple[AccountingEntry, ...]:
    """The entries that occurred from ``start`` to ``end`` (both days included, UTC),
    oldest first.

    Raises:
        ValidationError: not dates, ``end`` before ``start``, or more than
            :data:`MAX_PERIOD_DAYS` between them.
    """
    start, end = _period(start, end)
    return work.uow.accounting_entries.in_period(start, end)


def unmapped_entries(work: Work) -> tuple[AccountingEntry, ...]:
    """The entries recorded with no ledger account, oldest first (map the method, then
    post these by hand: their account is what it was when they were recorded)."""
    return work.uow.accounting_entries.unmapped()


def accounting_csv(work: Work, start: date, end: date) -> str:
    """:func:`accounting_entries` as CSV text: a header of
    :data:`~portal_access._domain.accounting.CSV_COLUMNS`, one row per entry, every cell
    escaped against CSV injection.

    Raises:
        ValidationError: as :func:`accounting_entries`.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(entry) for entry in accounting_entries(work, start, end))
    return out.getvalue()
