"""Framework integrations: :mod:`portal_access.contrib.flask`.

Each loads its framework only when imported, and says which extra to install when the
framework is missing.
"""

__all__: list[str] = []
