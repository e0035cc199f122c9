"""The store contract: the semantics of the store port, for store writers.

Inherit :class:`StoreContract` in a test class and give it a ``store`` fixture that
returns a new, empty store (with the tables of ``portal_access.repositories.TABLES``)::

    import pytest
    from portal_access.testing import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self):
            return MyStore()

It checks the eight methods of :class:`~portal_access.ports.Store` and
:class:`~portal_access.ports.StoreTransaction` on raw rows of the library's own tables
(documents are opaque text to a store): keys and unique indexes, versions, index order
and limits, counters, commit and rollback, isolation, and two threads racing on one row.
:class:`~portal_access.testing.StorageContract` then checks the repositories on top.
It needs pytest; nothing imports it unless you do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from portal_access._domain.errors import ConflictError, StorageError
from portal_access.ports import Key, Lock, Row, Scalar, Store, StoreTransaction, Table
from portal_access.repositories import (
    CONTACTS,
    CONTACTS_BY_EMAIL,
    GATEWAY_EVENTS,
    INVOICES,
    INVOICES_BY_ACCOUNT,
    INVOICES_BY_NUMBER,
    LOGINS,
    OFFERS,
    OUTBOX,
    OUTBOX_PENDING,
    PAYMENTS,
    PAYMENTS_BY_ACCOUNT,
    TOKENS,
)

__all__ = ["StoreContract", "missing_fixture"]

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EAST = timezone(timedelta(hours=2))
EVENT = {"gateway": "stripe", "event_id": "evt_1"}
_RACERS = 2
_BUMPS = 20
_WAIT = 10.0  # seconds a thread waits for the other before the test gives up on it


class _Rollback(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside a transaction by the contract to roll it back."""


def missing_fixture(contract: str, name: str, what: str) -> str:
    """The message a contract fails with when its subclass lacks a fixture."""
    return (
        f"{contract} needs a `{name}` fixture: override it in your test class to return "
        f"{what} (see docs/stores.md)."
    )


def offer(offer_id: str = "o-1", doc: str = "offer one") -> Row:
    """A row of the offers table."""
    return Row({"id": offer_id}, doc)


def invoice(invoice_id: str, number: str, *, account: str = "a-1", day: int = 1) -> Row:
    """A row of the invoices table, issued on March ``day``, 2026."""
    values: dict[str, Scalar] = {
        "id": invoice_id,
        "number_key": number,
        "account_id": account,
        "issued_on": date(2026, 3, day),
    }
    return Row(values, f"invoice {invoice_id}")


def login(contact_id: str, email_key: str, version: int = 1) -> Row:
    """A row of the (versioned) logins table."""
    return Row({"contact_id": contact_id, "email_key": email_key}, f"v{version}", version)


def message(message_id: str, at: datetime = NOW, *, delivered: bool = False) -> Row:
    """A row of the outbox table."""
    values: dict[str, Scalar] = {
        "id": message_id,
        "occurred_at": at,
        "topic": "t",
        "delivered": delivered,
        "attempts": 0,
    }
    return Row(values, f"message {message_id}")


def _ids(rows: object) -> list[Any]:
    assert isinstance(rows, (list, tuple))
    return [row.values[name] for row in rows for name in ("id",) if name in row.values]


