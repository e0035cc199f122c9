"""The SQL store's unit of work: one repository per aggregate, on one transaction."""

from __future__ import annotations

from sqlalchemy.engine import Connection

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
)
from portal_access.storage.sql._access import (
    SqlAccessStateRepository,
    SqlLoginRepository,
    SqlTokenRepository,
)
from portal_access.storage.sql._accounts import (
    SqlAccountClassRepository,
    SqlAccountRepository,
    SqlContactRepository,
    SqlOfferRepository,
    SqlPlanRepository,
    SqlSiteRepository,
)
from portal_access.storage.sql._billing import (
    SqlCheckoutRepository,
    SqlInvoiceRepository,
    SqlPaymentRepository,
    SqlSubscriptionRepository,
)
from portal_access.storage.sql._messages import (
    SqlGatewayEventRepository,
    SqlIdempotencyRepository,
    SqlOutboxRepository,
)
from portal_access.storage.sql._transaction import SqlTransaction

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork:
    """The repositories of one database transaction (a :class:`portal_access.ports.UnitOfWork`).

    ``connection`` is the transaction's SQLAlchemy connection: a host may write its own
    tables through it, to commit or roll back together with the use case.

    Args:
        tx: the transaction every repository runs its statements in.
    """

    def __init__(self, tx: SqlTransaction) -> None:
        self.connection: Connection = tx.connection
        self.offers: OfferRepository = SqlOfferRepository(tx)
        self.plans: PlanRepository = SqlPlanRepository(tx)
        self.account_classes: AccountClassRepository = SqlAccountClassRepository(tx)
        self.accounts: AccountRepository = SqlAccountRepository(tx)
        self.sites: SiteRepository = SqlSiteRepository(tx)
        self.contacts: ContactRepository = SqlContactRepository(tx)
        self.logins: LoginRepository = SqlLoginRepository(tx)
        self.invoices: InvoiceRepository = SqlInvoiceRepository(tx)
        self.payments: PaymentRepository = SqlPaymentRepository(tx)
        self.subscriptions: SubscriptionRepository = SqlSubscriptionRepository(tx)
        self.access: AccessStateRepository = SqlAccessStateRepository(tx)
        self.tokens: TokenRepository = SqlTokenRepository(tx)
        self.gateway_events: GatewayEventRepository = SqlGatewayEventRepository(tx)
        self.checkouts: CheckoutRepository = SqlCheckoutRepository(tx)
        self.outbox: OutboxRepository = SqlOutboxRepository(tx)
        self.idempotency: IdempotencyRepository = SqlIdempotencyRepository(tx)
