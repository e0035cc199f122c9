"""A host's dev server restarted on the same SQLite file: the sandbox vendor starts
afresh, and its new webhooks must not be taken for the old ones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from portal_access import AccessLevel, PortalPolicy, SystemPortalOptions
from portal_access._portal import PortalAccess
from portal_access.adapters import ManualClock, MemoryMailer, ScryptPasswordHasher, SequentialIds
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.ports import TokenSource
from portal_access.storage.sql import SqlStore
from portal_access.testing.sandbox import SandboxVendor
from tests.service.harness import (
    CANCEL,
    CLASS,
    PORTAL_URL,
    SECRET,
    START,
    SUCCESS,
    Harness,
    paid_offer,
    register,
    sign_up,
)

pytest.importorskip("sqlalchemy")


@pytest.fixture
def stores() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def serve(
    stores: ExitStack, path: Path, clock: ManualClock, vendor_ids: TokenSource | None
) -> Harness:
    """What the dev server does at start: the store on the SQLite file, a new sandbox
    vendor (its memory is gone), the portal, the vendor's webhooks to the endpoint."""
    store = stores.enter_context(SqlStore(f"sqlite:///{path}", create=True))
    vendor = SandboxVendor(webhook_secret=SECRET, clock=clock, ids=vendor_ids)
    gateway = SandboxGateway(vendor=vendor, webhook_secret=SECRET, clock=clock)
    mailer = MemoryMailer()
    portal = PortalAccess(store=store, gateways=[gateway], mailer=mailer, clock=clock,
                          hasher=ScryptPasswordHasher(n=16), policy=PortalPolicy(
                              system=SystemPortalOptions(portal_url=PORTAL_URL)))  # fmt: skip
    harness = Harness(clock, store, gateway, mailer, portal, vendor)  # type: ignore[arg-type]
    portal.save_account_class(CLASS)
    return harness


def pays(h: Harness, email: str) -> tuple[list[str], AccessLevel]:
    """A new client signs up, registers and pays by card; the webhooks' outcomes and
    the client's access after them."""
    h.contact_id = ""
    sign_up(h, email=email)
    contact_id = register(h, email=email)
    page = h.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    outcomes: list[str] = []
    h.sandbox.attach(lambda headers, body: outcomes.append(h.webhook(headers, body).outcome))
    h.sandbox.pay(page.session_id)
    return outcomes, h.portal.check_access(contact_id).level


def test_a_restarted_vendor_never_repeats_an_event_id(tmp_path: Path, stores: ExitStack):
    """After a dev-server restart on the same database, the new vendor's events are
    applied, not taken as duplicates of the first vendor's: its ids are random."""
    clock, path = ManualClock(START), tmp_path / "portal.db"
    first = serve(stores, path, clock, vendor_ids=None)
    paid_offer(first)
    assert pays(first, "ann@example.com") == (["applied", "applied"], AccessLevel.FULL)
    second = serve(stores, path, clock, vendor_ids=None)  # the server reloads
    assert pays(second, "bo@example.com") == (["applied", "applied"], AccessLevel.FULL)


def test_sequential_ids_are_what_made_the_restart_fail(tmp_path: Path, stores: ExitStack):
    """The hazard the random default removes: two vendors counting from one repeat
    their event ids, and the second client's payment is dropped as a duplicate."""
    clock, path = ManualClock(START), tmp_path / "portal.db"
    first = serve(stores, path, clock, vendor_ids=SequentialIds())
    paid_offer(first)
    assert pays(first, "ann@example.com")[1] is AccessLevel.FULL
    second = serve(stores, path, clock, vendor_ids=SequentialIds())
    outcomes, level = pays(second, "bo@example.com")
    assert outcomes == ["duplicate", "duplicate"]
    assert level is AccessLevel.PAY_INVOICE_ONLY
