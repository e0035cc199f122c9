"""Aging buckets: open balances by days past due, current to over 90."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_access._domain.aging import AgingBucket, AgingBuckets, age_invoices, aging_bucket
from portal_access._domain.billing import Invoice, InvoiceLine, InvoiceStatus
from portal_access._domain.errors import (
    CurrencyMismatchError,
    UnknownCurrencyError,
    ValidationError,
)
from portal_access._domain.money import Money

AS_OF = date(2026, 6, 30)


def make_invoice(
    days_past_due: int = 0,
    amount: int = 10_000,
    *,
    currency: str = "USD",
    paid: int | None = None,
    **overrides: Any,
) -> Invoice:
    """An invoice due ``days_past_due`` days before AS_OF (local factory)."""
    due_on = AS_OF - timedelta(days=days_past_due)
    fields: dict[str, Any] = {
        "id": "inv-1",
        "number": "1001",
        "account_id": "acc-1",
        "title": "Service",
        "currency": currency,
        "lines": (InvoiceLine("Service", Money(amount, currency)),),
        "issued_on": due_on - timedelta(days=30),
        "due_on": due_on,
        "amount_paid": None if paid is None else Money(paid, currency),
    }
    return Invoice(**{**fields, **overrides})


def usd(amount: int) -> Money:
    """US dollars in cents."""
    return Money(amount, "USD")


# -- buckets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_past_due", "bucket"),
    [
        (-30, AgingBucket.CURRENT),
        (0, AgingBucket.CURRENT),
        (1, AgingBucket.DAYS_1_30),
        (30, AgingBucket.DAYS_1_30),
        (31, AgingBucket.DAYS_31_60),
        (60, AgingBucket.DAYS_31_60),
        (61, AgingBucket.DAYS_61_90),
        (90, AgingBucket.DAYS_61_90),
        (91, AgingBucket.OVER_90),
        (1000, AgingBucket.OVER_90),
    ],
)
def test_seed_bucket_boundaries(days_past_due: int, bucket: AgingBucket) -> None:
    """Seed 001_345994b3bb014aeb.txt: aging buckets are current, 1-30, 31-60, 61-90, 90+."""
    due_on = AS_OF - timedelta(days=days_past_due)
    assert aging_bucket(due_on, as_of=AS_OF) is bucket
    buckets = age_invoices([make_invoice(days_past_due)], as_of=AS_OF, currency="USD")
    assert buckets.amount(bucket) == usd(10_000)
    assert buckets.total == usd(10_000)


@pytest.mark.parametrize("field", ["due_on", "as_of"])
def test_bucket_dates_must_be_dates_not_datetimes(field: str) -> None:
    """A datetime where a date belongs raises ValidationError naming it."""
    dates: dict[str, Any] = {"due_on": AS_OF, "as_of": AS_OF, field: datetime(2026, 6, 30)}
    with pytest.raises(ValidationError) as caught:
        aging_bucket(dates["due_on"], as_of=dates["as_of"])
    assert caught.value.field == field


def test_bucket_values_name_the_buckets_attributes() -> None:
    """Each AgingBucket's value is the AgingBuckets attribute it sums into."""
    names = {field.name for field in attrs.fields(AgingBuckets)} - {"currency"}
    assert {bucket.value for bucket in AgingBucket} == names


# -- age_invoices ----------------------------------------------------------------------------


def test_seed_open_balances_are_summed_per_bucket() -> None:
    """Seed 003_11ad6fb0c789d951.txt: outstanding balances are summed into their buckets."""
    invoices = [make_invoice(0, 100), make_invoice(5, 200), make_invoice(20, 300)]
    invoices += [make_invoice(45, 400), make_invoice(75, 500), make_invoice(120, 600)]
    buckets = age_invoices(invoices, as_of=AS_OF, currency="USD")
    assert buckets == AgingBuckets("USD", usd(100), usd(500), usd(400), usd(500), usd(600))
    assert buckets.total == usd(2100)


def test_paid_and_void_invoices_do_not_count() -> None:
    """Only open invoices count; paid and void ones are skipped."""
    paid = make_invoice(40, status=InvoiceStatus.PAID, paid=10_000)
    void = make_invoice(40, status=InvoiceStatus.VOID)
    buckets = age_invoices([paid, void], as_of=AS_OF, currency="USD")
    assert buckets == AgingBuckets.empty("USD")


def test_open_invoice_counts_by_balance_not_total() -> None:
    """A partly paid open invoice counts by what is still owed."""
    buckets = age_invoices([make_invoice(10, 10_000, paid=2_500)], as_of=AS_OF, currency="USD")
    assert buckets.days_1_30 == usd(7_500)


