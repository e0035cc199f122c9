"""Atomicity: a store failure injected at each write of a use case leaves the store
exactly as it was (full snapshots compared). docs/rules.md: "a failed call leaves the store
as it was"."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import attrs
import pytest

from portal_access import (
    Contact,
    EmailAddress,
    InvoiceEmail,
    Site,
    StorageError,
    SystemPortalOptions,
)
from portal_access._domain.self_registration import SelfRegistrationRequest
from portal_access._service.context import Work, run
from portal_access._service.logins import mail_trouble_links
from portal_access._service.self_registration import invite_if_matched
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.testing._faults import FailingStore
from tests.service.harness import (
    ADMIN,
    CANCEL,
    CLASS,
    CLIENT,
    MONTHLY,
    PASSWORD,
    SUCCESS,
    Harness,
    account,
    build,
    paid_offer,
    register,
    sign_up,
)

OPTIONS = SystemPortalOptions(request_login_button=True, pay_as_guest=True)


def in_background(h: Harness, use_case: Callable[[Work], object]) -> object:
    """Run an anonymous flow's background job the way its runner does, failures raised."""
    return run(h.portal._context, use_case)


def self_registration(h: Harness) -> SelfRegistrationRequest:
    code = invoice_of(h).quick_pay_code
    return SelfRegistrationRequest.from_form("1001", code, "Ann Lee", "ann@example.com")


def fresh() -> tuple[Harness, FailingStore]:
    failing = FailingStore(MemoryStore(), fail_on_write=0)
    harness = build(store=failing, system=OPTIONS)  # type: ignore[arg-type]
    harness.portal.save_account_class(attrs.evolve(CLASS, invoice_verified_self_registration=True))
    harness.portal.save_account(account())
    return harness, failing


def signed_up(h: Harness) -> None:
    paid_offer(h)
    sign_up(h)


def registered(h: Harness) -> None:
    signed_up(h)
    register(h)


def paying(h: Harness) -> None:
    registered(h)
    session = h.portal.start_checkout(h.contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    h.sandbox.pay(session.session_id)


def lapsed(h: Harness) -> None:
    paying(h)
    h.deliver()
    with unit_of_work(h.store) as uow:
        (sub,) = uow.subscriptions.for_contact(h.contact_id)
    h.sandbox.renew(sub.snapshot.subscription_id, succeed=False)
    h.deliver()
    h.portal.having_trouble("ann@example.com", client_key=CLIENT)


def bo(contact_id: str = "c-bo") -> Contact:
    return Contact(
        id=contact_id,
        account_id="acc-1",
        first_name="Bo",
        email=EmailAddress.parse("bo@example.com"),
    )


def invoice_of(h: Harness):
    with unit_of_work(h.store) as uow:
        return uow.invoices.with_number("1001")


Scenario = tuple[Callable[[Harness], object], Callable[[Harness], object]]
SCENARIOS: dict[str, Scenario] = {
    "save_account_class": (
        lambda h: None,
        lambda h: h.portal.save_account_class(attrs.evolve(CLASS, reports=True)),
    ),
    "save_site": (
        lambda h: h.portal.create_contact(bo()),
        lambda h: h.portal.save_site(Site(id="s-1", account_id="acc-1", name="Main")),
    ),
    "create_contact_auto_invite": (
        lambda h: h.portal.save_account_class(
            attrs.evolve(CLASS, auto_invite_on_contact_creation=True)
        ),
        lambda h: h.portal.create_contact(bo()),
    ),
    "update_contact": (
        lambda h: h.portal.create_contact(bo()),
        lambda h: h.portal.update_contact(attrs.evolve(bo(), first_name="Bob")),
    ),
    "create_offer": (lambda h: None, paid_offer),
    "submit_kickoff_form": (paid_offer, sign_up),
    "invite_contact": (
        lambda h: h.portal.create_contact(bo()),
        lambda h: h.portal.invite_contact("c-bo", staff=ADMIN),
    ),
    "invite_email_address": (
        lambda h: None,
        lambda h: h.portal.invite_email_address("acc-1", "cy@example.com", staff=ADMIN),
    ),
    "send_invoice_email": (
        signed_up,
        lambda h: h.portal.send_invoice_email(
            invoice_of(h).id,
            InvoiceEmail.compose("to@example.com", cc="cc@example.com", invite_recipients=True),
            staff=ADMIN,
        ),
    ),
    "send_portal_instructions": (
        lambda h: h.portal.create_contact(bo()),
        lambda h: h.portal.send_portal_instructions("c-bo", staff=ADMIN),
    ),
    "set_temporary_password": (
        lambda h: h.portal.create_contact(bo()),
        lambda h: h.portal.set_temporary_password("c-bo", "Temporary-42x", staff=ADMIN),
    ),
    "accept_invitation": (signed_up, register),
    "change_password": (
        registered,
        lambda h: h.portal.change_password(
            "ann@example.com", PASSWORD, "a brand new passphrase", client_key=CLIENT
        ),
    ),
    # the anonymous flows' requests write nothing: their unit of work is the background job
    "having_trouble": (
        registered,
        lambda h: in_background(
            h, lambda work: mail_trouble_links(work, EmailAddress.parse("ann@example.com"))
        ),
    ),
    "start_checkout": (
        registered,
        lambda h: h.portal.start_checkout(h.contact_id, success_url=SUCCESS, cancel_url=CANCEL),
    ),
    "handle_webhook": (paying, lambda h: h.webhook(*h.sandbox.pending_deliveries()[0])),
    "resubscribe": (
        lapsed,
        lambda h: h.portal.resubscribe(
            h.link("ann@example.com", "/portal/resubscribe"), success_url=SUCCESS, cancel_url=CANCEL
        ),
    ),
    "cancel_required_payment": (
        registered,
        lambda h: h.portal.cancel_required_payment(h.contact_id, staff=ADMIN),
    ),
    "self_register": (
        signed_up,
        lambda h: in_background(h, partial(invite_if_matched, request=self_registration(h))),
    ),
    "quick_pay": (
        signed_up,
        lambda h: h.portal.quick_pay(
            "1001",
            invoice_of(h).quick_pay_code,
            success_url=SUCCESS,
            cancel_url=CANCEL,
            client_key=CLIENT,
        ),
    ),
    # every event but the last was delivered: reconcile repairs one in one unit of work
    "reconcile": (
        lambda h: (paying(h), [h.webhook(*d) for d in h.sandbox.pending_deliveries()[:-1]]),
        lambda h: h.portal.reconcile("sandbox", since=h.clock.now().replace(year=2000)),
    ),
    "save_plan": (lambda h: None, lambda h: h.portal.save_plan(MONTHLY)),
}


def _writes(name: str) -> int:
    setup, action = SCENARIOS[name]
    harness, failing = fresh()
    setup(harness)
    failing.writes = 0
    action(harness)
    return failing.writes


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_failure_at_any_write_leaves_the_store_as_it_was(name):
    """docs/rules.md: a failed use case leaves nothing behind, whichever write fails."""
    setup, action = SCENARIOS[name]
    total = _writes(name)
    assert total > 0
    failed = 0
    for n in range(1, total + 1):
        harness, failing = fresh()
        setup(harness)
        before = failing.store.snapshot()  # type: ignore[attr-defined]
        failing.writes, failing.fail_on_write = 0, n
        try:
            action(harness)
        except StorageError:
            failed += 1
            assert failing.store.snapshot() == before, f"write {n} of {total}"  # type: ignore[attr-defined]
    assert failed > 0
