"""The unit of work: the typed repositories over one store transaction.

:func:`unit_of_work` is how the service (and a host's own code) reads and writes a
store: it opens one :meth:`~portal_access.ports.Store.transaction` and hands out a
:class:`UnitOfWork` whose repositories all work in it. :func:`read_access_state` is the
hot path of ``check_access``: one committed read, decoded only when the row changed.

A store may define two optional attributes (``docs/stores.md``):

- ``repositories``: a mapping of repository name (``"outbox"``) to a subclass of the
  library's repository (:class:`~portal_access.repositories.OutboxRepository`), used
  instead of it in every unit of work over that store, to serve a method faster;
- ``documents``: the :class:`~portal_access.repositories.DocumentCache` its units of
  work and its hot path share (sized, or turned off); without one, the store gets one
  of the default size on first use.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, cast, overload

from portal_access._domain.access import AccessState
from portal_access._domain.errors import ConfigurationError
from portal_access.ports import Store, StoreTransaction
from portal_access.repositories._access import (
    AccessStateRepository,
    LoginRepository,
    TokenRepository,
)
from portal_access.repositories._audit import AuditTrailRepository
from portal_access.repositories._base import Repository
from portal_access.repositories._billing import (
    CheckoutRepository,
    InvoiceRepository,
    PaymentRepository,
    SubscriptionRepository,
)
from portal_access.repositories._catalog import (
    AccountClassRepository,
    AccountRepository,
    ContactRepository,
    OfferRepository,
    PlanRepository,
    SiteRepository,
)
from portal_access.repositories._comments import DocumentCommentRepository
from portal_access.repositories._documents import DocumentCache
from portal_access.repositories._ledger import (
    AccountingEntryRepository,
    AutopayAttemptRepository,
    CatalogItemRepository,
    LedgerAccountRepository,
    PurchaseOrderRepository,
    SavedMethodRepository,
)
from portal_access.repositories._messages import (
    GatewayEventRepository,
    IdempotencyRepository,
    OutboxRepository,
)
from portal_access.repositories._rate_limits import RateLimitRepository
from portal_access.repositories._tables import ACCESS_STATES

__all__ = ["UnitOfWork", "documents_of", "read_access_state", "unit_of_work"]

R = TypeVar("R", bound=Repository)

#: The caches of stores that bring none of their own, while the store lives.
_DOCUMENTS: weakref.WeakKeyDictionary[Store, DocumentCache] = weakref.WeakKeyDictionary()
_DOCUMENTS_LOCK = threading.Lock()


class _Repository(Generic[R]):
    """A repository attribute of :class:`UnitOfWork`: made on first use, from the store's
    override when it has one."""

    def __init__(self, default: type[R]) -> None:
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> _Repository[R]: ...
    @overload
    def __get__(self, uow: UnitOfWork, owner: type) -> R: ...
    def __get__(self, uow: UnitOfWork | None, owner: type) -> R | _Repository[R]:
        if uow is None:
            return self
        cls = cast("type[R]", uow.repository_classes.get(self.name, self.default))
        made = cls(uow.transaction, uow.documents)
        uow.__dict__[self.name] = made  # the next read finds it without calling us
        return made


class UnitOfWork:
    """One transaction: everything written through its repositories commits together, or
    nothing. Repositories read their own writes within the unit of work.

    Args:
        transaction: the store transaction every repository works in; a host may use
            it too (the SQL store's has the SQLAlchemy ``connection``, to write the
            host's own tables in the same transaction).
        documents: the decoded documents the store's units of work share.
        repositories: the store's overrides, by repository name.

    Raises:
        ConfigurationError: an override names no repository, or does not subclass the
            repository it replaces.
    """

    offers = _Repository(OfferRepository)
    plans = _Repository(PlanRepository)
    account_classes = _Repository(AccountClassRepository)
    accounts = _Repository(AccountRepository)
    sites = _Repository(SiteRepository)
    contacts = _Repository(ContactRepository)
    logins = _Repository(LoginRepository)
    invoices = _Repository(InvoiceRepository)
    payments = _Repository(PaymentRepository)
    subscriptions = _Repository(SubscriptionRepository)
    access = _Repository(AccessStateRepository)
    tokens = _Repository(TokenRepository)
    gateway_events = _Repository(GatewayEventRepository)
    checkouts = _Repository(CheckoutRepository)
    outbox = _Repository(OutboxRepository)
    idempotency = _Repository(IdempotencyRepository)
    saved_methods = _Repository(SavedMethodRepository)
    autopay_attempts = _Repository(AutopayAttemptRepository)
    catalog_items = _Repository(CatalogItemRepository)
    purchase_orders = _Repository(PurchaseOrderRepository)
    ledger_accounts = _Repository(LedgerAccountRepository)
    accounting_entries = _Repository(AccountingEntryRepository)
    audit_trail = _Repository(AuditTrailRepository)
    rate_limits = _Repository(RateLimitRepository)
    document_comments = _Repository(DocumentCommentRepository)

    def __init__(
        self,
        transaction: StoreTransaction,
        *,
        documents: DocumentCache,
        repositories: Mapping[str, object] | None = None,
    ) -> None:
        self.transaction = transaction
        self.documents = documents
        self.repository_classes: dict[str, type[Repository]] = {}
        for name, cls in (repositories or {}).items():
            slot = vars(UnitOfWork).get(name)
            if not isinstance(slot, _Repository):
                raise ConfigurationError(f"no repository is called {name!r}", field=name)
            if not (isinstance(cls, type) and issubclass(cls, slot.default)):
                raise ConfigurationError(
                    f"the {name!r} repository must subclass {slot.default.__name__}",
                    field=name,
                )
            self.repository_classes[name] = cls


def documents_of(store: Store) -> DocumentCache:
    """The document cache of ``store``: its own ``documents``, or one made for it on first
    use (a new one each time for a store that cannot be weakly referenced and hashed).

    Raises:
        ConfigurationError: the store's ``documents`` is not a :class:`DocumentCache`.
    """
    found = getattr(store, "documents", None)
    if isinstance(found, DocumentCache):
        return found
    if found is not None:
        raise ConfigurationError("a store's documents must be a DocumentCache", field="documents")
    try:
        with _DOCUMENTS_LOCK:
            made = _DOCUMENTS.get(store)
            if made is None:
                made = _DOCUMENTS[store] = DocumentCache()
    except TypeError:  # unhashable, or no weak references
        return DocumentCache()
    return made


@contextmanager
def unit_of_work(store: Store) -> Iterator[UnitOfWork]:
    """Begin a unit of work on ``store``; leaving the block commits, an exception rolls
    back. Units of work do not nest.

    >>> from portal_access._domain.accounts import AccountClass
    >>> from portal_access.storage.memory import MemoryStore
    >>> store = MemoryStore()
    >>> with unit_of_work(store) as uow:
    ...     uow.account_classes.save(AccountClass(id="k-1", name="Commercial"))
    ...     uow.invoices.next_number()
    '1001'
    >>> with unit_of_work(store) as uow:
    ...     uow.account_classes.get("k-1").name, uow.invoices.next_number()
    ('Commercial', '1002')

    Raises:
        StaleStateError: the commit lost a race the caller may retry.
        StorageError: the store failed (nothing is committed).
        ConfigurationError: the store's ``repositories`` are not overrides of ours.
    """
    overrides: Any = getattr(store, "repositories", None)
    with store.transaction() as transaction:
        yield UnitOfWork(transaction, documents=documents_of(store), repositories=overrides)


def read_access_state(store: Store, contact_id: str) -> AccessState | None:
    """The contact's committed access state, or ``None``: one read by key
    (:meth:`~portal_access.ports.Store.read_committed`), decoded only when the row's
    version is not the one this process decoded last from this store.

    >>> from portal_access import AccessState, AccountClass, ContactRole
    >>> from portal_access.storage.memory import MemoryStore
    >>> store = MemoryStore()
    >>> state = AccessState(contact_id="c-1", account_id="a-1", role=ContactRole.CLIENT,
    ...                     registered=True, account_class=AccountClass(id="k-1", name="Gym"))
    >>> with unit_of_work(store) as uow:
    ...     saved = uow.access.save(state, expected_version=None)
    >>> read_access_state(store, "c-1") == saved, saved.version, read_access_state(store, "c-2")
    (True, 1, None)

    Raises:
        StorageError: the store failed, or the row is damaged.
    """
    found = store.read_committed(ACCESS_STATES, (contact_id,))
    if found is None:
        return None
    doc, version = found
    documents = getattr(store, "documents", None) or documents_of(store)  # hot path
    return documents.latest(doc or "", AccessState, contact_id, version)
