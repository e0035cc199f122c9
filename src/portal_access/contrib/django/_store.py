"""The ORM store: :class:`DjangoStore`, the store port on the host's Django database.

Every transaction is a ``transaction.atomic`` block on the ``using`` alias: inside a
block of the host's own (``ATOMIC_REQUESTS``, a view's ``atomic``, a ``TestCase``) it
is a savepoint, and commits or rolls back with the host's work. What must wait for that
commit waits for it (:class:`~portal_access.ports.AfterCommit`,
``transaction.on_commit``): the service's delivery of the outbox, emails and signals,
runs once the host's block commits and never when it rolls back; and the outcomes of
earlier deliveries are not written in a block the host may roll back. How concurrent
workers stay correct is the SQL store's recipe, through the ORM:

- a unique key or unique lookup taken is found by the database: each insert runs in a
  savepoint, and an ``IntegrityError`` is the port's ``False`` (the transaction goes
  on); the transaction that loses waits for the winner's commit on PostgreSQL, as
  ``INSERT ... ON CONFLICT DO NOTHING`` would;
- row versions: ``UPDATE ... WHERE version = <read>``;
- ``select_for_update()`` (and ``skip_locked=True``) where the repositories ask for
  :class:`~portal_access.ports.Lock`: payments, subscriptions, invoices, tokens,
  outbox messages read then written;
- counters: ``UPDATE ... SET value = value + 1``, which locks the counter's row.

Its transactions also compute the account summary's sums and newest rows in the
database (:class:`~portal_access.ports.AggregateReads`): one ``GROUP BY`` or one
``ORDER BY ... DESC LIMIT`` query each.

PostgreSQL's serialization failures and deadlocks become
:class:`~portal_access.StaleStateError` (the service runs the use case again); other
database errors :class:`~portal_access.StorageError`. On SQLite, set
``"OPTIONS": {"transaction_mode": "IMMEDIATE"}`` so writers queue (check
``portal_access.W001``).

Keys compare by code point, as Python's ``sorted`` does: SQLite's default collation
does already; on PostgreSQL ordering by a text column uses ``COLLATE "C"``.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, F, Model, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Collate

from portal_access import ConflictError, StaleStateError, StorageError
from portal_access.contrib.django.models import MODELS, Counter
from portal_access.ports import (
    Committed,
    Index,
    Key,
    Lock,
    Row,
    Scalar,
    Table,
    Total,
    Where,
)
from portal_access.repositories import (
    DEFAULT_DOCUMENT_CACHE_SIZE,
    DEFAULT_ROW_CACHE_SIZE,
    DocumentCache,
)

__all__ = ["DjangoStore", "DjangoTransaction", "translate"]

log = logging.getLogger("portal_access")

#: SQLSTATEs that mean "another transaction won; run yours again".
_LOST_RACE_STATES = frozenset({"40001", "40P01", "55P03"})


def translate(error: DatabaseError) -> StorageError | ConflictError:
    """The portal-access error for a Django database error (raise it ``from error``)."""
    cause = error.__cause__ or error
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    detail = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    if state in _LOST_RACE_STATES:
        return StaleStateError(f"the database asked for a retry: {detail}")
    if isinstance(error, IntegrityError):
        return ConflictError(f"a row with these values exists: {detail}")
    return StorageError(f"the database failed: {detail}")


def _to_database(value: Scalar) -> Any:
    """An instant as Django stores it: in UTC (naive when ``USE_TZ`` is off)."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC)
        return utc if settings.USE_TZ else utc.replace(tzinfo=None)
    return value


