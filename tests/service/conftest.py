"""Fixtures of the service tests: every money story on each gateway and each store."""

from __future__ import annotations

import pytest

from tests.service.money_world import GATEWAYS, STORES

KINDS = [(gateway, store) for gateway in GATEWAYS for store in STORES]


@pytest.fixture(params=KINDS, ids=["-".join(kind) for kind in KINDS])
def kind(request: pytest.FixtureRequest) -> tuple[str, str]:
    """A (gateway, store) pair: the sandbox or Stripe, the memory store or SQLite."""
    found: tuple[str, str] = request.param
    return found
