"""The store-wide part of the storage contract: commit, rollback, isolation, hot path, races."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import attrs
import pytest

from portal_access._domain.errors import StaleStateError
from portal_access.ports import Store
from portal_access.repositories import UnitOfWork, read_access_state, unit_of_work
from portal_access.testing._contracts import race
from portal_access.testing._storage_contract import values

__all__ = [
    "Rollback",
    "TransactionContract",
    "assert_nothing_written",
    "roll_back",
    "write_to_every_repository",
]

T = TypeVar("T")

_THREADS = 2
_UPDATES_PER_THREAD = 50
_RACE_WINDOW = 0.0005  # seconds between reading a state and saving it back


class Rollback(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside a unit of work by the contract to roll it back."""


def roll_back(store: Store, write: Callable[[UnitOfWork], T]) -> T:
    """Run ``write`` in a unit of work of ``store`` that then raises :class:`Rollback`.

    Returns:
        What ``write`` returned (the unit of work itself rolled back).
    """
    results: list[T] = []
    try:
        with unit_of_work(store) as uow:
            results.append(write(uow))
            raise Rollback
    except Rollback:
        return results[0]
    pytest.fail("the unit of work swallowed the exception raised inside it")


def write_to_every_repository(uow: UnitOfWork) -> None:
    """Write one value through every repository of ``uow`` (and take an invoice number)."""
    uow.offers.save(values.offer())
    uow.plans.save(values.plan())
    uow.account_classes.save(values.account_class())
    uow.accounts.save(values.account())
    uow.sites.save(values.site())
    uow.contacts.save(values.contact())
    uow.logins.save(values.login(), expected_version=None)
    uow.invoices.save(values.invoice(number=uow.invoices.next_number()))
    uow.payments.save(values.payment())
    uow.subscriptions.save(values.subscription())
    uow.access.save(values.access_state(), expected_version=None)
    uow.tokens.add(values.token())
    uow.gateway_events.record("stripe", "evt_1", "applied", values.NOW)
    uow.checkouts.save(values.checkout())
    uow.outbox.add(values.message())
    uow.idempotency.put("key-1", "{}")


def assert_nothing_written(uow: UnitOfWork) -> None:
    """Fail unless ``uow`` sees none of :func:`write_to_every_repository`'s values."""
    assert uow.offers.get("o-1") is None
    assert uow.plans.get("p-1") is None
    assert uow.account_classes.get("k-1") is None
    assert uow.accounts.get("a-1") is None
    assert uow.sites.for_account("a-1") == ()
    assert uow.contacts.get("c-1") is None
    assert uow.logins.get("c-1") is None
    assert uow.invoices.get("inv-1") is None
    assert uow.payments.get("stripe", "pi_1") is None
    assert uow.subscriptions.get("stripe", "sub_1") is None
    assert uow.access.get("c-1") is None
    assert uow.tokens.get(values.token().digest) is None
    assert uow.gateway_events.outcome("stripe", "evt_1") is None
    assert uow.checkouts.with_key(values.checkout().idempotency_key) is None
    assert list(uow.outbox.pending(10)) == []
    assert uow.idempotency.get("key-1") is None


def _bump_access_state(store: Store, attempts: int = 1000) -> None:
    """Read the access state of ``c-1`` and save it back, retrying a lost race."""
    for _ in range(attempts):
        try:
            with unit_of_work(store) as uow:
                state = uow.access.get("c-1")
                assert state is not None
                changed = attrs.evolve(state, onboarding_flow=f"flow-{state.version}")
                time.sleep(_RACE_WINDOW)  # let the other thread read the same version
                uow.access.save(changed, expected_version=state.version)
        except StaleStateError:
            continue
        return
    pytest.fail(f"no update won in {attempts} attempts")


