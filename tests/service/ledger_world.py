"""A portal with one registered client on the sandbox, for autopay, catalog orders and
accounting entries (seeds 001, 003, 004), on any store.

The client "Ann" (``c-1``) sits on account ``acc-1`` of class ``commercial``; staff have
switched on "can save payment method" and catalog access unless told otherwise.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import attrs

from portal_access import (
    Account,
    AccountClass,
    Contact,
    ContactPortalSettings,
    EmailAddress,
    Invoice,
    InvoiceLine,
    Money,
    PaymentMethodKind,
    PortalPolicy,
    SystemPortalOptions,
)
from portal_access._portal import PortalAccess
from portal_access.adapters import (
    ManualClock,
    MemoryMailer,
    MemoryRateLimiter,
    ScryptPasswordHasher,
    SequentialIds,
)
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.ports import PaymentGateway, Store
from portal_access.testing.sandbox import SandboxVendor
from tests.service.harness import (
    ADMIN,
    CANCEL,
    CLIENT,
    PORTAL_URL,
    SECRET,
    START,
    SUCCESS,
    Harness,
    register,
)

__all__ = ["CONTACT", "TODAY", "LedgerWorld", "ledger_world"]

CONTACT = "c-1"
EMAIL = "ann@example.com"
TODAY = START.date()


@attrs.define
class LedgerWorld:
    """The portal, its sandbox vendor, and the client's doings."""

    harness: Harness
    numbers: int = 0

    @property
    def portal(self) -> PortalAccess:
        return self.harness.portal

    @property
    def sandbox(self) -> SandboxVendor:
        return self.harness.sandbox

    @property
    def mailer(self) -> MemoryMailer:
        return self.harness.mailer

    def deliver(self, *, duplicate: int = 1, seed: int | None = None) -> None:
        self.harness.deliver(duplicate=duplicate, seed=seed)

    def save_method(self, *, bank: bool = False) -> str:
        """Ann saves a payment method on a setup page; the vendor's method id."""
        page = self.portal.start_payment_method_setup(
            CONTACT, gateway="sandbox", success_url=SUCCESS, cancel_url=CANCEL
        )
        method = PaymentMethodKind.BANK_ACCOUNT if bank else PaymentMethodKind.CARD
        setup_id = self.sandbox.pay(page.session_id, method=method)
        self.deliver()
        return setup_id

    def invoice(
        self,
        amount: int,
        *,
        currency: str = "USD",
        due_in: int = 0,
        contact_id: str | None = CONTACT,
        gateway: str | None = "sandbox",
    ) -> Invoice:
        """A host invoice of ``amount`` minor units, due in ``due_in`` days (issued today,
        or on its due day when that is past)."""
        self.numbers += 1
        due_on = TODAY + timedelta(days=due_in)
        invoice = Invoice(
            id=f"inv-{self.numbers}",
            number=f"H-{self.numbers}",
            account_id="acc-1",
            contact_id=contact_id,
            title=f"Service {self.numbers}",
            currency=currency,
            lines=(InvoiceLine("Service", Money(amount, currency)),),
            issued_on=min(TODAY, due_on),
            due_on=due_on,
            gateway=gateway,
            quick_pay_code=f"CODE{self.numbers:04d}",
        )
        return self.portal.save_invoice(invoice)

    def quick_pay(self, invoice: Invoice, *, bank: bool = False) -> str:
        """A guest pays ``invoice`` on its quick-pay page; the vendor's payment id."""
        assert invoice.quick_pay_code is not None
        result = self.portal.quick_pay(invoice.number, invoice.quick_pay_code,
                                       success_url=SUCCESS, cancel_url=CANCEL,
                                       client_key=CLIENT)  # fmt: skip
        assert result.checkout is not None
        method = PaymentMethodKind.BANK_ACCOUNT if bank else PaymentMethodKind.CARD
        return self.sandbox.pay(result.checkout.session_id, method=method)

    def mails(self, word: str) -> list[Any]:
        return [m for m in self.mailer.to(EMAIL) if word in m.subject]


def ledger_world(
    store: Store,
    *,
    system: SystemPortalOptions | None = None,
    klass: AccountClass | None = None,
    portal: ContactPortalSettings | None = None,
    fee_basis_points: int = 0,
    gateways: tuple[PaymentGateway, ...] = (),
    clock: ManualClock | None = None,
) -> LedgerWorld:
    """The portal on ``store``, with Ann registered (``clock``: the other gateways')."""
    clock = clock or ManualClock(START)
    vendor = SandboxVendor(webhook_secret=SECRET, clock=clock, ids=SequentialIds("vendor"),
                           fee_basis_points=fee_basis_points)  # fmt: skip
    gateway = SandboxGateway(vendor=vendor, webhook_secret=SECRET, clock=clock)
    system = attrs.evolve(system or SystemPortalOptions(), portal_url=PORTAL_URL, pay_as_guest=True)
    mailer = MemoryMailer()
    built = PortalAccess(store=store, gateways=[gateway, *gateways], mailer=mailer, clock=clock,
                         ids=SequentialIds(), hasher=ScryptPasswordHasher(n=16),
                         limiter=MemoryRateLimiter(limit=10_000),
                         policy=PortalPolicy(system=system), business_name="Acme Services",
                         background=lambda job: job())  # fmt: skip
    harness = Harness(clock, store, gateway, mailer, built, vendor)
    built.subscribe(harness.events.append)
    klass = klass or AccountClass(id="commercial", name="Commercial")
    built.save_account_class(klass)
    built.save_account(Account(id="acc-1", number="49418", name="Renovation Gym",
                               account_class=klass))  # fmt: skip
    settings = portal or ContactPortalSettings(can_save_payment_method=True, catalog_access=True)
    built.create_contact(Contact(id=CONTACT, account_id="acc-1", first_name="Ann",
                                 last_name="Lee", email=EmailAddress.parse(EMAIL),
                                 portal=settings))  # fmt: skip
    built.invite_contact(CONTACT, staff=ADMIN)
    register(harness, EMAIL)
    return LedgerWorld(harness)


def later(days: int) -> date:
    """``days`` after today."""
    return TODAY + timedelta(days=days)
