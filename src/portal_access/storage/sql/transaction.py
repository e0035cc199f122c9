"""One unit of work's transaction and the base of the SQL repositories.

:class:`SqlTransaction` runs every statement of a unit of work on its one connection,
translates database errors (:mod:`~portal_access.storage.sql.errors`), remembers that a
statement failed (PostgreSQL then refuses everything but a rollback, so the unit of work
must not commit), and refuses use after the unit of work ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from portal_access.domain.errors import PortalAccessError, StorageError
from portal_access.domain.serialization import from_json
from portal_access.storage.sql.errors import translate

__all__ = ["SqlRepository", "SqlTransaction", "load"]

T = TypeVar("T")


def load(doc: str, cls: type[T], key: object) -> T:
    """Decode a stored JSON document into a ``cls``.

    Raises:
        StorageError: the document is not a valid ``cls`` (the row was damaged).
    """
    try:
        return from_json(doc, cls)
    except (PortalAccessError, ValueError, TypeError, KeyError) as exc:
        raise StorageError(f"stored {cls.__name__} {key!r} cannot be read: {exc}") from exc


class SqlTransaction:
    """The connection of one unit of work, open until its block ends.

    Args:
        connection: a connection with a transaction begun.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.open = True
        self.failed = False

    def execute(self, statement: Executable) -> CursorResult[Any]:
        """Run ``statement``.

        Raises:
            StorageError: the unit of work ended, or the database failed.
            StaleStateError: the database asks for a retry (lost race, deadlock).
            ConflictError: an unforeseen unique-key violation.
        """
        if not self.open:
            raise StorageError(
                "this unit of work has ended; use repositories only inside "
                "`with store.unit_of_work() as uow:`"
            )
        try:
            return self.connection.execute(statement)
        except DBAPIError as exc:
            self.failed = True
            raise translate(exc) from exc

    def first(self, statement: Executable) -> Row[Any] | None:
        """The first row of ``statement``, or ``None``."""
        return self.execute(statement).first()

    def all(self, statement: Executable) -> Sequence[Row[Any]]:
        """Every row of ``statement``."""
        return self.execute(statement).all()

    def upsert(self, table: sa.Table, values: Mapping[str, Any]) -> None:
        """Insert ``values`` or, when the primary key exists, replace the other columns."""
        insert = self._insert(table).values(dict(values))
        key = [column.name for column in table.primary_key.columns]
        changes = {name: insert.excluded[name] for name in values if name not in key}
        self.execute(insert.on_conflict_do_update(index_elements=key, set_=changes))

    def insert_new(self, table: sa.Table, values: Mapping[str, Any]) -> bool:
        """Insert ``values`` unless the primary key exists; whether a row was inserted.

        On PostgreSQL a row inserted by a concurrent, uncommitted transaction is waited
        for: if it commits, this returns ``False``. Other unique keys still raise.
        """
        insert = self._insert(table).values(dict(values))
        key = [column.name for column in table.primary_key.columns]
        statement = insert.on_conflict_do_nothing(index_elements=key).execution_options(
            preserve_rowcount=True  # SQLAlchemy keeps an INSERT's rowcount only when asked
        )
        return self.execute(statement).rowcount == 1

    def _insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        return postgresql.insert(table) if self.postgres else sqlite.insert(table)


class SqlRepository:
    """Base of the SQL repositories: statements on one unit of work's transaction.

    Args:
        tx: the unit of work's transaction.
    """

    def __init__(self, tx: SqlTransaction) -> None:
        self._tx = tx
