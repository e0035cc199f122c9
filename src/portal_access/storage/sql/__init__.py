"""The SQL store: SQLite embedded by default, PostgreSQL for several workers.

One adapter on SQLAlchemy 2 Core (not the ORM) for both databases, with its schema
migrations (Alembic) shipped in the package::

    from portal_access.storage.sql import SqlStore

    store = SqlStore("portal.db", create=True)               # SQLite file
    store = SqlStore("postgresql://app@db/portal")            # PostgreSQL (psycopg 3)

Create or upgrade a database with :func:`upgrade` or ``python -m portal_access db
upgrade --url URL``; a store refuses a schema older or newer than it understands. A
unit of work's ``transaction`` is a :class:`SqlTransaction`: host code writes its own
tables in the same commit through ``uow.transaction.connection``.

Needs ``pip install "portal-access[sql]"`` (SQLAlchemy, Alembic), and for PostgreSQL
``pip install "portal-access[postgres]"`` (psycopg 3).
"""

from __future__ import annotations

try:
    import alembic  # noqa: F401 - fail here, with the fix, rather than deep inside
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        'portal_access.storage.sql needs SQLAlchemy and Alembic: pip install "portal-access[sql]" '
        '(for PostgreSQL: pip install "portal-access[postgres]")',
        name=exc.name,
    ) from exc

from portal_access.storage.sql._migrations import current_revision, head_revision, upgrade
from portal_access.storage.sql._store import SqlStore
from portal_access.storage.sql._transaction import SqlTransaction

__all__ = ["SqlStore", "SqlTransaction", "current_revision", "head_revision", "upgrade"]
