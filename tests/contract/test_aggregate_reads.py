"""The summary's reads give one answer on every store: the SQL store's own
``AggregateReads`` and the repositories' fallback over ``find`` (the memory store)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import attrs

from portal_access import Invoice, InvoiceLine, InvoiceStatus, Money, PaymentStatus
from portal_access.ports import AggregateReads
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.testing._storage_contract import values
from tests.service.stores import store  # noqa: F401 - the store fixture

DAY = date(2026, 3, 1)
CONTACTS = (None, "c-1", "c-2")
SITES = (None, "s-1", "s-2")


def _invoices() -> list[Invoice]:
    rng = random.Random(7)
    found = []
    for n in range(60):
        currency = rng.choice(("USD", "JPY"))
        invoice = Invoice(
            id=f"inv-{n:03d}",
            number=str(1000 + n),
            account_id="a-1",
            title="Service",
            currency=currency,
            lines=(InvoiceLine("Service", Money(rng.randint(1, 9999), currency)),),
            issued_on=DAY - timedelta(days=rng.randint(0, 5)),
            due_on=DAY + timedelta(days=rng.randint(0, 3) * 30),
            contact_id=rng.choice(CONTACTS),
            site_id=rng.choice(SITES),
        )
        status = rng.choice(list(InvoiceStatus))
        if status is InvoiceStatus.PAID:
            invoice = invoice.mark_paid(invoice.total)
        elif status is InvoiceStatus.VOID:
            invoice = invoice.void()
        found.append(invoice)
    return found


def _seen(invoice: Invoice, where: dict) -> bool:
    return all(getattr(invoice, name) in allowed for name, allowed in where.items())


def test_sums_counts_and_newest_rows_agree_with_the_values(store):  # noqa: F811
    """Seed 004_67d5e53a019b49ae.txt's summary figures, from columns: balances per currency and due date, counts per status, the newest invoices and payments, on every store."""
    invoices = _invoices()
    rng = random.Random(8)
    payments = []
    with unit_of_work(store) as uow:
        for invoice in invoices:
            uow.invoices.save(invoice)
        for n, invoice in enumerate(invoices):
            for k in range(rng.randint(0, 3)):
                record = values.payment(f"pi_{n:03d}_{k}", status=rng.choice(list(PaymentStatus)))
                record = attrs.evolve(
                    record,
                    snapshot=attrs.evolve(record.snapshot, invoice_id=invoice.id),
                    contact_id=invoice.contact_id,
                    site_id=invoice.site_id,
                    recorded_at=values.NOW + timedelta(minutes=rng.randint(0, 50)),
                )
                uow.payments.save(record)
                payments.append(record)
    wheres = [
        {},
        {"contact_id": (None, "c-1")},
        {"contact_id": (None, "c-2"), "site_id": (None, "s-2")},
        {"site_id": ("s-1",)},
    ]
    with unit_of_work(store) as uow:
        for where in wheres:
            seen = [i for i in invoices if _seen(i, where)]
            sums: dict[tuple[str, date], int] = {}
            for i in seen:
                if i.status is InvoiceStatus.OPEN:
                    sums[i.currency, i.due_on] = (
                        sums.get((i.currency, i.due_on), 0) + i.balance.amount
                    )
            assert sorted(uow.invoices.open_balances("a-1", where)) == sorted(
                (c, d, v) for (c, d), v in sums.items()
            )
            counts = {s: sum(i.status is s for i in seen) for s in InvoiceStatus}
            assert uow.invoices.status_counts("a-1", where) == {
                s: n for s, n in counts.items() if n
            }
            newest = sorted(seen, key=lambda i: (i.issued_on, i.id), reverse=True)
            assert uow.invoices.newest("a-1", where, limit=7) == tuple(newest[:7])
            void = [i for i in newest if i.status is InvoiceStatus.VOID]
            assert uow.invoices.newest(
                "a-1", where, limit=None, statuses=(InvoiceStatus.VOID,)
            ) == tuple(void)
            mine = [p for p in payments if _seen(p, where)]
            latest = sorted(
                mine,
                key=lambda p: (p.recorded_at, p.snapshot.gateway, p.snapshot.payment_id),
                reverse=True,
            )
            assert uow.payments.newest("a-1", where, limit=5) == tuple(latest[:5])
            twice = sorted(
                {
                    p.snapshot.invoice_id
                    for p in mine
                    if sum(
                        q.snapshot.invoice_id == p.snapshot.invoice_id
                        and q.snapshot.status is PaymentStatus.SUCCEEDED
                        for q in mine
                    )
                    >= 2
                }
            )
            assert uow.payments.invoices_paid_more_than_once("a-1", where) == twice


def test_the_memory_store_has_no_aggregate_reads_and_is_served_by_the_fallback():
    """The capability is optional: a store without it (the memory store) is served from find."""
    with unit_of_work(MemoryStore()) as uow:
        assert not isinstance(uow.transaction, AggregateReads)