def test_open_invoice_in_another_currency_is_a_mismatch() -> None:
    """An open invoice in another currency raises CurrencyMismatchError naming 'currency'."""
    with pytest.raises(CurrencyMismatchError) as caught:
        age_invoices([make_invoice(currency="EUR")], as_of=AS_OF, currency="USD")
    assert caught.value.field == "currency"
    assert caught.value.value == ("EUR", "USD")


def test_closed_invoice_in_another_currency_is_skipped() -> None:
    """A void invoice in another currency is skipped, not an error."""
    void = make_invoice(currency="EUR", status=InvoiceStatus.VOID)
    assert age_invoices([void], as_of=AS_OF, currency="USD").total == usd(0)


def test_currency_is_normalised_and_checked() -> None:
    """The currency is upper-cased, and an unknown one raises UnknownCurrencyError."""
    assert age_invoices([make_invoice()], as_of=AS_OF, currency="usd").currency == "USD"
    with pytest.raises(UnknownCurrencyError) as caught:
        age_invoices([], as_of=AS_OF, currency="XYZ")
    assert caught.value.field == "currency"


def test_as_of_must_be_a_date() -> None:
    """A datetime as_of raises ValidationError naming 'as_of'."""
    with pytest.raises(ValidationError) as caught:
        age_invoices([], as_of=datetime(2026, 6, 30), currency="USD")
    assert caught.value.field == "as_of"


def test_zero_decimal_currency_is_aged_in_its_own_units() -> None:
    """Zero-decimal currencies (JPY) age in their own minor units."""
    invoice = make_invoice(95, 5_000, currency="JPY")
    buckets = age_invoices([invoice], as_of=AS_OF, currency="JPY")
    assert buckets.over_90 == Money(5_000, "JPY")


# -- AgingBuckets ------------------------------------------------------------------------------


def test_empty_buckets_are_zero_in_the_currency() -> None:
    """empty() is zero in every bucket and in total."""
    empty = AgingBuckets.empty("eur")
    assert empty.currency == "EUR"
    assert all(empty.amount(bucket) == Money(0, "EUR") for bucket in AgingBucket)
    assert empty.total == Money(0, "EUR")


def test_bucket_in_another_currency_is_a_mismatch() -> None:
    """A bucket in another currency raises CurrencyMismatchError naming that bucket."""
    with pytest.raises(CurrencyMismatchError) as caught:
        AgingBuckets("USD", usd(0), usd(0), Money(1, "EUR"), usd(0), usd(0))
    assert caught.value.field == "days_31_60"


def test_bucket_must_be_money() -> None:
    """A bucket that is not Money raises ValidationError naming it."""
    with pytest.raises(ValidationError) as caught:
        AgingBuckets("USD", 0, usd(0), usd(0), usd(0), usd(0))  # type: ignore[arg-type]
    assert caught.type is ValidationError
    assert caught.value.field == "current"


def test_adding_to_a_bucket_returns_new_buckets() -> None:
    """adding() returns new buckets and leaves the original unchanged."""
    empty = AgingBuckets.empty("USD")
    added = empty.adding(AgingBucket.OVER_90, usd(5))
    assert (added.over_90, empty.over_90) == (usd(5), usd(0))
    with pytest.raises(CurrencyMismatchError):
        empty.adding(AgingBucket.CURRENT, Money(5, "EUR"))


# -- properties ----------------------------------------------------------------------------------

INVOICES = st.lists(
    st.builds(
        make_invoice,
        days_past_due=st.integers(min_value=-60, max_value=400),
        amount=st.integers(min_value=0, max_value=10**9),
        status=st.sampled_from(InvoiceStatus),
        paid=st.none() | st.integers(min_value=0, max_value=10**9),
    ),
    max_size=25,
)


@settings(max_examples=300)
@given(INVOICES)
def test_seed_buckets_sum_to_the_open_balance(invoices: list[Invoice]) -> None:
    """Seed 003_11ad6fb0c789d951.txt: the buckets always sum to the total open balance."""
    buckets = age_invoices(invoices, as_of=AS_OF, currency="USD")
    open_balance = sum(
        invoice.balance.amount for invoice in invoices if invoice.status is InvoiceStatus.OPEN
    )
    assert buckets.total == usd(open_balance)


@settings(max_examples=300)
@given(INVOICES)
def test_every_open_invoice_lands_in_exactly_one_bucket(invoices: list[Invoice]) -> None:
    """Each open invoice adds its whole balance to exactly one bucket, the one for its age."""
    for invoice in invoices:
        alone = age_invoices([invoice], as_of=AS_OF, currency="USD")
        filled = [bucket for bucket in AgingBucket if alone.amount(bucket)]
        if invoice.status is not InvoiceStatus.OPEN or not invoice.balance:
            assert filled == []
            continue
        assert filled == [aging_bucket(invoice.due_on, as_of=AS_OF)]
        assert alone.amount(filled[0]) == invoice.balance
