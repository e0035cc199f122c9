"""portal-access in Django: ``pip install "portal-access[django]"``.

A reusable app: add ``"portal_access.contrib.django"`` to ``INSTALLED_APPS``, set one
``PORTAL_ACCESS`` dict in your settings and run ``migrate``. Everything the library
keeps then lives in the host's own database, in tables the app's shipped migrations
create, and every use case runs inside ``transaction.atomic`` there::

    INSTALLED_APPS = [..., "portal_access.contrib.django"]
    PORTAL_ACCESS = {"URL": "https://portal.example.com/portal/"}

:func:`portal` returns the process's :class:`~portal_access.PortalAccess`, built from
the settings on first use (and built again when a test changes them with
``override_settings``). Domain events are Django signals (:mod:`.signals`), sent after
the transaction commits; ``manage.py check`` runs the app's system checks
(``portal_access.E001``...), and ``portal_access_deliver_outbox``,
``portal_access_reconcile`` and ``portal_access_demo`` are its management commands.

Importing :mod:`portal_access` never imports Django; importing this package does not
touch the database or the settings (only :func:`portal` does).
"""

from __future__ import annotations

try:
    import django as _django  # noqa: F401 - fail here, with the fix, when it is missing
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'portal_access.contrib.django needs Django: pip install "portal-access[django]"',
        name=exc.name,
    ) from exc

from typing import Any

from portal_access.contrib.django._settings import DEFAULTS as SETTINGS
from portal_access.contrib.django._settings import DjangoSettings, portal, reset_portal

__all__ = [
    "SETTINGS",
    "CacheRateLimiter",
    "DjangoBackground",
    "DjangoMailer",
    "DjangoPasswordHasher",
    "DjangoSettings",
    "DjangoStore",
    "portal",
    "reset_portal",
]

#: Names loaded on first use: the store needs the app registry, which is populated only
#: after Django has imported this package (it is the app's module).
_LAZY = {
    "DjangoStore": "portal_access.contrib.django._store",
    "CacheRateLimiter": "portal_access.contrib.django._adapters",
    "DjangoBackground": "portal_access.contrib.django._adapters",
    "DjangoMailer": "portal_access.contrib.django._adapters",
    "DjangoPasswordHasher": "portal_access.contrib.django._adapters",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module  # noqa: PLC0415 - on first use only

    return getattr(import_module(module), name)
