"""The memory store against the storage contract, plus what only the memory store offers."""

from __future__ import annotations

import json

import pytest

from portal_access._domain.errors import StorageError
from portal_access.ports import Store
from portal_access.repositories import UnitOfWork, read_access_state, unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.testing import StoreContract
from portal_access.testing._faults import FailingStore
from portal_access.testing._storage_contract import StorageContract, values
from portal_access.testing._storage_contract.transactions import (
    roll_back,
    write_to_every_repository,
)


class _OnMemory:
    """A new memory store for each test."""

    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


class TestMemoryStorePort(_OnMemory, StoreContract):
    """The memory store keeps the store port's contract."""


class TestMemoryStore(_OnMemory, StorageContract):
    """The library's repositories keep the storage contract on the memory store."""


def _use_case(uow: UnitOfWork) -> None:
    """A unit of work that reads and writes several tables, like a use case does."""
    contact = uow.contacts.get("c-1")
    assert contact is not None
    number = uow.invoices.next_number()
    uow.invoices.save(values.invoice("inv-2", number=number))
    state = uow.access.get("c-1")
    assert state is not None
    uow.access.save(state, expected_version=state.version)
    uow.tokens.mark_used(values.token().digest, values.NOW)
    uow.outbox.add(values.message("m-2", topic="email.requested"))
    uow.outbox.mark_delivered("m-1")
    uow.gateway_events.record("stripe", "evt_2", "applied", values.NOW)
    uow.idempotency.put("key-2", "{}")


def _run(store: Store) -> None:
    with unit_of_work(store) as uow:
        _use_case(uow)


@pytest.fixture
def seeded() -> MemoryStore:
    store = MemoryStore()
    with unit_of_work(store) as uow:
        write_to_every_repository(uow)
    return store


def test_snapshot_unchanged_by_a_rolled_back_unit_of_work(seeded: MemoryStore):
    """A rolled-back unit of work that wrote to every table leaves snapshot() equal."""
    before = seeded.snapshot()

    def change(uow: UnitOfWork) -> None:
        uow.offers.save(values.offer(name="Changed"))
        _use_case(uow)

    roll_back(seeded, change)
    assert seeded.snapshot() == before


def test_rolled_back_writes_to_every_table_leave_an_empty_store_empty():
    """write_to_every_repository rolled back leaves every table, the counter too, empty."""
    store = MemoryStore()
    before = store.snapshot()
    roll_back(store, write_to_every_repository)
    assert store.snapshot() == before == {}


def test_failure_injected_at_each_write_leaves_the_store_as_it_was(seeded: MemoryStore):
    """A StorageError injected at each write of a multi-table unit of work changes nothing."""
    before = seeded.snapshot()
    counting = FailingStore(seeded, fail_on_write=0)
    roll_back(counting, _use_case)
    assert counting.writes == 9
    for write in range(1, counting.writes + 1):
        failing = FailingStore(seeded, fail_on_write=write)
        with pytest.raises(StorageError, match="injected failure"):
            _run(failing)
        assert failing.writes == write
        assert seeded.snapshot() == before, f"write {write} left a change"
    with unit_of_work(seeded) as uow:
        _use_case(uow)
    assert seeded.snapshot() != before


def test_failing_store_fails_only_the_chosen_write():
    """FailingStore fails the Nth write only; reads and read_access_state pass through."""
    store = MemoryStore()
    failing = FailingStore(store, fail_on_write=2)
    with unit_of_work(failing) as uow:
        uow.access.save(values.access_state(), expected_version=None)
        assert uow.access.get("c-1") is not None
    with pytest.raises(StorageError), unit_of_work(failing) as uow:
        uow.offers.save(values.offer())
    with unit_of_work(failing) as uow:
        uow.offers.save(values.offer())
    assert failing.writes == 4  # an offer read as missing is inserted: update, then insert
    assert read_access_state(failing, "c-1") == read_access_state(store, "c-1")
    with unit_of_work(store) as uow:
        assert uow.offers.get("o-1") == values.offer()


def test_failing_store_refuses_a_negative_write_number():
    """FailingStore(fail_on_write=-1) is a ValidationError."""
    with pytest.raises(ValueError, match="fail_on_write"):
        FailingStore(MemoryStore(), fail_on_write=-1)


def test_repository_after_commit_raises():
    """A repository kept after its unit of work committed raises StorageError on use."""
    store = MemoryStore()
    with unit_of_work(store) as uow:
        kept = uow
    with pytest.raises(StorageError, match="unit of work has ended"):
        kept.offers.save(values.offer())
    with pytest.raises(StorageError, match="unit of work has ended"):
        kept.offers.get("o-1")
    assert store.snapshot() == {}


def test_repository_after_rollback_raises():
    """A repository kept after its unit of work rolled back raises StorageError on use."""
    store = MemoryStore()
    kept = roll_back(store, lambda uow: uow)
    with pytest.raises(StorageError, match="unit of work has ended"):
        kept.invoices.next_number()
    with pytest.raises(StorageError, match="unit of work has ended"):
        kept.access.get("c-1")
    assert store.snapshot() == {}


def test_nested_unit_of_work_in_one_thread_raises():
    """Opening a unit of work inside another one in the same thread raises StorageError."""
    store = MemoryStore()

    def nest() -> None:
        with unit_of_work(store) as outer:
            outer.offers.save(values.offer())
            with unit_of_work(store):
                pass

    with pytest.raises(StorageError, match="already open"):
        nest()
    with unit_of_work(store) as uow:
        assert uow.offers.get("o-1") is None
        uow.offers.save(values.offer())
    assert list(store.snapshot()["offers"]) == [("o-1",)]


def test_delivered_email_payload_is_cleared_in_the_stored_row():
    """mark_delivered leaves no trace of an email's payload (its single-use links) in the
    stored row, and keeps other messages' payloads."""
    store = MemoryStore()
    with unit_of_work(store) as uow:
        uow.outbox.add(values.message("m-1", topic="email.requested", payload={"text": "link"}))
        uow.outbox.add(values.message("m-2"))
    with unit_of_work(store) as uow:
        uow.outbox.mark_delivered("m-1")
        uow.outbox.mark_delivered("m-2")
    outbox = store.snapshot()["outbox"]
    assert "link" not in str(outbox[("m-1",)])
    assert json.loads(outbox[("m-1",)].doc or "")["payload"] == {"cleared": True}
    assert json.loads(outbox[("m-2",)].doc or "")["payload"] == values.message("m-2").payload
    assert outbox[("m-2",)].values["delivered"] is True


def test_outbox_payload_cannot_be_changed_in_place():
    """Mutating a payload after add or after pending does not change the stored message."""
    store = MemoryStore()
    payload = {"contact_id": "c-1"}
    with unit_of_work(store) as uow:
        uow.outbox.add(values.message(payload=payload))
        payload["contact_id"] = "c-2"
        uow.outbox.pending(1)[0].payload["contact_id"] = "c-3"
    with unit_of_work(store) as uow:
        assert uow.outbox.pending(1)[0].payload == {"contact_id": "c-1"}


def test_snapshot_is_a_copy():
    """Changing a snapshot's tables changes neither the store nor a later snapshot."""
    store = MemoryStore()
    with unit_of_work(store) as uow:
        uow.outbox.add(values.message())
    snapshot = store.snapshot()
    del snapshot["outbox"][("m-1",)]
    snapshot["offers"] = {}
    assert list(store.snapshot()) == ["outbox"]
    assert list(store.snapshot()["outbox"]) == [("m-1",)]
