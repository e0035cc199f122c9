"""Summary columns: the account summary's figures as columns of invoices and payments.

Revision ID: 0007
Revises: 0006

The summary sums balances and ages invoices in SQL, and decodes only the invoices and
payments it lists; so each invoice row gets its ``status``, ``currency``, ``balance``
(minor units), ``due_on``, ``contact_id`` and ``site_id``, and each payment row its
``invoice_id``, ``status``, ``amount``, ``currency``, ``recorded_at``, ``contact_id`` and
``site_id``, copied here out of every stored document.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INSTANT = sa.DateTime(timezone=True)
_BATCH = 1000
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_INVOICE_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("status", KEY),
    ("currency", KEY),
    ("balance", sa.Integer),
    ("due_on", sa.Date),
    ("contact_id", KEY),
    ("site_id", KEY),
)
_PAYMENT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("invoice_id", KEY),
    ("status", KEY),
    ("amount", sa.Integer),
    ("currency", KEY),
    ("recorded_at", INSTANT),
    ("contact_id", KEY),
    ("site_id", KEY),
)


def _invoice_values(doc: dict[str, Any]) -> dict[str, Any]:
    total = sum(int(line["amount"]["amount"]) for line in doc["lines"])
    paid = doc.get("amount_paid") or {"amount": 0}
    status = doc.get("status", "open")
    return {
        "status": status,
        "currency": doc["currency"],
        "balance": max(total - int(paid["amount"]), 0) if status == "open" else 0,
        "due_on": date.fromisoformat(doc["due_on"]),
        "contact_id": doc.get("contact_id"),
        "site_id": doc.get("site_id"),
    }


def _payment_values(doc: dict[str, Any], sqlite: bool) -> dict[str, Any]:
    snapshot = doc["snapshot"]
    recorded = doc.get("recorded_at")
    instant = datetime.fromisoformat(recorded).astimezone(UTC) if recorded else _EARLIEST
    return {
        "invoice_id": snapshot["invoice_id"],
        "status": snapshot["status"],
        "amount": int(snapshot["amount"]["amount"]),
        "currency": snapshot["amount"]["currency"],
        "recorded_at": instant.replace(tzinfo=None) if sqlite else instant,
        "contact_id": doc.get("contact_id"),
        "site_id": doc.get("site_id"),
    }


def _fill(name: str, key: tuple[str, ...], columns: tuple[tuple[str, Any], ...]) -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    table = sa.table(
        name,
        *(sa.column(k, KEY) for k in key),
        *(sa.column(c, t) for c, t in columns),
        sa.column("doc", sa.Text),
    )
    update = (
        sa.update(table)
        .where(*(table.c[k] == sa.bindparam(f"key_{k}") for k in key))
        .values({c: sa.bindparam(f"new_{c}") for c, _ in columns})
    )
    rows = connection.execute(sa.select(*(table.c[k] for k in key), table.c.doc)).all()
    changes = []
    for row in rows:
        doc = json.loads(row.doc)
        values = _invoice_values(doc) if name == "invoices" else _payment_values(doc, sqlite)
        change = {f"key_{k}": getattr(row, k) for k in key}
        change |= {f"new_{c}": values[c] for c, _ in columns}
        changes.append(change)
    for start in range(0, len(changes), _BATCH):
        connection.execute(update, changes[start : start + _BATCH])


def upgrade() -> None:
    """Add and fill the columns of invoices and payments."""
    for name, type_ in _INVOICE_COLUMNS:
        op.add_column("invoices", sa.Column(name, type_, nullable=True))
    for name, type_ in _PAYMENT_COLUMNS:
        op.add_column("payments", sa.Column(name, type_, nullable=True))
    _fill("invoices", ("id",), _INVOICE_COLUMNS)
    _fill("payments", ("gateway", "payment_id"), _PAYMENT_COLUMNS)
    with op.batch_alter_table("payments") as batch:
        batch.alter_column("recorded_at", existing_type=INSTANT, nullable=False)
    op.create_index(
        "ix_invoices_status",
        "invoices",
        ["account_id", "status", "contact_id", "site_id", "currency", "due_on", "balance", "id"],
    )
    op.create_index(
        "ix_payments_status",
        "payments",
        [
            "account_id",
            "status",
            "invoice_id",
            "contact_id",
            "site_id",
            "amount",
            "gateway",
            "payment_id",
        ],
    )
    op.create_index(
        "ix_payments_recorded", "payments", ["account_id", "recorded_at", "gateway", "payment_id"]
    )


def downgrade() -> None:
    """Drop the indexes and the columns (the documents still hold every value)."""
    op.drop_index("ix_payments_recorded", table_name="payments")
    op.drop_index("ix_payments_status", table_name="payments")
    op.drop_index("ix_invoices_status", table_name="invoices")
    with op.batch_alter_table("payments") as batch:
        for name, _ in reversed(_PAYMENT_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("invoices") as batch:
        for name, _ in reversed(_INVOICE_COLUMNS):
            batch.drop_column(name)
