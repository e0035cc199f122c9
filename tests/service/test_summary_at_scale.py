"""The account summary at scale and as displayed (seed 004_67d5e53a019b49ae.txt: "a
summary of all transactions made and pending"; seed 001_345994b3bb014aeb.txt: the
display options and the site scope)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from portal_access import Money, Site, SiteScope, SystemPortalOptions
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from tests.service.harness import CANCEL, SUCCESS, Harness, account, build
from tests.service.stores import store  # noqa: F401 - the store fixture
from tests.service.test_documents import TODAY, _contact, _invoice, _register
from tests.sql_databases import POSTGRES_MARKS, empty_database


def _world(given, **system: bool) -> Harness:
    harness = build(store=given, system=SystemPortalOptions(**system))
    portal = harness.portal
    portal.save_account(account())
    portal.save_site(Site(id="s-1", account_id="acc-1", name="North"))
    portal.save_site(Site(id="s-2", account_id="acc-1", name="South"))
    _register(harness, _contact("c-bob", "bob@example.com", "Bob"))
    _register(harness, _contact("c-sal", "sal@example.com", "Sal", scope=SiteScope.only("s-1")))
    return harness


def _statements(sql: SqlStore, harness: Harness, contact_id: str) -> int:
    seen: list[str] = []

    def count(_conn, _cursor, sql, _params, _context, _many) -> None:
        seen.append(sql)

    sa.event.listen(sql._engine, "before_cursor_execute", count)
    try:
        harness.portal.account_summary(contact_id)
    finally:
        sa.event.remove(sql._engine, "before_cursor_execute", count)
    return len(seen)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)])
def test_the_summary_reads_a_fixed_number_of_statements_however_many_invoices(kind, tmp_path: Path):
    """Seed 004_67d5e53a019b49ae.txt: the summary of all transactions reads each figure with one query, never one per invoice or payment."""
    with empty_database(kind, tmp_path) as url, SqlStore(url, create=True) as sql:
        harness = _world(sql)
        counts = []
        for batch in range(3):
            for n in range(25 * (batch + 1)):
                number = f"{batch}-{n}"
                harness.portal.save_invoice(_invoice(f"inv-{number}", number, "USD", 100))
            paid = f"inv-{batch}-0"
            page = harness.portal.pay_document(
                "c-bob", paid, gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
            )
            harness.sandbox.pay(page.session_id)
            harness.deliver()
            counts.append(_statements(sql, harness, "c-bob"))
        summary = harness.portal.account_summary("c-bob")
        assert len(summary.invoices) == 50  # the newest
        assert summary.invoice_count == 25 + 50 + 75
        assert len(summary.settled_payments) == 3
        # access state, contact, sums, counts, lists, duplicates, outbox: a dozen at most
        assert 0 < counts[0] <= 14, counts
        assert counts[0] == counts[1] == counts[2], counts


def test_ar_history_and_aging_follow_the_display_options(store):  # noqa: F811
    """Seed 001_345994b3bb014aeb.txt: "Display AR history" off shows open invoices and pending payments only; "Display aging buckets" off shows no aging."""
    harness = _world(store, display_ar_history=False, display_aging_buckets=False)
    portal = harness.portal
    portal.save_invoice(_invoice("inv-open", "1001", "USD", 500))
    portal.save_invoice(_invoice("inv-paid", "1002", "USD", 300))
    page = portal.pay_document(
        "c-bob", "inv-paid", gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
    )
    harness.sandbox.pay(page.session_id)
    harness.deliver()
    summary = portal.account_summary("c-bob")
    assert [i.id for i in summary.invoices] == ["inv-open"]
    assert summary.settled_payments == ()
    assert summary.aging == {}
    assert summary.balances == {"USD": Money(500, "USD")}
    shown = _world(MemoryStore())
    shown.portal.save_invoice(_invoice("inv-open", "1001", "USD", 500))
    assert set(shown.portal.account_summary("c-bob").aging) == {"USD"}


def test_a_site_level_contact_sums_only_its_sites_invoices(store):  # noqa: F811
    """Seed 001_345994b3bb014aeb.txt: a site-level contact sees only the sites checked for them; its balances, aging and invoices leave the others out."""
    harness = _world(store)
    portal = harness.portal
    portal.save_invoice(_invoice("inv-s1", "1001", "USD", 300, site_id="s-1"))
    portal.save_invoice(_invoice("inv-s2", "1002", "USD", 700, site_id="s-2"))
    portal.save_invoice(_invoice("inv-all", "1003", "EUR", 50))
    sal = portal.account_summary("c-sal")
    assert {i.id for i in sal.invoices} == {"inv-s1", "inv-all"}
    assert sal.balances == {"USD": Money(300, "USD"), "EUR": Money(50, "EUR")}
    bob = portal.account_summary("c-bob")
    assert bob.balances["USD"] == Money(1000, "USD")
    assert sal.as_of == TODAY