class _Shape:
    """What the store reads and writes of one table's model."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.model: type[Model] = MODELS[table.name]
        self.columns = tuple(column.name for column in table.columns)
        self.instants = frozenset(c.name for c in table.columns if c.type is datetime)
        self.texts = frozenset(c.name for c in table.columns if c.type is str)
        fields = list(self.columns)
        if table.versioned:
            fields.append("version")
        if table.document:
            fields.append("doc")
        self.fields = tuple(fields)
        self.db_table: str = self.model._meta.db_table

    def scalar(self, name: str, value: Any) -> Scalar:
        """A value read from column ``name``: instants timezone-aware in UTC."""
        if name in self.instants and isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value  # type: ignore[no-any-return]

    def row(self, found: Sequence[Any]) -> Row:
        values: dict[str, Scalar] = dict(zip(self.columns, found, strict=False))
        for name in self.instants:
            value = values[name]
            if isinstance(value, datetime) and value.tzinfo is None:
                values[name] = value.replace(tzinfo=UTC)
        at = len(self.columns)
        version = found[at] if self.table.versioned else 0
        doc = found[-1] if self.table.document else None
        return Row(values, doc, version)

    def writes(self, row: Row) -> dict[str, Any]:
        values = {name: _to_database(row.values[name]) for name in self.columns}
        if self.table.versioned:
            values["version"] = row.version
        if self.table.document:
            values["doc"] = row.doc
        return values

    def by_key(self, key: Key) -> dict[str, Any]:
        return {name: _to_database(value) for name, value in zip(self.table.key, key, strict=True)}


_SHAPES: dict[str, _Shape] = {}


def _shape(table: Table) -> _Shape:
    found = _SHAPES.get(table.name)
    if found is None or found.table is not table:
        if table.name not in MODELS:
            raise StorageError(f"no model keeps the table {table.name!r}")
        found = _SHAPES[table.name] = _Shape(table)
    return found


class DjangoTransaction:
    """One ``transaction.atomic`` block of a :class:`DjangoStore` (a
    :class:`~portal_access.ports.StoreTransaction`).

    A host may write its own models in the same block (they commit or roll back with
    the use case): ``uow.transaction.using`` is the database alias.

    Args:
        using: the database alias.
        connection: its connection, in the block.
        joined: the block is a savepoint of a transaction the host opened (its own
            ``atomic`` block, or autocommit turned off), which the host commits.
    """

    def __init__(
        self, using: str, connection: BaseDatabaseWrapper, *, joined: bool = False
    ) -> None:
        self.using = using
        self.open = True
        self.failed = False
        self.joined = joined
        self._postgres = connection.vendor == "postgresql"

    @property
    def wrote(self) -> bool:
        """Whether leaving this block commits (the service then writes the outcomes of
        earlier deliveries in it too): not when it is a savepoint of the host's
        transaction. The host may roll that back, and outcomes written there would be
        lost with it (their messages delivered again once their claims' leases end):
        they wait for a transaction that commits on its own, or for their own."""
        return not self.joined

    def _objects(self, shape: _Shape) -> QuerySet[Any]:
        self._check_open()
        return shape.model._default_manager.using(self.using)

    def get(self, table: Table, key: Key, *, lock: Lock = Lock.NONE) -> Row | None:
        """The row with ``key``, or ``None``; a lock is ``select_for_update()``."""
        shape = _shape(table)
        found = self._objects(shape).filter(**shape.by_key(key))
        if lock is not Lock.NONE:
            found = found.select_for_update(skip_locked=lock is Lock.SKIP)
        rows = self._run(lambda: list(found.values_list(*shape.fields)[:1]))
        return shape.row(rows[0]) if rows else None

    def totals(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        by: Sequence[str],
        sums: Sequence[str] = (),
        where: Where | None = None,
        min_count: int = 1,
    ) -> Sequence[Total]:
        """One ``SELECT by..., SUM(..), COUNT(*) ... GROUP BY by...`` with the groups of
        ``min_count`` rows or more (:class:`~portal_access.ports.AggregateReads`)."""
        shape = _shape(table)
        selected = self._selected(shape, index, values, where)
        if selected is None:
            return []
        added = {f"pa_sum_{n}": Coalesce(Sum(name), 0) for n, name in enumerate(sums)}
        if by:
            grouped = selected.order_by().values(*by).annotate(**added, pa_rows=Count("*"))
            listed = grouped.filter(pa_rows__gte=min_count).values_list(*by, *added, "pa_rows")
            found: list[Sequence[Any]] = self._run(lambda: list(listed))
        else:  # one group of every row
            figures = self._run(lambda: selected.aggregate(**added, pa_rows=Count("*")))
            found = [(*(figures[name] for name in added), figures["pa_rows"])]
        width = len(by)
        return [
            Total(
                tuple(shape.scalar(name, value) for name, value in zip(by, row, strict=False)),
                tuple(int(n) for n in row[width:-1]),
                int(row[-1]),
            )
            for row in found
            if int(row[-1]) >= max(min_count, 1)
        ]

    def newest(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        order: Sequence[str],
        limit: int | None = None,
        where: Where | None = None,
    ) -> Sequence[Row]:
        """One ``SELECT ... ORDER BY order... DESC, key DESC LIMIT n``
        (:class:`~portal_access.ports.AggregateReads`)."""
        shape = _shape(table)
        selected = self._selected(shape, index, values, where)
        if selected is None:
            return []
        ordering = [term.desc() for term in self._ordering(shape, (*order, *table.key), f=True)]
        listed = selected.order_by(*ordering).values_list(*shape.fields)
        if limit is not None:
            listed = listed[:limit]
        return [shape.row(row) for row in self._run(lambda: list(listed))]

    def _selected(
        self, shape: _Shape, index: Index, values: Sequence[Scalar], where: Where | None
    ) -> QuerySet[Any] | None:
        """The rows ``index`` selects for ``values`` that pass ``where`` (``None`` among a
        column's values: a null); ``None`` when nothing can match."""
        wanted = dict(zip(index.equal, values, strict=True))
        if any(value is None for value in wanted.values()):
            return None
        found = self._objects(shape).filter(
            **{name: _to_database(value) for name, value in wanted.items()}
        )
        for name, allowed in (where or {}).items():
            given = [_to_database(value) for value in allowed if value is not None]
            choices = Q(**{f"{name}__in": given}) if given else Q(pk__in=[])
            if len(given) != len(list(allowed)):
                choices |= Q(**{f"{name}__isnull": True})
            found = found.filter(choices)
        return found

    def find(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        limit: int | None = None,
        lock: Lock = Lock.NONE,
    ) -> Sequence[Row]:
        """The rows ``index`` selects for ``values``, in index order, at most ``limit``."""
        shape = _shape(table)
        wanted = dict(zip(index.equal, values, strict=True))
        if any(value is None for value in wanted.values()):
            return []  # None finds nothing, as SQL's "="
        found = self._objects(shape).filter(
            **{name: _to_database(value) for name, value in wanted.items()}
        )
        found = found.order_by(*self._ordering(shape, index.order + table.key))
        if lock is not Lock.NONE:
            found = found.select_for_update(skip_locked=lock is Lock.SKIP)
        listed = found.values_list(*shape.fields)
        if limit is not None:
            listed = listed[:limit]
        return [shape.row(row) for row in self._run(lambda: list(listed))]

    def insert(self, table: Table, row: Row) -> bool:
        """Add ``row`` in a savepoint; ``False`` when a unique key or lookup is taken."""
        shape = _shape(table)
        objects = self._objects(shape)
        try:
            with transaction.atomic(using=self.using):
                objects.create(**shape.writes(row))
        except IntegrityError:
            return False
        except DatabaseError as exc:
            self.failed = True
            raise translate(exc) from exc
        return True

    def update(self, table: Table, row: Row, *, expected_version: int | None = None) -> bool:
        """``UPDATE`` by key (and version); ``False`` when no row matched.

        Raises:
            ConflictError: ``row`` takes a unique lookup's values held by another row.
        """
        shape = _shape(table)
        matching = self._objects(shape).filter(**shape.by_key(table.key_of(row.values)))
        if expected_version is not None:
            matching = matching.filter(version=expected_version)
        changes = shape.writes(row)
        for name in table.key:
            del changes[name]
        if not changes:  # a table of keys only: nothing to write but the match
            return bool(self._run(matching.exists))
        try:
            with transaction.atomic(using=self.using):
                count = matching.update(**changes)
        except DatabaseError as exc:
            self.failed = True
            raise translate(exc) from exc
        return count == 1

    def delete(self, table: Table, key: Key) -> bool:
        """``DELETE`` by key; ``False`` when there was no row."""
        shape = _shape(table)
        matching = self._objects(shape).filter(**shape.by_key(key))
        deleted, _by_model = self._run(matching.delete)
        return bool(deleted)

    def next_value(self, counter: str, *, first: int) -> int:
        """One more than the counter row's value (the ``UPDATE`` locks it until the
        transaction ends), or ``first`` in a new row."""
        self._check_open()
        counters = Counter.objects.using(self.using).filter(name=counter)
        while True:
            if self._run(lambda: counters.update(value=F("value") + 1)):
                return int(self._run(lambda: counters.values_list("value", flat=True).get()))
            try:
                with transaction.atomic(using=self.using):
                    Counter.objects.using(self.using).create(name=counter, value=first)
            except IntegrityError:
                continue  # a concurrent transaction created the row: take the next value
            except DatabaseError as exc:
                self.failed = True
                raise translate(exc) from exc
            return first

    def close(self) -> None:
        """End: later calls raise :class:`~portal_access.StorageError`."""
        self.open = False

    def _ordering(self, shape: _Shape, names: Sequence[str], *, f: bool = False) -> list[Any]:
        """``names`` to ``order_by`` (as expressions when ``f``): code-point order."""
        if not self._postgres:
            return [F(name) for name in names] if f else list(names)
        return [Collate(F(name), "C") if name in shape.texts else F(name) for name in names]

    def _run(self, action: Any) -> Any:
        try:
            return action()
        except DatabaseError as exc:
            self.failed = True
            raise translate(exc) from exc

    def _check_open(self) -> None:
        if not self.open:
            raise StorageError(
                "this unit of work has ended; use repositories only inside "
                "`with unit_of_work(store) as uow:`"
            )


class DjangoStore:
    """A :class:`~portal_access.ports.Store` in the host's Django database, in the tables
    of this app's models and migrations (``manage.py migrate`` creates them).

    Args:
        using: the ``DATABASES`` alias (``PORTAL_ACCESS["DATABASE"]``).
        access_cache_size: how many decoded access states the hot path keeps.
        document_cache_size: how many decoded documents units of work keep.

    Transactions do not nest within a thread (a unit of work inside another raises
    :class:`~portal_access.StorageError`), but one may run inside the host's own
    ``transaction.atomic`` block, as a savepoint of it; :meth:`after_commit` then waits
    for the host's commit (:class:`~portal_access.ports.AfterCommit`).

    :meth:`read_committed`, the hot path, reads on the thread's connection: inside the
    host's own atomic block (a ``TestCase``, ``ATOMIC_REQUESTS``) it sees that block's
    writes, as the host's code does (and the version it returns then also names the
    document, so caches never mistake a rolled-back row for a later one of the same
    version); while one of this store's transactions is open in the thread it reads on
    a second connection, which sees only committed rows.
    """

    def __init__(
        self,
        using: str = "default",
        *,
        access_cache_size: int = DEFAULT_ROW_CACHE_SIZE,
        document_cache_size: int = DEFAULT_DOCUMENT_CACHE_SIZE,
    ) -> None:
        self.using = using
        #: The decoded documents this store's units of work share.
        self.documents = DocumentCache(document_cache_size, rows=access_cache_size)
        self._local = threading.local()
        self._reads: dict[tuple[str, str], str] = {}

    @contextmanager
    def transaction(self) -> Iterator[DjangoTransaction]:
        """Begin a ``transaction.atomic`` block; leaving it commits, an exception rolls
        back (and propagates unchanged).

        Raises:
            StaleStateError: the commit lost a race the caller may retry.
            StorageError: the database failed, a transaction of this store is already
                open in this thread, or a statement failed and the block carried on.
        """
        if getattr(self._local, "open", False):
            raise StorageError(
                "a unit of work is already open in this thread; finish it before starting another"
            )
        self._local.open = True
        try:
            atomic = transaction.atomic(using=self.using)
            try:
                connection = connections[self.using]
                joined = connection.in_atomic_block or not connection.get_autocommit()
                atomic.__enter__()
                tx = DjangoTransaction(self.using, connection, joined=joined)
            except DatabaseError as exc:
                raise translate(exc) from exc
            try:
                yield tx
            except BaseException as exc:
                tx.close()
                atomic.__exit__(type(exc), exc, exc.__traceback__)
                raise
            tx.close()
            if tx.failed:
                failed = StorageError(
                    "a statement of this unit of work failed and the block went on; "
                    "nothing was committed"
                )
                atomic.__exit__(StorageError, failed, None)
                raise failed
            try:
                atomic.__exit__(None, None, None)
            except DatabaseError as exc:
                raise translate(exc) from exc
        finally:
            self._local.open = False

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` once the host's transaction on ``using`` commits
        (:class:`~portal_access.ports.AfterCommit`): ``transaction.on_commit``, so at
        once outside an atomic block (an exception then propagates), after the outermost
        block commits inside one (an exception is then logged), and never when the block
        it was registered in rolls back.

        With autocommit turned off and no atomic block (the host commits by hand, when
        Django cannot tell), ``callback`` is not called: a warning says so, and what it
        would have delivered waits in the outbox for ``deliver_outbox()`` (messages a use
        case claimed, until their claim's lease ends).
        """
        connection = connections[self.using]
        if connection.in_atomic_block:
            transaction.on_commit(lambda: _after_commit(callback), using=self.using)
        elif connection.get_autocommit():
            callback()
        else:
            log.warning(
                "portal_access: autocommit is off on the database %r: the outbox is not "
                "delivered now (it waits for deliver_outbox() after your commit)",
                self.using,
            )

    def read_committed(self, table: Table, key: Key) -> Committed | None:
        """The row's ``(doc, version)``: one primary-key read through the connection's
        cursor (see the class docstring for which connection).

        Raises:
            StorageError: the database could not be read.
        """
        beside = getattr(self._local, "open", False)
        # a second connection (closed after the read) beside this thread's transaction
        connection = connections.create_connection(self.using) if beside else None
        try:
            if connection is not None:
                return self._read(table, key, connection)
            connection = connections[self.using]
            found = self._read(table, key, connection)
            if found is None or not connection.in_atomic_block:
                return found
            # Inside the host's own atomic block (a TestCase, ATOMIC_REQUESTS) the row may
            # be one that block wrote and will roll back, and another may later hold the
            # same version: a version that names the document too keeps the decoded-state
            # and decision caches from serving one for the other.
            doc, version = found
            return doc, -((version << 32) | zlib.crc32((doc or "").encode()))
        finally:
            if beside and connection is not None:
                connection.close()

    def _read(self, table: Table, key: Key, connection: BaseDatabaseWrapper) -> Committed | None:
        sql = self._reads.get((table.name, connection.vendor))
        if sql is None:
            sql = self._read_sql(table, connection)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, [_to_database(value) for value in key])
                found = cursor.fetchone()
        except DatabaseError as exc:
            raise translate(exc) from exc
        return None if found is None else (found[0], found[1])

    def _read_sql(self, table: Table, connection: BaseDatabaseWrapper) -> str:
        shape = _shape(table)
        quote = connection.ops.quote_name
        doc = quote("doc") if table.document else "NULL"
        version = quote("version") if table.versioned else "0"
        where = " AND ".join(f"{quote(name)} = %s" for name in table.key)
        sql = f"SELECT {doc}, {version} FROM {quote(shape.db_table)} WHERE {where}"  # noqa: S608 - names from the declared tables
        self._reads[(table.name, connection.vendor)] = sql
        return sql

    def tables(self) -> Mapping[str, type[Model]]:
        """The model of each table, by table name."""
        return MODELS


def _after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` after the host's commit: a failure is logged, never raised into
    the host's code (its block has committed; Django would skip its other callbacks)."""
    try:
        callback()
    except Exception:
        log.exception("portal_access: a job run after the host's commit failed")
