"""docs/django.md's quickstart, run as printed in a fresh ``startproject`` project: a
paid portal from the kickoff form to a guarded page of the host's own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "django.md"

#: Drives the project in its own process (Django's settings are per process): migrate,
#: then seed 000 through the test client (CSRF checks on), as a visitor would.
DRIVER = r"""
import os, re, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
import django
django.setup()
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from portal_access import AccountClass, Charge, Money
from portal_access.contrib.django import portal

setup_test_environment()  # the test client's host, mail kept in memory
call_command("migrate", verbosity=0)
portal().save_account_class(AccountClass(id="clients", name="Clients"))
portal().create_offer("Client onboarding", offer_id="join", gateway="sandbox", currency="USD",
                      account_class_id="clients", one_time=Charge("Setup", Money(25000, "USD")))
client = Client(enforce_csrf_checks=True)

def post(path, data=None):
    token = client.cookies["csrftoken"].value
    return client.post(path, {"csrfmiddlewaretoken": token, **(data or {})})

print("reports", client.get("/reports/")["Location"])
print("form", client.get("/portal/join/join/").status_code)
post("/portal/join/join/", {"first_name": "Ann", "email": "ann@example.com"})
link = re.search(r"http://127\.0\.0\.1:8000(/portal/invitation/\?token=\S+)", mail.outbox[-1].body)
password = "correct horse battery staple"
token = link.group(1).split("token=")[1]
client.get(link.group(1))
print("registered", post(link.group(1), {"token": token, "password": password, "confirm": password})["Location"])
print("owing", client.get("/reports/")["Location"])
checkout = post("/portal/pay/checkout/")["Location"]
client.get(checkout)
print("paid", post(checkout.split("?")[0], {"method": "card", "back": "portal"})["Location"])
answer = client.get("/reports/")
print("inside", answer.status_code, answer.content.decode())
"""


def blocks() -> list[str]:
    """The Python blocks under ``## Quickstart`` (settings, then urls)."""
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Quickstart") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_quickstart_is_short():
    """The quickstart is settings, URLs and one decorator: two blocks, at most 25 lines."""
    settings, urls = blocks()
    assert "@portal_required" in urls
    assert len(settings.splitlines()) + len(urls.splitlines()) <= 25


@pytest.mark.slow
def test_the_quickstart_runs_seed_000_in_a_fresh_project(tmp_path):
    """Seed 000_07c53b15302458c1.txt through the quickstart: sign-up form, emailed invitation, password, pay-invoice only, sandbox payment, the guarded page opens."""
    settings, urls = blocks()
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)], check=True
    )
    with (tmp_path / "mysite" / "settings.py").open("a", encoding="utf-8") as file:
        file.write("\n" + settings)
    (tmp_path / "mysite" / "urls.py").write_text(urls, encoding="utf-8")
    (tmp_path / "drive.py").write_text(DRIVER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "drive.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "reports /portal/login/?next=%2Freports%2F",
        "form 200",
        "registered /portal/",
        "owing /portal/pay/",
        "paid /portal/",
        "inside 200 Sites: []",
    ]
