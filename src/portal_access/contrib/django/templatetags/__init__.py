"""The app's template tags: ``{% load portal_access %}``."""

__all__: list[str] = []
