"""Fault injection for atomicity tests: a store whose Nth write fails.

"A store failure injected at each write leaves the store exactly as it was": run a use
case once through ``FailingStore(store, fail_on_write=0)`` to count its writes, then once
per write ``k`` with ``fail_on_write=k``, and check the store did not change.

>>> from portal_access._domain.accounts import AccountClass
>>> from portal_access.storage.memory import MemoryStore
>>> store = MemoryStore()
>>> failing = FailingStore(store, fail_on_write=2)
>>> with failing.unit_of_work() as uow:
...     uow.account_classes.save(AccountClass(id="k-1", name="Commercial"))
...     uow.invoices.next_number()
Traceback (most recent call last):
...
portal_access.StorageError: injected failure
>>> failing.writes, store.snapshot()["account_classes"]
(2, {})
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from portal_access._domain.access import AccessState
from portal_access._domain.errors import StorageError, ValidationError
from portal_access.ports import Store, UnitOfWork

__all__ = ["WRITE_METHODS", "FailingStore"]

#: The repository methods that count as writes.
WRITE_METHODS = frozenset(
    {"save", "add", "put", "record", "mark_used", "mark_delivered", "mark_failed", "next_number"}
)


class FailingStore:
    """Wraps any :class:`~portal_access.ports.Store`; its ``fail_on_write``-th write fails.

    Every call of a repository method in :data:`WRITE_METHODS` is a write, counted in
    :attr:`writes` across every unit of work of this wrapper. The write numbered
    ``fail_on_write`` (1-based) raises ``StorageError("injected failure")`` instead of
    running; every other call, and :meth:`read_access_state`, passes through.

    Args:
        store: the store to wrap.
        fail_on_write: the write to fail; ``0`` fails none (to count a use case's writes).

    Raises:
        ValidationError: ``fail_on_write`` is not a non-negative ``int``.
    """

    def __init__(self, store: Store, *, fail_on_write: int) -> None:
        if isinstance(fail_on_write, bool) or not isinstance(fail_on_write, int):
            raise ValidationError("must be an int", field="fail_on_write", value=fail_on_write)
        if fail_on_write < 0:
            raise ValidationError(
                "must not be negative", field="fail_on_write", value=fail_on_write
            )
        self.store = store
        self.fail_on_write = fail_on_write
        #: How many writes were attempted so far, the failed one included.
        self.writes = 0

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """The wrapped store's unit of work, with its writes counted (and one failed).

        Raises:
            StorageError: from a write, the injected failure; else as the wrapped store.
        """
        with self.store.unit_of_work() as uow:
            yield cast(UnitOfWork, _FailingUnitOfWork(uow, self._write))

    def read_access_state(self, contact_id: str) -> AccessState | None:
        """The wrapped store's answer (reads never fail)."""
        return self.store.read_access_state(contact_id)

    def _write(self) -> None:
        self.writes += 1
        if self.writes == self.fail_on_write:
            raise StorageError("injected failure")


class _FailingUnitOfWork:
    """A unit of work whose repositories count their writes."""

    def __init__(self, uow: UnitOfWork, on_write: Callable[[], None]) -> None:
        self._uow = uow
        self._on_write = on_write

    def __getattr__(self, name: str) -> Any:
        wrapped = _FailingRepository(getattr(self._uow, name), self._on_write)
        setattr(self, name, wrapped)  # one wrapper per repository
        return wrapped


class _FailingRepository:
    """A repository whose write methods call ``on_write`` before they run."""

    def __init__(self, repository: object, on_write: Callable[[], None]) -> None:
        self._repository = repository
        self._on_write = on_write

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._repository, name)
        if name not in WRITE_METHODS:
            return method

        def write(*args: Any, **kwargs: Any) -> Any:
            self._on_write()
            return method(*args, **kwargs)

        return write
