"""A portal on the memory store and the sandbox gateway, with a manual clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import attrs

from portal_access import (
    AccessLevel,
    AccessReason,
    Account,
    AccountClass,
    AchPolicy,
    Charge,
    Money,
    Plan,
    PortalPolicy,
    StaffMember,
    StaffPermission,
    SystemPortalOptions,
)
from portal_access._portal import PortalAccess
from portal_access._service.signup import KickoffForm
from portal_access.adapters import (
    ManualClock,
    MemoryMailer,
    MemoryRateLimiter,
    ScryptPasswordHasher,
    SequentialIds,
)
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.ports import PaymentGateway, Store
from portal_access.storage.memory import MemoryStore
from portal_access.testing.sandbox import SandboxVendor

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "whsec_sandbox_test"
PORTAL_URL = "https://portal.example"
SUCCESS = f"{PORTAL_URL}/paid"
CANCEL = f"{PORTAL_URL}/pay"
CLIENT = "203.0.113.7"  # the visitor's address, the client key of anonymous flows
PASSWORD = "correct horse battery staple"
ADMIN = StaffMember(id="staff-1", name="Admin", permissions=frozenset(StaffPermission))
CLERK = StaffMember(id="staff-2", name="Clerk", permissions=frozenset())
MONTHLY = Plan(id="plan-monthly", name="Portal monthly", amount=Money(4900, "USD"))
SETUP_FEE = Charge("Setup fee", Money(25000, "USD"))
CLASS = AccountClass(id="residential", name="Residential")
#: Seed 000: where an ACH payment still processing leaves the contact, by policy.
WHILE_PROCESSING = {
    AchPolicy.GRANT_ON_INITIATION: (AccessLevel.FULL, AccessReason.ACH_PROCESSING),
    AchPolicy.GRANT_ON_CLEARING: (AccessLevel.PAY_INVOICE_ONLY, AccessReason.PAYMENT_PROCESSING),
}


@attrs.define
class Harness:
    """Everything a service test touches."""

    clock: ManualClock
    store: Store
    gateway: PaymentGateway
    mailer: MemoryMailer
    portal: PortalAccess
    sandbox: SandboxVendor = attrs.field(default=None)  # the vendor behind a sandbox gateway
    events: list = attrs.field(factory=list)
    invitation: str = ""
    contact_id: str = ""

    def deliver(self, *, duplicate: int = 1, seed: int | None = None) -> None:
        """Deliver the sandbox's queued webhooks to the portal."""
        rng = random.Random(seed) if seed is not None else None
        self.sandbox.deliver(self.webhook, duplicate=duplicate, rng=rng)

    def webhook(self, headers, body):
        """The host's webhook endpoint for the sandbox."""
        return self.portal.handle_webhook("sandbox", headers, body)

    def link(self, address: str, kind_path: str) -> str:
        """The token of the newest link to ``kind_path`` mailed to ``address``."""
        for message in reversed(self.mailer.to(address)):
            for word in message.text.split():
                if kind_path in word and "token=" in word:
                    return word.split("token=", 1)[1].rstrip(".")
        raise AssertionError(f"no {kind_path} link mailed to {address}")

    def topics(self, topic: str) -> list:
        return [message for message in self.events if message.topic == topic]

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))


def sandbox_pair(clock: ManualClock, **vendor: object) -> tuple[SandboxVendor, SandboxGateway]:
    """A sandbox vendor with readable ids, and the gateway that talks to it."""
    ids = SequentialIds("vendor")
    sandbox = SandboxVendor(webhook_secret=SECRET, clock=clock, ids=ids, **vendor)  # type: ignore[arg-type]
    return sandbox, SandboxGateway(vendor=sandbox, webhook_secret=SECRET, clock=clock)


