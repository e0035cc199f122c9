"""A saved payment method the vendor removed is removed here too, on the sandbox, on the
memory store, SQLite (and PostgreSQL when configured).

Seed 003_11ad6fb0c789d951.txt: "Can Save Payment Method ... controls whether that
customer can store a payment method through the portal for future AutoPay": what the
contact stored is what autopay charges, so a method the payer deleted at the vendor (or
the vendor disabled) is no longer on file, and the contact is told so.
Seed 004_67d5e53a019b49ae.txt: payments go through the contact's gateways; a method that
gateway no longer keeps is never sent to it.
"""

from __future__ import annotations

import pytest

from portal_access import AutopayOutcome, InvoiceStatus, Money, SystemPortalOptions
from portal_access.repositories import unit_of_work
from portal_access.storage.memory import MemoryStore
from tests.service.harness import CANCEL, SUCCESS
from tests.service.ledger_world import CONTACT, TODAY, LedgerWorld, ledger_world
from tests.service.stores import store

__all__ = ["store"]

MAX_100 = SystemPortalOptions(autopay_max_amount=Money(10000, "USD"))


def _outcomes(w: LedgerWorld) -> list[str]:
    return [m.payload["outcome"] for m in w.harness.topics("webhook.processed")]


def _removed(w: LedgerWorld) -> list[tuple[str, str, str]]:
    return [
        (m.payload["contact_id"], m.payload["gateway"], m.payload["method_id"])
        for m in w.harness.topics("saved_method.removed")
    ]


def _queue_setup(w: LedgerWorld) -> str:
    """Ann completes a setup page; its webhook waits in the vendor's queue."""
    page = w.portal.start_payment_method_setup(CONTACT, gateway="sandbox", success_url=SUCCESS,
                                               cancel_url=CANCEL)  # fmt: skip
    return w.sandbox.pay(page.session_id)


def test_a_method_removed_at_the_vendor_is_no_longer_on_file_and_the_contact_is_told(store):
    """Seed 003_11ad6fb0c789d951.txt: the payer deletes the saved method at the vendor; the portal no longer keeps it, tells subscribers (SavedPaymentMethodRemoved) and mails the contact once, however often the report is delivered."""
    w = ledger_world(store)
    method_id = w.save_method()
    w.sandbox.remove_saved_method(method_id)
    w.deliver(duplicate=2)
    assert w.portal.saved_payment_method(CONTACT) is None
    assert _outcomes(w)[-1] == "applied"  # the second delivery: a duplicate, not processed
    assert _removed(w) == [(CONTACT, "sandbox", method_id)]
    (mail,) = w.mails("was removed")
    assert "no payment method on file" in mail.text
    assert "card" in mail.text  # the method's label
    with unit_of_work(w.harness.store) as uow:
        assert uow.saved_methods.for_gateway("sandbox") == ()
        kept = uow.saved_methods.latest(CONTACT)
    assert kept is not None
    assert (kept.method_id, kept.removed) == (method_id, True)


def test_autopay_never_sends_a_removed_method_to_the_gateway(store):
    """Seed 003_11ad6fb0c789d951.txt: once the method is removed, a due invoice is not charged: the gateway is not asked, nothing is recorded declined and no decline is mailed; a newly saved method is charged on the next run."""
    w = ledger_world(store, system=MAX_100)
    method_id = w.save_method()
    invoice = w.invoice(2500)
    w.sandbox.remove_saved_method(method_id)
    w.deliver()
    asked = len(w.sandbox._payments)
    report = w.portal.run_autopay(TODAY)
    assert (report.attempts, report.skipped) == ((), ())
    assert len(w.sandbox._payments) == asked
    assert w.mails("was declined") == []
    w.save_method()  # Ann saves another card
    (charged,) = w.portal.run_autopay(TODAY).charged
    assert charged.invoice_id == invoice.id
    assert w.portal.invoice(invoice.id).status is InvoiceStatus.PAID


