"""The app's system checks, run by ``manage.py check`` (and ``check --deploy``).

======================  ===========================================================
id                      what it means
======================  ===========================================================
``portal_access.E001``  ``PORTAL_ACCESS`` is missing or not a dict
``portal_access.E002``  ``PORTAL_ACCESS`` has a key that is not a setting (a typo)
``portal_access.E003``  ``URL`` is missing or not an absolute http(s) URL
``portal_access.E004``  a ``GATEWAYS`` entry does not build a gateway (a missing
                        webhook secret, a backend that does not import, two
                        gateways with one name)
``portal_access.E005``  ``DATABASE`` or ``RATE_LIMIT_CACHE`` names no configured alias
``portal_access.E006``  another setting is malformed (``POLICY``, ``CLOCK``, an
                        unknown name in ``TOPICS``, a ``DOCUMENT_LINK_KEY`` that is
                        not 32 or more bytes, ``OUTBOX``...)
``portal_access.E007``  the portal's mail would be dropped (the dummy email backend)
``portal_access.E008``  ``RATE_LIMIT_CACHE`` is a dummy cache: it would count nothing
``portal_access.E009``  ``RENDERER`` is set without ``DOCUMENT_LINK_KEY``: every
                        document carries a signed link, so every PDF and preview
                        would fail
``portal_access.E010``  ``DOCUMENT_LINK_KEY`` is set (emails and PDFs carry document
                        links) but the link's path is not the document view's (the
                        app's URLs are not included where ``URL`` points)
``portal_access.W001``  SQLite without ``"transaction_mode": "IMMEDIATE"``: two
                        writers at once fail instead of waiting their turn
``portal_access.W002``  (deploy) ``URL`` is not https
``portal_access.W003``  (deploy) no gateway: no payment can be taken, no webhook
                        endpoint exists
``portal_access.W004``  (deploy) attempts are counted per process
                        (no ``RATE_LIMIT_CACHE``, or a local-memory cache): with
                        several workers each allows the limit
``portal_access.W005``  (deploy) the sandbox gateway is configured
======================  ===========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.urls import Resolver404, resolve

from portal_access import ConfigurationError
from portal_access.contrib.django._settings import LINK_PATHS, SETTING, DjangoSettings

__all__ = ["check_deployment", "check_document_links", "check_settings"]

_DUMMY_MAIL = "django.core.mail.backends.dummy.EmailBackend"
_DUMMY_CACHE = "django.core.cache.backends.dummy.DummyCache"
_LOCAL_CACHE = "django.core.cache.backends.locmem.LocMemCache"


def _id(number: int, *, warning: bool = False) -> str:
    return f"portal_access.{'W' if warning else 'E'}{number:03d}"


def _error_of(exc: ConfigurationError) -> checks.Error:
    field = exc.field or SETTING
    key = field.removeprefix(f"{SETTING}[").rstrip("]").strip("'\"")
    if field == SETTING:
        number = 1
    elif "is not a portal-access setting" in exc.message:
        number = 2
    elif key == "URL":
        number = 3
    elif key.startswith("GATEWAYS"):
        number = 4
    elif key in {"DATABASE", "RATE_LIMIT_CACHE"}:
        number = 5
    else:
        number = 6
    return checks.Error(
        f"{field}: {exc.message}", hint="See docs/django.md, 'Settings'.", id=_id(number)
    )


def _read() -> tuple[DjangoSettings | None, list[checks.CheckMessage]]:
    try:
        return DjangoSettings.read(), []
    except ConfigurationError as exc:
        return None, [_error_of(exc)]


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs: Sequence[AppConfig] | None = None, **_: Any) -> list[Any]:
    """Missing or wrong settings, and settings that would drop mail or weaken a check."""
    found, messages = _read()
    if found is None:
        return messages
    backend = found.email_backend or settings.EMAIL_BACKEND
    if backend == _DUMMY_MAIL:
        messages.append(
            checks.Error(
                f"email goes to {backend}: invitations and password links would be dropped",
                hint="Use a real EMAIL_BACKEND (the console backend while developing), "
                "or set PORTAL_ACCESS['EMAIL_BACKEND'].",
                id=_id(7),
            )
        )
    cache = found.rate_limit_cache
    if cache is not None and settings.CACHES[cache].get("BACKEND") == _DUMMY_CACHE:
        messages.append(
            checks.Error(
                f"PORTAL_ACCESS['RATE_LIMIT_CACHE']: {cache!r} is a dummy cache; "
                "brute-force limits would count nothing",
                id=_id(8),
            )
        )
    database = settings.DATABASES[found.database]
    options = database.get("OPTIONS") or {}
    if database.get("ENGINE") == "django.db.backends.sqlite3" and (
        str(options.get("transaction_mode", "")).upper() != "IMMEDIATE"
    ):
        messages.append(
            checks.Warning(
                f"DATABASES[{found.database!r}] is SQLite without "
                '"transaction_mode": "IMMEDIATE": two requests writing at once would fail '
                "with 'database is locked' instead of waiting their turn",
                hint='Add "OPTIONS": {"transaction_mode": "IMMEDIATE"} (Django 5.1+).',
                id=_id(1, warning=True),
            )
        )
    return messages


def _document_path(found: DjangoSettings) -> str:
    """The path an emailed document link opens, as the URL resolver sees it (without
    ``FORCE_SCRIPT_NAME``, which the server strips)."""
    path = urlsplit(found.url).path + LINK_PATHS["document"]
    prefix = (getattr(settings, "FORCE_SCRIPT_NAME", None) or "").rstrip("/")
    return path[len(prefix) :] if prefix and path.startswith(prefix + "/") else path


@checks.register(checks.Tags.urls)
def check_document_links(app_configs: Sequence[AppConfig] | None = None, **_: Any) -> list[Any]:
    """Documents that would fail at first use, and document links that would be dead."""
    found, _errors = _read()
    if found is None:
        return []  # check_settings reports it
    messages: list[checks.CheckMessage] = []
    if found.renderer is not None and found.document_link_key is None:
        messages.append(
            checks.Error(
                "PORTAL_ACCESS['RENDERER'] is set but 'DOCUMENT_LINK_KEY' is not: every "
                "document carries a signed portal link, so every PDF and preview would "
                "fail with ConfigurationError",
                hint="Set PORTAL_ACCESS['DOCUMENT_LINK_KEY'] to at least 32 random bytes "
                "(bytes.fromhex(os.environ['PORTAL_DOCUMENT_KEY'])), kept stable.",
                id=_id(9),
            )
        )
    if found.document_link_key is not None:
        path = _document_path(found)
        try:
            view = resolve(path).view_name
        except Resolver404:
            view = None
        if view != "portal_access:document":
            messages.append(
                checks.Error(
                    f"emails and PDFs carry document links to {path} (PORTAL_ACCESS['URL'] "
                    f"+ {LINK_PATHS['document']!r}), which "
                    + ("no view serves" if view is None else f"{view!r} serves")
                    + ": every document link would be dead",
                    hint="Include the app's URLs where PORTAL_ACCESS['URL'] points: "
                    "path('portal/', include('portal_access.contrib.django.urls')).",
                    id=_id(10),
                )
            )
    return messages


@checks.register(checks.Tags.security, deploy=True)
def check_deployment(app_configs: Sequence[AppConfig] | None = None, **_: Any) -> list[Any]:
    """What ``check --deploy`` should say about a portal about to go live."""
    found, _errors = _read()
    if found is None:
        return []  # check_settings reports it
    messages: list[checks.CheckMessage] = []
    if not found.url.startswith("https://"):
        messages.append(
            checks.Warning(
                f"PORTAL_ACCESS['URL'] is {found.url!r}: emailed password links would "
                "travel in clear",
                id=_id(2, warning=True),
            )
        )
    if not found.gateways:
        messages.append(
            checks.Warning(
                "PORTAL_ACCESS['GATEWAYS'] is empty: no payment can be taken and no webhook "
                "endpoint verifies a vendor's signature",
                hint="Configure each gateway with its webhook signing secret.",
                id=_id(3, warning=True),
            )
        )
    cache = found.rate_limit_cache
    if cache is None or settings.CACHES[cache].get("BACKEND") == _LOCAL_CACHE:
        where = "in each process's memory" if cache is None else f"in {cache!r}, a local cache"
        messages.append(
            checks.Warning(
                f"login and quick-pay attempts are counted {where}: with several workers "
                "each one allows the whole limit",
                hint="Set PORTAL_ACCESS['RATE_LIMIT_CACHE'] to a cache every worker shares "
                "(Redis, Memcached, the database cache).",
                id=_id(4, warning=True),
            )
        )
    if any(gateway.name == "sandbox" for gateway in found.gateways):
        messages.append(
            checks.Warning(
                "the sandbox gateway is configured: it takes no real money",
                id=_id(5, warning=True),
            )
        )
    return messages
