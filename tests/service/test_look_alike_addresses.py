"""Look-alike addresses never make a second login (docs/security.md "Limits"): on every
store, a kickoff form or a login with a spelling that prints like a known address finds
the same contact and the same login."""

from __future__ import annotations

import pytest

from portal_access import AuthenticationError
from portal_access.repositories import unit_of_work
from tests.service.harness import CLIENT, PASSWORD, build, paid_offer, register, sign_up
from tests.service.stores import store

__all__ = ["store"]

LOOK_ALIKES = [
    "ann@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",
    "ann@exam\u00adple.com",
    "ann@exam\u200bple.com",
    "\uff41nn@example.com",
]


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
def test_a_look_alike_kickoff_form_is_the_first_signup(store, look_alike):
    """Seed 000_07c53b15302458c1.txt: the same person resubmitting gets the one signup."""
    harness = build(store=store)
    paid_offer(harness)
    first = sign_up(harness)
    again = sign_up(harness, email=look_alike)
    assert again == first
    with unit_of_work(harness.store) as uow:
        assert [c.id for c in uow.contacts.for_account(first.account_id)] == [first.contact_id]


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
def test_a_look_alike_logs_in_to_the_same_login(store, look_alike):
    """Seed 003_11ad6fb0c789d951.txt: the email is the username, however it is spelled."""
    harness = build(store=store)
    paid_offer(harness)
    sign_up(harness)
    contact_id = register(harness)
    assert harness.portal.log_in(look_alike, PASSWORD, client_key=CLIENT).contact_id == contact_id
    with pytest.raises(AuthenticationError):
        harness.portal.log_in(look_alike, "not the password", client_key=CLIENT)
