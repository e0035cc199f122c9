"""Brute force: every anonymous flow is limited per client (the host passes the
visitor's address) as well as per email or invoice (docs/security.md "Limits")."""

from __future__ import annotations

import contextlib

import attrs
import pytest

from portal_access import PortalAccessError, RateLimitedError, SystemPortalOptions, ValidationError
from tests.service.harness import CANCEL, CLASS, CLIENT, SUCCESS, build, paid_offer, sign_up
from tests.service.stores import store

__all__ = ["store"]

OPTIONS = SystemPortalOptions(request_login_button=True, pay_as_guest=True)
LIMIT = 10

FLOWS = {
    "log_in": lambda portal, n, client: portal.log_in(
        f"user{n}@example.com", "a guessed password", client_key=client
    ),
    "change_password": lambda portal, n, client: portal.change_password(
        f"user{n}@example.com", "a guessed password", "a brand new passphrase", client_key=client
    ),
    "having_trouble": lambda portal, n, client: portal.having_trouble(
        f"user{n}@example.com", client_key=client
    ),
    "self_register": lambda portal, n, client: portal.self_register(
        f"{5000 + n}", "GUESSED", "Ann Lee", f"user{n}@example.com", client_key=client
    ),
    "quick_pay": lambda portal, n, client: portal.quick_pay(
        f"{5000 + n}", "GUESSED", success_url=SUCCESS, cancel_url=CANCEL, client_key=client
    ),
}


def portal_for(store):
    harness = build(store=store, system=OPTIONS, limit=LIMIT)
    harness.portal.save_account_class(attrs.evolve(CLASS, invoice_verified_self_registration=True))
    paid_offer(harness)
    sign_up(harness)
    return harness


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_one_client_spraying_many_addresses_is_refused(store, flow):
    """200 different emails or invoice numbers from one client: all after the tenth refused."""
    harness = portal_for(store)
    attempt = FLOWS[flow]
    refused = 0
    for n in range(200):
        try:
            attempt(harness.portal, n, CLIENT)
        except RateLimitedError:
            refused += 1
        except PortalAccessError:
            pass  # a wrong password: counted, not refused
    assert refused == 200 - LIMIT
    with contextlib.suppress(PortalAccessError):  # another client is not held up
        attempt(harness.portal, 0, "198.51.100.99")


@pytest.mark.parametrize("flow", sorted(FLOWS))
@pytest.mark.parametrize("client", ["", "   ", "a\x00b", "x" * 300, None])
def test_a_client_key_is_required(store, flow, client):
    """A missing client key is an error, never "no per-client limit"."""
    harness = portal_for(store)
    with pytest.raises(ValidationError) as caught:
        FLOWS[flow](harness.portal, 0, client)
    assert caught.value.field == "client_key"
