"""Operators' commands behind ``python -m portal_access``: one module per command, each
with ``main(argv) -> int`` (``reconcile``: replay a gateway's missed webhooks)."""

__all__: list[str] = []
