"""The pure domain: values and rules with no I/O, no clock, no randomness and no SDK.

Each module is about one thing (see ``docs/architecture.md``); the names a host needs
are re-exported by :mod:`portal_access`.
"""

__all__: list[str] = []
