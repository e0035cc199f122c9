"""The store contract for counters, transactions and concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from portal_access._domain.errors import StorageError
from portal_access.ports import Lock, Row, Store, StoreTransaction
from portal_access.repositories import (
    GATEWAY_EVENTS,
    LOGINS,
    OFFERS,
    OUTBOX,
    OUTBOX_PENDING,
    TOKENS,
)
from portal_access.testing._contracts import race, start
from portal_access.testing._store_contract.rows import (
    EVENT,
    NOW,
    Rollback,
    StoreHelpers,
    ids,
    login,
    message,
    offer,
)

__all__ = ["TransactionContract"]

_RACERS = 2
_BUMPS = 20
_WAIT = 10.0  # seconds a thread waits for the other before the test gives up on it


class TransactionContract(StoreHelpers):
    """What every store's transactions guarantee: counters, atomicity, isolation, locks."""

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
        error = Rollback("the use case failed")

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
            readers.append(start(lambda: seen.append(self.stored(store, OFFERS, ("o-1",)))))
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

        race(lambda: insert("first"), lambda: insert("second"))
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

        race(bump_many, bump_many)
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

        reader = start(second)
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
                seen.append(ids(tx.find(OUTBOX, OUTBOX_PENDING, (False,), lock=Lock.SKIP)))
            done.set()

        with store.transaction() as tx:
            assert tx.get(OUTBOX, ("m-1",), lock=Lock.WAIT) is not None
            start(second)
            side_by_side = entered.wait(0.5)  # else the store runs one at a time
            if side_by_side:
                assert done.wait(_WAIT), "a skipping read waited for a lock"
        assert done.wait(_WAIT)
        if side_by_side:
            assert seen == [["m-2"]]
        else:  # it began after us (or so late that our lock may have been gone)
            assert seen in ([["m-1", "m-2"]], [["m-2"]])
