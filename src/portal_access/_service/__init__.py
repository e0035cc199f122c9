"""The use cases: one module per family, each use case one unit of work.

Private: hosts call them through :class:`portal_access.PortalAccess`.
"""

__all__: list[str] = []
