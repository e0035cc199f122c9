"""Translating database errors into portal-access errors, at the adapter's edge.

- PostgreSQL serialization failures (``40001``), deadlocks (``40P01``) and lock
  timeouts (``55P03``) are lost races: :class:`~portal_access.StaleStateError`, which
  :func:`portal_access._service.context.run` answers by running the use case again.
- A unique-key violation (``23505``, SQLite's ``UNIQUE constraint failed``) that a
  repository did not foresee is a :class:`~portal_access.ConflictError`.
- Everything else (a lost connection, a locked SQLite file past the busy timeout, a
  missing table) is a :class:`~portal_access.StorageError` that says what failed.

>>> translate(ValueError("not a database error")).__class__.__name__
'StorageError'
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

from portal_access._domain.errors import ConflictError, StaleStateError, StorageError

__all__ = ["LOST_RACE_STATES", "UNIQUE_VIOLATION", "sqlstate", "translate"]

#: SQLSTATEs that mean "another transaction won; run yours again".
LOST_RACE_STATES = frozenset({"40001", "40P01", "55P03"})
#: SQLSTATE of a unique-key violation.
UNIQUE_VIOLATION = "23505"


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error (psycopg), or ``None`` (SQLite has none)."""
    original = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    state = getattr(original, "sqlstate", None)
    return state if isinstance(state, str) else None


def _unique_violation(error: BaseException) -> bool:
    original = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    if isinstance(original, sqlite3.IntegrityError):
        return "UNIQUE constraint failed" in str(original)
    return sqlstate(error) == UNIQUE_VIOLATION


def translate(error: BaseException) -> StorageError | ConflictError:
    """The portal-access error for a database error (raise it ``from error``)."""
    original = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    detail = str(original).strip().splitlines()[0] if str(original).strip() else repr(original)
    if sqlstate(error) in LOST_RACE_STATES:
        return StaleStateError(f"the database asked for a retry: {detail}")
    if _unique_violation(error):
        return ConflictError(f"a row with this key exists: {detail}")
    return StorageError(f"the database failed: {detail}")
