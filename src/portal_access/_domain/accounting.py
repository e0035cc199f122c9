"""Accounting entries: what each settled payment, refund, dispute and gateway fee puts
in the books, and in which bank account.

Seed 004_67d5e53a019b49ae.txt: "match the payment methods that you have integrated with
the accounts that you have created at Banks. This will allow the accounting entries of
the generated payments to be automatically assigned to the corresponding bank account."

A payment's *state* implies its entries (a refunded payment was settled first, so it
has a payment entry and a refund entry), and each entry is kept under ``(gateway,
payment id, line)``: the line is the kind, with the vendor's id of the refund or dispute
it records (``refund:re_1``), so duplicated, reordered or reconciled reports of a
payment make each entry once, whatever order they come in, and two refunds of one
payment make two. A method with no account mapped still makes its entries, with no
account, and they are listed as unmapped: never dropped.

>>> from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
>>> partly = PaymentSnapshot("py_1", "inv-1", PaymentMethodKind.CARD,
...     PaymentStatus.SUCCEEDED, Money(5000, "USD"), 7, "stripe",
...     refunds=(PaymentRefund("re_1", Money(1000, "USD")),))
>>> [(line.line, line.amount.amount) for line in implied_entries(partly)]
[('payment', 5000), ('refund:re_1', 1000)]
>>> csv_cell("=HYPERLINK(1)"), csv_cell("-12.50")
("'=HYPERLINK(1)", '-12.50')
"""

from __future__ import annotations

import enum
import re
from datetime import datetime

import attrs

from portal_access._domain.money import Money
from portal_access._domain.payments import (
    DisputeOutcome,
    PaymentMethodKind,
    PaymentRefund,
    PaymentSnapshot,
    PaymentStatus,
)
from portal_access._domain.validation import (
    aware_datetime,
    identifier,
    instance_of,
    non_blank,
    optional,
    text,
)

__all__ = [
    "CSV_COLUMNS",
    "AccountingEntry",
    "EntryKind",
    "EntryLine",
    "LedgerAccount",
    "csv_cell",
    "csv_row",
    "entry_line",
    "implied_entries",
]


class EntryKind(enum.Enum):
    """What an accounting entry records; money in is positive, money out negative.

    ``DISPUTE_WON`` is the reversal of a ``DISPUTE`` the payee won: the money came back.
    ``DISPUTE_FEE`` is what the gateway charged for handling a dispute, and
    ``DISPUTE_FEE_RETURNED`` what of it the gateway gave back.
    """

    PAYMENT = "payment"
    FEE = "fee"
    REFUND = "refund"
    DISPUTE = "dispute"
    DISPUTE_WON = "dispute_won"
    DISPUTE_FEE = "dispute_fee"
    DISPUTE_FEE_RETURNED = "dispute_fee_returned"

    @property
    def sign(self) -> int:
        """``+1`` for money received, ``-1`` for money given back or kept by others."""
        return 1 if self in _MONEY_IN else -1


_MONEY_IN = frozenset({EntryKind.PAYMENT, EntryKind.DISPUTE_WON, EntryKind.DISPUTE_FEE_RETURNED})


def entry_line(kind: EntryKind, reference: str = "") -> str:
    """The key of an entry within its payment: the kind, and the vendor's id of the
    refund or dispute it records.

    >>> entry_line(EntryKind.FEE), entry_line(EntryKind.REFUND, "re_1")
    ('fee', 'refund:re_1')
    """
    return f"{kind.value}:{reference}" if reference else kind.value


@attrs.frozen
class LedgerAccount:
    """The bank or ledger account staff matched to one gateway's payment method.

    Args:
        gateway: the gateway (``"stripe"``).
        method: the payment method kind paid through it.
        code: the account's code in the host's books (``"1010"``).
        name: the account's name (``"Operating account, First Bank"``).
    """

    gateway: str = attrs.field(validator=identifier)
    method: PaymentMethodKind = attrs.field(validator=instance_of(PaymentMethodKind))
    code: str = attrs.field(validator=non_blank)
    name: str = attrs.field(default="", validator=text)


@attrs.frozen
class AccountingEntry:
    """One line of the books.

    Args:
        gateway: the gateway the money went through.
        payment_id: the gateway's payment it comes from.
        kind: payment, fee, refund, dispute, dispute won, dispute fee or dispute fee
            returned.
        invoice_id: our invoice the payment is for.
        account_id: the customer account.
        method: how the payment was made.
        amount: how much (always positive; :attr:`signed_amount` carries the sign).
        occurred_at: when the gateway reported it.
        ledger_account: the account code staff mapped the method to; ``None``: unmapped.
        reference: the vendor's id of the refund or dispute the entry records (a
            dispute fee's: its dispute's); ``""`` for a payment or its fee, and for a
            refund or dispute the gateway did not itemize.
    """

    gateway: str = attrs.field(validator=identifier)
    payment_id: str = attrs.field(validator=identifier)
    kind: EntryKind = attrs.field(validator=instance_of(EntryKind))
    invoice_id: str = attrs.field(validator=identifier)
    account_id: str = attrs.field(validator=identifier)
    method: PaymentMethodKind = attrs.field(validator=instance_of(PaymentMethodKind))
    amount: Money = attrs.field(validator=instance_of(Money))
    occurred_at: datetime = attrs.field(validator=aware_datetime)
    ledger_account: str | None = attrs.field(default=None, validator=optional(non_blank))
    reference: str = attrs.field(default="", validator=text)

    @property
    def line(self) -> str:
        """Its key within its payment (see :func:`entry_line`)."""
        return entry_line(self.kind, self.reference)

    @property
    def signed_amount(self) -> int:
        """The amount in minor units, negative for money out."""
        return self.kind.sign * self.amount.amount

    @property
    def mapped(self) -> bool:
        """Whether the entry has an account."""
        return self.ledger_account is not None


