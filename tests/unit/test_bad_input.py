"""Bad input is always a PortalAccessError naming the field, never a bare built-in error.

The issue's "Bad input" section: every public constructor and function validates.
"""

from __future__ import annotations

import contextlib
import inspect
from datetime import UTC, date, datetime, timedelta

import attrs
import pytest

import portal_access as pa
from portal_access import PortalAccessError

GARBAGE = [None, 1.5, "", "   ", -1, True, object(), [], {"a": 1}, b"bytes", "x" * 300]


def _valid_examples() -> dict[type, object]:
    klass = pa.AccountClass(id="k", name="K")
    money = pa.Money(100, "USD")
    plan = pa.Plan(id="p", name="P", amount=money)
    document = pa.Document(
        ref=pa.DocumentRef(pa.DocumentKind.STATEMENT, "a"),
        title="Statement",
        business_name="B",
        recipient="C",
        account_name="A",
        account_number="1",
        issued_on=date(2026, 1, 1),
        due_on=None,
        lines=(pa.DocumentLine("L", money),),
        totals=(("Total", money),),
        portal_link="https://portal.example/portal/document?token=t",
        expires_on=date(2026, 2, 1),
    )
    return {
        pa.Money: money,
        pa.EmailAddress: pa.EmailAddress.parse("a@example.com"),
        pa.AccountClass: klass,
        pa.Account: pa.Account(id="a", number="1", name="A", account_class=klass),
        pa.Site: pa.Site(id="s", account_id="a", name="S"),
        pa.SiteScope: pa.SiteScope.only("s"),
        pa.ContactPortalSettings: pa.ContactPortalSettings(),
        pa.Contact: pa.Contact(id="c", account_id="a", first_name="C"),
        pa.Plan: plan,
        pa.Charge: pa.Charge("Fee", money),
        pa.BillingInterval: pa.BillingInterval(),
        pa.InvoiceLine: pa.InvoiceLine("L", money),
        pa.PaidAccess: pa.PaidAccess(
            gateway="stripe", currency="USD", invoice_title="T", plan=plan
        ),
        pa.Offer: pa.Offer(id="o", name="O"),
        pa.PaymentSnapshot: pa.PaymentSnapshot(
            payment_id="p",
            invoice_id="i",
            method=pa.PaymentMethodKind.CARD,
            status=pa.PaymentStatus.SUCCEEDED,
            amount=money,
            version=1,
        ),
        pa.PaymentRefund: pa.PaymentRefund("re_1", money),
        pa.PaymentDispute: pa.PaymentDispute("dp_1", money, pa.DisputeOutcome.OPEN),
        pa.SubscriptionSnapshot: pa.SubscriptionSnapshot(
            subscription_id="s", plan_id="p", status=pa.SubscriptionStatus.ACTIVE, version=1
        ),
        pa.RequiredPayment: pa.RequiredPayment(invoice_id="i", amount_due=money, gateway="stripe"),
        pa.PortalPolicy: pa.PortalPolicy(),
        pa.OutboxSettings: pa.OutboxSettings(),
        pa.Retention: pa.Retention(
            delivered_messages=timedelta(days=7), processed_events=timedelta(days=90)
        ),
        pa.SystemPortalOptions: pa.SystemPortalOptions(),
        pa.StaffMember: pa.StaffMember(id="st", name="S", permissions=frozenset()),
        pa.KickoffForm: pa.KickoffForm(first_name="A", email="a@example.com"),
        pa.CheckoutSession: pa.CheckoutSession(
            gateway="g", session_id="s", url="https://x.example"
        ),
        pa.PortalLogin: pa.PortalLogin(
            contact_id="c", email=pa.EmailAddress.parse("a@example.com")
        ),
        pa.DuplicatePayment: pa.DuplicatePayment(
            gateway="stripe", payment_id="p", invoice_id="i", amount=money, surplus=money
        ),
        pa.GatewayConflict: pa.GatewayConflict(
            contact_id="c", gateway="stripe", allowed=("paypal",), invoice_id="i", purpose="x"
        ),
        pa.Actor: pa.Actor.system(),
        pa.DocumentRef: pa.DocumentRef(pa.DocumentKind.INVOICE, "i"),
        pa.DocumentLine: pa.DocumentLine("L", money),
        pa.Document: document,
        pa.DocumentFile: pa.DocumentFile(
            document=document,
            content=b"%PDF-1.3",
            media_type="application/pdf",
        ),
        pa.CommentAuthor: pa.CommentAuthor.contact("c", "C"),
        pa.DocumentComment: pa.DocumentComment(
            id="cm",
            document=pa.DocumentRef(pa.DocumentKind.INVOICE, "i"),
            account_id="a",
            author=pa.CommentAuthor.staff("st", "S"),
            body="Hello",
            posted_at=datetime(2026, 1, 1, tzinfo=UTC),
            number=1,
        ),
        pa.AuditRecord: pa.AuditRecord(
            id="au",
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
            actor=pa.Actor.system(),
            action=pa.AuditAction.ACCESS_CHANGED,
        ),
        pa.SavedPaymentMethod: pa.SavedPaymentMethod(
            contact_id="c",
            gateway="stripe",
            method_id="pm",
            kind=pa.PaymentMethodKind.CARD,
            version=1,
        ),
        pa.SavedMethodRemoval: pa.SavedMethodRemoval(
            gateway="stripe", method_id="pm", version=1, contact_id="c"
        ),
        pa.SavedMethodCharge: pa.SavedMethodCharge(
            contact_id="c", method_id="pm", invoice_id="i", amount=money, idempotency_key="k"
        ),
        pa.AutopayAttempt: pa.AutopayAttempt(
            invoice_id="i",
            contact_id="c",
            gateway="stripe",
            method_id="pm",
            amount=money,
            attempted_on=datetime(2026, 1, 1, tzinfo=UTC).date(),
            outcome=pa.AutopayOutcome.SUCCEEDED,
        ),
        pa.CatalogItem: pa.CatalogItem(id="it", name="Item", unit_price=money),
        pa.OrderLine: pa.OrderLine.of(pa.CatalogItem(id="it", name="Item", unit_price=money), 2),
        pa.PurchaseOrder: pa.PurchaseOrder(
            id="po",
            contact_id="c",
            account_id="a",
            lines=(pa.OrderLine.of(pa.CatalogItem(id="it", name="I", unit_price=money), 1),),
            placed_at=datetime(2026, 1, 1, tzinfo=UTC),
        ),
        pa.LedgerAccount: pa.LedgerAccount(
            gateway="stripe", method=pa.PaymentMethodKind.CARD, code="1010"
        ),
        pa.AccountingEntry: pa.AccountingEntry(
            gateway="stripe",
            payment_id="p",
            kind=pa.EntryKind.PAYMENT,
            invoice_id="i",
            account_id="a",
            method=pa.PaymentMethodKind.CARD,
            amount=money,
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        ),
    }


