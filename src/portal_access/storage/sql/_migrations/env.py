"""Alembic's entry point for the shipped migrations (run by Alembic, not imported).

It runs on the connection that :func:`~portal_access.storage.sql._migrations.alembic_config`
put in ``config.attributes["connection"]``, in one transaction. On PostgreSQL that
transaction first takes an advisory lock, so processes that start at once (several web
workers, each with ``create=True``) upgrade one after another; on SQLite every
transaction begins ``IMMEDIATE``, which has the same effect.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

__all__ = ["MIGRATION_LOCK", "run_migrations"]

#: The PostgreSQL advisory lock key held while migrating ("portal-a" as an integer).
MIGRATION_LOCK = 0x706F7274616C2D61


def run_migrations() -> None:
    """Run the migrations Alembic was asked for on the configured connection.

    Raises:
        RuntimeError: Alembic runs offline (``--sql``) or without a connection.
    """
    if context.is_offline_mode():
        raise RuntimeError("portal-access migrations run online only (no --sql)")
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run the migrations through portal_access.storage.sql.upgrade()")
    context.configure(connection=connection, transaction_per_migration=False)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


if hasattr(context, "config"):  # Alembic set up its context: we are being run
    run_migrations()
