"""The memory store: dicts of immutable values with real, serialisable transactions.

For tests and single-process hosts. A unit of work holds one store-wide lock for its
whole duration (so units of work run one after another), works on copy-on-write copies
of the tables it touches, and on normal exit publishes them in one assignment; on an
exception nothing is kept. :meth:`MemoryStore.read_access_state` reads the published
tables without the lock.

Several processes need a database: use the SQL store.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from portal_access._domain.access import AccessState
from portal_access._domain.errors import StorageError
from portal_access.ports import (
    AccessStateRepository,
    AccountClassRepository,
    AccountRepository,
    CheckoutRepository,
    ContactRepository,
    GatewayEventRepository,
    IdempotencyRepository,
    InvoiceRepository,
    LoginRepository,
    OfferRepository,
    OutboxRepository,
    PaymentRepository,
    PlanRepository,
    SiteRepository,
    SubscriptionRepository,
    TokenRepository,
    UnitOfWork,
)
from portal_access.storage.memory._access import (
    MemoryAccessStateRepository,
    MemoryLoginRepository,
    MemoryTokenRepository,
)
from portal_access.storage.memory._accounts import (
    MemoryAccountClassRepository,
    MemoryAccountRepository,
    MemoryContactRepository,
    MemoryOfferRepository,
    MemoryPlanRepository,
    MemorySiteRepository,
)
from portal_access.storage.memory._billing import (
    MemoryCheckoutRepository,
    MemoryInvoiceRepository,
    MemoryPaymentRepository,
    MemorySubscriptionRepository,
)
from portal_access.storage.memory._messages import (
    MemoryGatewayEventRepository,
    MemoryIdempotencyRepository,
    MemoryOutboxRepository,
)
from portal_access.storage.memory._tables import Tables, Transaction, empty_tables

__all__ = ["MemoryStore", "MemoryUnitOfWork"]


class MemoryUnitOfWork:
    """The repositories of one memory transaction (a :class:`portal_access.ports.UnitOfWork`).

    Args:
        tx: the transaction every repository reads and writes through.
    """

    def __init__(self, tx: Transaction) -> None:
        self.offers: OfferRepository = MemoryOfferRepository(tx)
        self.plans: PlanRepository = MemoryPlanRepository(tx)
        self.account_classes: AccountClassRepository = MemoryAccountClassRepository(tx)
        self.accounts: AccountRepository = MemoryAccountRepository(tx)
        self.sites: SiteRepository = MemorySiteRepository(tx)
        self.contacts: ContactRepository = MemoryContactRepository(tx)
        self.logins: LoginRepository = MemoryLoginRepository(tx)
        self.invoices: InvoiceRepository = MemoryInvoiceRepository(tx)
        self.payments: PaymentRepository = MemoryPaymentRepository(tx)
        self.subscriptions: SubscriptionRepository = MemorySubscriptionRepository(tx)
        self.access: AccessStateRepository = MemoryAccessStateRepository(tx)
        self.tokens: TokenRepository = MemoryTokenRepository(tx)
        self.gateway_events: GatewayEventRepository = MemoryGatewayEventRepository(tx)
        self.checkouts: CheckoutRepository = MemoryCheckoutRepository(tx)
        self.outbox: OutboxRepository = MemoryOutboxRepository(tx)
        self.idempotency: IdempotencyRepository = MemoryIdempotencyRepository(tx)


class MemoryStore:
    """A :class:`portal_access.ports.Store` kept in this process's memory.

    Units of work are serialised by one lock and are all-or-nothing. A repository used
    after its ``with`` block ended raises :class:`~portal_access.StorageError`, and so
    does opening a unit of work inside another one in the same thread (the inner one
    could not see the outer one's writes).

    >>> from portal_access._domain.accounts import AccountClass
    >>> store = MemoryStore()
    >>> with store.unit_of_work() as uow:
    ...     uow.account_classes.save(AccountClass(id="k-1", name="Commercial"))
    ...     uow.invoices.next_number()
    '1001'
    >>> try:
    ...     with store.unit_of_work() as uow:
    ...         uow.account_classes.save(AccountClass(id="k-2", name="Residential"))
    ...         raise RuntimeError("boom")
    ... except RuntimeError:
    ...     pass
    >>> with store.unit_of_work() as uow:
    ...     (uow.account_classes.get("k-1").name, uow.account_classes.get("k-2"),
    ...      uow.invoices.next_number())
    ('Commercial', None, '1002')
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tables: Tables = empty_tables()
        self._open = False

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Begin a unit of work; leaving the block commits, an exception rolls back.

        Raises:
            StorageError: a unit of work is already open in this thread.
        """
        with self._lock:
            if self._open:
                raise StorageError(
                    "a unit of work is already open in this thread; "
                    "finish it before starting another"
                )
            self._open = True
            tx = Transaction(self._tables)
            try:
                yield MemoryUnitOfWork(tx)
            except BaseException:
                tx.close()
                raise
            else:
                self._tables = tx.close()
            finally:
                self._open = False

    def read_access_state(self, contact_id: str) -> AccessState | None:
        """The contact's committed access state, read without waiting for the lock."""
        found: AccessState | None = self._tables["access"].get(contact_id)
        return found

    def snapshot(self) -> dict[str, dict[object, object]]:
        """A deep copy of every committed table, by table name, for equality checks.

        Atomicity tests compare two snapshots: a use case that failed must leave the
        store exactly as it was.
        """
        tables = self._tables
        return {name: copy.deepcopy(dict(table)) for name, table in tables.items()}
