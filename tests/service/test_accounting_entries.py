"""Accounting entries, on the memory store, SQLite (and PostgreSQL when configured).

Seed 004_67d5e53a019b49ae.txt: "match the payment methods that you have integrated with
the accounts that you have created at Banks. This will allow the accounting entries of
the generated payments to be automatically assigned to the corresponding bank account."
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest

from portal_access import (
    ConfigurationError,
    ConflictError,
    EntryKind,
    LedgerAccount,
    Money,
    PaymentMethodKind,
    PaymentStatus,
    SystemPortalOptions,
    ValidationError,
)
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from portal_access.testing.sandbox import SandboxWebhooks
from tests.service.harness import ADMIN, SECRET, START
from tests.service.ledger_world import CONTACT, TODAY, LedgerWorld, ledger_world
from tests.service.stores import store
from tests.sql_databases import sqlite_url

__all__ = ["store"]

CARD_ACCOUNT = LedgerAccount(gateway="sandbox", method=PaymentMethodKind.CARD, code="1010",
                             name="Operating account, First Bank")  # fmt: skip
#: 3 %: what the sandbox keeps of each settled payment in these stories.
FEE_BASIS_POINTS = 300


Entry = tuple[str, str, str, int, str | None]
NAMES = ("card", "refunded", "partly", "in_two", "disputed", "lost", "bank", "won")


def _refund(w: LedgerWorld, payment: str, amount: int | None, key: str) -> str:
    """The vendor refunds ``amount`` of ``payment`` (all that is left: ``None``); its id."""
    answer = w.sandbox.create_refund(
        {"payment": payment, "amount": amount, "currency": None}, idempotency_key=key
    )
    return str(answer["id"])


def _story(w: LedgerWorld) -> tuple[dict[str, str], dict[str, list[tuple[str, int]]]]:
    """Eight payments, at the vendor only (their webhooks wait in its queue): a card
    payment; one refunded in full; one refunded in three parts, two of the same amount
    (still succeeded); one refunded in two parts that make the whole; one disputed; one
    disputed and lost; a bank payment that clears; one disputed then won back (its
    disputed report may arrive after the newer one: the dispute and its reversal are
    both in the books). Returns the payments and each one's refunds."""
    invoices = {name: w.invoice(10000 + n) for n, name in enumerate(NAMES)}
    paid = {name: w.quick_pay(invoice, bank=name == "bank") for name, invoice in invoices.items()}
    w.sandbox.dispute(paid["won"])
    w.sandbox.close_dispute(paid["won"], won=True)
    refunds = {
        "refunded": [(_refund(w, paid["refunded"], None, "r-1"), 10001)],
        "partly": [(_refund(w, paid["partly"], 2500, f"r-2-{n}"), 2500) for n in range(2)],
        "in_two": [(_refund(w, paid["in_two"], 4000, "r-3"), 4000)],
    }
    refunds["partly"].append((_refund(w, paid["partly"], 1000, "r-2-2"), 1000))
    refunds["in_two"].append((_refund(w, paid["in_two"], None, "r-4"), 10003 - 4000))
    w.sandbox.dispute(paid["disputed"])
    w.sandbox.dispute(paid["lost"])
    w.sandbox.close_dispute(paid["lost"], won=False)
    w.sandbox.settle_ach(paid["bank"], cleared=True)
    return paid, refunds


