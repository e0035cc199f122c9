"""The README's Flask quickstart, run exactly as printed, gives a working paid portal."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from portal_access.contrib.flask._csrf import SESSION_KEY
from portal_access.contrib.flask._state import app_state

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## A paid portal in a Flask app"
PASSWORD = "correct horse battery staple"


def quickstart() -> str:
    """The first Python block under the quickstart's heading."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(HEADING) :]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1)


def test_the_quickstart_is_at_most_fifteen_lines():
    """README: a working paid portal in a fresh Flask app takes at most 15 lines."""
    assert len(quickstart().splitlines()) <= 15


@pytest.fixture
def quickstart_app(tmp_path, monkeypatch):
    """The quickstart saved as portal_app.py and run, in an empty directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "portal_app.py").write_text(quickstart(), encoding="utf-8")
    namespace = runpy.run_path(str(tmp_path / "portal_app.py"), run_name="portal_app")
    app = namespace["app"]
    yield app
    app_state(app).store.close()


def test_the_quickstart_runs_seed_000_from_sign_up_to_the_summary(quickstart_app, capsys):
    """Seed 000_07c53b15302458c1.txt through the quickstart: form, emailed invitation, password, pay-invoice only, sandbox payment, access."""
    client = quickstart_app.test_client()
    form = client.get("/portal/join/join")
    assert form.status_code == 200
    assert "$250.00" in form.text
    with client.session_transaction() as session:
        token = session[SESSION_KEY]
    signed_up = client.post(
        "/portal/join/join",
        data={"csrf_token": token, "first_name": "Ann", "email": "ann@example.com"},
    )
    assert signed_up.status_code == 200
    printed = capsys.readouterr().out
    link = re.search(r"http://127\.0\.0\.1:5000(/portal/invitation\?token=[^\s.]+)", printed)
    assert link is not None, printed
    invitation = link.group(1)
    assert client.get(invitation).status_code == 200
    client.post(
        invitation,
        data={"csrf_token": token, "token": invitation.split("token=")[1],
              "password": PASSWORD, "confirm": PASSWORD},
    )  # fmt: skip
    assert client.get("/portal/").location == "/portal/pay"
    assert "Pay $250.00 securely" in client.get("/portal/pay").text
    with client.session_transaction() as session:
        token = session[SESSION_KEY]  # a new session since login
    checkout = client.post("/portal/pay/checkout", data={"csrf_token": token})
    paid = client.post(
        checkout.location.split("?")[0], data={"csrf_token": token, "method": "card"}
    )
    assert paid.location == "/portal/"
    summary = client.get("/portal/")
    assert summary.status_code == 200
    assert "Welcome, Ann" in summary.text
    refused = client.post("/portal-access/webhooks/sandbox", data=b"{}")
    assert refused.status_code == 400
