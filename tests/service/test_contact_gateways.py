"""Seed 004_67d5e53a019b49ae.txt: a contact pays only through the gateways staff allowed.

Each story runs on the sandbox and on Stripe, on the memory store and on SQLite.
"""

from __future__ import annotations

import attrs
import pytest

from portal_access import (
    AccessLevel,
    AccessReason,
    ContactPortalSettings,
    GatewayNotAllowedError,
)
from portal_access.repositories import unit_of_work
from tests.service.harness import CANCEL, CLIENT, SUCCESS
from tests.service.money_world import World, world

ONLY_PAYPAL = frozenset({"paypal"})


def _allow(w: World, gateways: frozenset[str] | None, **settings: bool) -> None:
    """Staff switch the contact's gateway selectors (seed 004's contact panel)."""
    with unit_of_work(w.harness.store) as uow:
        contact = uow.contacts.get(w.contact_id)
    assert contact is not None
    portal = ContactPortalSettings(allowed_gateways=gateways, **settings)
    w.portal.update_contact(attrs.evolve(contact, portal=portal))


def _sessions(w: World) -> int:
    if w.gateway == "sandbox":
        return len(w.harness.sandbox._checkouts)
    api = w.api  # type: ignore[attr-defined]
    return sum(o.get("object") == "checkout.session" for o in api.objects.values())


def test_the_required_invoice_is_refused_through_a_gateway_the_contact_may_not_use(kind, tmp_path):
    """Seed 004_67d5e53a019b49ae.txt: a contact allowed only PayPal gets no Stripe (or sandbox) page: the decision lists no gateway and says why, checkout names both."""
    with world(*kind, tmp_path, allowed_gateways=ONLY_PAYPAL) as w:
        decision = w.portal.check_access(w.contact_id)
        assert (decision.level, decision.reason) == (
            AccessLevel.PAY_INVOICE_ONLY,
            AccessReason.GATEWAY_NOT_ALLOWED,
        )
        assert decision.gateways == frozenset()
        assert decision.capabilities == frozenset()
        with pytest.raises(GatewayNotAllowedError) as caught:
            w.open_page()
        assert (caught.value.gateway, caught.value.allowed) == (w.gateway, ("paypal",))
        assert _sessions(w) == 0
        (conflict,) = w.portal.gateway_conflicts(w.contact_id)
        assert (conflict.gateway, conflict.allowed, conflict.purpose) == (
            w.gateway,
            ("paypal",),
            "required_payment",
        )
        assert conflict.invoice_id == decision.required_invoice_id
        _allow(w, frozenset({"paypal", w.gateway}))  # staff fix it on the contact
        assert w.portal.gateway_conflicts(w.contact_id) == ()
        assert w.portal.check_access(w.contact_id).gateways == {w.gateway}
        w.pay(w.open_page())
        w.deliver()
        assert w.level() == (AccessLevel.FULL, AccessReason.PAID)


def test_quick_pay_of_the_contacts_invoice_is_refused_too(kind, tmp_path):
    """Seed 004_67d5e53a019b49ae.txt: quick pay of an invoice goes through its contact's gateways only."""
    with world(*kind, tmp_path, allowed_gateways=ONLY_PAYPAL, pay_as_guest=True) as w:
        invoice_id = w.portal.check_access(w.contact_id).required_invoice_id
        assert invoice_id is not None
        invoice = w.portal.invoice(invoice_id)
        assert invoice.quick_pay_code is not None
        with pytest.raises(GatewayNotAllowedError) as caught:
            w.quick_pay(invoice)
        assert caught.value.gateway == w.gateway
        assert _sessions(w) == 0


def test_saving_a_method_and_resubscribing_are_refused_too(kind, tmp_path):
    """Seed 004_67d5e53a019b49ae.txt: saved methods and re-subscribing go only through the contact's gateways; the re-subscribe decision says so."""
    with world(*kind, tmp_path) as w:
        w.pay(w.open_page())
        w.deliver()
        _allow(w, ONLY_PAYPAL, can_save_payment_method=True)
        assert w.portal.check_access(w.contact_id).gateways == frozenset()
        with pytest.raises(GatewayNotAllowedError):
            w.portal.start_payment_method_setup(
                w.contact_id, gateway=w.gateway, success_url=SUCCESS, cancel_url=CANCEL
            )
        (conflict,) = w.portal.gateway_conflicts(w.contact_id)  # renewals go through it
        assert conflict.purpose == "required_payment"
        w.harness.advance(days=31)
        w.fail_renewal()
        w.deliver()
        decision = w.portal.check_access(w.contact_id)
        assert (decision.level, decision.reason) == (
            AccessLevel.RESUBSCRIBE_ONLY,
            AccessReason.GATEWAY_NOT_ALLOWED,
        )
        w.portal.having_trouble("ann@example.com", client_key=CLIENT)
        token = w.harness.link("ann@example.com", "/portal/resubscribe")
        pages = _sessions(w)
        with pytest.raises(GatewayNotAllowedError):
            w.portal.resubscribe(token, success_url=SUCCESS, cancel_url=CANCEL)
        assert _sessions(w) == pages
