"""The sandbox vendor, in memory: its objects, its books and API, the payer's actions.

Private: :mod:`portal_access.testing.sandbox` is its public face.
"""

__all__: list[str] = []
