"""The app's :class:`~django.apps.AppConfig` (label ``portal_access``)."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["PortalAccessConfig"]


class PortalAccessConfig(AppConfig):
    """portal-access as a Django app: its models, migrations, checks and signals.

    The label is ``portal_access`` (tables ``portal_access_<table>``, migrations
    ``portal_access.0001_initial``...); the primary keys are the library's own keys, and
    ``default_auto_field`` is set so the host's ``DEFAULT_AUTO_FIELD`` never changes the
    shipped schema.
    """

    name = "portal_access.contrib.django"
    label = "portal_access"
    verbose_name = "Customer portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks and the settings listener."""
        from portal_access.contrib.django import _settings, checks  # noqa: F401, PLC0415 - register once apps are ready

        _settings.listen()
