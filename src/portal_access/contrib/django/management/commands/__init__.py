"""``portal_access_deliver_outbox``, ``portal_access_reconcile``, ``portal_access_demo``."""

__all__: list[str] = []
