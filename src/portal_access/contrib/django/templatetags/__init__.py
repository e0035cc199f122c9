"""The app's template tags: ``{% load portal_access %}``."""
