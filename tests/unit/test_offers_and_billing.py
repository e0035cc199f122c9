"""Offers (kickoff forms with paid portal access), plans and invoices."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from portal_access._domain.billing import (
    BillingInterval,
    Charge,
    IntervalUnit,
    Invoice,
    InvoiceStatus,
    LineKind,
    Plan,
    first_invoice_lines,
    renewal_invoice_lines,
)
from portal_access._domain.contacts import ContactRole
from portal_access._domain.errors import (
    ConfigurationError,
    ConflictError,
    CurrencyMismatchError,
    HeaderInjectionError,
    TemplateError,
    ValidationError,
)
from portal_access._domain.money import Money
from portal_access._domain.offers import InviteTiming, Offer, PaidAccess

SETUP = Charge("Setup fee", Money(25000, "USD"))
MONTHLY = Plan(id="p-1", name="Portal monthly", amount=Money(4900, "USD"))


def paid(**changes) -> PaidAccess:
    fields = {"gateway": "stripe", "currency": "USD", "invoice_title": "Welcome", "one_time": SETUP}
    fields.update(changes)
    return PaidAccess(**fields)


def test_first_invoice_carries_both_charges_and_later_ones_only_the_subscription():
    """Seed 000_07c53b15302458c1.txt: the first invoice includes both charges, each later only the subscription."""
    access = paid(plan=MONTHLY)
    assert [(line.kind, line.amount) for line in access.first_invoice] == [
        (LineKind.ONE_TIME, Money(25000, "USD")),
        (LineKind.SUBSCRIPTION, Money(4900, "USD")),
    ]
    assert [line.kind for line in access.later_invoice] == [LineKind.SUBSCRIPTION]
    assert access.first_invoice_total == Money(29900, "USD")


def test_one_time_only_and_subscription_only_offers():
    """Seed 000_07c53b15302458c1.txt: a One-Time Payment and/or a Subscription Payment."""
    assert [line.kind for line in paid().first_invoice] == [LineKind.ONE_TIME]
    assert paid().later_invoice == ()
    subscription_only = paid(one_time=None, plan=MONTHLY)
    assert [line.kind for line in subscription_only.first_invoice] == [LineKind.SUBSCRIPTION]


def test_paid_access_needs_a_charge_or_a_plan():
    """Seed 000_07c53b15302458c1.txt: choose a One-Time Payment or a Subscription Payment (or both)."""
    with pytest.raises(ConfigurationError) as caught:
        paid(one_time=None)
    assert caught.value.field == "one_time"
    with pytest.raises(ValidationError):
        first_invoice_lines(None, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"currency": "EUR"}, "one_time.currency"),
        ({"plan": Plan(id="p", name="Y", amount=Money(100, "EUR"))}, "plan.currency"),
    ],
)
def test_offer_plan_and_invoice_currency_must_agree(changes, field):
    """Seed 000_07c53b15302458c1.txt: the gateway and currency the invoice will be in apply to every charge."""
    with pytest.raises(ConfigurationError) as caught:
        paid(**changes)
    assert caught.value.field == field


def test_invoice_lines_must_be_in_the_invoice_currency():
    """Seed 000_07c53b15302458c1.txt: the invoice is in the offer's currency; a stray line is an error."""
    with pytest.raises(CurrencyMismatchError):
        Invoice(
            id="i",
            number="1",
            account_id="a",
            title="T",
            currency="EUR",
            lines=first_invoice_lines(SETUP, None),
            issued_on=date(2026, 1, 1),
            due_on=date(2026, 1, 1),
        )
    with pytest.raises(CurrencyMismatchError):
        first_invoice_lines(SETUP, Plan(id="p", name="Y", amount=Money(100, "EUR")))


def test_paid_access_requires_the_client_role():
    """Seed 000_07c53b15302458c1.txt: to enable Paid Portal Access the Role must be Client."""
    with pytest.raises(ConfigurationError) as caught:
        Offer(id="o", name="Vendors", role=ContactRole.SUPPLIER, paid_access=paid())
    assert caught.value.field == "role"
    assert Offer(id="o", name="Vendors", role=ContactRole.SUPPLIER).paid_access is None


