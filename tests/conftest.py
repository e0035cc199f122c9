"""Project-wide test configuration: hypothesis profiles and run summaries."""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import settings

from tests.service.money_world import PROPERTY_RUNS
from tests.unit.access_model import STATE_MACHINE_RUNS

# pytest-django (for tests/django) exports DJANGO_SETTINGS_MODULE once it has set Django up
# in this process; a pytest or Python run in a subprocess elsewhere must not inherit it
# (it could not import the test settings from its own directory).
os.environ.pop("DJANGO_SETTINGS_MODULE", None)

settings.register_profile("ci", max_examples=300, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how much the access state machine and the Square shape checks covered."""
    if STATE_MACHINE_RUNS["examples"]:
        terminalreporter.write_line(
            f"access state machine: {STATE_MACHINE_RUNS['examples']} examples, "
            f"{STATE_MACHINE_RUNS['steps']} checked steps"
        )
    if PROPERTY_RUNS["examples"]:
        terminalreporter.write_line(
            f"one payment per invoice: {PROPERTY_RUNS['examples']} examples, "
            f"{PROPERTY_RUNS['steps']} steps, {PROPERTY_RUNS['duplicates']} duplicate payments, "
            f"{PROPERTY_RUNS['refunded']} refunded"
        )
    autopay = getattr(sys.modules.get("tests.service.test_autopay"), "AUTOPAY_RUNS", None)
    if autopay and autopay["examples"]:
        terminalreporter.write_line(
            f"autopay never above the maximum: {autopay['examples']} examples, "
            f"{autopay['invoices']} invoices, {autopay['charged']} charged, "
            f"{autopay['over_maximum']} left over the maximum"
        )
    square = sys.modules.get("tests.square_shapes")
    checked = getattr(square, "CHECKED", None)
    if checked:
        counts = ", ".join(f"{count} {kind}" for kind, count in sorted(checked.items()))
        terminalreporter.write_line(f"checked against Square's OpenAPI description: {counts}")
