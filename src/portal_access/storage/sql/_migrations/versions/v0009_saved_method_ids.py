"""Saved methods by the gateway's id: a ``method_id`` column and its lookup.

Revision ID: 0009
Revises: 0008

A vendor's report that a method was removed without saying whose it was (Stripe's
``payment_method.detached``) finds the row holding that method in one lookup of
``ix_saved_methods_method`` (gateway, method id), rather than by reading every method
its gateway keeps. Each stored row gets its ``method_id`` (the vendor's id of the
contact's newest method, removed or not) copied here out of its document.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
_BATCH = 1000


def _fill() -> None:
    """Copy each row's method id out of its document, a batch of rows at a time."""
    connection = op.get_bind()
    table = sa.table(
        "saved_methods",
        sa.column("contact_id", KEY),
        sa.column("method_id", KEY),
        sa.column("doc", sa.Text),
    )
    update = (
        sa.update(table)
        .where(table.c.contact_id == sa.bindparam("key_contact_id"))
        .values(method_id=sa.bindparam("new_method_id"))
    )
    rows = connection.execute(sa.select(table.c.contact_id, table.c.doc)).all()
    changes = [
        {"key_contact_id": row.contact_id, "new_method_id": json.loads(row.doc)["method_id"]}
        for row in rows
    ]
    for start in range(0, len(changes), _BATCH):
        connection.execute(update, changes[start : start + _BATCH])


def upgrade() -> None:
    """Add and fill ``saved_methods.method_id``; index it after the gateway."""
    op.add_column("saved_methods", sa.Column("method_id", KEY, nullable=True))
    _fill()
    with op.batch_alter_table("saved_methods") as batch:
        batch.alter_column("method_id", existing_type=KEY, nullable=False)
    op.create_index(
        "ix_saved_methods_method", "saved_methods", ["gateway", "method_id", "contact_id"]
    )


def downgrade() -> None:
    """Drop the index and the column (the documents still hold every method id)."""
    op.drop_index("ix_saved_methods_method", table_name="saved_methods")
    with op.batch_alter_table("saved_methods") as batch:
        batch.drop_column("method_id")
