"""The first schema: every table, key, uniqueness rule and row-version column.

Revision ID: 0001
Revises: (none)

Written by hand, with the tables as they were at this revision (a migration never
imports the current schema module).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INSTANT = sa.DateTime(timezone=True)
FIRST_INVOICE_NUMBER = 1001


def _doc() -> sa.Column[str]:
    return sa.Column("doc", sa.Text, nullable=False)


def upgrade() -> None:
    """Create every table of the store, and the invoice-number counter row."""
    for name in ("offers", "plans", "account_classes"):
        op.create_table(name, sa.Column("id", KEY, primary_key=True), _doc())
    op.create_table(
        "accounts",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("class_id", KEY, nullable=False),
        _doc(),
    )
    op.create_index("ix_accounts_class", "accounts", ["class_id", "id"])
    op.create_table(
        "sites",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("account_id", KEY, nullable=False),
        _doc(),
    )
    op.create_index("ix_sites_account", "sites", ["account_id", "id"])
    op.create_table(
        "contacts",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("account_id", KEY, nullable=False),
        sa.Column("email_key", KEY, nullable=True),
        _doc(),
    )
    op.create_index("ix_contacts_account", "contacts", ["account_id", "id"])
    op.create_index("ix_contacts_email", "contacts", ["email_key", "id"])
    op.create_table(
        "logins",
        sa.Column("contact_id", KEY, primary_key=True),
        sa.Column("email_key", KEY, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _doc(),
        sa.UniqueConstraint("email_key", name="uq_logins_email_key"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("number_key", KEY, nullable=False),
        sa.Column("account_id", KEY, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        _doc(),
        sa.UniqueConstraint("number_key", name="uq_invoices_number_key"),
    )
    op.create_index("ix_invoices_account", "invoices", ["account_id", "issued_on", "id"])
    counters = op.create_table(
        "counters",
        sa.Column("name", KEY, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(counters, [{"name": "invoice_number", "value": FIRST_INVOICE_NUMBER - 1}])
    op.create_table(
        "payments",
        sa.Column("gateway", KEY, primary_key=True),
        sa.Column("payment_id", KEY, primary_key=True),
        sa.Column("account_id", KEY, nullable=False),
        _doc(),
    )
    op.create_index("ix_payments_account", "payments", ["account_id", "gateway", "payment_id"])
    op.create_table(
        "subscriptions",
        sa.Column("gateway", KEY, primary_key=True),
        sa.Column("subscription_id", KEY, primary_key=True),
        sa.Column("contact_id", KEY, nullable=False),
        _doc(),
    )
    op.create_index(
        "ix_subscriptions_contact", "subscriptions", ["contact_id", "gateway", "subscription_id"]
    )
    op.create_table(
        "access_states",
        sa.Column("contact_id", KEY, primary_key=True),
        sa.Column("account_id", KEY, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _doc(),
    )
    op.create_index("ix_access_states_account", "access_states", ["account_id", "contact_id"])
    op.create_table(
        "tokens",
        sa.Column("digest", KEY, primary_key=True),
        sa.Column("used_at", INSTANT, nullable=True),
        _doc(),
    )
    op.create_table(
        "gateway_events",
        sa.Column("gateway", KEY, primary_key=True),
        sa.Column("event_id", KEY, primary_key=True),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("processed_at", INSTANT, nullable=False),
    )
    op.create_table(
        "checkouts",
        sa.Column("gateway", KEY, primary_key=True),
        sa.Column("session_id", KEY, primary_key=True),
        sa.Column("idempotency_key", KEY, nullable=False),
        _doc(),
    )
    op.create_table(
        "outbox",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("occurred_at", INSTANT, nullable=False),
        sa.Column("topic", KEY, nullable=False),
        sa.Column("delivered", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _doc(),
    )
    op.create_table(
        "idempotency",
        sa.Column("key", KEY, primary_key=True),
        sa.Column("result", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop every table (and so every row): there is nothing before the first schema."""
    for name in (
        "idempotency",
        "outbox",
        "checkouts",
        "gateway_events",
        "tokens",
        "access_states",
        "subscriptions",
        "payments",
        "counters",
        "invoices",
        "logins",
        "contacts",
        "sites",
        "accounts",
        "account_classes",
        "plans",
        "offers",
    ):
        op.drop_table(name)
