"""Outbox leases: when a message is next due and which worker claimed it, and the
index that finds processed-event records oldest first (for ``prune``).

Revision ID: 0008
Revises: 0007

Every stored message becomes due when it occurred (a delivered one: delivered then,
as far as this revision can tell), unclaimed. ``ix_outbox_pending`` now orders by
``due_at`` rather than ``occurred_at``, so a worker claiming messages finds the due
ones first, past those other workers hold.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add and fill ``outbox.due_at`` and ``outbox.claimed_by``; re-index."""
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.add_column("outbox", sa.Column("due_at", INSTANT, nullable=True))
    op.add_column("outbox", sa.Column("claimed_by", KEY, nullable=True))
    outbox = sa.table("outbox", sa.column("occurred_at", INSTANT), sa.column("due_at", INSTANT))
    op.get_bind().execute(sa.update(outbox).values(due_at=outbox.c.occurred_at))
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("due_at", existing_type=INSTANT, nullable=False)
    op.create_index("ix_outbox_pending", "outbox", ["delivered", "due_at", "id"])
    op.create_index(
        "ix_gateway_events_processed", "gateway_events", ["processed_at", "gateway", "event_id"]
    )


def downgrade() -> None:
    """Drop the columns and go back to the index by occurrence."""
    op.drop_index("ix_gateway_events_processed", table_name="gateway_events")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("due_at")
    op.create_index("ix_outbox_pending", "outbox", ["delivered", "occurred_at", "id"])
