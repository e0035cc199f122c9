"""Saved payment methods, autopay attempts, the catalog, purchase orders, the ledger
account mapping and accounting entries (seeds 001, 003, 004).

Revision ID: 0003
Revises: 0002

New tables only: nothing stored before changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def _doc() -> sa.Column[str]:
    return sa.Column("doc", sa.Text, nullable=False)


def upgrade() -> None:
    """Create the six tables and their lookups."""
    op.create_table(
        "saved_methods",
        sa.Column("contact_id", KEY, primary_key=True),
        sa.Column("gateway", KEY, nullable=False),
        _doc(),
    )
    op.create_index("ix_saved_methods_gateway", "saved_methods", ["gateway", "contact_id"])
    op.create_table(
        "autopay_attempts",
        sa.Column("invoice_id", KEY, primary_key=True),
        sa.Column("method_id", KEY, primary_key=True),
        _doc(),
    )
    op.create_index("ix_autopay_attempts_invoice", "autopay_attempts", ["invoice_id", "method_id"])
    op.create_table(
        "catalog_items",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("for_sale", sa.Boolean, nullable=False),
        sa.Column("name", KEY, nullable=False),
        _doc(),
    )
    op.create_index("ix_catalog_items_sale", "catalog_items", ["for_sale", "name", "id"])
    op.create_table(
        "purchase_orders",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("contact_id", KEY, nullable=False),
        sa.Column("placed_at", INSTANT, nullable=False),
        _doc(),
    )
    op.create_index(
        "ix_purchase_orders_contact", "purchase_orders", ["contact_id", "placed_at", "id"]
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("gateway", KEY, primary_key=True),
        sa.Column("method", KEY, primary_key=True),
        _doc(),
    )
    op.create_index("ix_ledger_accounts_gateway", "ledger_accounts", ["gateway", "method"])
    op.create_table(
        "accounting_entries",
        sa.Column("gateway", KEY, primary_key=True),
        sa.Column("payment_id", KEY, primary_key=True),
        sa.Column("kind", KEY, primary_key=True),
        sa.Column("month", KEY, nullable=False),
        sa.Column("occurred_at", INSTANT, nullable=False),
        sa.Column("unmapped", sa.Boolean, nullable=False),
        _doc(),
    )
    op.create_index(
        "ix_accounting_entries_month",
        "accounting_entries",
        ["month", "occurred_at", "gateway", "payment_id", "kind"],
    )
    op.create_index(
        "ix_accounting_entries_unmapped",
        "accounting_entries",
        ["unmapped", "occurred_at", "gateway", "payment_id", "kind"],
    )


def downgrade() -> None:
    """Drop the six tables."""
    for name in (
        "accounting_entries",
        "ledger_accounts",
        "purchase_orders",
        "catalog_items",
        "autopay_attempts",
        "saved_methods",
    ):
        op.drop_table(name)
