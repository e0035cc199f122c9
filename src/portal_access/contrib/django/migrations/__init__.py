"""The app's shipped migrations (``manage.py migrate portal_access``)."""

__all__: list[str] = []
