"""``python -m portal_access demo``: seed 000's paid-access story, end to end.

Everything is real except the payment vendor, which is the in-process sandbox vendor
behind the sandbox gateway (signed webhooks, delivered through the same
``handle_webhook`` a host wires to its endpoint). Each step prints what happened and
the contact's access decision after it.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib import import_module
from pathlib import Path
from typing import TextIO

from portal_access import (
    AccessDecision,
    Account,
    AccountClass,
    AchPolicy,
    Charge,
    Contact,
    EmailAddress,
    InactiveSiteVisibility,
    KickoffForm,
    LedgerAccount,
    Money,
    PaymentMethodKind,
    Plan,
    PortalAccess,
    PortalPolicy,
    Site,
    SiteScope,
    StaffMember,
    StaffPermission,
    SystemPortalOptions,
)
from portal_access.adapters import (
    ManualClock,
    MemoryMailer,
    ScryptPasswordHasher,
    SecretsTokenSource,
)
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.ports import Store
from portal_access.storage.memory import MemoryStore
from portal_access.testing.sandbox import SandboxVendor

__all__ = ["main"]

PORTAL_URL = "https://portal.example"
SUCCESS = f"{PORTAL_URL}/paid"
CANCEL = f"{PORTAL_URL}/pay"
VISITOR = "203.0.113.9"  # the address a host passes as the visitor's client key
ADMIN = StaffMember(id="staff-1", name="Office admin", permissions=frozenset(StaffPermission))
MONTHLY = Plan(id="plan-monthly", name="Portal subscription", amount=Money(4900, "USD"))
SETUP_FEE = Charge("Onboarding fee", Money(25000, "USD"))
CLASS = AccountClass(
    id="commercial",
    name="Commercial",
    reports=True,
    inactive_sites=InactiveSiteVisibility.SERVICE_HISTORY_ONLY,
)


class Demo:
    """One portal (one ACH policy) on one store, narrated to ``out``."""

    def __init__(self, store: Store, ach: AchPolicy, out: TextIO) -> None:
        self.out = out
        self.clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        secret = "whsec_demo"  # noqa: S105 - the sandbox's signing secret, not a credential
        self.sandbox = SandboxVendor(webhook_secret=secret, clock=self.clock)
        gateway = SandboxGateway(vendor=self.sandbox, webhook_secret=secret, clock=self.clock)
        self.mailer = MemoryMailer()
        self.portal = PortalAccess(
            store=store,
            gateways=[gateway],
            mailer=self.mailer,
            clock=self.clock,
            ids=SecretsTokenSource(),
            hasher=ScryptPasswordHasher(n=2**12),  # demo speed; the default is 2**15
            policy=PortalPolicy(ach=ach, system=SystemPortalOptions(portal_url=PORTAL_URL)),
            business_name="Acme Facility Services",
            background=lambda job: job(),  # the story reads each email as it is sent
        )
        self.onboarded: list[str] = []
        self.portal.subscribe(
            lambda message: self.onboarded.append(message.payload["contact_id"]),
            topic="onboarding.due",
        )

    def say(self, text: str) -> None:
        self.out.write(f"{text}\n")

    def show(self, contact_id: str) -> AccessDecision:
        decision = self.portal.check_access(contact_id)
        extra = ""
        if decision.sites.visible:
            extra = f", sites {sorted(decision.sites.full)}"
            if decision.sites.history_only:
                extra += f" + service history {sorted(decision.sites.history_only)}"
        self.say(f"      -> access: {decision.level.name} ({decision.reason.value}){extra}")
        return decision

    def deliver(self, *, copies: int = 1, seed: int | None = None) -> None:
        rng = random.Random(seed) if seed is not None else None  # noqa: S311 - shuffling
        self.sandbox.deliver(
            lambda headers, body: self.portal.handle_webhook("sandbox", headers, body),
            duplicate=copies,
            rng=rng,
        )

    def link(self, address: str, path: str) -> str:
        for message in reversed(self.mailer.to(address)):
            for word in message.text.split():
                if path in word and "token=" in word:
                    return word.split("token=", 1)[1].rstrip(".")
        raise LookupError(f"no {path} link for {address}")

    def sign_up_and_register(self, first: str, email: str) -> str:
        signup = self.portal.submit_kickoff_form(
            "kickoff", KickoffForm(first_name=first, last_name="Lee", email=email)
        )
        self.say(
            f"  {first} submits the kickoff form: contact {signup.contact_id}, "
            f"invoice {signup.invoice_id}"
        )
        mail = self.mailer.to(email)[-1]
        self.say(f"    email to {email}: {mail.subject!r}")
        self.show(signup.contact_id)
        token = self.link(email, "/portal/invitation")
        self.portal.view_invitation(token)  # the GET a mail scanner makes: consumes nothing
        self.portal.accept_invitation(token, "a long passphrase 42")
        self.say(f"  {first} opens the link and sets a password (registration)")
        self.show(signup.contact_id)
        return signup.contact_id

    def set_up(self) -> None:
        self.portal.save_account_class(CLASS)
        for method, code in (
            (PaymentMethodKind.CARD, "1010"),
            (PaymentMethodKind.BANK_ACCOUNT, "1020"),
        ):
            # seed 004: each way of paying lands in the bank account staff matched to it
            account = LedgerAccount(gateway="sandbox", method=method, code=code, name="Operating")
            self.portal.map_ledger_account(account, staff=ADMIN)
        self.portal.create_offer(
            "Client onboarding",
            offer_id="kickoff",
            gateway="sandbox",
            currency="USD",
            invoice_title='Welcome aboard, {{ contact.first_name | default:"friend" }}',
            one_time=SETUP_FEE,
            plan=MONTHLY,
            onboarding_flow="client-welcome",
            account_class_id=CLASS.id,
        )
        self.say(
            f"  offer 'Client onboarding': {SETUP_FEE.description} {SETUP_FEE.amount} "
            f"+ {MONTHLY.name} {MONTHLY.amount}/month, paid through the sandbox gateway"
        )

    def pay_by_ach(self, contact_id: str, *, clears: bool) -> None:
        session = self.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
        self.say(f"  checkout page: {session.url}")
        payment = self.sandbox.pay(session.session_id, method=PaymentMethodKind.BANK_ACCOUNT)
        self.deliver()
        self.say("  pays by ACH bank transfer: the payment is processing")
        self.show(contact_id)
        self.sandbox.settle_ach(payment, cleared=clears)
        self.deliver(copies=3, seed=7)
        outcome = "clears" if clears else "FAILS"
        self.say(f"  days later the ACH payment {outcome} (webhooks arrive 3 times, shuffled)")
        self.show(contact_id)

    def pay_by_card(self, contact_id: str) -> None:
        session = self.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
        self.sandbox.pay(session.session_id)
        self.deliver()
        self.say("  pays the still-open invoice by card")
        self.show(contact_id)


def grant_on_clearing(store: Store, out: TextIO) -> None:
    """Seed 000's story under ``GRANT_ON_CLEARING``, narrated to ``out``."""
    demo = Demo(store, AchPolicy.GRANT_ON_CLEARING, out)
    demo.say("\n== Portal 1: ACH policy GRANT_ON_CLEARING ==")
    demo.set_up()
    ann = demo.sign_up_and_register("Ann", "ann@example.com")
    demo.pay_by_ach(ann, clears=True)
    demo.say(f"  onboarding events for Ann: {demo.onboarded.count(ann)} (fired once)")

    demo.say("  a month later the renewal charge fails")
    demo.clock.advance(timedelta(days=31))
    (subscription,) = demo.sandbox.subscription_ids(ann)
    demo.sandbox.renew(subscription, succeed=False)
    demo.deliver()
    demo.show(ann)
    demo.portal.having_trouble("ann@example.com", client_key=VISITOR)
    token = demo.link("ann@example.com", "/portal/resubscribe")
    demo.say("  Ann clicks 'Having trouble?', gets a re-subscribe link, enters a new card")
    session = demo.portal.resubscribe(token, success_url=SUCCESS, cancel_url=CANCEL)
    demo.sandbox.pay(session.session_id)
    demo.deliver()
    demo.show(ann)

    demo.say("  Cy signs up too, but staff cancel the required payment for him")
    cy = demo.sign_up_and_register("Cy", "cy@example.com")
    invoice = demo.portal.cancel_required_payment(cy, staff=ADMIN)
    demo.say(f"  invoice {invoice} is void")
    demo.show(cy)

    demo.say("  a site-level contact: Di sees two of the account's sites")
    account = Account(id="acc-gym", number="49418", name="Renovation Gym", account_class=CLASS)
    demo.portal.save_account(account)
    for site_id, active in (("gym-main", True), ("gym-annex", True), ("gym-old", False)):
        demo.portal.save_site(Site(id=site_id, account_id=account.id, name=site_id, active=active))
    di = Contact(
        id="c-di",
        account_id=account.id,
        first_name="Di",
        email=EmailAddress.parse("di@example.com"),
        scope=SiteScope.only("gym-annex", "gym-old"),
    )
    demo.portal.create_contact(di)
    demo.portal.invite_contact(di.id, staff=ADMIN)
    demo.portal.accept_invitation(
        demo.link("di@example.com", "/portal/invitation"), "another passphrase 7"
    )
    demo.show(di.id)


