"""The repositories: the typed face of a store, written once above the store port.

The service reads and writes the store only through a :class:`UnitOfWork`
(:func:`unit_of_work`), whose repositories (``uow.invoices``, ``uow.outbox``, ...)
turn domain values into rows of the tables declared here (:data:`TABLES`) and carry
every rule a store would otherwise have to repeat: invoice numbers from 1001, email
lookups case-folded, single-use tokens, row versions, orderings, emails cleared once
delivered, a snapshot never overwriting a newer one. A store implements only the eight
methods of :class:`~portal_access.ports.Store` and
:class:`~portal_access.ports.StoreTransaction` (``docs/stores.md``); it may replace any
repository with a faster subclass through its ``repositories`` mapping.

>>> from portal_access._domain.offers import Offer
>>> from portal_access.storage.memory import MemoryStore
>>> store = MemoryStore()
>>> with unit_of_work(store) as uow:
...     uow.offers.save(Offer(id="o-1", name="Client onboarding"))
>>> with unit_of_work(store) as uow:
...     uow.offers.get("o-1").name
'Client onboarding'
"""

from __future__ import annotations

from portal_access.repositories._access import (
    AccessStateRepository,
    LoginRepository,
    TokenRepository,
)
from portal_access.repositories._audit import AuditTrailRepository
from portal_access.repositories._base import ById, Repository
from portal_access.repositories._billing import (
    CheckoutRepository,
    InvoiceRepository,
    PaymentRepository,
    SubscriptionRepository,
    VendorObjects,
)
from portal_access.repositories._catalog import (
    AccountClassRepository,
    AccountRepository,
    ContactRepository,
    OfferRepository,
    PlanRepository,
    SiteRepository,
)
from portal_access.repositories._documents import (
    DEFAULT_DOCUMENT_CACHE_SIZE,
    DEFAULT_ROW_CACHE_SIZE,
    DocumentCache,
)
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
    event_recorded,
)
from portal_access.repositories._rate_limits import RateLimitRepository
from portal_access.repositories._records import CheckoutRecord, PaymentRecord
from portal_access.repositories._retention import PRUNE_BATCH, Pruned, prune
from portal_access.repositories._tables import (
    ACCESS_STATES,
    ACCESS_STATES_BY_ACCOUNT,
    ACCOUNT_CLASSES,
    ACCOUNTING_ENTRIES,
    ACCOUNTS,
    ACCOUNTS_BY_CLASS,
    AUDIT_BY_ACCOUNT,
    AUDIT_BY_CONTACT,
    AUDIT_ENTRIES,
    AUDIT_IN_ORDER,
    AUTOPAY_ATTEMPTS,
    CATALOG_ITEMS,
    CHECKOUTS,
    CHECKOUTS_BY_INVOICE,
    CHECKOUTS_BY_KEY,
    CONTACTS,
    CONTACTS_BY_ACCOUNT,
    CONTACTS_BY_EMAIL,
    FIRST_INVOICE_NUMBER,
    GATEWAY_EVENTS,
    GATEWAY_EVENTS_BY_AGE,
    IDEMPOTENCY,
    INVOICE_NUMBERS,
    INVOICES,
    INVOICES_BY_ACCOUNT,
    INVOICES_BY_NUMBER,
    LEDGER_ACCOUNTS,
    LOGINS,
    LOGINS_BY_EMAIL,
    OFFERS,
    OUTBOX,
    OUTBOX_PENDING,
    PAYMENTS,
    PAYMENTS_BY_ACCOUNT,
    PLANS,
    PURCHASE_ORDERS,
    RATE_LIMITS,
    RATE_LIMITS_BY_EXPIRY,
    SAVED_METHODS,
    SITES,
    SITES_BY_ACCOUNT,
    SUBSCRIPTIONS,
    SUBSCRIPTIONS_BY_CONTACT,
    TABLES,
    TOKENS,
)
from portal_access.repositories._unit_of_work import (
    UnitOfWork,
    documents_of,
    read_access_state,
    unit_of_work,
)

__all__ = [
    "ACCESS_STATES",
    "ACCOUNTING_ENTRIES",
    "AUTOPAY_ATTEMPTS",
    "CATALOG_ITEMS",
    "LEDGER_ACCOUNTS",
    "PURCHASE_ORDERS",
    "SAVED_METHODS",
    "AccountingEntryRepository",
    "AutopayAttemptRepository",
    "CatalogItemRepository",
    "LedgerAccountRepository",
    "PurchaseOrderRepository",
    "SavedMethodRepository",
    "ACCESS_STATES_BY_ACCOUNT",
    "ACCOUNTS",
    "ACCOUNTS_BY_CLASS",
    "ACCOUNT_CLASSES",
    "AUDIT_BY_ACCOUNT",
    "AUDIT_BY_CONTACT",
    "AUDIT_ENTRIES",
    "AUDIT_IN_ORDER",
    "CHECKOUTS",
    "CHECKOUTS_BY_INVOICE",
    "CHECKOUTS_BY_KEY",
    "CONTACTS",
    "CONTACTS_BY_ACCOUNT",
    "CONTACTS_BY_EMAIL",
    "DEFAULT_DOCUMENT_CACHE_SIZE",
    "DEFAULT_ROW_CACHE_SIZE",
    "FIRST_INVOICE_NUMBER",
    "GATEWAY_EVENTS",
    "GATEWAY_EVENTS_BY_AGE",
    "IDEMPOTENCY",
    "INVOICES",
    "INVOICES_BY_ACCOUNT",
    "INVOICES_BY_NUMBER",
    "INVOICE_NUMBERS",
    "LOGINS",
    "LOGINS_BY_EMAIL",
    "OFFERS",
    "OUTBOX",
    "OUTBOX_PENDING",
    "PRUNE_BATCH",
    "PAYMENTS",
    "PAYMENTS_BY_ACCOUNT",
    "PLANS",
    "RATE_LIMITS",
    "RATE_LIMITS_BY_EXPIRY",
    "SITES",
    "SITES_BY_ACCOUNT",
    "SUBSCRIPTIONS",
    "SUBSCRIPTIONS_BY_CONTACT",
    "TABLES",
    "TOKENS",
    "AccessStateRepository",
    "AccountClassRepository",
    "AccountRepository",
    "AuditTrailRepository",
    "ById",
    "CheckoutRecord",
    "CheckoutRepository",
    "ContactRepository",
    "DocumentCache",
    "GatewayEventRepository",
    "event_recorded",
    "IdempotencyRepository",
    "InvoiceRepository",
    "LoginRepository",
    "OfferRepository",
    "OutboxRepository",
    "PaymentRecord",
    "PaymentRepository",
    "PlanRepository",
    "RateLimitRepository",
    "Pruned",
    "Repository",
    "SiteRepository",
    "SubscriptionRepository",
    "TokenRepository",
    "UnitOfWork",
    "VendorObjects",
    "documents_of",
    "prune",
    "read_access_state",
    "unit_of_work",
]
