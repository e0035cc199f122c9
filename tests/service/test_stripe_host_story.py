"""A host's own test of seed 000_07c53b15302458c1.txt's story on Stripe, as a host writes
it: its PortalAccess on StripeGateway, the real SDK talking to the local Stripe API of
``portal_access.testing.stripe``, whose payer and Stripe send the signed webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from portal_access import (
    AccessLevel,
    AccessReason,
    AccountClass,
    AchPolicy,
    Charge,
    InvoicePurpose,
    LineKind,
    Money,
    PaymentMethodKind,
    Plan,
    PortalPolicy,
    SystemPortalOptions,
)
from portal_access._portal import PortalAccess
from portal_access._service.signup import KickoffForm
from portal_access.adapters import ManualClock, MemoryMailer, ScryptPasswordHasher
from portal_access.gateways.stripe import StripeGateway
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.testing.stripe import FakeStripeApi
from tests.service.harness import START
from tests.stripe_shapes import assert_stripe_shaped

SECRET = "whsec_host"
PORTAL = SystemPortalOptions(portal_url="https://host.example/portal")  # return URLs stay here
PAGES = {"success_url": "https://host.example/ok", "cancel_url": "https://host.example/pay"}
VISITOR = "203.0.113.5"  # the request's address: anonymous flows are limited per client
SETUP_FEE = Charge("Setup fee", Money(25000, "USD"))  # seed 000: 250 once...
MONTHLY = Plan(id="monthly", name="Portal", amount=Money(5000, "USD"))  # ...and 50 a month
BANK = PaymentMethodKind.BANK_ACCOUNT


class Host:
    """The host's app: a portal selling seed 000's 250 + 50/month offer through Stripe."""

    def __init__(self, stripe: FakeStripeApi, ach: AchPolicy = AchPolicy.GRANT_ON_CLEARING) -> None:
        self.stripe, self.mailer = stripe, MemoryMailer()
        self.clock: ManualClock = stripe.clock  # type: ignore[assignment]
        self.store, self.gateway = MemoryStore(), StripeGateway(
            api_key="sk_test_host", webhook_secret=SECRET, api_base=stripe.url, clock=self.clock,
            max_network_retries=0)  # fmt: skip
        self.portal = PortalAccess(store=self.store, gateways=[self.gateway], mailer=self.mailer,
                                   clock=self.clock, hasher=ScryptPasswordHasher(n=16),
                                   policy=PortalPolicy(ach=ach, system=PORTAL),
                                   background=lambda job: job())  # fmt: skip
        stripe.attach(lambda headers, body: self.portal.handle_webhook("stripe", headers, body))
        self.portal.save_account_class(AccountClass(id="clients", name="Clients"))
        self.portal.create_offer("Onboarding", gateway="stripe", currency="USD", one_time=SETUP_FEE,
                                 plan=MONTHLY, account_class_id="clients", offer_id="kickoff")  # fmt: skip
        form = KickoffForm(first_name="Ann", last_name="Lee", email="ann@example.com")
        self.contact = self.portal.submit_kickoff_form("kickoff", form).contact_id
        self.portal.accept_invitation(self.token("/portal/invitation"), "a long passphrase 42")

    def token(self, path: str) -> str:
        """The token of the newest link to ``path`` mailed to Ann."""
        words = [w for m in self.mailer.to("ann@example.com") for w in m.text.split() if path in w]
        return words[-1].split("token=", 1)[1].rstrip(".")

    def access(self) -> tuple[AccessLevel, AccessReason]:
        decision = self.portal.check_access(self.contact)
        return decision.level, decision.reason

    def pays(self, *, method: PaymentMethodKind = PaymentMethodKind.CARD) -> str:
        """Checkout, and the payer pays on Stripe's page; the payment intent's id."""
        return self.stripe.pay(
            self.portal.start_checkout(self.contact, **PAGES).session_id, method=method
        )

    def later(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))


@pytest.fixture
def stripe() -> Iterator[FakeStripeApi]:
    with FakeStripeApi(clock=ManualClock(START), webhook_secret=SECRET) as api:
        yield api
    assert_stripe_shaped(api)  # every object and event it made is shaped as Stripe's


def lines(stripe: FakeStripeApi, invoice_id: str) -> list[int]:
    return [line["amount"] for line in stripe.objects[invoice_id]["lines"]["data"]]


def test_first_invoice_both_charges_renewal_only_the_plan_failed_renewal_resubscribe(stripe):
    """Seed 000_07c53b15302458c1.txt: the first invoice carries both charges and later
    ones only the plan; a failed renewal leaves only re-subscribe, which restores access."""
    host = Host(stripe)
    host.pays()
    assert host.access() == (AccessLevel.FULL, AccessReason.PAID)
    (subscription,) = [o for o in stripe.objects.values() if o["object"] == "subscription"]
    assert lines(stripe, subscription["latest_invoice"]) == [25000, 5000]
    host.later(days=31)
    stripe.renew(subscription["id"], succeed=True)
    assert lines(stripe, subscription["latest_invoice"]) == [5000]
    with unit_of_work(host.store) as uow:  # the host's books agree
        (renewal,) = [i for i in uow.invoices.for_account(uow.contacts.get(host.contact).account_id)
                      if i.purpose is InvoicePurpose.RENEWAL]  # fmt: skip
    assert ([line.kind for line in renewal.lines], renewal.total) == (
        [LineKind.SUBSCRIPTION],
        MONTHLY.amount,
    )
    host.later(days=30)
    stripe.renew(subscription["id"], succeed=False)
    assert host.access() == (AccessLevel.RESUBSCRIBE_ONLY, AccessReason.RENEWAL_FAILED)
    host.portal.having_trouble("ann@example.com", client_key=VISITOR)
    page = host.portal.resubscribe(host.token("/portal/resubscribe"), **PAGES)
    assert (
        page.session_id == subscription["latest_invoice"]
    )  # pays the debt, no second subscription
    host.later(hours=2)
    stripe.pay(page.session_id)
    assert host.access() == (AccessLevel.FULL, AccessReason.PAID)


def test_a_subscription_stripe_gave_up_on_is_replaced_on_resubscribe(stripe):
    """Seed 000_07c53b15302458c1.txt: after Stripe cancels for failed payment, re-subscribing
    starts a new subscription, and access comes back once it is paid."""
    host = Host(stripe)
    host.pays()
    (subscription,) = [o for o in stripe.objects.values() if o["object"] == "subscription"]
    host.later(days=31)
    stripe.renew(subscription["id"], succeed=False)
    host.later(days=7)
    stripe.exhaust_retries(subscription["id"])
    assert host.access() == (AccessLevel.RESUBSCRIBE_ONLY, AccessReason.SUBSCRIPTION_ENDED)
    host.portal.having_trouble("ann@example.com", client_key=VISITOR)
    page = host.portal.resubscribe(host.token("/portal/resubscribe"), **PAGES)
    stripe.pay(page.session_id)
    assert host.access()[0] is AccessLevel.FULL
    assert stripe.objects[page.session_id]["subscription"] != subscription["id"]


WHILE_PROCESSING = {
    AchPolicy.GRANT_ON_INITIATION: (AccessLevel.FULL, AccessReason.ACH_PROCESSING),
    AchPolicy.GRANT_ON_CLEARING: (AccessLevel.PAY_INVOICE_ONLY, AccessReason.PAYMENT_PROCESSING),
}


@pytest.mark.parametrize("policy", list(AchPolicy))
@pytest.mark.parametrize("cleared", [True, False])
def test_ach_under_both_policies(stripe, policy, cleared):
    """Seed 000_07c53b15302458c1.txt: ACH grants on initiation or on clearing, per the
    setting; a debit the bank returns leaves the invoice to pay."""
    host = Host(stripe, policy)
    payment = host.pays(method=BANK)
    assert host.access() == WHILE_PROCESSING[policy]
    host.later(days=4)
    stripe.settle_ach(payment, cleared=cleared)
    paid = (AccessLevel.FULL, AccessReason.PAID)
    assert host.access() == (
        paid if cleared else (AccessLevel.PAY_INVOICE_ONLY, AccessReason.PAYMENT_FAILED)
    )


def test_a_refund_or_a_dispute_takes_access_back(stripe):
    """A refund or a dispute of the payment that bought access takes access back; a
    dispute won gives it back."""
    host = Host(stripe)
    payment = host.pays()
    host.later(hours=1)
    stripe.dispute(payment)
    assert host.access() == (AccessLevel.NONE, AccessReason.PAYMENT_DISPUTED)
    host.later(days=20)
    stripe.close_dispute(payment, won=True)
    assert host.access() == (AccessLevel.FULL, AccessReason.PAID)
    host.later(days=1)
    (invoice,) = [o["id"] for o in stripe.objects.values() if o["object"] == "invoice"]
    host.gateway.refund(invoice, amount=None, idempotency_key="refund-1")  # the host's staff
    stripe.deliver(lambda headers, body: host.portal.handle_webhook("stripe", headers, body))
    assert host.access() == (AccessLevel.NONE, AccessReason.PAYMENT_REFUNDED)
