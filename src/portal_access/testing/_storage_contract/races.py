"""The storage contract for races: what two workers writing the same rows at once get.

A store that serialises its units of work (the memory store, SQLite) passes these by
construction; a database running transactions side by side (PostgreSQL under READ
COMMITTED) passes them only with the right locks, keys and single-statement updates:

- two webhooks bringing snapshots of one payment, each saving only over an older one
  (the service's rule), must end with the newest, whether the row existed or not;
- failed deliveries of one outbox message counted by two workers are all counted.
"""

from __future__ import annotations

import time
from functools import partial

import pytest

from portal_access._domain.errors import StaleStateError
from portal_access._domain.payments import PaymentStatus
from portal_access.ports import Store
from portal_access.repositories import unit_of_work
from portal_access.testing._contracts import race
from portal_access.testing._storage_contract import values

__all__ = ["RaceContract"]

_RACE_WINDOW = 0.005  # seconds between a read and the write that depends on it


def _deliver_snapshot(store: Store, payment_id: str, version: int, attempts: int = 100) -> None:
    """Save version ``version`` of a payment unless a newer one is stored, as webhooks do,
    retrying a lost race."""
    newer = values.payment(payment_id, status=PaymentStatus.SUCCEEDED, version=version)
    for _ in range(attempts):
        try:
            with unit_of_work(store) as uow:
                stored = uow.payments.get("stripe", payment_id)
                time.sleep(_RACE_WINDOW)  # let the other worker read the same row
                if stored is None or stored.snapshot.version < version:
                    uow.payments.save(newer)
        except StaleStateError:
            continue
        return
    pytest.fail(f"no attempt to save version {version} of {payment_id} won")


class RaceContract:
    """What every store guarantees when two workers write the same rows at once."""

    @pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
    def test_concurrent_snapshots_of_a_payment_keep_the_newest(
        self, store: Store, existing: bool
    ) -> None:
        """Two workers saving versions 2 and 3 of one payment, each only over an older
        snapshot: version 3 stays, whether the payment was stored before or not."""
        if existing:
            with unit_of_work(store) as uow:
                uow.payments.save(values.payment(version=1))
        for attempt in range(5):
            payment_id = "pi_1" if existing else f"pi_new_{attempt}"
            race(
                partial(_deliver_snapshot, store, payment_id, 2),
                partial(_deliver_snapshot, store, payment_id, 3),
            )
            with unit_of_work(store) as uow:
                stored = uow.payments.get("stripe", payment_id)
            assert stored is not None
            assert stored.snapshot.version == 3
            if existing:
                with unit_of_work(store) as uow:
                    uow.payments.save(values.payment(version=1))

    def test_concurrent_failed_deliveries_are_all_counted(self, store: Store) -> None:
        """Two workers each counting 20 failed deliveries of one message: 40 attempts."""
        with unit_of_work(store) as uow:
            uow.outbox.add(values.message("m-1"))

        def fail_twenty_times() -> None:
            for _ in range(20):
                with unit_of_work(store) as uow:
                    uow.outbox.mark_failed("m-1")

        race(fail_twenty_times, fail_twenty_times)
        with unit_of_work(store) as uow:
            message = uow.outbox.get("m-1")
        assert message is not None
        assert message.attempts == 40