def test_a_method_removed_while_autopay_runs_is_not_charged(store, monkeypatch):
    """Seed 003_11ad6fb0c789d951.txt: the removal arrives after the run planned two charges and made the first: the second is never sent to the gateway; its attempt ends NO_METHOD (final, not mailed as declined), and it does not hold the invoice from the contact's next method."""
    w = ledger_world(store, system=MAX_100)
    method_id = w.save_method()
    first, second = w.invoice(1000), w.invoice(2000)
    gateway = w.harness.gateway
    charged: list[str] = []
    charge = gateway.charge_saved_method

    def charge_then_removed(request):
        charged.append(request.invoice_id)
        answer = charge(request)
        if len(charged) == 1:  # the payer deletes the card while the run goes on
            w.sandbox.remove_saved_method(method_id)
            w.deliver()
        return answer

    monkeypatch.setattr(gateway, "charge_saved_method", charge_then_removed)
    report = w.portal.run_autopay(TODAY)
    assert charged == [first.id]
    assert [(a.invoice_id, a.outcome) for a in report.attempts] == [
        (first.id, AutopayOutcome.SUCCEEDED),
        (second.id, AutopayOutcome.NO_METHOD),
    ]
    assert report.attempts[1].reason == "no saved payment method on file"
    assert w.mails("was declined") == []
    assert len(w.mails("was removed")) == 1
    assert w.portal.run_autopay(TODAY).attempts == ()  # nothing on file: nothing to try
    w.save_method()
    (retried,) = w.portal.run_autopay(TODAY).charged
    assert retried.invoice_id == second.id


def test_a_removal_of_an_older_method_leaves_the_newer_one(store):
    """Seed 003_11ad6fb0c789d951.txt: the contact saved a new method, then the old one was deleted at the vendor: the new one stays on file, nobody is mailed, and the outcome says why nothing changed."""
    w = ledger_world(store)
    old = w.save_method()
    new = w.save_method()
    w.sandbox.remove_saved_method(old)
    w.deliver()
    saved = w.portal.saved_payment_method(CONTACT)
    assert saved is not None
    assert saved.method_id == new
    why = f"saved method {old} is not contact {CONTACT}'s saved method"
    assert _outcomes(w)[-1] == f"ignored: {why}"
    assert (_removed(w), w.mails("was removed")) == ([], [])


def test_a_removed_method_reported_saved_later_is_not_kept(store):
    """Seed 003_11ad6fb0c789d951.txt: the removal is delivered before the report of the method saved (a retry, reordered deliveries): the late report does not bring it back, yet it still replaces the older method the contact had replaced with it."""
    w = ledger_world(store)
    older = w.save_method()
    removed = _queue_setup(w)
    w.sandbox.remove_saved_method(removed)
    bodies = w.sandbox._queue._bodies  # the vendor's queue: the removal goes first
    bodies[-2], bodies[-1] = bodies[-1], bodies[-2]
    w.deliver()
    assert w.portal.saved_payment_method(CONTACT) is None
    assert _outcomes(w)[-2:] == [
        f"ignored: saved method {removed} is not contact {CONTACT}'s saved method",
        f"ignored: saved method {removed} was removed at sandbox",
    ]
    assert _removed(w) == [(CONTACT, "sandbox", removed)]
    assert older != removed


@pytest.mark.parametrize("seed", range(4))
def test_removals_and_saves_converge_whatever_the_order_and_number_of_deliveries(seed):
    """Seed 003_11ad6fb0c789d951.txt: under shuffled, triplicated deliveries the contact ends with the method they chose last, unless that one was removed: (1) saved, removed, another saved: the other; (2) two saved, the newer removed: none."""
    finals = []
    for removes_last in (False, True):
        w = ledger_world(MemoryStore())
        first = _queue_setup(w)
        if removes_last:
            second = _queue_setup(w)
            w.sandbox.remove_saved_method(second)
        else:
            w.sandbox.remove_saved_method(first)
            second = _queue_setup(w)
        w.deliver(duplicate=3, seed=seed)
        saved = w.portal.saved_payment_method(CONTACT)
        finals.append(None if saved is None else saved.method_id == second)
        assert len(w.mails("was removed")) <= 1
    assert finals == [True, None]
