"""The sandbox gateway passes the gateway contract suite that users run on their own."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portal_access._domain.payments import PaymentMethodKind
from portal_access.adapters import ManualClock
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.testing._gateway_contract import GatewayContract
from portal_access.testing.sandbox import SandboxVendor, SandboxWebhooks

SECRET = "whsec_contract"


class TestSandboxGateway(GatewayContract):
    """The gateway contract, against the sandbox gateway and its vendor."""

    payment_methods = frozenset(PaymentMethodKind)

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))

    @pytest.fixture
    def gateway(self, clock: ManualClock) -> SandboxGateway:
        vendor = SandboxVendor(webhook_secret=SECRET, clock=clock)
        return SandboxGateway(vendor=vendor, webhook_secret=SECRET, clock=clock)

    @pytest.fixture
    def webhooks(self, clock: ManualClock) -> SandboxWebhooks:
        return SandboxWebhooks(secret=SECRET, clock=clock)


def test_the_contract_fixtures_fail_clearly_when_not_overridden(tmp_path: Path):
    """A contract class without its fixtures fails saying which fixture to override."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_bare.py").write_text(
        "from portal_access.testing._gateway_contract import GatewayContract\n\n\n"
        "class TestBare(GatewayContract):\n"
        "    pass\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "expire_checkout or unknown_event",
            str(tmp_path / "test_bare.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert "2 errors" in result.stdout
    assert "needs a `gateway` fixture: override it" in result.stdout
