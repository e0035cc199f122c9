"""What the documentation's examples take as given without showing it: a host's portal
with an offer, and a contact who signed up and accepted the invitation.

The pages import these in ``<!-- invisible-code-block: python -->`` comments, so what a
reader sees is the part the page is about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from portal_access import (
    AccountClass,
    Charge,
    KickoffForm,
    Money,
    Plan,
    PortalAccess,
    PortalPolicy,
    SystemPortalOptions,
)
from portal_access.adapters import ManualClock, MemoryMailer
from portal_access.ports import PaymentGateway
from portal_access.storage.memory import MemoryStore

PASSWORD = "correct horse battery staple"
PORTAL_URL = "https://portal.example.com"


def build_portal(
    *,
    gateways: Sequence[PaymentGateway],
    clock: ManualClock,
    policy: PortalPolicy | None = None,
    one_time: Charge | None = None,
    plan: Plan | None = None,
) -> PortalAccess:
    """A host's portal on a memory store, mail kept in memory, background jobs run at once
    (a page reads the mail an anonymous flow sends next), with the account class
    ``clients`` and the offer ``join`` on the first gateway (by default a setup fee of
    $250.00; give ``plan`` to add a subscription)."""
    policy = policy or PortalPolicy(system=SystemPortalOptions(portal_url=PORTAL_URL))
    portal = PortalAccess(
        store=MemoryStore(),
        gateways=gateways,
        mailer=MemoryMailer(),
        clock=clock,
        policy=policy,
        background=lambda job: job(),
    )
    portal.save_account_class(AccountClass(id="clients", name="Clients"))
    portal.create_offer(
        "Client portal",
        offer_id="join",
        gateway=gateways[0].name,
        currency="USD",
        account_class_id="clients",
        one_time=one_time or Charge("Setup", Money(25000, "USD")),
        plan=plan,
    )
    return portal


def mailed_token(portal: PortalAccess, path: str) -> str:
    """The token of the newest link to ``path`` the portal mailed."""
    mailer = portal.mailer
    assert isinstance(mailer, MemoryMailer)
    for message in reversed(mailer.sent):
        found = re.search(re.escape(path) + r"\?token=([^\s.]+)", message.text)
        if found:
            return found.group(1)
    raise AssertionError(f"no link to {path} was mailed")


def registered_contact(portal: PortalAccess, email: str = "ann@example.com") -> str:
    """Sign ``email`` up through the offer ``join`` and accept the invitation; the id."""
    portal.submit_kickoff_form("join", KickoffForm(first_name="Ann", email=email))
    return portal.accept_invitation(mailed_token(portal, "/portal/invitation"), PASSWORD)
