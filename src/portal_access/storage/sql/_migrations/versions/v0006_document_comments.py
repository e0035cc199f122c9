"""Document comments: contacts' and staff's comments on invoices and statements.

Revision ID: 0006
Revises: 0005

A new table, listed per document (``document_key`` is ``"<kind>:<id>"``) in the order
of ``number``, from the ``comment_number`` counter (created on first use).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    """Create ``document_comments`` and its lookup by document."""
    op.create_table(
        "document_comments",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("document_key", KEY, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_document_comments_document", "document_comments", ["document_key", "number", "id"]
    )


def downgrade() -> None:
    """Drop the table (its comments with it)."""
    op.drop_index("ix_document_comments_document", table_name="document_comments")
    op.drop_table("document_comments")
