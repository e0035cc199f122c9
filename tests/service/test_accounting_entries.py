"""Accounting entries, on the memory store, SQLite (and PostgreSQL when configured).

Seed 004_67d5e53a019b49ae.txt: "match the payment methods that you have integrated with
the accounts that you have created at Banks. This will allow the accounting entries of
the generated payments to be automatically assigned to the corresponding bank account."
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from portal_access import (
    ConfigurationError,
    EntryKind,
    LedgerAccount,
    Money,
    PaymentMethodKind,
    SystemPortalOptions,
    ValidationError,
)
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from tests.service.harness import ADMIN, START
from tests.service.ledger_world import CONTACT, TODAY, LedgerWorld, ledger_world
from tests.service.stores import store
from tests.sql_databases import sqlite_url

__all__ = ["store"]

CARD_ACCOUNT = LedgerAccount(gateway="sandbox", method=PaymentMethodKind.CARD, code="1010",
                             name="Operating account, First Bank")  # fmt: skip
#: 3 %: what the sandbox keeps of each settled payment in these stories.
FEE_BASIS_POINTS = 300


def _story(w: LedgerWorld) -> dict[str, str]:
    """Five payments, at the vendor only (their webhooks wait in its queue): a card
    payment, one refunded in full, one disputed, a bank payment that clears, and one
    disputed then won back (its disputed report may arrive after the newer one: it
    still puts the dispute in the books)."""
    invoices = [w.invoice(10000 + n) for n in range(5)]
    paid = {"card": w.quick_pay(invoices[0]), "refunded": w.quick_pay(invoices[1]),
            "disputed": w.quick_pay(invoices[2]), "bank": w.quick_pay(invoices[3], bank=True),
            "won": w.quick_pay(invoices[4])}  # fmt: skip
    w.sandbox.dispute(paid["won"])
    w.sandbox.close_dispute(paid["won"], won=True)
    w.sandbox.create_refund({"payment": paid["refunded"], "amount": None, "currency": None},
                            idempotency_key="refund-1")  # fmt: skip
    w.sandbox.dispute(paid["disputed"])
    w.sandbox.settle_ach(paid["bank"], cleared=True)
    return paid


def _expected(paid: dict[str, str]) -> set[tuple[str, str, int, str | None]]:
    """(payment, kind, signed minor units, account) of every entry the story makes."""
    fee = {name: (10000 + n) * FEE_BASIS_POINTS // 10000 for n, name in enumerate(paid)}
    amount = {name: 10000 + n for n, name in enumerate(paid)}
    entries = set()
    for name, payment in paid.items():
        account = None if name == "bank" else "1010"
        entries |= {
            (payment, "payment", amount[name], account),
            (payment, "fee", -fee[name], account),
        }
    entries.add((paid["refunded"], "refund", -amount["refunded"], "1010"))
    entries.add((paid["disputed"], "dispute", -amount["disputed"], "1010"))
    entries.add((paid["won"], "dispute", -amount["won"], "1010"))
    return entries


def _entries(w: LedgerWorld) -> list[tuple[str, str, int, str | None]]:
    found = w.portal.accounting_entries(TODAY, TODAY)
    return [(e.payment_id, e.kind.value, e.signed_amount, e.ledger_account) for e in found]


def _world(store_kind: str, tmp_path) -> LedgerWorld:
    store = MemoryStore() if store_kind == "memory" else SqlStore(sqlite_url(tmp_path), create=True)
    w = ledger_world(store, fee_basis_points=FEE_BASIS_POINTS)
    w.portal.map_ledger_account(CARD_ACCOUNT, staff=ADMIN)
    return w


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("seed", range(12))
def test_each_entry_is_recorded_exactly_once_under_duplicated_and_shuffled_webhooks(
    store_kind, seed, tmp_path
):
    """Seed 004_67d5e53a019b49ae.txt: every settled payment, refund, dispute and gateway fee makes one entry, whatever the order and the number of deliveries, and reconcile adds none."""
    w = _world(store_kind, tmp_path)
    paid = _story(w)
    w.deliver(duplicate=3, seed=seed)
    entries = _entries(w)
    assert len(entries) == len(set(entries))
    assert set(entries) == _expected(paid)
    report = w.portal.reconcile("sandbox", since=START - timedelta(days=1))
    assert report is not None
    assert sorted(_entries(w)) == sorted(entries)
    unmapped = w.portal.unmapped_accounting_entries()
    assert {(e.payment_id, e.kind) for e in unmapped} == {
        (paid["bank"], EntryKind.PAYMENT),
        (paid["bank"], EntryKind.FEE),
    }
    assert all(e.method is PaymentMethodKind.BANK_ACCOUNT for e in unmapped)


def test_autopay_charges_are_in_the_books_once(store):
    """Seed 004_67d5e53a019b49ae.txt: a payment autopay makes is an entry once, though its answer and its webhook both report it."""
    w = ledger_world(store, system=SystemPortalOptions(autopay_max_amount=Money(50000, "USD")))
    w.portal.map_ledger_account(CARD_ACCOUNT, staff=ADMIN)
    w.save_method()
    w.invoice(12345)
    (attempt,) = w.portal.run_autopay(TODAY).charged
    w.deliver(duplicate=2)
    assert _entries(w) == [(attempt.payment_id, "payment", 12345, "1010")]


def test_entries_are_listed_by_period_and_exported_as_escaped_csv(store):
    """Seed 004_67d5e53a019b49ae.txt: entries by period, as CSV whose cells cannot run as spreadsheet formulas; amounts in the currency's digits."""
    w = ledger_world(store)
    hostile = LedgerAccount(gateway="sandbox", method=PaymentMethodKind.CARD,
                            code='=HYPERLINK("https://evil.example","x")')  # fmt: skip
    w.portal.map_ledger_account(hostile, staff=ADMIN)
    march = w.quick_pay(w.invoice(2500))
    w.deliver()
    w.harness.advance(days=31)  # April
    april = w.quick_pay(w.invoice(700, currency="KWD"))
    w.deliver()
    in_march = w.portal.accounting_entries(date(2026, 3, 1), date(2026, 3, 31))
    assert [e.payment_id for e in in_march] == [march]
    both = w.portal.accounting_entries(date(2026, 2, 1), date(2026, 4, 30))
    assert [e.payment_id for e in both] == [march, april]
    rows = list(
        csv.reader(io.StringIO(w.portal.accounting_csv(date(2026, 3, 1), date(2026, 4, 30))))
    )
    header, first, second = rows
    assert header[-2:] == ["amount", "currency"]
    column = dict(zip(header, first, strict=True))
    assert column["ledger_account"] == "'" + hostile.code
    assert (column["amount"], column["currency"], column["kind"]) == ("25.00", "USD", "payment")
    assert dict(zip(header, second, strict=True))["amount"] == "0.700"
    with pytest.raises(ValidationError):
        w.portal.accounting_entries(date(2026, 4, 1), date(2026, 3, 1))


