"""Accounting entries: what each settled payment, refund, dispute and gateway fee puts
in the books, and in which bank account.

Seed 004_67d5e53a019b49ae.txt: "match the payment methods that you have integrated with
the accounts that you have created at Banks. This will allow the accounting entries of
the generated payments to be automatically assigned to the corresponding bank account."

A payment's *state* implies its entries (a refunded payment was settled first, so it
has a payment entry and a refund entry), and each entry is kept under ``(gateway,
payment id, kind)``: duplicated, reordered or reconciled reports of a payment make each
entry once, whatever order they come in. A method with no account mapped still makes
its entries, with no account, and they are listed as unmapped: never dropped.

>>> from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
>>> refunded = PaymentSnapshot("py_1", "inv-1", PaymentMethodKind.CARD,
...     PaymentStatus.REFUNDED, Money(5000, "USD"), 7, "stripe")
>>> [kind.value for kind in implied_entries(refunded)]
['payment', 'refund']
>>> csv_cell("=HYPERLINK(1)"), csv_cell("-12.50")
("'=HYPERLINK(1)", '-12.50')
"""

from __future__ import annotations

import enum
import re
from datetime import datetime

import attrs

from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentSnapshot, PaymentStatus
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
    "LedgerAccount",
    "csv_cell",
    "csv_row",
    "implied_entries",
]


class EntryKind(enum.Enum):
    """What an accounting entry records; money in is positive, money out negative."""

    PAYMENT = "payment"
    FEE = "fee"
    REFUND = "refund"
    DISPUTE = "dispute"

    @property
    def sign(self) -> int:
        """``+1`` for money received, ``-1`` for money given back or kept by others."""
        return 1 if self is EntryKind.PAYMENT else -1


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
        kind: payment, fee, refund or dispute.
        invoice_id: our invoice the payment is for.
        account_id: the customer account.
        method: how the payment was made.
        amount: how much (always positive; :attr:`signed_amount` carries the sign).
        occurred_at: when the gateway reported it.
        ledger_account: the account code staff mapped the method to; ``None``: unmapped.
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

    @property
    def signed_amount(self) -> int:
        """The amount in minor units, negative for money out."""
        return self.kind.sign * self.amount.amount

    @property
    def mapped(self) -> bool:
        """Whether the entry has an account."""
        return self.ledger_account is not None


def implied_entries(snapshot: PaymentSnapshot) -> tuple[EntryKind, ...]:
    """The entries a payment in this state has made by now (its fee when it reports one).

    Processing and failed payments have settled nothing; a succeeded one is a payment
    (and its fee); refunded and disputed ones were settled first.
    """
    status = snapshot.status
    if status in (PaymentStatus.PROCESSING, PaymentStatus.FAILED):
        return ()
    kinds = [EntryKind.PAYMENT]
    if snapshot.fee:
        kinds.append(EntryKind.FEE)
    if status is PaymentStatus.REFUNDED:
        kinds.append(EntryKind.REFUND)
    elif status is PaymentStatus.DISPUTED:
        kinds.append(EntryKind.DISPUTE)
    return tuple(kinds)


#: The header of the CSV export.
CSV_COLUMNS = (
    "occurred_at",
    "kind",
    "gateway",
    "payment_id",
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
        entry.invoice_id,
        entry.account_id,
        entry.method.value,
        entry.ledger_account or "",
        f"-{shown}" if entry.kind.sign < 0 else shown,
        entry.amount.currency,
    )
    return tuple(csv_cell(cell) for cell in cells)
