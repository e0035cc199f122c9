"""The store contract for rows by key and by index: get, insert, update, delete, find."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal_access._domain.errors import ConflictError
from portal_access.ports import Row, Store, StoreTransaction
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
from portal_access.testing._store_contract.rows import (
    EAST,
    EVENT,
    NOW,
    StoreHelpers,
    ids,
    invoice,
    login,
    message,
    offer,
    payment,
)

__all__ = ["TableContract"]

_SCOPES = itertools.count()
_WRITES = st.tuples(
    st.sampled_from(["insert", "update", "delete"]),
    st.text("aB_", min_size=1, max_size=2),
    st.text("12", min_size=1, max_size=2),
    st.sampled_from(["a-1", "a-2"]),
    st.integers(1, 3),
)


#: One write: (verb, id, number, account, day).
_Write = tuple[str, str, str, str, int]
#: Invoices by id: (number, account, day).
_Model = dict[str, tuple[str, str, int]]


def _write(tx: StoreTransaction, model: _Model, write: _Write, scope: int) -> None:
    """Apply one write to the store and to the model (an update keeps the number, so
    no unique value is ever taken by an update)."""
    verb, name, number, account, day = write
    name, number = f"{scope}-{name}", f"{scope}-{number}"  # "1"+"1a" and "11"+"a" differ
    taken = any(held == number for held, _, _ in model.values())
    if verb == "insert":
        inserted = tx.insert(INVOICES, invoice(name, number, account=account, day=day))
        assert inserted is (name not in model and not taken)
        if inserted:
            model[name] = (number, account, day)
    elif verb == "update":
        kept = model[name][0] if name in model else number
        updated = tx.update(INVOICES, invoice(name, kept, account=account, day=day))
        assert updated is (name in model)
        if updated:
            model[name] = (kept, account, day)
    else:
        assert tx.delete(INVOICES, (name,)) is (model.pop(name, None) is not None)


def _agree(tx: StoreTransaction, model: _Model, scope: int) -> None:
    """Fail unless get and both lookups answer what ``model`` says."""
    for name, (number, account, day) in model.items():
        assert tx.get(INVOICES, (name,)) == invoice(name, number, account=account, day=day)
        assert ids(tx.find(INVOICES, INVOICES_BY_NUMBER, (number,))) == [name]
    for account in ("a-1", "a-2"):
        mine = sorted((day, name) for name, (_, held, day) in model.items() if held == account)
        found = ids(tx.find(INVOICES, INVOICES_BY_ACCOUNT, (account,)))
        assert [n for n in found if n.startswith(f"{scope}-")] == [name for _, name in mine]


class TableContract(StoreHelpers):
    """What every store's transactions do with rows, by key and by index."""

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
            assert ids(found) == ["inv-c", "inv-a", "inv-b"]
            assert found[0] == invoice("inv-c", "2", day=1)
            assert ids(tx.find(INVOICES, INVOICES_BY_NUMBER, ("4",))) == ["inv-0"]
            assert list(tx.find(INVOICES, INVOICES_BY_ACCOUNT, ("a-none",))) == []

    def test_find_orders_by_a_composite_key_and_by_instants(self, store: Store) -> None:
        """find orders by every key column, by code point, and orders datetimes as
        instants whatever their offsets."""
        self.committed(
            store,
            *[
                (PAYMENTS, payment(g, p))
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
            assert ids(pending) == ["m-z", "m-a", "m-b", "m-c"]

    def test_find_limit(self, store: Store) -> None:
        """find with a limit returns at most that many rows, the first in order."""
        self.committed(
            store, *[(OUTBOX, message(f"m-{n}", NOW + timedelta(minutes=n))) for n in range(4)]
        )
        with store.transaction() as tx:
            assert ids(tx.find(OUTBOX, OUTBOX_PENDING, (False,), limit=2)) == ["m-0", "m-1"]
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
            assert ids(tx.find(INVOICES, INVOICES_BY_ACCOUNT, ("a-1",))) == ["inv-3"]
            assert ids(tx.find(INVOICES, INVOICES_BY_ACCOUNT, ("a-2",))) == ["inv-1"]

    @settings(  # each example scopes its rows; each subclass (store) runs it afresh
        max_examples=30,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
            HealthCheck.too_slow,
        ],
    )
    @given(writes=st.lists(_WRITES, min_size=1, max_size=12), split=st.integers(0, 12))
    def test_lookups_agree_with_a_plain_model(
        self, store: Store, writes: list[_Write], split: int
    ) -> None:
        """Any sequence of inserts, updates and deletes of invoices, over two transactions,
        leaves get and both lookups (by account in date-then-id order; by the unique
        number) answering what a dict of the surviving rows says, in the transaction that
        wrote them and after."""
        scope = next(_SCOPES)  # every example writes rows of its own
        model: _Model = {}
        for batch in (writes[:split], writes[split:]):
            with store.transaction() as tx:
                for write in batch:
                    _write(tx, model, write, scope)
                _agree(tx, model, scope)
        with store.transaction() as tx:
            _agree(tx, model, scope)