@attrs.frozen
class EntryLine:
    """One entry a payment report implies: its kind, amount, and the vendor's id of the
    refund or dispute (``""`` for the payment and its fee; a dispute's fee carries the
    dispute's id)."""

    kind: EntryKind
    amount: Money
    reference: str = ""
    at: datetime | None = None  # when the vendor says it happened, if it says

    @property
    def line(self) -> str:
        """Its key within its payment (see :func:`entry_line`)."""
        return entry_line(self.kind, self.reference)

    @property
    def itemized(self) -> bool:
        """Whether it records a refund or dispute the gateway named by its own id."""
        return bool(self.reference)


def implied_entries(snapshot: PaymentSnapshot) -> tuple[EntryLine, ...]:
    """The entries a payment in this state has made by now.

    Processing and failed payments have settled nothing; any other is a payment, its
    fee (when the gateway reports one), each refund the report itemizes (partial ones
    included), and each dispute: opened, a ``dispute`` entry; won, a ``dispute_won``
    entry too (the money came back); lost, nothing more; the dispute's fee, when the
    gateway reports one, a ``dispute_fee`` entry, and what of it came back a
    ``dispute_fee_returned`` entry. A report that says refunded in full (or disputed)
    without itemizing, from a gateway that does not itemize at all
    (``snapshot.itemized`` false), implies one entry of the whole amount, keyed by its
    kind alone.
    """
    status = snapshot.status
    if status in (PaymentStatus.PROCESSING, PaymentStatus.FAILED):
        return ()
    lines = [EntryLine(EntryKind.PAYMENT, snapshot.amount)]
    if snapshot.fee:
        lines.append(EntryLine(EntryKind.FEE, snapshot.fee))
    lines += [_refund_line(refund) for refund in snapshot.refunds]
    if status is PaymentStatus.REFUNDED and not (snapshot.refunds or snapshot.itemized):
        lines.append(EntryLine(EntryKind.REFUND, snapshot.amount))
    for dispute in snapshot.disputes:
        lines.append(EntryLine(EntryKind.DISPUTE, dispute.amount, dispute.dispute_id))
        if dispute.outcome is DisputeOutcome.WON:
            lines.append(EntryLine(EntryKind.DISPUTE_WON, dispute.amount, dispute.dispute_id))
        if dispute.fee:
            lines.append(EntryLine(EntryKind.DISPUTE_FEE, dispute.fee, dispute.dispute_id))
        if dispute.fee_returned:
            returned = dispute.fee_returned
            lines.append(EntryLine(EntryKind.DISPUTE_FEE_RETURNED, returned, dispute.dispute_id))
    if status is PaymentStatus.DISPUTED and not (snapshot.disputes or snapshot.itemized):
        lines.append(EntryLine(EntryKind.DISPUTE, snapshot.amount))
    return tuple(lines)


def _refund_line(refund: PaymentRefund) -> EntryLine:
    return EntryLine(EntryKind.REFUND, refund.amount, refund.refund_id, refund.refunded_at)


#: The header of the CSV export.
CSV_COLUMNS = (
    "occurred_at",
    "kind",
    "gateway",
    "payment_id",
    "reference",
    "invoice_id",
    "account_id",
    "method",
    "ledger_account",
    "amount",
    "currency",
)

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value: str) -> str:
    """``value`` safe for a spreadsheet: text starting like a formula (``=``, ``+``,
    ``-``, ``@``, tab, CR, LF) gets a leading ``'`` (CSV injection); plain numbers stay."""
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(entry: AccountingEntry) -> tuple[str, ...]:
    """``entry`` as a CSV row of :data:`CSV_COLUMNS`, every cell escaped; the amount in
    major units with the currency's digits, negative for money out."""
    amount = entry.amount
    shown = f"{amount.major:.{amount.exponent}f}"
    cells = (
        entry.occurred_at.isoformat(),
        entry.kind.value,
        entry.gateway,
        entry.payment_id,
        entry.reference,
        entry.invoice_id,
        entry.account_id,
        entry.method.value,
        entry.ledger_account or "",
        f"-{shown}" if entry.kind.sign < 0 else shown,
        entry.amount.currency,
    )
    return tuple(csv_cell(cell) for cell in cells)
