"""Turning the driver's rows into :class:`~portal_access.ports.Row` values.

``check_access`` makes a Row on every portal page view, and a general loop over the
columns (``dict(zip(names, row))``, then each column's converter) costs as much as the
rest of that read's Python. So, as attrs and dataclasses do for an ``__init__``, the
function for a query is generated once from the columns it returns: a dict display of
the values, each passed through its column type's result processor where the driver
needs one (SQLite hands back dates, instants and booleans as text and integers), and the
key's columns taken from the key asked for rather than selected again.

>>> read = row_reader(["account_id", "version", "doc"], ["contact_id", "account_id"],
...                   ("contact_id",), {}, document=True, versioned=True)
>>> read(("a-1", 3, "{}"), ("c-1",))
Row(values={'contact_id': 'c-1', 'account_id': 'a-1'}, doc='{}', version=3)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from portal_access.ports import Key, Row

__all__ = ["RowReader", "row_reader"]

#: Makes a Row of a driver's row (and the key that was asked for, or ``None``).
RowReader = Callable[[Sequence[Any], Key | None], Row]


def row_reader(
    selected: Sequence[str],
    names: Sequence[str],
    key: Sequence[str],
    processors: Mapping[str, Callable[[Any], Any]],
    *,
    document: bool,
    versioned: bool,
) -> RowReader:
    """The function that makes a Row of a driver's row.

    Args:
        selected: the columns the query returns, in order (``version`` and ``doc``
            among them when the table keeps them).
        names: the table's declared columns, in order: the Row's values.
        key: the key's columns; one not in ``selected`` is taken from the key asked for.
        processors: by column name, what converts the driver's value (none: as it is).
        document: the table keeps a document (``doc``).
        versioned: the table keeps a version (``version``).
    """
    scope: dict[str, Any] = {"new": tuple.__new__, "Row": Row}

    def value(name: str) -> str:
        if name not in selected:
            return f"key[{key.index(name)}]"
        found = f"raw[{selected.index(name)}]"
        if name not in processors:
            return found
        scope[f"p{len(scope)}"] = processors[name]
        return f"p{len(scope) - 1}({found})"

    values = ", ".join(f"{name!r}: {value(name)}" for name in names)
    doc = value("doc") if document else "None"
    version = value("version") if versioned else "0"
    source = f"def read(raw, key):\n    return new(Row, ({{{values}}}, {doc}, {version}))\n"
    exec(source, scope)  # noqa: S102 - the source is built from our own declared names
    made: RowReader = scope["read"]
    return made