class StoreContract:
    """The store port's contract; inherit and provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Store:
        """A new, empty store (abstract: override it)."""
        message = missing_fixture("StoreContract", "store", "a new, empty store")
        pytest.fail(message, pytrace=False)

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def committed(store: Store, *rows: tuple[Table, Row]) -> None:
        """Insert ``rows`` in one committed transaction."""
        with store.transaction() as tx:
            for table, row in rows:
                assert tx.insert(table, row) is True

    @staticmethod
    def stored(store: Store, table: Table, key: Key) -> Row | None:
        """The row as a new transaction reads it."""
        with store.transaction() as tx:
            return tx.get(table, key)

    @staticmethod
    def roll_back(store: Store, work: Callable[[StoreTransaction], object]) -> _Rollback:
        """Run ``work`` in a transaction that then raises, so it rolls back; return what
        reached the caller."""

        def run() -> None:
            with store.transaction() as tx:
                work(tx)
                raise _Rollback

        with pytest.raises(_Rollback) as raised:
            run()
        return raised.value

    # -- rows by key ----------------------------------------------------------------------

    def test_get_of_a_missing_key_is_none(self, store: Store) -> None:
        """get of a key no row has is None."""
        with store.transaction() as tx:
            assert tx.get(OFFERS, ("o-none",)) is None
            assert tx.get(PAYMENTS, ("stripe", "pi_none")) is None

    def test_rows_come_back_as_inserted(self, store: Store) -> None:
        """A committed row comes back with its values' types (date, aware datetime, bool,
        int, None), its document, and its version; a table without documents has None."""
        later = NOW.astimezone(timezone(timedelta(hours=-5)))
        rows = [
            (OFFERS, offer()),
            (INVOICES, invoice("inv-1", "1001", day=3)),
            (LOGINS, login("c-1", "ann@example.com", version=4)),
            (OUTBOX, message("m-1", later, delivered=True)),
            (TOKENS, Row({"digest": "d-1", "used_at": None}, "unused")),
            (TOKENS, Row({"digest": "d-2", "used_at": NOW}, "used")),
            (GATEWAY_EVENTS, Row({**EVENT, "outcome": "x" * 300, "processed_at": NOW})),
        ]
        self.committed(store, *rows)
        for table, row in rows:
            found = self.stored(store, table, table.key_of(row.values))
            assert found == row, table.name
            for name, value in row.values.items():
                assert type(found.values[name]) is type(value), (table.name, name)
        outbox = self.stored(store, OUTBOX, ("m-1",))
        assert outbox is not None
        occurred = outbox.values["occurred_at"]
        assert isinstance(occurred, datetime)
        assert occurred.utcoffset() is not None

    def test_insert_of_a_taken_key_is_false_and_the_transaction_goes_on(self, store: Store) -> None:
        """insert of a row whose key is taken writes nothing and returns False; the
        transaction stays usable and commits its other writes."""
        self.committed(store, (OFFERS, offer(doc="first")))
        with store.transaction() as tx:
            assert tx.insert(OFFERS, offer(doc="second")) is False
            assert tx.insert(OFFERS, offer("o-2")) is True
        assert self.stored(store, OFFERS, ("o-1",)) == offer(doc="first")
        assert self.stored(store, OFFERS, ("o-2",)) == offer("o-2")

    def test_insert_of_taken_unique_values_is_false_and_the_transaction_goes_on(
        self, store: Store
    ) -> None:
        """insert of a row holding another row's unique index values returns False,
        writing nothing; the transaction stays usable."""
        self.committed(store, (INVOICES, invoice("inv-1", "1001")))
        with store.transaction() as tx:
            assert tx.insert(INVOICES, invoice("inv-2", "1001")) is False
            assert tx.insert(LOGINS, login("c-1", "ann@example.com")) is True
            assert tx.insert(LOGINS, login("c-2", "ann@example.com")) is False
            assert tx.insert(INVOICES, invoice("inv-3", "1003")) is True
        assert self.stored(store, INVOICES, ("inv-2",)) is None
        assert self.stored(store, LOGINS, ("c-2",)) is None
        assert self.stored(store, INVOICES, ("inv-3",)) == invoice("inv-3", "1003")

    def test_update_replaces_the_row(self, store: Store) -> None:
        """update replaces every value and the document of the row with that key."""
        self.committed(store, (INVOICES, invoice("inv-1", "1001")))
        moved = Row({**invoice("inv-1", "2001", account="a-2").values}, "changed")
        with store.transaction() as tx:
            assert tx.update(INVOICES, moved) is True
            assert tx.get(INVOICES, ("inv-1",)) == moved
        assert self.stored(store, INVOICES, ("inv-1",)) == moved

    def test_update_of_a_missing_row_is_false(self, store: Store) -> None:
        """update of a key no row has returns False and writes nothing."""
        with store.transaction() as tx:
            assert tx.update(OFFERS, offer()) is False
        assert self.stored(store, OFFERS, ("o-1",)) is None

    def test_update_with_an_expected_version(self, store: Store) -> None:
        """update with expected_version writes (the row's own version) only over that
        stored version; otherwise it returns False and the row stays as it was."""
        self.committed(store, (LOGINS, login("c-1", "ann@example.com", version=1)))
        with store.transaction() as tx:
            assert (
                tx.update(LOGINS, login("c-1", "ann@example.com", 3), expected_version=2) is False
            )
            assert tx.update(LOGINS, login("c-1", "ann@new.example", 2), expected_version=1) is True
            assert (
                tx.update(LOGINS, login("c-1", "ann@example.com", 3), expected_version=1) is False
            )
        assert self.stored(store, LOGINS, ("c-1",)) == login("c-1", "ann@new.example", 2)

    def test_update_into_taken_unique_values_is_a_conflict(self, store: Store) -> None:
        """update that takes another row's unique index values raises ConflictError, and
        the transaction commits nothing."""
        self.committed(
            store, (INVOICES, invoice("inv-1", "1001")), (INVOICES, invoice("inv-2", "1002"))
        )

        def take_a_number() -> None:
            with store.transaction() as tx:
                tx.insert(OFFERS, offer())
                tx.update(INVOICES, invoice("inv-2", "1001"))

        with pytest.raises(ConflictError):
            take_a_number()
        assert self.stored(store, INVOICES, ("inv-2",)) == invoice("inv-2", "1002")
        assert self.stored(store, OFFERS, ("o-1",)) is None

    def test_delete(self, store: Store) -> None:
        """delete removes the row with that key (True); of a missing key, False."""
        self.committed(store, (OFFERS, offer()))
        with store.transaction() as tx:
            assert tx.delete(OFFERS, ("o-1",)) is True
            assert tx.get(OFFERS, ("o-1",)) is None
            assert tx.delete(OFFERS, ("o-1",)) is False
            assert tx.insert(OFFERS, offer(doc="again")) is True
        assert self.stored(store, OFFERS, ("o-1",)) == offer(doc="again")

    # -- rows by index ----------------------------------------------------------------------

    def test_find_selects_by_value_in_index_order_then_key(self, store: Store) -> None:
        """find returns the rows whose equal columns hold the values, ordered by the
        index's order columns, then the key."""
        self.committed(
            store,
            (INVOICES, invoice("inv-b", "1", day=2)),
            (INVOICES, invoice("inv-c", "2", day=1)),
            (INVOICES, invoice("inv-a", "3", day=2)),
            (INVOICES, invoice("inv-0", "4", account="a-2")),
        )
        with store.transaction() as tx:
            found = tx.find(INVOICES, INVOICES_BY_ACCOUNT, ("a-1",))
            assert _ids(found) == ["inv-c", "inv-a", "inv-b"]
            assert found[0] == invoice("inv-c", "2", day=1)
            assert _ids(tx.find(INVOICES, INVOICES_BY_NUMBER, ("4",))) == ["inv-0"]
            assert list(tx.find(INVOICES, INVOICES_BY_ACCOUNT, ("a-none",))) == []

    def test_find_orders_by_a_composite_key_and_by_instants(self, store: Store) -> None:
        """find orders by every key column, by code point, and orders datetimes as
        instants whatever their offsets."""
        self.committed(
            store,
            *[
                (PAYMENTS, Row({"gateway": g, "payment_id": p, "account_id": "a-1"}, "p"))
                for g, p in [
                    ("stripe", "pi_b"),
                    ("square", "z"),
                    ("stripe", "PI"),
                    ("stripe", "pi"),
                ]
            ],
            (OUTBOX, message("m-c", NOW + timedelta(minutes=1))),
            (OUTBOX, message("m-b", NOW)),
            (OUTBOX, message("m-z", (NOW - timedelta(minutes=1)).astimezone(EAST))),
            (OUTBOX, message("m-a", NOW)),
            (OUTBOX, message("m-0", NOW, delivered=True)),
        )
        with store.transaction() as tx:
            payments = tx.find(PAYMENTS, PAYMENTS_BY_ACCOUNT, ("a-1",))
            keys = [PAYMENTS.key_of(row.values) for row in payments]
            assert keys == [
                ("square", "z"),
                ("stripe", "PI"),
                ("stripe", "pi"),
                ("stripe", "pi_b"),
            ]
            pending = tx.find(OUTBOX, OUTBOX_PENDING, (False,))
            assert _ids(pending) == ["m-z", "m-a", "m-b", "m-c"]

    def test_find_limit(self, store: Store) -> None:
        """find with a limit returns at most that many rows, the first in order."""
        self.committed(
            store, *[(OUTBOX, message(f"m-{n}", NOW + timedelta(minutes=n))) for n in range(4)]
        )
        with store.transaction() as tx:
            assert _ids(tx.find(OUTBOX, OUTBOX_PENDING, (False,), limit=2)) == ["m-0", "m-1"]
            assert list(tx.find(OUTBOX, OUTBOX_PENDING, (False,), limit=0)) == []
            assert len(tx.find(OUTBOX, OUTBOX_PENDING, (False,), limit=10)) == 4

    def test_find_of_none_matches_nothing(self, store: Store) -> None:
        """find with None for a nullable column finds no row, as SQL's = does."""
        values = {"id": "c-1", "account_id": "a-1", "email_key": None}
        self.committed(store, (CONTACTS, Row(values, "contact")))
        with store.transaction() as tx:
            assert list(tx.find(CONTACTS, CONTACTS_BY_EMAIL, (None,))) == []

    def test_find_sees_own_writes(self, store: Store) -> None:
        """Within a transaction, find sees its inserts, updates (a row moved to another
        value) and deletes."""
        self.committed(store, (INVOICES, invoice("inv-1", "1")), (INVOICES, invoice("inv-2", "2")))
        with store.transaction() as tx:
            tx.insert(INVOICES, invoice("inv-3", "3"))
            tx.update(INVOICES, invoice("inv-1", "1", account="a-2"))
            tx.delete(INVOICES, ("inv-2",))
            assert _ids(tx.find(INVOICES, INVOICES_BY_ACCOUNT, ("a-1",))) == ["inv-3"]
            assert _ids(tx.find(INVOICES, INVOICES_BY_ACCOUNT, ("a-2",))) == ["inv-1"]

    # -- counters --------------------------------------------------------------------------

    def test_next_value_starts_at_first_then_counts_up(self, store: Store) -> None:
        """next_value gives first, then one more each call, across transactions; each
        counter counts on its own."""
        with store.transaction() as tx:
            assert [tx.next_value("a", first=1001) for _ in range(2)] == [1001, 1002]
            assert tx.next_value("b", first=1) == 1
        with store.transaction() as tx:
            assert tx.next_value("a", first=1001) == 1003
            assert tx.next_value("b", first=1) == 2

    def test_next_value_rolls_back(self, store: Store) -> None:
        """A value taken in a rolled-back transaction is handed out again."""
        self.roll_back(store, lambda tx: tx.next_value("a", first=5))
        with store.transaction() as tx:
            assert tx.next_value("a", first=5) == 5
        self.roll_back(store, lambda tx: tx.next_value("a", first=5))
        with store.transaction() as tx:
            assert tx.next_value("a", first=5) == 6

    # -- transactions --------------------------------------------------------------------------

    def test_an_exception_rolls_back_every_write(self, store: Store) -> None:
        """A transaction left by an exception keeps none of its inserts, updates and
        deletes, and the exception reaches the caller unchanged."""
        self.committed(store, (OFFERS, offer()), (LOGINS, login("c-1", "ann@example.com")))
        error = _Rollback("the use case failed")

        def fail(tx: StoreTransaction) -> None:
            tx.insert(OFFERS, offer("o-2"))
            tx.update(LOGINS, login("c-1", "bob@example.com", 2), expected_version=1)
            tx.delete(OFFERS, ("o-1",))
            raise error

        assert self.roll_back(store, fail) is error
        assert self.stored(store, OFFERS, ("o-2",)) is None
        assert self.stored(store, OFFERS, ("o-1",)) == offer()
        assert self.stored(store, LOGINS, ("c-1",)) == login("c-1", "ann@example.com")

    def test_read_committed_sees_only_committed_rows(self, store: Store) -> None:
        """read_committed gives the newest committed row's (doc, version), and never a
        row before its transaction commits, nor one rolled back."""
        assert store.read_committed(LOGINS, ("c-1",)) is None
        with store.transaction() as tx:
            tx.insert(LOGINS, login("c-1", "ann@example.com"))
            assert store.read_committed(LOGINS, ("c-1",)) is None
        assert store.read_committed(LOGINS, ("c-1",)) == ("v1", 1)
        with store.transaction() as tx:
            tx.update(LOGINS, login("c-1", "bob@example.com", 2), expected_version=1)
        assert store.read_committed(LOGINS, ("c-1",)) == ("v2", 2)
        self.roll_back(
            store,
            lambda tx: tx.update(LOGINS, login("c-1", "x@example.com", 3), expected_version=2),
        )
        assert store.read_committed(LOGINS, ("c-1",)) == ("v2", 2)
        event = Row({**EVENT, "outcome": "applied", "processed_at": NOW})
        self.committed(store, (OFFERS, offer()), (GATEWAY_EVENTS, event))
        assert store.read_committed(OFFERS, ("o-1",)) == ("offer one", 0)
        assert store.read_committed(GATEWAY_EVENTS, ("stripe", "evt_1")) == (None, 0)

    def test_a_transaction_ended_cannot_be_used(self, store: Store) -> None:
        """A transaction used after its block ended raises StorageError."""
        with store.transaction() as tx:
            kept = tx
        with pytest.raises(StorageError):
            kept.get(OFFERS, ("o-1",))
        with pytest.raises(StorageError):
            kept.insert(OFFERS, offer())
        assert self.stored(store, OFFERS, ("o-1",)) is None

    def test_transactions_do_not_nest(self, store: Store) -> None:
        """A transaction opened inside another in the same thread raises StorageError."""

        def nest(tx: StoreTransaction) -> None:
            tx.insert(OFFERS, offer())
            with store.transaction():
                pass

        with pytest.raises(StorageError):
            self.roll_back(store, nest)
        assert self.stored(store, OFFERS, ("o-1",)) is None

    # -- concurrency ------------------------------------------------------------------------

    def test_uncommitted_writes_are_never_read_elsewhere(self, store: Store) -> None:
        """Another thread's transaction never reads a row this one has not committed and
        then rolls back (it reads without it, or waits until the rollback)."""
        seen: list[Row | None] = []
        readers: list[threading.Thread] = []

        def write_then_wait(tx: StoreTransaction) -> None:
            tx.insert(OFFERS, offer())
            readers.append(_start(lambda: seen.append(self.stored(store, OFFERS, ("o-1",)))))
            readers[0].join(timeout=0.5)  # a store that serialises transactions waits for us

        self.roll_back(store, write_then_wait)
        readers[0].join(timeout=_WAIT)
        assert seen == [None]

    def test_racing_inserts_of_one_key_one_wins(self, store: Store) -> None:
        """Two threads inserting the same key at once: exactly one insert returns True."""
        won: list[bool] = []

        def insert(doc: str) -> None:
            with store.transaction() as tx:
                won.append(tx.insert(OFFERS, offer(doc=doc)))

        _race(lambda: insert("first"), lambda: insert("second"))
        assert sorted(won) == [False, True]

    def test_racing_versioned_updates_lose_none(self, store: Store) -> None:
        """Two threads each bumping one versioned row 20 times, retrying when their
        update finds another version: every bump lands."""
        self.committed(store, (LOGINS, login("c-1", "ann@example.com", 1)))

        def bump_many() -> None:
            for _ in range(_BUMPS):
                while True:
                    with store.transaction() as tx:
                        row = tx.get(LOGINS, ("c-1",))
                        assert row is not None
                        bumped = login("c-1", "ann@example.com", row.version + 1)
                        if tx.update(LOGINS, bumped, expected_version=row.version):
                            break

        _race(bump_many, bump_many)
        stored = self.stored(store, LOGINS, ("c-1",))
        assert stored is not None
        assert stored.version == 1 + _RACERS * _BUMPS

    def test_a_locked_read_waits_for_the_lock_and_reads_its_commit(self, store: Store) -> None:
        """get with Lock.WAIT of a row another transaction locked returns the row as
        that transaction committed it (a single-use token's guarantee)."""
        self.committed(store, (TOKENS, Row({"digest": "d-1", "used_at": None}, "unused")))
        locked, seen = threading.Event(), []

        def second() -> None:
            locked.wait(_WAIT)
            with store.transaction() as tx:
                seen.append(tx.get(TOKENS, ("d-1",), lock=Lock.WAIT))

        reader = _start(second)
        used = Row({"digest": "d-1", "used_at": NOW}, "used")
        with store.transaction() as tx:
            assert tx.get(TOKENS, ("d-1",), lock=Lock.WAIT) is not None
            locked.set()
            reader.join(timeout=0.5)  # it must wait for our commit
            assert tx.update(TOKENS, used) is True
        reader.join(timeout=_WAIT)
        assert seen == [used]

    def test_a_skipping_read_leaves_out_rows_others_locked(self, store: Store) -> None:
        """find with Lock.SKIP never returns a row another open transaction has locked
        (a store that runs one transaction at a time returns it once that one ended)."""
        self.committed(
            store, (OUTBOX, message("m-1")), (OUTBOX, message("m-2", NOW + timedelta(1)))
        )
        entered, done, seen = threading.Event(), threading.Event(), []

        def second() -> None:
            with store.transaction() as tx:
                entered.set()
                seen.append(_ids(tx.find(OUTBOX, OUTBOX_PENDING, (False,), lock=Lock.SKIP)))
            done.set()

        with store.transaction() as tx:
            assert tx.get(OUTBOX, ("m-1",), lock=Lock.WAIT) is not None
            _start(second)
            side_by_side = entered.wait(0.5)  # else the store runs one at a time
            if side_by_side:
                assert done.wait(_WAIT), "a skipping read waited for a lock"
        assert done.wait(_WAIT)
        if side_by_side:
            assert seen == [["m-2"]]
        else:  # it began after us (or so late that our lock may have been gone)
            assert seen in ([["m-1", "m-2"]], [["m-2"]])


def _start(work: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _race(*actions: Callable[[], object]) -> None:
    """Run ``actions`` in threads that start together; fail with the first error."""
    start = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action: Callable[[], object]) -> None:
        try:
            start.wait(timeout=_WAIT)
            action()
        except BaseException as exc:  # reported by the calling thread
            errors.append(exc)

    threads = [_start(lambda a=action: run(a)) for action in actions]  # type: ignore[misc]
    for thread in threads:
        thread.join(timeout=120)
    if any(thread.is_alive() for thread in threads):
        pytest.fail("a racing transaction hung")
    if errors:
        raise errors[0]
