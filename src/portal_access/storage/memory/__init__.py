"""The memory store: the short reference implementation of the store port.

For tests and single-process hosts; several processes need a database (the SQL store).

>>> from portal_access.repositories import unit_of_work
>>> store = MemoryStore()
>>> with unit_of_work(store) as uow:
...     uow.invoices.next_number()
'1001'
"""

from __future__ import annotations

from portal_access.storage.memory._store import MemoryStore, MemoryTransaction

__all__ = ["MemoryStore", "MemoryTransaction"]
