"""Hypothesis properties of the access rules, using the strategies users get too."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_access._domain.access import AccessLevel, decide
from portal_access._domain.accounts import InactiveSiteVisibility
from portal_access._domain.errors import CurrencyMismatchError
from portal_access._domain.money import Money
from portal_access._domain.offers import Offer
from portal_access._domain.payments import PaymentSnapshot
from portal_access._domain.serialization import from_json, to_json
from portal_access.testing import strategies as pst


@given(pst.money(), pst.money())
def test_money_never_mixes_currencies(a, b):
    """docs/rules.md: adding, subtracting or ordering two currencies is an error, never a conversion."""
    if a.currency == b.currency:
        assert (a + b).amount == a.amount + b.amount
        assert (a < b) == (a.amount < b.amount)
    else:
        for operation in (lambda: a + b, lambda: a.shortfall(b), lambda: a < b, lambda: a >= b):
            with pytest.raises(CurrencyMismatchError):
                operation()
        assert a != b


@given(pst.money())
def test_money_round_trips_through_its_decimal_text(amount):
    """docs/rules.md: money is exact minor units; printing and parsing loses nothing."""
    major, currency = str(amount).split()
    assert Money.parse(major, currency) == amount


@given(pst.access_states(), pst.policies(), pst.aware_datetimes())
def test_an_unregistered_contact_never_has_access(state, policy, now):
    """Seed 000_07c53b15302458c1.txt: nothing of the portal before registration."""
    decision = decide(attrs.evolve(state, registered=False), policy, now)
    assert decision.level is AccessLevel.NONE
    assert not decision.capabilities
    assert not decision.sites.visible


@given(pst.access_states(), pst.policies(), pst.aware_datetimes())
def test_site_scope_stays_inside_the_account(state, policy, now):
    """Seed 001_345994b3bb014aeb.txt: a contact's sites are a subset of the account's sites;
    inactive ones only as service history, and only when the class allows it."""
    decision = decide(state, policy, now)
    active = {s.id for s in state.sites if s.active}
    inactive = {s.id for s in state.sites if not s.active}
    assert decision.sites.full <= active
    assert decision.sites.history_only <= inactive
    if state.account_class.inactive_sites is InactiveSiteVisibility.HIDDEN:
        assert not decision.sites.history_only
    if not state.scope.account_level:
        assert decision.sites.visible <= state.scope.site_ids


@given(pst.access_states(), pst.policies(), pst.aware_datetimes())
def test_only_full_access_opens_sites(state, policy, now):
    """Seed 000_07c53b15302458c1.txt: short of full access the contact sees no part of the platform."""
    decision = decide(state, policy, now)
    if decision.level is not AccessLevel.FULL:
        assert not decision.sites.visible
    if decision.level is AccessLevel.PAY_INVOICE_ONLY:
        assert decision.required_invoice_id is not None


@given(st.data(), pst.required_payments())
def test_reports_converge_in_any_order_with_duplicates(data, requirement):
    """docs/rules.md: duplicated and out-of-order webhooks give the same state as in-order delivery."""
    reports = data.draw(pst.gateway_reports(requirement, shuffled=False))
    shuffled = data.draw(
        st.permutations(reports + data.draw(st.lists(st.sampled_from(reports))))
        if reports
        else st.just([])
    )

    def apply(items):
        merged = requirement
        for report in items:
            if isinstance(report, PaymentSnapshot):
                merged = merged.observe_payment(report)
            else:
                merged = merged.observe_subscription(report)
        return merged

    assert apply(shuffled) == apply(reports)


@given(pst.access_states())
def test_access_state_round_trips_through_json(state):
    """docs/rules.md: one cattrs converter writes and reads every value."""
    assert from_json(to_json(state), type(state)) == state


@given(pst.offers())
def test_offers_round_trip_through_json(offer):
    """docs/rules.md: offers survive the store's serialisation unchanged."""
    assert from_json(to_json(offer), Offer) == offer