def build(
    *,
    ach: AchPolicy = AchPolicy.GRANT_ON_CLEARING,
    system: SystemPortalOptions | None = None,
    store: MemoryStore | None = None,
    limit: int = 10,
    background: object = None,
    hasher: object = None,
    gateways: tuple = (),
    limiter: object = None,
    clock: ManualClock | None = None,
    **policy: object,
) -> Harness:
    """A portal whose background jobs run at once (unless ``background`` is given) and
    whose portal URL is ``PORTAL_URL`` (unless ``system`` names another); ``limiter``
    replaces the memory limiter of ``limit`` attempts, ``clock`` the portal's own."""
    clock = clock or ManualClock(START)
    store = store or MemoryStore()
    system = system or SystemPortalOptions()
    if system.portal_url == SystemPortalOptions().portal_url:
        system = attrs.evolve(system, portal_url=PORTAL_URL)
    vendor, gateway = sandbox_pair(clock)
    mailer = MemoryMailer()
    portal = PortalAccess(
        store=store,
        gateways=[gateway, *gateways],
        mailer=mailer,
        clock=clock,
        ids=SequentialIds(),
        hasher=hasher or ScryptPasswordHasher(n=16),  # type: ignore[arg-type]
        limiter=limiter or MemoryRateLimiter(limit=limit),  # type: ignore[arg-type]
        policy=PortalPolicy(ach=ach, system=system, **policy),  # type: ignore[arg-type]
        business_name="Acme Services",
        background=background if background is not None else (lambda job: job()),  # type: ignore[arg-type]
    )
    harness = Harness(clock, store, gateway, mailer, portal, vendor)
    portal.subscribe(harness.events.append)
    portal.save_account_class(CLASS)
    return harness


def portal_with(
    gateways: list[PaymentGateway],
    *,
    clock: ManualClock,
    offer_gateway: str,
    store: Store | None = None,
    ach: AchPolicy = AchPolicy.GRANT_ON_CLEARING,
    plan: Plan | None = MONTHLY,
    one_time: Charge = SETUP_FEE,
) -> Harness:
    """A portal on real gateways, with seed 000's offer on ``offer_gateway`` (the first
    gateway is the harness's ``gateway``), its URL ``PORTAL_URL`` and background jobs run
    at once."""
    store = store or MemoryStore()
    mailer = MemoryMailer()
    portal = PortalAccess(store=store, gateways=gateways, mailer=mailer, clock=clock,
                          ids=SequentialIds(), hasher=ScryptPasswordHasher(n=16),
                          policy=PortalPolicy(ach=ach, system=SystemPortalOptions(
                              portal_url=PORTAL_URL)),
                          background=lambda job: job())  # fmt: skip
    harness = Harness(clock, store, gateways[0], mailer, portal)  # type: ignore[arg-type]
    portal.subscribe(harness.events.append)
    portal.save_account_class(CLASS)
    portal.create_offer("Client onboarding", gateway=offer_gateway, currency="USD",
                        one_time=one_time, plan=plan, onboarding_flow="welcome-flow",
                        account_class_id=CLASS.id, offer_id="offer-1")  # fmt: skip
    return harness


def paid_offer(harness: Harness, *, plan: Plan | None = MONTHLY, one_time=SETUP_FEE, **kw: object):
    return harness.portal.create_offer(
        "Client onboarding",
        gateway="sandbox",
        currency="USD",
        invoice_title='Welcome, {{ contact.first_name | default:"there" }}',
        one_time=one_time,
        plan=plan,
        onboarding_flow="welcome-flow",
        account_class_id=CLASS.id,
        offer_id="offer-1",
        **kw,  # type: ignore[arg-type]
    )


def sign_up(harness: Harness, email: str = "ann@example.com", first_name: str = "Ann"):
    signup = harness.portal.submit_kickoff_form(
        "offer-1", KickoffForm(first_name=first_name, last_name="Lee", email=email)
    )
    harness.contact_id = harness.contact_id or signup.contact_id
    return signup


def register(harness: Harness, email: str = "ann@example.com") -> str:
    token = harness.link(email, "/portal/invitation")
    return harness.portal.accept_invitation(token, PASSWORD)


def account(account_id: str = "acc-1", **changes: object) -> Account:
    return attrs.evolve(
        Account(id=account_id, number="49418", name="Renovation Gym", account_class=CLASS),
        **changes,
    )
