"""Storage adapters: implementations of :class:`portal_access.ports.Store`.

- :mod:`portal_access.storage.memory`: in-process dicts with real transactions, for
  tests and single-process hosts.

Nothing is imported here: import the adapter you use, so its dependencies load only then.
"""

__all__: list[str] = []
