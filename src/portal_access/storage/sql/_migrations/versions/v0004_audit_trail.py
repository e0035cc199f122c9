"""The audit trail: one row per staff action or access change, never changed.

Revision ID: 0004
Revises: 0003

Before this revision the trail was only delivered as ``audit.recorded`` events; there
is nothing stored to copy in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``audit_entries`` and its three lookups (by contact, by account, by time)."""
    op.create_table(
        "audit_entries",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("occurred_at", INSTANT, nullable=False),
        sa.Column("batch", KEY, nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("contact_id", KEY, nullable=True),
        sa.Column("account_id", KEY, nullable=True),
        sa.Column("doc", sa.Text, nullable=False),
    )
    order = ["occurred_at", "batch", "ordinal", "id"]
    op.create_index("ix_audit_entries_contact", "audit_entries", ["contact_id", *order])
    op.create_index("ix_audit_entries_account", "audit_entries", ["account_id", *order])
    op.create_index("ix_audit_entries_time", "audit_entries", order)


def downgrade() -> None:
    """Drop the audit trail (its entries are lost)."""
    op.drop_table("audit_entries")
