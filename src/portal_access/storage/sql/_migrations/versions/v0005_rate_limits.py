"""Rate limits shared by several workers: one row per key and fixed window.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``rate_limits`` and the index that finds expired windows first."""
    op.create_table(
        "rate_limits",
        sa.Column("key", KEY, primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("expires_at", INSTANT, nullable=False),
    )
    op.create_index("ix_rate_limits_expiry", "rate_limits", ["expires_at", "key", "slot"])


def downgrade() -> None:
    """Drop the rate limits (counts start afresh)."""
    op.drop_table("rate_limits")
