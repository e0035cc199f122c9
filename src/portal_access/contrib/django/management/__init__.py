"""The app's management commands."""

__all__: list[str] = []