def test_a_refund_is_a_negative_amount_in_the_csv(store):
    """Seed 004_67d5e53a019b49ae.txt: money out is negative, and a negative number is not escaped as a formula."""
    w = ledger_world(store)
    payment = w.quick_pay(w.invoice(1999))
    w.sandbox.create_refund({"payment": payment, "amount": None, "currency": None},
                            idempotency_key="refund-1")  # fmt: skip
    w.deliver()
    rows = list(csv.DictReader(io.StringIO(w.portal.accounting_csv(TODAY, TODAY))))
    assert [(r["kind"], r["amount"], r["ledger_account"]) for r in rows] == [
        ("payment", "19.99", ""),
        ("refund", "-19.99", ""),
    ]


def test_mapping_names_a_configured_gateway_and_is_listed(store):
    """Seed 004_67d5e53a019b49ae.txt: staff match only the gateways integrated."""
    w = ledger_world(store)
    with pytest.raises(ConfigurationError):
        w.portal.map_ledger_account(
            LedgerAccount(gateway="stripe", method=PaymentMethodKind.CARD, code="1020"),
            staff=ADMIN,
        )
    w.portal.map_ledger_account(CARD_ACCOUNT, staff=ADMIN)
    assert w.portal.ledger_accounts() == (CARD_ACCOUNT,)
    assert CONTACT