CASES = [
    (cls, field.name, value)
    for cls, example in _valid_examples().items()
    for field in attrs.fields(cls)
    if field.init
    for value in GARBAGE
]


@pytest.mark.parametrize(
    ("cls", "field", "value"), CASES, ids=lambda v: getattr(v, "__name__", repr(v)[:20])
)
def test_garbage_in_any_field_is_a_typed_error_or_accepted(cls, field, value):
    """docs/rules.md: bad input gets a clear typed error (rooted at PortalAccessError), never a bare ValueError/TypeError/AttributeError."""
    example = _valid_examples()[cls]
    with contextlib.suppress(PortalAccessError):
        attrs.evolve(example, **{field: value})


@pytest.mark.parametrize("value", GARBAGE)
def test_functions_refuse_garbage_with_typed_errors(value):
    """docs/rules.md: public functions validate their input too."""
    calls = [
        lambda: pa.Money.parse(value, "USD"),
        lambda: pa.Money(1, "USD") + pa.Money(1, value),
        lambda: pa.EmailAddress.parse(value),
        lambda: pa.parse_recipients(value),
        lambda: pa.decide(value, pa.PortalPolicy(), datetime(2026, 1, 1, tzinfo=UTC)),
        lambda: pa.PlaceholderTemplate.compile(value),
        lambda: pa.SelfRegistrationRequest.from_form(value, value, value, value),
    ]
    for call in calls:
        with contextlib.suppress(PortalAccessError):
            call()


def test_every_exported_value_class_is_covered():
    """docs/rules.md: every public value with validation is in the garbage test above."""
    covered = set(_valid_examples())
    skipped = {
        pa.AccessState,
        pa.AccessDecision,
        pa.SiteAccess,
        pa.Invoice,
        pa.CheckoutRequest,
        pa.GatewayEvent,
        pa.SubscriptionReport,
        pa.RenewalInvoiceReport,
        pa.OutboxMessage,
        pa.InvoiceEmail,
        pa.SelfRegistrationRequest,
        pa.AgingBuckets,
        pa.PlaceholderTemplate,
        pa.EmailTemplate,
        pa.EmailTemplates,
        pa.PortalLinks,
        pa.Signup,
        pa.LoginResult,
        pa.InvitationView,
        pa.QuickPayResult,
        pa.AccountSummary,
        pa.PaymentHistory,
        pa.ReconcileReport,
        pa.WebhookResult,
        pa.AutopayReport,
    }
    values = {
        obj
        for name in pa.__all__
        if inspect.isclass(obj := getattr(pa, name))
        and attrs.has(obj)
        and not issubclass(obj, pa.DomainEvent)
    }
    assert values - covered - skipped == set()