def grant_on_initiation(store: Store, out: TextIO) -> None:
    """Seed 000's story under ``GRANT_ON_INITIATION``, narrated to ``out``."""
    demo = Demo(store, AchPolicy.GRANT_ON_INITIATION, out)
    demo.say("\n== Portal 2: ACH policy GRANT_ON_INITIATION ==")
    demo.set_up()
    bo = demo.sign_up_and_register("Bo", "bo@example.com")
    demo.pay_by_ach(bo, clears=False)
    demo.say(f"  onboarding events for Bo so far: {demo.onboarded.count(bo)}")
    demo.pay_by_card(bo)
    demo.say(f"  onboarding events for Bo: {demo.onboarded.count(bo)} (fired once)")


def _store(kind: str, directory: Path, name: str) -> Store:
    if kind == "memory":
        return MemoryStore()
    from portal_access.storage.sql import SqlStore  # noqa: PLC0415 - optional dependency

    store: Store = SqlStore(str(directory / f"{name}.db"), create=True)
    return store


def _default_store() -> str:
    """SQLite when the ``sql`` extra is installed, else the memory store."""
    try:
        import_module("portal_access.storage.sql")
    except ImportError:
        return "memory"
    return "sqlite"


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the demo; ``--store memory`` or ``--store sqlite`` (default: SQLite files in
    a temporary directory when SQLAlchemy is installed). ``--serve`` starts the example
    Flask portal instead (see :mod:`portal_access._demo_server`)."""
    parser = argparse.ArgumentParser(prog="python -m portal_access demo", description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "memory"], default=_default_store())
    parser.add_argument("--directory", type=Path, help="where the SQLite files go")
    parser.add_argument("--serve", action="store_true", help="run the example Flask portal")
    parser.add_argument("--host", default="127.0.0.1", help="--serve: the address to listen on")
    parser.add_argument("--port", type=int, default=5000, help="--serve: the port (0: any free)")
    args = parser.parse_args(argv)
    stream = out or sys.stdout
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.directory or Path(scratch)
        if args.serve:
            from portal_access._demo_server import serve  # noqa: PLC0415 - needs Flask

            return serve(host=args.host, port=args.port, directory=directory, out=stream)
        stream.write(f"portal-access demo: seed 000's paid portal access ({args.store} store)\n")
        grant_on_clearing(_store(args.store, directory, "portal1"), stream)
        grant_on_initiation(_store(args.store, directory, "portal2"), stream)
    stream.write("\ndone.\n")
    return 0
