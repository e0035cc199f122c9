"""One unit of work's transaction and the base of the SQL repositories.

:class:`SqlTransaction` runs every statement of a unit of work on its one connection
(prepared :mod:`~portal_access.storage.sql._statements`, or any Core statement),
translates database errors (:mod:`~portal_access.storage.sql._errors`), remembers that a
statement failed (PostgreSQL then refuses everything but a rollback, so the unit of work
must not commit), and refuses use after the unit of work ended.
"""

from __future__ import annotations

import contextlib
import logging
import types
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from portal_access._domain.errors import StorageError
from portal_access.storage._documents import DocumentCache
from portal_access.storage.sql._errors import translate
from portal_access.storage.sql._statements import Statement, Upsert

__all__ = ["SqlRepository", "SqlTransaction"]

T = TypeVar("T")

_NO_VALUES: Mapping[str, Any] = types.MappingProxyType({})
_FIRST, _ALL, _COUNT = range(3)
#: SQLAlchemy keeps the row count of a driver-level statement only when asked.
_KEEP_ROWCOUNT: Mapping[str, Any] = types.MappingProxyType({"preserve_rowcount": True})


class SqlTransaction:
    """The connection of one unit of work, open until its block ends.

    Repositories run prepared :class:`~.statements.Statement` objects (:meth:`first`,
    :meth:`all`, :meth:`count`) on the driver's cursor: SQLAlchemy's per-statement
    machinery costs several times the statement itself, so it is used only while
    someone watches statements (``echo``, SQL logging at INFO, or a
    ``before_cursor_execute`` / ``after_cursor_execute`` listener when the unit of work
    began), and they see every statement then. Either way a driver error is translated
    (:mod:`~portal_access.storage.sql._errors`) and a lost connection is invalidated, so
    the pool never hands it out again. :meth:`execute` runs any Core statement.

    Repositories encode and decode their documents through :meth:`encode` and
    :meth:`decode`, which remember recent documents in the store's
    :class:`~portal_access.storage._documents.DocumentCache`.

    Args:
        connection: a connection with a transaction begun.
        documents: the store's cache of decoded documents.
    """

    def __init__(self, connection: Connection, documents: DocumentCache) -> None:
        self.connection = connection
        self._documents = documents
        self.dialect = connection.dialect
        self.postgres = self.dialect.name == "postgresql"
        self.open = True
        self.failed = False
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None  # a connection in a transaction has one
        self._dbapi_connection = dbapi_connection
        self._cursor: Any = None
        self._errors = self.dialect.loaded_dbapi.Error
        dispatch = connection.dispatch
        self._watched = bool(
            dispatch.before_cursor_execute
            or dispatch.after_cursor_execute
            or connection.engine.logger.isEnabledFor(logging.INFO)
        )

    def execute(self, statement: Executable) -> CursorResult[Any]:
        """Run a Core ``statement``.

        Raises:
            StorageError: the unit of work ended, or the database failed.
            StaleStateError: the database asks for a retry (lost race, deadlock).
            ConflictError: an unforeseen unique-key violation.
        """
        self._check_open()
        try:
            return self.connection.execute(statement)
        except DBAPIError as exc:
            self.failed = True
            raise translate(exc) from exc

    def first(
        self, statement: Statement, values: Mapping[str, Any] = _NO_VALUES
    ) -> tuple[Any, ...] | None:
        """The first row of ``statement`` (values in column order), or ``None``.

        Raises:
            StorageError: the unit of work ended, or the database failed.
            StaleStateError: the database asks for a retry (lost race, deadlock).
            ConflictError: an unforeseen unique-key violation.
        """
        row = self._run(statement, values, _FIRST)
        return None if row is None else tuple(row)

    def all(
        self, statement: Statement, values: Mapping[str, Any] = _NO_VALUES
    ) -> list[tuple[Any, ...]]:
        """Every row of ``statement`` (as :meth:`first`)."""
        return [tuple(row) for row in self._run(statement, values, _ALL)]

    def count(self, statement: Statement, values: Mapping[str, Any] = _NO_VALUES) -> int:
        """How many rows ``statement`` (an ``INSERT``, ``UPDATE`` or ``DELETE``) changed
        (as :meth:`first`)."""
        count: int = self._run(statement, values, _COUNT)
        return count

    def upsert(self, statement: Upsert, values: Mapping[str, Any]) -> None:
        """Insert or replace a row by primary key (as :meth:`first`), leaving its index
        entries alone when the indexed columns did not change."""
        if statement.keeping is None or self.count(statement.keeping, values) != 1:
            self.count(statement.replacing, values)

    def encode(self, value: object) -> str:
        """``value`` as the JSON document to store (a frozen value: see
        :class:`~portal_access.storage._documents.DocumentCache`)."""
        return self._documents.encode(value)

    def decode(self, doc: str, cls: type[T], key: object) -> T:
        """The ``cls`` a stored document holds (``key`` names the row in errors).

        Raises:
            StorageError: the document is not a valid ``cls`` (the row was damaged).
        """
        return self._documents.decode(doc, cls, key)

    def close(self) -> None:
        """End: later statements raise :class:`~portal_access.StorageError`."""
        self.open = False
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            with contextlib.suppress(Exception):  # the connection may be gone
                cursor.close()

    def _run(self, statement: Statement, values: Mapping[str, Any], want: int) -> Any:
        self._check_open()
        compiled = statement.compiled(self.dialect)
        parameters = compiled.parameters(values)
        if self._watched:
            return self._run_watched(compiled.sql, parameters, want)
        cursor = self._cursor
        try:
            if cursor is None:
                cursor = self._cursor = self._dbapi_connection.cursor()
            cursor.execute(compiled.sql, parameters)
            if want == _FIRST:
                return cursor.fetchone()
            return cursor.fetchall() if want == _ALL else cursor.rowcount
        except self._errors as exc:
            self.failed = True
            if self.dialect.is_disconnect(exc, self._dbapi_connection, cursor):
                self.connection.invalidate(exc)
            raise translate(exc) from exc

    def _run_watched(self, sql: str, parameters: Any, want: int) -> Any:
        try:
            result = self.connection.exec_driver_sql(sql, parameters, _KEEP_ROWCOUNT)
            if want == _FIRST:
                return result.first()
            return result.all() if want == _ALL else result.rowcount
        except DBAPIError as exc:
            self.failed = True
            raise translate(exc) from exc

    def _check_open(self) -> None:
        if not self.open:
            raise StorageError(
                "this unit of work has ended; use repositories only inside "
                "`with store.unit_of_work() as uow:`"
            )


class SqlRepository:
    """Base of the SQL repositories: statements on one unit of work's transaction.

    Args:
        tx: the unit of work's transaction.
    """

    def __init__(self, tx: SqlTransaction) -> None:
        self._tx = tx
