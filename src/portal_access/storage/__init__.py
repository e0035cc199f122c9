"""Storage adapters: implementations of :class:`portal_access.ports.Store`.

- :mod:`portal_access.storage.memory`: in-process dicts with real transactions, for
  tests and single-process hosts.
- :mod:`portal_access.storage.sql`: :class:`~portal_access.storage.sql.SqlStore` on
  SQLAlchemy Core: SQLite (a file path, the embedded default) or PostgreSQL through
  psycopg 3 for several workers (extras ``sql`` and ``postgres``).

Nothing is imported here: import the adapter you use, so its dependencies load only then.
"""

__all__: list[str] = []
