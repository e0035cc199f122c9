"""Account summary, reconcile, payment-method setup and outbox delivery."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from portal_access import (
    AccessDeniedError,
    AchPolicy,
    AgingBucket,
    AgingBuckets,
    ContactPortalSettings,
    EmailAddress,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Money,
    PaymentMethodKind,
    PaymentStatus,
)
from portal_access.repositories import unit_of_work
from tests.service.harness import (
    CANCEL,
    PORTAL_URL,
    SUCCESS,
    Harness,
    account,
    build,
    paid_offer,
    register,
    sign_up,
)


def paid_client(harness: Harness, *, method=PaymentMethodKind.CARD) -> str:
    paid_offer(harness)
    signup = sign_up(harness)
    contact_id = register(harness)
    session = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    harness.sandbox.pay(session.session_id, method=method)
    harness.deliver()
    assert signup.contact_id == contact_id
    return contact_id


def test_summary_shows_balances_aging_and_settled_and_pending_payments():
    """Seed 004_67d5e53a019b49ae.txt: a summary of transactions made and pending; seed 001: aging buckets."""
    harness = build()
    contact_id = paid_client(harness)
    with unit_of_work(harness.store) as uow:
        account_id = uow.contacts.get(contact_id).account_id  # type: ignore[union-attr]
    today = harness.clock.now().date()
    harness.portal.save_invoice(
        Invoice(
            id="inv-old",
            number="A-7",
            account_id=account_id,
            title="Service",
            currency="USD",
            lines=(InvoiceLine("Service", Money(12000, "USD")),),
            issued_on=today - timedelta(days=75),
            due_on=today - timedelta(days=45),
        )
    )
    summary = harness.portal.account_summary(contact_id)
    assert summary.balances == {"USD": Money(12000, "USD")}
    assert summary.aging["USD"] == AgingBuckets.empty("USD").adding(
        AgingBucket.DAYS_31_60, Money(12000, "USD")
    )
    assert [p.snapshot.status for p in summary.settled_payments] == [PaymentStatus.SUCCEEDED]
    assert summary.pending_payments == ()
    assert {i.id for i in summary.invoices} >= {"inv-old"}
    assert any(i.status is InvoiceStatus.PAID for i in summary.invoices)


def test_pending_ach_shows_as_pending():
    """Seed 004_67d5e53a019b49ae.txt: pending transactions are listed apart from settled ones."""
    harness = build(ach=AchPolicy.GRANT_ON_INITIATION)
    contact_id = paid_client(harness, method=PaymentMethodKind.BANK_ACCOUNT)
    summary = harness.portal.account_summary(contact_id)
    assert [p.snapshot.status for p in summary.pending_payments] == [PaymentStatus.PROCESSING]
    assert summary.settled_payments == ()


def test_summary_needs_full_access():
    """Seed 000_07c53b15302458c1.txt: before paying, the Client sees only the Pay Invoice view."""
    harness = build()
    paid_offer(harness)
    sign_up(harness)
    contact_id = register(harness)
    with pytest.raises(AccessDeniedError):
        harness.portal.account_summary(contact_id)


def test_reconcile_repairs_missed_webhooks_and_skips_processed_ones():
    """docs/rules.md: reconcile replays the gateway's events through the webhook path."""
    harness = build()
    paid_offer(harness)
    sign_up(harness)
    contact_id = register(harness)
    session = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    harness.sandbox.pay(session.session_id)
    first, *missed = harness.sandbox.pending_deliveries()
    harness.webhook(*first)  # the rest never arrived (an outage)
    harness.sandbox.deliver(lambda headers, body: None)  # the vendor gave up
    progress = []
    report = harness.portal.reconcile(
        "sandbox",
        since=harness.clock.now() - timedelta(days=1),
        progress=lambda n, result: progress.append(n),
    )
    assert report.seen == len(missed) + 1
    assert report.duplicates == 1
    assert report.repaired == len(missed)
    assert progress == list(range(1, report.seen + 1))
    assert harness.portal.check_access(contact_id).full
    again = harness.portal.reconcile("sandbox", since=harness.clock.now() - timedelta(days=1))
    assert again.repaired == 0
    assert again.duplicates == again.seen


def test_saving_a_payment_method_needs_the_contact_switch():
    """Seed 003_11ad6fb0c789d951.txt: Can Save Payment Method must be enabled per customer."""
    harness = build()
    contact_id = paid_client(harness)
    with pytest.raises(AccessDeniedError):
        harness.portal.start_payment_method_setup(
            contact_id, gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
        )
    with unit_of_work(harness.store) as uow:
        contact = uow.contacts.get(contact_id)
    assert contact is not None
    harness.portal.update_contact(
        attrs.evolve(contact, portal=ContactPortalSettings(can_save_payment_method=True))
    )
    session = harness.portal.start_payment_method_setup(
        contact_id, gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
    )
    assert session.url.startswith("https://")


def test_statement_email_carries_the_portal_link():
    """Seed 003_11ad6fb0c789d951.txt: statement emails include a link to the customer portal."""
    harness = build()
    harness.portal.save_account(account())
    harness.portal.send_statement_email("acc-1", [EmailAddress.parse("ap@example.com")])
    (mail,) = harness.mailer.to("ap@example.com")
    assert PORTAL_URL in mail.text


def test_a_failing_subscriber_gets_the_event_again_later():
    """docs/rules.md: events reach subscribers at least once, with a stable id to deduplicate."""
    harness = build()
    seen: list[str] = []
    broken = {"on": True}

    def flaky(message):
        if broken["on"]:
            raise RuntimeError("host is down")
        seen.append(message.id)

    harness.portal.subscribe(flaky, topic="invoice.created")
    paid_offer(harness)
    signup = sign_up(harness)  # the use case succeeds although delivery failed
    assert signup.invoice_id is not None
    assert seen == []
    broken["on"] = False
    assert harness.portal.deliver_outbox() == 0  # not due yet: retries back off
    harness.advance(seconds=30)  # OutboxSettings.first_retry
    harness.portal.deliver_outbox()
    assert len(seen) == 1
    harness.portal.deliver_outbox()
    assert len(seen) == 1  # delivered now, not again
