"""The management commands: the outbox worker (``--once``, and a loop that stops
cleanly on SIGTERM), reconcile with its progress bar, and the demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from portal_access.contrib.django import models, signals
from tests.service.harness import CANCEL, CLASS, SUCCESS, paid_offer, register, sign_up

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str, **options: object) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_deliver_outbox_once_retries_what_failed(sandbox_portal):
    """A receiver that failed leaves its event pending, due again after the first retry's
    wait (OutboxSettings.first_retry, 30 s by default): a pass before then has nothing to
    do, one after it delivers the event, and the next pass has nothing to do."""
    calls: list[str] = []

    def flaky(sender, message, **kwargs):
        calls.append(message.id)
        if len(calls) == 1:
            raise ConnectionError("the CRM is down")

    signals.contact_created.connect(flaky)
    try:
        sandbox_portal.contact()
        pending = models.OutboxMessage.objects.get(delivered=False)
        assert pending.attempts == 1
        assert run("portal_access_deliver_outbox", "--once")[0] == "delivered 0 message(s)\n"
        sandbox_portal.clock.advance(timedelta(seconds=31))
        out, _ = run("portal_access_deliver_outbox", "--once")
        assert out == "delivered 1 message(s)\n"
        assert len(calls) == 2
        assert len(set(calls)) == 1
        assert not models.OutboxMessage.objects.filter(delivered=False).exists()
        assert run("portal_access_deliver_outbox", "--once")[0] == "delivered 0 message(s)\n"
    finally:
        signals.contact_created.disconnect(flaky)


def test_deliver_outbox_refuses_a_bad_interval(sandbox_portal):
    with pytest.raises(CommandError, match="--interval must be a positive"):
        run("portal_access_deliver_outbox", "--interval", "0")


def test_the_worker_stops_cleanly_on_sigterm(tmp_path):
    """The worker loop, in its own process on a migrated database, ends with status 0
    and says so when it gets SIGTERM."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.django.settings",
        "PORTAL_ACCESS_DJANGO_RUN": f"worker-{uuid.uuid4().hex[:8]}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PORTAL_ACCESS_TEST_DATABASE_URL", None)
    manage = [sys.executable, "-m", "django"]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=120)
    worker = subprocess.Popen(
        [*manage, "portal_access_deliver_outbox", "--interval", "0.05", "-v", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().startswith("delivering the outbox every 0.05s")
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    finally:
        worker.kill()
        database = Path(__import__("tempfile").gettempdir())
        for leftover in database.glob(f"portal_access_django_{env['PORTAL_ACCESS_DJANGO_RUN']}*"):
            leftover.unlink()
    assert worker.returncode == 0, err
    assert out.strip().endswith("stopped")


def test_reconcile_repairs_missed_webhooks_with_a_progress_bar(sandbox_portal):
    """Webhooks lost in an outage are replayed: the bar counts every event on stderr,
    the summary on stdout says what was repaired, and the contact gets access."""
    sandbox_portal.portal.save_account_class(CLASS)
    paid_offer(sandbox_portal)
    sign_up(sandbox_portal)
    contact_id = register(sandbox_portal)
    portal = sandbox_portal.portal
    session = portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    sandbox_portal.sandbox.pay(session.session_id)
    first, *missed = sandbox_portal.sandbox.pending_deliveries()
    sandbox_portal.webhook(*first)
    sandbox_portal.sandbox.deliver(lambda headers, body: None)  # the vendor gave up
    since = (sandbox_portal.clock.now() - timedelta(days=1)).isoformat()
    out, err = run("portal_access_reconcile", "--gateway", "sandbox", "--since", since)
    seen = len(missed) + 1
    assert f"  seen:       {seen}\n" in out
    assert f"  repaired:   {len(missed)}\n" in out
    assert "  duplicates: 1\n" in out
    assert err.count("\r[") == seen + 1  # one redraw per event, and the final bar
    assert err.rstrip().endswith(f"{seen} events, {len(missed)} repaired")
    assert portal.check_access(contact_id).full


def test_reconcile_says_what_is_wrong(sandbox_portal):
    with pytest.raises(CommandError, match="has no UTC offset"):
        run("portal_access_reconcile", "--gateway", "sandbox", "--since", "2026-01-01T00:00")
    with pytest.raises(CommandError, match="no gateway 'stripe' configured"):
        run("portal_access_reconcile", "--gateway", "stripe", "--since", "2026-01-01T00:00Z")


def test_the_demo_tells_seed_000s_story_and_keeps_nothing(sandbox_portal):
    """The demo runs both ACH stories through the ORM store on this database, then
    rolls them back (seed 000_07c53b15302458c1.txt: the two ACH policies)."""
    out, _ = run("portal_access_demo")
    assert "== Portal 1: ACH policy GRANT_ON_CLEARING ==" in out
    assert "== Portal 2: ACH policy GRANT_ON_INITIATION ==" in out
    assert "onboarding events for Ann: 1 (fired once)" in out
    assert "onboarding events for Bo: 1 (fired once)" in out
    assert out.rstrip().endswith("done; nothing was kept.")
    assert not models.Contact.objects.exists()
    assert not models.Invoice.objects.exists()


def test_topics_keep_events_for_the_workers_receivers(sandbox_portal, settings):
    """PORTAL_ACCESS['TOPICS']: a web process with no receiver of its own keeps
    ``contact.created`` in the outbox; the worker, whose receiver is connected, delivers
    it once. Without the setting the event is not kept."""
    sandbox_portal.contact("c-bob", "bob@example.com")
    assert not models.OutboxMessage.objects.filter(topic="contact.created").exists()
    settings.PORTAL_ACCESS = {**settings.PORTAL_ACCESS, "TOPICS": ["contact.created"]}
    sandbox_portal.contact()
    kept = models.OutboxMessage.objects.get(topic="contact.created", delivered=False)
    calls: list[str] = []

    def receiver(sender, message, **kwargs):
        calls.append(message.id)

    signals.contact_created.connect(receiver)
    try:
        assert run("portal_access_deliver_outbox", "--once")[0] == "delivered 1 message(s)\n"
    finally:
        signals.contact_created.disconnect(receiver)
    assert calls == [kept.id]
    assert models.OutboxMessage.objects.get(id=kept.id).delivered


def test_prune_deletes_only_delivered_messages_past_retention(sandbox_portal, settings):
    """portal_access_prune: a message delivered more than --messages-days ago goes, an
    undelivered one stays however old; a second run has nothing left to delete."""
    settings.PORTAL_ACCESS = {**settings.PORTAL_ACCESS, "TOPICS": ["contact.created"]}
    sandbox_portal.contact()
    delivered = models.OutboxMessage.objects.get(topic="contact.created")
    signals.contact_created.connect(receiver := lambda **kwargs: None)
    try:
        run("portal_access_deliver_outbox", "--once")
    finally:
        signals.contact_created.disconnect(receiver)

    def failing(**kwargs):
        raise ConnectionError("the CRM is down")

    signals.contact_created.connect(failing)
    try:
        sandbox_portal.contact("c-bob", "bob@example.com")
    finally:
        signals.contact_created.disconnect(failing)
    waiting = models.OutboxMessage.objects.get(topic="contact.created", delivered=False)
    sandbox_portal.clock.advance(timedelta(days=8))
    args = ("portal_access_prune", "--messages-days", "7", "--events-days", "30")
    out, _ = run(*args)
    assert out == "pruned 1 delivered message(s) and 0 processed event(s)\n"
    assert not models.OutboxMessage.objects.filter(id=delivered.id).exists()
    assert models.OutboxMessage.objects.filter(id=waiting.id, delivered=False).exists()
    assert run(*args)[0] == "pruned 0 delivered message(s) and 0 processed event(s)\n"


def test_prune_refuses_a_retention_shorter_than_30_days_for_events(sandbox_portal):
    with pytest.raises(CommandError, match="at least 30 days"):
        run("portal_access_prune", "--messages-days", "7", "--events-days", "1")
