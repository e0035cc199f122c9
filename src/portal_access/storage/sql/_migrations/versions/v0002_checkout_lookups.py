"""Checkout lookups: the checkout's invoice as a column, and the indexes that find
pending outbox messages and checkout pages by idempotency key and by invoice.

Revision ID: 0002
Revises: 0001

At 0001 a page was found by its invoice only by reading every page's document; this
revision copies ``invoice_id`` out of each stored document into its own column.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
_BATCH = 1000


def upgrade() -> None:
    """Add and fill ``checkouts.invoice_id``; add the lookup indexes."""
    op.add_column("checkouts", sa.Column("invoice_id", KEY, nullable=True))
    checkouts = sa.table(
        "checkouts",
        sa.column("gateway", KEY),
        sa.column("session_id", KEY),
        sa.column("invoice_id", KEY),
        sa.column("doc", sa.Text),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(checkouts.c.gateway, checkouts.c.session_id, checkouts.c.doc)
    ).all()
    update = (
        sa.update(checkouts)
        .where(
            checkouts.c.gateway == sa.bindparam("key_gateway"),
            checkouts.c.session_id == sa.bindparam("key_session"),
        )
        .values(invoice_id=sa.bindparam("new_invoice_id"))
    )
    changes = [
        {"key_gateway": r.gateway, "key_session": r.session_id, "new_invoice_id": invoice_id}
        for r in rows
        if (invoice_id := json.loads(r.doc).get("invoice_id")) is not None
    ]
    for start in range(0, len(changes), _BATCH):
        connection.execute(update, changes[start : start + _BATCH])
    op.create_index("ix_checkouts_key", "checkouts", ["idempotency_key", "gateway", "session_id"])
    op.create_index("ix_checkouts_invoice", "checkouts", ["invoice_id", "gateway", "session_id"])
    op.create_index("ix_outbox_pending", "outbox", ["delivered", "occurred_at", "id"])


def downgrade() -> None:
    """Drop the indexes and the column (the documents still hold the invoice)."""
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_index("ix_checkouts_invoice", table_name="checkouts")
    op.drop_index("ix_checkouts_key", table_name="checkouts")
    with op.batch_alter_table("checkouts") as batch:
        batch.drop_column("invoice_id")
