"""The SQL store's tables (SQLAlchemy Core), as the newest migration leaves them.

Each row keeps its domain value as one JSON document (``doc``, written and read with
:mod:`portal_access._domain.serialization`) plus real columns for every lookup, uniqueness
rule and ordering a repository needs; the document is the truth, the columns are copies
kept in the same statement.

Keys compare as code points on both databases, as Python's ``sorted`` does: SQLite's
default ``BINARY`` collation already does; on PostgreSQL key columns use ``COLLATE "C"``.
Instants used for ordering are stored in UTC (:class:`UtcDateTime`).

The migrations (:mod:`portal_access.storage.sql._migrations`) create these tables; a test
checks that the newest migration and this module agree.

>>> sorted(metadata.tables)[:4]
['access_states', 'account_classes', 'accounts', 'checkouts']
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = [
    "COUNTERS",
    "INVOICE_NUMBER_COUNTER",
    "KEY",
    "UtcDateTime",
    "access_states",
    "account_classes",
    "accounts",
    "checkouts",
    "contacts",
    "counters",
    "gateway_events",
    "idempotency",
    "invoices",
    "logins",
    "metadata",
    "offers",
    "outbox",
    "payments",
    "plans",
    "sites",
    "subscriptions",
    "tokens",
]

#: A key or lookup column: code-point order on both databases.
KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
#: The counter rows: name -> last value handed out.
COUNTERS = "counters"
#: The row of :data:`counters` that invoice numbers come from.
INVOICE_NUMBER_COUNTER = "invoice_number"


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware instant stored in UTC (naive UTC text on SQLite), so that ORDER BY
    sorts instants, whatever offset they were given in."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """``value`` converted to UTC (without the offset on SQLite)."""
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """The stored instant, timezone-aware in UTC."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()


def _doc() -> sa.Column[str]:
    return sa.Column("doc", sa.Text, nullable=False)


offers = sa.Table("offers", metadata, sa.Column("id", KEY, primary_key=True), _doc())
plans = sa.Table("plans", metadata, sa.Column("id", KEY, primary_key=True), _doc())
account_classes = sa.Table(
    "account_classes", metadata, sa.Column("id", KEY, primary_key=True), _doc()
)
accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", KEY, primary_key=True),
    sa.Column("class_id", KEY, nullable=False),
    _doc(),
    sa.Index("ix_accounts_class", "class_id", "id"),
)
sites = sa.Table(
    "sites",
    metadata,
    sa.Column("id", KEY, primary_key=True),
    sa.Column("account_id", KEY, nullable=False),
    _doc(),
    sa.Index("ix_sites_account", "account_id", "id"),
)
contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", KEY, primary_key=True),
    sa.Column("account_id", KEY, nullable=False),
    sa.Column("email_key", KEY, nullable=True),  # EmailAddress.key: the case-folded address
    _doc(),
    sa.Index("ix_contacts_account", "account_id", "id"),
    sa.Index("ix_contacts_email", "email_key", "id"),
)
logins = sa.Table(
    "logins",
    metadata,
    sa.Column("contact_id", KEY, primary_key=True),
    sa.Column("email_key", KEY, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    _doc(),
    sa.UniqueConstraint("email_key", name="uq_logins_email_key"),
)
invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("id", KEY, primary_key=True),
    sa.Column("number_key", KEY, nullable=False),  # the number without surrounding spaces
    sa.Column("account_id", KEY, nullable=False),
    sa.Column("issued_on", sa.Date, nullable=False),
    _doc(),
    sa.UniqueConstraint("number_key", name="uq_invoices_number_key"),
    sa.Index("ix_invoices_account", "account_id", "issued_on", "id"),
)
counters = sa.Table(
    COUNTERS,
    metadata,
    sa.Column("name", KEY, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
payments = sa.Table(
    "payments",
    metadata,
    sa.Column("gateway", KEY, primary_key=True),
    sa.Column("payment_id", KEY, primary_key=True),
    sa.Column("account_id", KEY, nullable=False),
    _doc(),
    sa.Index("ix_payments_account", "account_id", "gateway", "payment_id"),
)
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("gateway", KEY, primary_key=True),
    sa.Column("subscription_id", KEY, primary_key=True),
    sa.Column("contact_id", KEY, nullable=False),
    _doc(),
    sa.Index("ix_subscriptions_contact", "contact_id", "gateway", "subscription_id"),
)
access_states = sa.Table(
    "access_states",
    metadata,
    sa.Column("contact_id", KEY, primary_key=True),
    sa.Column("account_id", KEY, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    _doc(),
    sa.Index("ix_access_states_account", "account_id", "contact_id"),
)
tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("digest", KEY, primary_key=True),
    sa.Column("used_at", UtcDateTime, nullable=True),
    _doc(),
)
gateway_events = sa.Table(
    "gateway_events",
    metadata,
    sa.Column("gateway", KEY, primary_key=True),
    sa.Column("event_id", KEY, primary_key=True),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("processed_at", UtcDateTime, nullable=False),
)
checkouts = sa.Table(
    "checkouts",
    metadata,
    sa.Column("gateway", KEY, primary_key=True),
    sa.Column("session_id", KEY, primary_key=True),
    sa.Column("idempotency_key", KEY, nullable=False),
    sa.Column("invoice_id", KEY, nullable=True),
    _doc(),
    sa.Index("ix_checkouts_key", "idempotency_key", "gateway", "session_id"),
    sa.Index("ix_checkouts_invoice", "invoice_id", "gateway", "session_id"),
)
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", KEY, primary_key=True),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("topic", KEY, nullable=False),
    sa.Column("delivered", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    _doc(),  # the message; ``delivered`` and ``attempts`` live in their columns only
    sa.Index("ix_outbox_pending", "delivered", "occurred_at", "id"),
)
idempotency = sa.Table(
    "idempotency",
    metadata,
    sa.Column("key", KEY, primary_key=True),
    sa.Column("result", sa.Text, nullable=False),
)