def _expected(paid: dict[str, str], refunds: dict[str, list[tuple[str, int]]]) -> set[Entry]:
    """(payment, kind, reference, signed minor units, account) of every entry the story
    makes."""
    amount = {name: 10000 + n for n, name in enumerate(NAMES)}
    fee = {name: value * FEE_BASIS_POINTS // 10000 for name, value in amount.items()}
    entries: set[Entry] = set()
    for name, payment in paid.items():
        account = None if name == "bank" else "1010"
        entries |= {
            (payment, "payment", "", amount[name], account),
            (payment, "fee", "", -fee[name], account),
        }
    for name, made in refunds.items():
        entries |= {(paid[name], "refund", ref, -value, "1010") for ref, value in made}
    for name in ("disputed", "lost", "won"):
        entries.add((paid[name], "dispute", "dp", -amount[name], "1010"))
    entries.add((paid["won"], "dispute_won", "dp", amount["won"], "1010"))
    return entries


def _entries(w: LedgerWorld) -> list[Entry]:
    found = w.portal.accounting_entries(TODAY, TODAY)
    return [
        (e.payment_id, e.kind.value, "dp" if e.reference.startswith("dp_") else e.reference,
         e.signed_amount, e.ledger_account)
        for e in found
    ]  # fmt: skip


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
    """Seed 004_67d5e53a019b49ae.txt: every settled payment, refund (each partial one, for its own amount), dispute, dispute won back and gateway fee makes one entry, whatever the order and the number of deliveries, and reconcile adds none."""
    w = _world(store_kind, tmp_path)
    paid, refunds = _story(w)
    w.deliver(duplicate=3, seed=seed)
    entries = _entries(w)
    assert len(entries) == len(set(entries))
    assert set(entries) == _expected(paid, refunds)
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
    assert _entries(w) == [(attempt.payment_id, "payment", "", 12345, "1010")]


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


def test_staff_refund_a_payment_in_parts_each_part_an_entry(store):
    """Seed 004_67d5e53a019b49ae.txt: staff may refund a payment in parts, two of the same amount included; each part is an entry for its own amount, and no more than the payment is given back."""
    w = ledger_world(store)
    payment = w.quick_pay(w.invoice(5000))
    w.deliver()
    for _ in range(2):
        w.portal.refund_payment("sandbox", payment, staff=ADMIN, amount=Money(1500, "USD"),
                                reason="goodwill")  # fmt: skip
        w.deliver(duplicate=2)
    with pytest.raises(ValidationError):  # 2000 is left
        w.portal.refund_payment("sandbox", payment, staff=ADMIN, amount=Money(2001, "USD"))
    w.portal.refund_payment("sandbox", payment, staff=ADMIN)  # what is left
    w.deliver()
    refunds = [e for e in w.portal.accounting_entries(TODAY, TODAY) if e.kind is EntryKind.REFUND]
    assert sorted(e.signed_amount for e in refunds) == [-2000, -1500, -1500]
    assert len({e.reference for e in refunds}) == 3
    assert all(e.amount.currency == "USD" for e in refunds)
    with pytest.raises(ConflictError):  # refunded in full
        w.portal.refund_payment("sandbox", payment, staff=ADMIN, amount=Money(1, "USD"))


def test_a_refund_reported_without_its_id_is_not_counted_twice(store):
    """Seed 004_67d5e53a019b49ae.txt: a report that says "refunded in full" without naming the refund (a gateway that does not itemize, or an entry from before refunds were itemized) holds the refund's money; the itemized report of the same refund adds nothing."""
    w = ledger_world(store)
    payment = w.quick_pay(w.invoice(3000))
    w.deliver()
    webhooks = SandboxWebhooks(secret=SECRET, clock=w.harness.clock)
    _, itemizing = webhooks.payment(
        event_id="evt_hand_1", payment_id=payment, invoice_id="inv-1", contact_id=CONTACT,
        status=PaymentStatus.REFUNDED, method=PaymentMethodKind.CARD,
        amount=Money(3000, "USD"), version=10_000,
    )  # fmt: skip
    document = json.loads(itemizing)
    for field in ("refunds", "disputes"):  # a body from before refunds were itemized
        del document["data"]["object"][field]
    body = json.dumps(document).encode()
    headers = webhooks.sign(body)
    assert w.portal.handle_webhook("sandbox", headers, body).applied
    _refund(w, payment, None, "r-1")
    w.deliver(duplicate=2)
    refunds = [(e.reference, e.signed_amount) for e in w.portal.accounting_entries(TODAY, TODAY)
               if e.kind is EntryKind.REFUND]  # fmt: skip
    assert refunds == [("", -3000)]