def test_invite_timing_defaults_to_immediately():
    """Seed 000_07c53b15302458c1.txt: "Send Portal Access Invitation Immediately", or manually later."""
    assert Offer(id="o", name="N").invite is InviteTiming.IMMEDIATELY
    assert Offer(id="o", name="N", invite=InviteTiming.LATER).invite is InviteTiming.LATER


def test_invoice_title_placeholders_are_validated_when_saved():
    """Seed 000_07c53b15302458c1.txt: the invoice title may use dynamic placeholders, checked at save."""
    assert (
        paid(invoice_title="Welcome, {{ contact.first_name }}").title_template.render(
            {"contact.first_name": "Ann"}
        )
        == "Welcome, Ann"
    )
    with pytest.raises(TemplateError) as caught:
        paid(invoice_title="Welcome, {{ contact.nickname }}")
    assert caught.value.field == "invoice_title"
    with pytest.raises(HeaderInjectionError):
        paid(invoice_title="Welcome\r\nBcc: x@example.com")


def test_unknown_gateway_is_a_configuration_error():
    """Seed 004_67d5e53a019b49ae.txt: the gateways are PayPal, Stripe and Square."""
    with pytest.raises(ConfigurationError) as caught:
        paid(gateway="bitcoin")
    assert caught.value.field == "gateway"


@pytest.mark.parametrize("amount", [Money(0, "USD")])
def test_charges_and_plans_must_cost_something(amount):
    """Seed 000_07c53b15302458c1.txt: an item has a billing amount; zero is not a payment."""
    with pytest.raises(ValidationError):
        Charge("Free", amount)
    with pytest.raises(ValidationError):
        Plan(id="p", name="Free", amount=amount)


def test_void_and_paid_transitions():
    """Seed 000_07c53b15302458c1.txt: cancel required payment marks the invoice void; a paid one cannot be."""
    invoice = Invoice(
        id="i",
        number="1001",
        account_id="a",
        title="T",
        currency="usd",
        lines=first_invoice_lines(SETUP, None),
        issued_on=date(2026, 1, 1),
        due_on=date(2026, 1, 31),
    )
    assert invoice.currency == "USD"
    assert invoice.balance == Money(25000, "USD")
    assert invoice.void().status is InvoiceStatus.VOID
    assert invoice.void().balance == Money(0, "USD")
    paid_invoice = invoice.mark_paid(invoice.total)
    assert paid_invoice.status is InvoiceStatus.PAID
    with pytest.raises(ConflictError):
        paid_invoice.void()
    with pytest.raises(ConflictError):
        invoice.void().mark_paid(invoice.total)


def test_invoice_due_date_cannot_precede_issue_date():
    """docs/rules.md: bad input is refused with the field named."""
    with pytest.raises(ValidationError) as caught:
        Invoice(
            id="i",
            number="1",
            account_id="a",
            title="T",
            currency="USD",
            lines=first_invoice_lines(SETUP, None),
            issued_on=date(2026, 2, 1),
            due_on=date(2026, 1, 1),
        )
    assert caught.value.field == "due_on"


@pytest.mark.parametrize(
    ("interval", "start", "expected"),
    [
        (BillingInterval(), datetime(2026, 1, 31), datetime(2026, 2, 28)),
        (BillingInterval(IntervalUnit.MONTH, 1), datetime(2028, 1, 31), datetime(2028, 2, 29)),
        (BillingInterval(IntervalUnit.YEAR, 1), datetime(2028, 2, 29), datetime(2029, 2, 28)),
        (BillingInterval(IntervalUnit.WEEK, 2), datetime(2026, 1, 1), datetime(2026, 1, 15)),
        (BillingInterval(IntervalUnit.MONTH, 13), datetime(2026, 12, 15), datetime(2028, 1, 15)),
    ],
)
def test_billing_periods_advance_by_calendar(interval, start, expected):
    """Seed 000_07c53b15302458c1.txt: subscription plans bill every interval; month ends clamp."""
    assert interval.advance(start) == expected


def test_renewal_lines_name_the_plan():
    """Seed 000_07c53b15302458c1.txt: each subsequent invoice contains only the subscription charge."""
    (line,) = renewal_invoice_lines(MONTHLY)
    assert (line.description, line.plan_id, line.amount) == (
        "Portal monthly",
        "p-1",
        MONTHLY.amount,
    )
