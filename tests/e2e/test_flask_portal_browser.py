"""The example portal end to end in headless Chromium, started as a new user starts it.

``python -m portal_access demo --serve`` runs in a subprocess; Playwright drives
Debian's Chromium (``/usr/bin/chromium``, never a downloaded browser) through seed
000_07c53b15302458c1.txt's whole story: the kickoff form, the invitation from the
outbox, registration, the pay-invoice-only view, an ACH payment that processes and then
clears, the dashboard, a failed renewal and the re-subscribe; then seed
004_67d5e53a019b49ae.txt's document page (an invoice opened from the overview, a
comment added). Screenshots of the key
pages go to ``tests/e2e/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("PORTAL_ACCESS_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long passphrase 42"
DEMO_SERVE = [sys.executable, "-m", "portal_access", "demo", "--serve", "--port", "0"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (CI installs it)",
)


class Demo:
    """The running demo server: its URL and staff password."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        banner = ""
        assert process.stdout is not None
        while "staff pages" not in banner:
            line = process.stdout.readline()
            if not line:
                raise AssertionError(f"the demo server stopped: {banner}")
            banner += line
        found = re.search(r"running at (http://[\d.:]+)/portal/", banner)
        staff = re.search(r"password: (\S+)\)", banner)
        assert found is not None, banner
        assert staff is not None, banner
        self.url, self.staff_password = found.group(1), staff.group(1)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """`python -m portal_access demo --serve` on a free port, stopped with SIGINT."""
    process = subprocess.Popen(
        [*DEMO_SERVE, "--directory", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield Demo(process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (started after a test's own set-up:
    Playwright's event loop in this thread would make Django refuse its database)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright."""
    with chromium() as launched:
        yield launched


def shot(page, name: str) -> None:
    """Save a full-page screenshot of the key page ``name``."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def open_latest_link(staff, demo: Demo, path: str) -> str:
    """The newest emailed link to ``path``, read on the staff outbox page."""
    staff.goto(f"{demo.url}/staff/outbox")
    return staff.locator(f"a[href*='{path}']").first.get_attribute("href")


def test_seed_000_story_in_a_real_browser(demo: Demo, browser):
    """Seed 000_07c53b15302458c1.txt: sign up, register, pay-invoice only until an ACH payment clears, renewal fails, re-subscribe restores access."""
    customer = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    staff = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()

    customer.goto(f"{demo.url}/portal/join/client-onboarding")
    shot(customer, "01-kickoff-form")
    customer.fill("#first_name", "Ann")
    customer.fill("#last_name", "Lee")
    customer.fill("#email", "ann@example.com")
    customer.fill("#company", "Renovation Gym")
    customer.click("button[type=submit]")
    assert customer.locator("h1").inner_text() == "Check your email"

    staff.goto(f"{demo.url}/staff/login")
    staff.fill("#password", demo.staff_password)
    staff.click("button[type=submit]")
    invitation = open_latest_link(staff, demo, "/portal/invitation")
    shot(staff, "02-staff-outbox")

    customer.goto(invitation)
    shot(customer, "03-set-password")
    customer.fill("#password", PASSWORD)
    customer.fill("#confirm", PASSWORD)
    customer.click("button[type=submit]")
    customer.wait_for_url("**/portal/pay")
    shot(customer, "04-pay-invoice-only")

    customer.goto(f"{demo.url}/portal/")
    assert customer.url.endswith("/portal/pay"), "pay-invoice only: every other page sends back"

    customer.get_by_role("button", name=re.compile("securely")).click()
    customer.wait_for_url("**/sandbox/checkout/**")
    shot(customer, "05-sandbox-checkout")
    customer.click("button[value=ach]")
    customer.wait_for_url("**/portal/pay")
    assert "processing" in customer.locator("h1").inner_text()
    shot(customer, "06-ach-processing")

    customer.click("text=open the sandbox console")
    shot(customer, "07-sandbox-console")
    customer.click("button[value=clear]")
    customer.click("text=Back to the portal")
    customer.wait_for_url("**/portal/")
    assert "Welcome, Ann" in customer.locator("h1").inner_text()
    assert customer.locator("text=Main office").count() == 1
    shot(customer, "08-dashboard")

    customer.click("text=open the sandbox console")
    customer.click("button[value=fail]")
    customer.click("text=Back to the portal")
    customer.wait_for_url("**/portal/renew")
    shot(customer, "09-renewal-failed")
    customer.get_by_role("button", name="Email me a re-subscribe link").click()
    assert customer.locator("h1").inner_text() == "Check your email"

    customer.goto(open_latest_link(staff, demo, "/portal/resubscribe"))
    shot(customer, "10-resubscribe")
    customer.get_by_role("button", name="Enter new payment details").click()
    customer.wait_for_url("**/sandbox/checkout/**")
    customer.click("button[value=card]")
    customer.wait_for_url("**/portal/")
    assert "Welcome, Ann" in customer.locator("h1").inner_text()
    shot(customer, "11-dashboard-after-resubscribe")

    # seed 004: an invoice opens its document page; a comment is added and listed
    customer.locator("a[title^='Open invoice']").first.click()
    customer.wait_for_url("**/portal/document?token=**")
    assert customer.locator("h1").inner_text().startswith("Invoice ")
    assert customer.get_by_role("button", name="Print").count() == 1
    customer.fill("#body", "Can you send a <b>paper</b> copy?")
    customer.get_by_role("button", name="Post comment").click()
    assert (
        customer.locator(".comment-body").last.inner_text() == "Can you send a <b>paper</b> copy?"
    )
    shot(customer, "12-document")
    customer.get_by_role("link", name="Back to the overview").click()
    customer.wait_for_url("**/portal/")

    customer.get_by_role("button", name="Pay", exact=True).click()
    customer.wait_for_url("**/sandbox/checkout/**")
    customer.click("button[value=card]")
    customer.wait_for_url("**/portal/quick-pay/done")
    customer.get_by_role("link", name="Back to the portal").click()
    assert customer.locator(".stat .value").first.inner_text() == "Nothing due"

    customer.get_by_role("button", name="Log out").click()
    customer.wait_for_url("**/portal/login")
    shot(customer, "13-login")

    for name, path in [
        ("14-having-trouble", "/portal/having-trouble"),
        ("15-register-with-invoice", "/portal/register"),
        ("16-quick-pay", "/portal/quick-pay"),
        ("17-link-problem", "/portal/invitation?token=forged"),
    ]:
        customer.goto(f"{demo.url}{path}")
        shot(customer, name)
    assert "not valid" in customer.locator(".lead").inner_text()
