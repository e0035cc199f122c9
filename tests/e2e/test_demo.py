"""The demo tells seed 000's whole story (the README's first command)."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

from portal_access._demo import main

DEMO = [sys.executable, "-m", "portal_access", "demo"]
STEPS = [
    "-> access: NONE (not_registered)",
    "-> access: PAY_INVOICE_ONLY (invoice_open)",
    "-> access: PAY_INVOICE_ONLY (payment_processing)",
    "-> access: FULL (paid)",
    "onboarding events for Ann: 1 (fired once)",
    "-> access: RESUBSCRIBE_ONLY (renewal_failed)",
    "-> access: FULL (payment_waived)",
    "sites ['gym-annex'] + service history ['gym-old']",
    "-> access: FULL (ach_processing)",
    "-> access: PAY_INVOICE_ONLY (payment_failed)",
    "onboarding events for Bo: 1 (fired once)",
]


def _in_order(text: str) -> None:
    position = 0
    for step in STEPS:
        found = text.find(step, position)
        assert found >= 0, f"missing, or out of order: {step!r}"
        position = found


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_demo_tells_the_whole_story(store):
    """Seed 000_07c53b15302458c1.txt: offer, form, invitation, registration, ACH under both policies, renewal failure, re-subscribe, waiver, site scope."""
    out = io.StringIO()
    assert main(["--store", store], out=out) == 0
    _in_order(out.getvalue())


def test_python_dash_m_runs_the_demo():
    """README: `python -m portal_access demo` runs as a new user types it."""
    result = subprocess.run(
        [sys.executable, "-m", "portal_access", "demo", "--store", "memory"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    _in_order(result.stdout)


def test_unknown_command_prints_usage():
    """CLI: anything but a known command prints the usage and exits 2."""
    result = subprocess.run(
        [sys.executable, "-m", "portal_access", "nope"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "demo" in result.stderr


def test_demo_serve_starts_the_example_portal_and_prints_its_url(tmp_path):
    """README: `python -m portal_access demo --serve` serves the example portal and prints where."""
    process = subprocess.Popen(
        [*DEMO, "--serve", "--port", "0", "--directory", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = re.search(r"running at (http://\S+/portal/)", banner)
        assert url is not None, banner
        with urllib.request.urlopen(url.group(1) + "join/client-onboarding", timeout=30) as page:
            assert "Facility care plan" in page.read().decode()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        if process.stdout is not None:
            rest = process.stdout.read()
            process.stdout.close()
    assert process.returncode == 0
    assert "stopped." in rest