class TransactionContract:
    """What every store's units of work guarantee (``unit_of_work``, ``read_access_state``)."""

    def test_commit_keeps_every_write(self, store: Store) -> None:
        """Leaving the block normally commits: a later unit of work reads every write."""
        with unit_of_work(store) as uow:
            write_to_every_repository(uow)
        with unit_of_work(store) as uow:
            assert uow.offers.get("o-1") == values.offer()
            assert uow.contacts.get("c-1") == values.contact()
            assert uow.invoices.get("inv-1") == values.invoice(number="1001")
            assert uow.tokens.get(values.token().digest) == values.token()
            assert uow.gateway_events.outcome("stripe", "evt_1") == "applied"
            assert [m.id for m in uow.outbox.pending(10)] == ["m-1"]
            assert uow.idempotency.get("key-1") == "{}"

    def test_exception_rolls_back_every_write(self, store: Store) -> None:
        """An exception in the block rolls back the writes of every repository."""
        roll_back(store, write_to_every_repository)
        with unit_of_work(store) as uow:
            assert_nothing_written(uow)

    def test_exception_restores_updated_rows(self, store: Store) -> None:
        """A rolled-back unit of work leaves the rows it updated as they were committed."""
        with unit_of_work(store) as uow:
            uow.offers.save(values.offer(name="Before"))
            uow.access.save(values.access_state(), expected_version=None)
            uow.tokens.add(values.token())
            uow.outbox.add(values.message())

        def change_everything(uow: UnitOfWork) -> None:
            uow.offers.save(values.offer(name="After"))
            state = uow.access.get("c-1")
            assert state is not None
            uow.access.save(attrs.evolve(state, registered=False), expected_version=1)
            assert uow.tokens.mark_used(values.token().digest, values.NOW)
            uow.outbox.mark_delivered("m-1")

        roll_back(store, change_everything)
        with unit_of_work(store) as uow:
            assert uow.offers.get("o-1") == values.offer(name="Before")
            restored = uow.access.get("c-1")
            assert restored is not None
            assert (restored.version, restored.registered) == (1, True)
            assert uow.tokens.get(values.token().digest) == values.token()
            assert [m.id for m in uow.outbox.pending(10)] == ["m-1"]

    def test_exception_reaches_the_caller_unchanged(self, store: Store) -> None:
        """The exception that ended the block propagates as the same object."""
        error = Rollback("the use case failed")

        def use_case() -> None:
            with unit_of_work(store) as uow:
                uow.offers.save(values.offer())
                raise error

        with pytest.raises(Rollback) as raised:
            use_case()
        assert raised.value is error

    def test_reads_see_own_writes(self, store: Store) -> None:
        """Inside a unit of work, every read sees that unit of work's own writes."""
        with unit_of_work(store) as uow:
            write_to_every_repository(uow)
            assert uow.offers.get("o-1") == values.offer()
            assert uow.accounts.ids_in_class("k-1") == ("a-1",)
            assert uow.sites.for_account("a-1") == (values.site(),)
            assert list(uow.contacts.with_email(values.email())) == [values.contact()]
            assert uow.logins.with_email(values.email()) is not None
            assert uow.invoices.with_number("1001") == values.invoice(number="1001")
            assert list(uow.payments.for_account("a-1")) == [values.payment()]
            assert list(uow.subscriptions.for_contact("c-1")) == [values.subscription()]
            assert list(uow.access.contact_ids_for_account("a-1")) == ["c-1"]
            assert uow.gateway_events.outcome("stripe", "evt_1") == "applied"
            assert uow.checkouts.with_key(values.checkout().idempotency_key) == values.checkout()
            assert [m.id for m in uow.outbox.pending(10)] == ["m-1"]
            assert uow.idempotency.get("key-1") == "{}"

    def test_unit_of_work_after_rollback_starts_clean(self, store: Store) -> None:
        """A unit of work begun after a rolled-back one sees none of it and may reuse its keys."""
        roll_back(store, write_to_every_repository)
        with unit_of_work(store) as uow:
            assert_nothing_written(uow)
            write_to_every_repository(uow)
            assert uow.gateway_events.outcome("stripe", "evt_1") == "applied"

    def test_read_access_state_unknown_is_none(self, store: Store) -> None:
        """read_access_state of a contact without a state is None."""
        assert read_access_state(store, "c-unknown") is None

    def test_read_access_state_after_commit(self, store: Store) -> None:
        """read_access_state returns the newest committed state, with its version."""
        with unit_of_work(store) as uow:
            first = uow.access.save(values.access_state(), expected_version=None)
        assert read_access_state(store, "c-1") == first
        with unit_of_work(store) as uow:
            second = uow.access.save(attrs.evolve(first, registered=False), expected_version=1)
        assert read_access_state(store, "c-1") == second
        assert second.version == 2

    def test_read_access_state_not_before_commit(self, store: Store) -> None:
        """read_access_state does not see a state its unit of work has not committed yet."""
        with unit_of_work(store) as uow:
            uow.access.save(values.access_state(), expected_version=None)
            assert read_access_state(store, "c-1") is None
        assert read_access_state(store, "c-1") is not None

    def test_read_access_state_ignores_rolled_back_writes(self, store: Store) -> None:
        """read_access_state never returns a state from a rolled-back unit of work."""
        roll_back(store, lambda uow: uow.access.save(values.access_state(), expected_version=None))
        assert read_access_state(store, "c-1") is None

    def test_concurrent_updates_lose_none(self, store: Store) -> None:
        """Two threads updating one access state 50 times each, retrying stale saves, end at 101."""
        with unit_of_work(store) as uow:
            uow.access.save(values.access_state(), expected_version=None)

        def update_many() -> None:
            for _ in range(_UPDATES_PER_THREAD):
                _bump_access_state(store)

        race(*[update_many] * _THREADS)
        final = read_access_state(store, "c-1")
        assert final is not None
        assert final.version == 1 + _THREADS * _UPDATES_PER_THREAD
