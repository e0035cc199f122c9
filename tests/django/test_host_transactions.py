"""Inside the host's own transaction (its ``transaction.atomic`` block, ``ATOMIC_REQUESTS``)
the portal's unit of work is a savepoint: nothing leaves the process before the host's
transaction commits, and nothing at all when it rolls back.

The mail backend here reads, as each email is sent, whether the outbox message behind
it is committed, on a database connection of its own (which sees committed rows only):
an email about rows the host may still roll back (an invitation whose token would never
exist) is caught even when the host then commits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connections, transaction

from portal_access import Contact, EmailAddress
from portal_access.contrib.django import DjangoStore, models
from portal_access.ports import AfterCommit
from portal_access.storage.memory import MemoryStore
from portal_access.storage.sql import SqlStore
from tests.django.conftest import end_other_sessions, on_each_database
from tests.django.urls import HostError
from tests.django.web_harness import WebPortal, build
from tests.service.harness import ADMIN, CLASS, account

WITNESS = "tests.django.test_host_transactions.WitnessBackend"
ANN = "ann@example.com"
BOB = "bob@example.com"


class HostBlockError(HostError):
    """The host's own failure, after the portal's use case returned."""


class WitnessBackend(locmem.EmailBackend):
    """Django's test backend (``mail.outbox``) that notes, for each email, whether its
    outbox message (the ``Message-ID``) was committed when it was sent; and a mail
    server that can be down."""

    alias = "default"
    down = False
    #: (recipients, committed) of each email sent.
    sent: list[tuple[list[str], bool]] = []  # noqa: RUF012 - one list per test, reset

    def send_messages(self, messages: Any) -> int:
        if WitnessBackend.down:
            raise ConnectionRefusedError("the mail server is down")
        for message in messages:
            message_id = message.extra_headers["Message-ID"].strip("<>").partition("@")[0]
            WitnessBackend.sent.append((list(message.to), _committed(message_id)))
        return int(super().send_messages(messages))


def _committed(message_id: str) -> bool:
    """Whether the outbox holds ``message_id``, read on a connection of its own."""
    connection = connections.create_connection(WitnessBackend.alias)
    table = connection.ops.quote_name(models.OutboxMessage._meta.db_table)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE id = %s", [message_id])
            (count,) = cursor.fetchone()
    finally:
        connection.close()
    return bool(count)


@pytest.fixture
def host(settings: Any, alias: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebPortal]:
    """The portal on ``alias`` with the witness mail backend; two contacts, Ann and Bob."""
    yield _host(settings, alias, monkeypatch)
    end_other_sessions(alias)  # the outcome watcher's connection, on PostgreSQL


def _host(settings: Any, alias: str, monkeypatch: pytest.MonkeyPatch) -> WebPortal:
    monkeypatch.setattr(WitnessBackend, "alias", alias)
    monkeypatch.setattr(WitnessBackend, "down", False)
    monkeypatch.setattr(WitnessBackend, "sent", [])
    web = build(settings, DATABASE=alias, EMAIL_BACKEND=WITNESS)
    web.portal.save_account_class(CLASS)
    web.portal.save_account(account())
    for contact_id, first, email in (("c-ann", "Ann", ANN), ("c-bob", "Bob", BOB)):
        web.portal.create_contact(
            Contact(
                id=contact_id,
                account_id="acc-1",
                first_name=first,
                email=EmailAddress.parse(email),
            )
        )
    mail.outbox.clear()
    WitnessBackend.sent.clear()
    return web


def _emails(alias: str) -> tuple[list[str], int]:
    """The stored email requests: the recipients of those still to deliver, and how many
    were delivered (a delivered email's payload is cleared)."""
    found = models.OutboxMessage.objects.using(alias).filter(topic="email.requested")
    waiting = [json.loads(m.doc)["payload"]["to"][0] for m in found if not m.delivered]
    return sorted(waiting), sum(m.delivered for m in found)


def _pending_for_bob(web: WebPortal) -> None:
    """Bob's invitation, its delivery failed (the mail server was down): pending, due
    again after the retry wait, which has passed."""
    WitnessBackend.down = True
    web.portal.invite_contact("c-bob", staff=ADMIN)
    WitnessBackend.down = False
    web.advance(minutes=2)


@on_each_database
class TestTheHostsAtomicBlock:
    def test_rolled_back_it_sends_nothing_and_what_was_pending_stays_pending(self, host, alias):
        """An invitation inside the host's block that then fails: no email goes out (its
        token was never committed); the due message the use case claimed in the block
        (Bob's) is pending again, and a later delivery sends it, and only it, once."""
        _pending_for_bob(host)
        assert _emails(alias) == ([BOB], 0)

        with suppress(HostBlockError), transaction.atomic(using=alias):
            host.portal.invite_contact("c-ann", staff=ADMIN)
            assert WitnessBackend.sent == []
            raise HostBlockError

        assert WitnessBackend.sent == []
        assert _emails(alias) == ([BOB], 0)  # Ann's invitation never existed
        assert host.portal.deliver_outbox() == 1
        assert WitnessBackend.sent == [([BOB], True)]
        assert host.portal.deliver_outbox() == 0
        assert _emails(alias) == ([], 1)

    def test_committed_it_sends_once_after_the_commit(self, host, alias):
        """The same block committing: the invitation goes out once, after the commit, and
        its link works; what was due (Bob's) goes out with it."""
        _pending_for_bob(host)
        with transaction.atomic(using=alias):
            host.portal.invite_contact("c-ann", staff=ADMIN)
            assert WitnessBackend.sent == []
        assert sorted(WitnessBackend.sent) == [([ANN], True), ([BOB], True)]
        token = host.link(ANN, "/invitation/").split("token=", 1)[1]
        assert host.portal.view_invitation(token).contact_id == "c-ann"
        host.advance(minutes=10)  # past every lease: nothing is claimed any more
        assert host.portal.deliver_outbox() == 0
        assert len(WitnessBackend.sent) == 2
        assert _emails(alias) == ([], 2)

    def test_a_savepoint_rolled_back_inside_a_committed_block_sends_nothing(self, host, alias):
        """The host's inner block rolls back, its outer block commits: only the outer
        block's invitation goes out."""
        with transaction.atomic(using=alias):
            with suppress(HostBlockError), transaction.atomic(using=alias):
                host.portal.invite_contact("c-ann", staff=ADMIN)
                raise HostBlockError
            host.portal.invite_contact("c-bob", staff=ADMIN)
        assert WitnessBackend.sent == [([BOB], True)]
        assert host.portal.deliver_outbox() == 0  # and writes what became of Bob's
        assert _emails(alias) == ([], 1)

    def test_deliver_outbox_inside_it_waits_for_the_commit(self, host, alias):
        """``deliver_outbox()`` in the host's block claims nothing there (the claims would
        roll back with the block after the emails went out): it delivers once the
        block commits, and not when it rolls back."""
        _pending_for_bob(host)
        with suppress(HostBlockError), transaction.atomic(using=alias):
            assert host.portal.deliver_outbox() == 0
            raise HostBlockError
        assert WitnessBackend.sent == []
        with transaction.atomic(using=alias):
            assert host.portal.deliver_outbox() == 0
            assert WitnessBackend.sent == []
        assert WitnessBackend.sent == [([BOB], True)]
        assert host.portal.deliver_outbox() == 0
        assert _emails(alias) == ([], 1)

    def test_earlier_outcomes_are_not_lost_with_a_rolled_back_block(self, host, alias):
        """What became of an earlier delivery (Ann's invitation went out) is not written
        in a block the host rolls back: after every lease has ended, Ann's invitation
        is not sent again."""
        host.portal.invite_contact("c-ann", staff=ADMIN)
        assert WitnessBackend.sent == [([ANN], True)]
        with suppress(HostBlockError), transaction.atomic(using=alias):
            host.portal.save_account(account(name="Renamed Gym"))
            raise HostBlockError
        host.advance(minutes=10)
        assert host.portal.deliver_outbox() == 0
        assert WitnessBackend.sent == [([ANN], True)]
        assert _emails(alias) == ([], 1)

    def test_with_autocommit_off_the_outbox_waits_for_the_worker(self, host, alias, caplog):
        """The host commits by hand (autocommit off): when is unknown, so nothing goes out
        then; after its commit the outbox worker sends the invitation once its claim's
        lease has ended."""
        transaction.set_autocommit(False, using=alias)
        try:
            with caplog.at_level(logging.WARNING, logger="portal_access"):
                host.portal.invite_contact("c-ann", staff=ADMIN)
            transaction.commit(using=alias)
        finally:
            transaction.set_autocommit(True, using=alias)
        assert WitnessBackend.sent == []
        assert "autocommit is off" in caplog.text
        assert host.portal.deliver_outbox() == 0  # still claimed by the use case
        host.advance(minutes=6)
        assert host.portal.deliver_outbox() == 1
        assert WitnessBackend.sent == [([ANN], True)]


@on_each_database
class TestAtomicRequests:
    """``ATOMIC_REQUESTS = True``: each request is one transaction of the host's."""

    @pytest.fixture(autouse=True)
    def atomic_requests(self, alias: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(connections.settings[alias], "ATOMIC_REQUESTS", True)

    def test_the_kickoff_form_mails_the_invitation_after_the_requests_commit(self, host, alias):
        """The portal's own page: the invitation goes out once the request committed."""
        host.sign_up(email="cy@example.com", first_name="Cy")
        assert WitnessBackend.sent == [(["cy@example.com"], True)]

    def test_a_request_that_fails_after_inviting_mails_nothing(self, host, alias):
        """A host view (``tests/django/urls.py``) invites, then fails: the request's
        transaction rolls back, and no invitation is mailed or stored."""
        with pytest.raises(HostError):
            host.client.get("/invite-then-fail/c-ann/")
        assert WitnessBackend.sent == []
        assert _emails(alias) == ([], 0)
        assert host.portal.deliver_outbox() == 0
        assert WitnessBackend.sent == []


@pytest.mark.django_db
def test_in_a_testcase_the_captured_callbacks_send_the_mail(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    """A host's ``TestCase`` (pytest-django's ``db``) never commits its block: the
    portal's mail goes out when the test runs the captured ``on_commit`` callbacks."""
    web = _host(settings, "default", monkeypatch)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        web.portal.invite_contact("c-ann", staff=ADMIN)
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert [message.to for message in mail.outbox] == [[ANN]]
    assert web.link(ANN, "/invitation/")


def test_only_a_store_that_joins_the_hosts_transaction_has_the_capability(tmp_path):
    """The ORM store waits for the host's commit; the memory and SQL stores commit when
    their block ends, and the service delivers at once (as before)."""
    assert isinstance(DjangoStore(), AfterCommit)
    assert not isinstance(MemoryStore(), AfterCommit)
    with SqlStore(f"sqlite:///{tmp_path / 'portal.db'}", create=True) as store:
        assert not isinstance(store, AfterCommit)


@on_each_database
class TestAfterCommit:
    """The ORM store's ``after_commit`` (``ports.AfterCommit``)."""

    def test_outside_an_atomic_block_it_runs_at_once_and_raises(self, alias):
        ran: list[str] = []
        store = DjangoStore(using=alias)
        store.after_commit(lambda: ran.append("now"))
        assert ran == ["now"]
        with pytest.raises(ZeroDivisionError):
            store.after_commit(lambda: 1 / 0)

    def test_after_the_hosts_commit_a_failure_is_logged_not_raised(self, alias, caplog):
        """The host's block has committed: a failing job neither raises into the host's
        code nor keeps the host's own ``on_commit`` callbacks from running."""
        ran: list[str] = []
        store = DjangoStore(using=alias)
        with transaction.atomic(using=alias):
            store.after_commit(lambda: 1 / 0)
            transaction.on_commit(lambda: ran.append("host"), using=alias)
            store.after_commit(lambda: ran.append("portal"))
            assert ran == []
        assert ran == ["host", "portal"]
        assert "a job run after the host's commit failed" in caplog.text

    def test_a_rolled_back_block_drops_it(self, alias):
        ran: list[str] = []
        store = DjangoStore(using=alias)
        with suppress(HostBlockError), transaction.atomic(using=alias):
            store.after_commit(lambda: ran.append("portal"))
            raise HostBlockError
        assert ran == []
