"""``python -m portal_access``'s operator commands (issue #13, item 5): ``--help`` lists
them and exits 0; ``deliver-outbox`` runs once or as a worker that stops cleanly on
SIGTERM; ``db prune`` deletes what is past retention; progress is a bar on a terminal
and plain lines when piped."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from portal_access import OutboxMessage
from portal_access.__main__ import main
from portal_access.adapters import Progress, SystemClock
from portal_access.repositories import unit_of_work
from portal_access.storage.sql import SqlStore
from tests.sql_databases import sqlite_url

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.integration.outbox_app:build_portal"


def fill(store: SqlStore, count: int, *, at: datetime) -> list[str]:
    ids = [f"ev_{n:03d}" for n in range(count)]
    payload = {"kind": "k", "to": ["ann@example.com"], "subject": "s", "text": "t", "html": "h"}
    with unit_of_work(store) as uow:
        for message_id in ids:
            uow.outbox.add(
                OutboxMessage(
                    id=message_id, occurred_at=at, topic="email.requested", payload=dict(payload)
                )
            )
    return ids


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A SQLite store the ``APP`` factory opens, and the file its mailer writes."""
    url, sent = sqlite_url(tmp_path), tmp_path / "sent.txt"
    monkeypatch.setenv("OUTBOX_APP_URL", url)
    monkeypatch.setenv("OUTBOX_APP_SENT", str(sent))
    with SqlStore(url, create=True) as store:
        yield store, url, sent


def test_help_lists_the_commands_and_exits_0():
    result = subprocess.run(
        [sys.executable, "-m", "portal_access", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0
    for command in ("demo", "db", "deliver-outbox", "reconcile", "prune"):
        assert command in result.stdout
    assert result.stderr == ""


def test_deliver_outbox_once_sends_what_is_due_with_plain_progress_lines(app, capsys):
    store, _url, sent = app
    ids = fill(store, 12, at=SystemClock().now())
    assert main(["deliver-outbox", "--app", APP, "--once"]) == 0
    assert sent.read_text().split() == ids
    err = capsys.readouterr().err
    assert err.splitlines() == ["5 messages", "10 messages", "12 messages", "12 messages done"]
    assert "\r" not in err
    assert main(["deliver-outbox", "--app", APP, "--once"]) == 0  # nothing due: at once
    assert len(sent.read_text().split()) == 12


def test_deliver_outbox_refuses_bad_arguments(app, capsys):
    assert main(["deliver-outbox", "--app", "nomodule"]) == 2
    assert main(["deliver-outbox", "--app", APP, "--interval", "0"]) == 2
    assert "--interval" in capsys.readouterr().err


def test_deliver_outbox_worker_stops_cleanly_on_sigterm(app):
    """The worker delivers, waits for more, and on SIGTERM exits 0 saying it stopped."""
    store, _url, sent = app
    ids = fill(store, 3, at=SystemClock().now())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "portal_access",
            "deliver-outbox",
            "--app",
            APP,
            "--interval",
            "0.2",
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert worker.stderr is not None
        assert worker.stderr.readline().strip() == "3 messages"  # it delivered, and waits
        worker.send_signal(signal.SIGTERM)
        rest = worker.stderr.read()
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=60)
        assert worker.stderr is not None
        worker.stderr.close()
    assert rest.strip() == "3 messages done (stopped)"
    assert sent.read_text().split() == ids


def test_db_prune_deletes_past_retention_only(app, capsys):
    """Delivered long ago: pruned; delivered recently, or never: kept."""
    store, url, _sent = app
    old = SystemClock().now() - timedelta(days=100)
    fill(store, 3, at=old)
    with unit_of_work(store) as uow:
        uow.outbox.mark_delivered("ev_000", at=old)
        uow.outbox.mark_delivered("ev_001", at=SystemClock().now())
        uow.gateway_events.record("stripe", "evt_old", "applied", old)
        uow.gateway_events.record("stripe", "evt_new", "applied", SystemClock().now())
    argv = ["db", "prune", "--url", url, "--messages-days", "14", "--events-days", "90"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "pruned 1 delivered message(s) and 1 processed event(s)" in out
    assert err.splitlines()[-1] == "2 rows deleted done"
    with unit_of_work(store) as uow:
        assert uow.outbox.get("ev_000") is None
        assert uow.outbox.get("ev_001") is not None
        assert [m.id for m in uow.outbox.pending(5)] == ["ev_002"]
        assert uow.gateway_events.outcome("stripe", "evt_old") is None
        assert uow.gateway_events.outcome("stripe", "evt_new") == "applied"


def test_db_prune_refuses_a_retention_that_would_reapply_events(app, capsys):
    _store, url, _sent = app
    argv = ["db", "prune", "--url", url, "--messages-days", "14", "--events-days", "7"]
    assert main(argv) == 2
    assert "processed_events: must be at least 30 days" in capsys.readouterr().err


def test_progress_is_a_bar_on_a_terminal_and_lines_when_piped():
    terminal, piped = io.StringIO(), io.StringIO()
    for stream, is_terminal in ((terminal, True), (piped, False)):
        progress = Progress(stream, "events", every=2, terminal=is_terminal)
        for count in range(1, 5):
            progress.update(count)
        progress.done(4)
    assert terminal.getvalue().startswith("\r[#")
    assert terminal.getvalue().endswith("[####################] 4 events\n")
    assert piped.getvalue() == "2 events\n4 events\n4 events done\n"
