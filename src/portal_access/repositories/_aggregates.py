"""Sums and newest rows: from the store when it can compute them, else from ``find``.

:class:`~portal_access.ports.AggregateReads` is an optional capability of a store
transaction (the SQL store has it): one ``GROUP BY`` or one ``ORDER BY ... DESC LIMIT``
statement. A store without it is served by the same answer computed here from one
:meth:`~portal_access.ports.StoreTransaction.find` and the rows' column values, never by
decoding documents; either way each call is one read of the store.

>>> from portal_access.ports import Column, Index, Row, Table
>>> t = Table("t", ("id",), (Column("id", str), Column("a", str), Column("n", int)),
...           (Index("ix_t_a", ("a",)),))
>>> rows = [Row({"id": str(i), "a": "x", "n": i}, "{}") for i in range(4)]
>>> sorted(python_totals(rows, by=("a",), sums=("n",), where=None, min_count=1))
[Total(group=('x',), sums=(6,), rows=4)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from portal_access.ports import (
    AggregateReads,
    Index,
    Row,
    Scalar,
    StoreTransaction,
    Table,
    Total,
    Where,
)

__all__ = ["newest", "python_newest", "python_totals", "totals"]


def _passes(row: Row, where: Where | None) -> bool:
    return where is None or all(row.values[name] in allowed for name, allowed in where.items())


def python_totals(
    rows: Iterable[Row],
    *,
    by: Sequence[str],
    sums: Sequence[str],
    where: Where | None,
    min_count: int,
) -> list[Total]:
    """:meth:`~portal_access.ports.AggregateReads.totals` over ``rows`` in Python."""
    groups: dict[tuple[Scalar, ...], list[int]] = {}
    for row in rows:
        if not _passes(row, where):
            continue
        values = row.values
        group = tuple(values[name] for name in by)
        found = groups.get(group)
        if found is None:
            found = groups[group] = [0] * (len(sums) + 1)
        for position, name in enumerate(sums):
            amount = values[name]
            found[position] += amount if isinstance(amount, int) else 0
        found[-1] += 1
    return [
        Total(group, tuple(found[:-1]), found[-1])
        for group, found in groups.items()
        if found[-1] >= min_count
    ]


def python_newest(
    table: Table,
    rows: Iterable[Row],
    *,
    order: Sequence[str],
    limit: int | None,
    where: Where | None,
) -> list[Row]:
    """:meth:`~portal_access.ports.AggregateReads.newest` over ``rows`` in Python."""
    names = (*order, *table.key)
    kept = sorted(
        (row for row in rows if _passes(row, where)),
        key=lambda row: tuple(row.values[name] for name in names),
        reverse=True,
    )
    return kept if limit is None else kept[:limit]


def totals(
    transaction: StoreTransaction,
    table: Table,
    index: Index,
    values: Sequence[Scalar],
    *,
    by: Sequence[str],
    sums: Sequence[str] = (),
    where: Where | None = None,
    min_count: int = 1,
) -> Sequence[Total]:
    """The store's totals when it computes them, else the same from one ``find``."""
    store: Any = transaction
    if isinstance(store, AggregateReads):
        return store.totals(
            table, index, values, by=by, sums=sums, where=where, min_count=min_count
        )
    rows = transaction.find(table, index, values)
    return python_totals(rows, by=by, sums=sums, where=where, min_count=min_count)


def newest(
    transaction: StoreTransaction,
    table: Table,
    index: Index,
    values: Sequence[Scalar],
    *,
    order: Sequence[str],
    limit: int | None = None,
    where: Where | None = None,
) -> Sequence[Row]:
    """The store's newest rows when it finds them, else the same from one ``find``."""
    store: Any = transaction
    if isinstance(store, AggregateReads):
        return store.newest(table, index, values, order=order, limit=limit, where=where)
    rows = transaction.find(table, index, values)
    return python_newest(table, rows, order=order, limit=limit, where=where)
