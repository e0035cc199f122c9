"""The ``PORTAL_ACCESS`` setting, and the process's portal built from it.

One dict in the host's settings, read when needed (never cached beyond a change: a
``setting_changed`` signal, which ``override_settings`` sends, drops what was built)::

    PORTAL_ACCESS = {
        "URL": "https://portal.example.com/portal/",
        "GATEWAYS": [
            {"BACKEND": "portal_access.gateways.stripe.StripeGateway",
             "OPTIONS": {"api_key": env("STRIPE_KEY"), "webhook_secret": env("STRIPE_WHSEC")}},
        ],
        "RATE_LIMIT_CACHE": "default",
    }

=======================  ================================================  =====================
key                      what it is                                        default
=======================  ================================================  =====================
``URL``                  the absolute URL the portal's pages are served    required
                         at (where ``portal_access.contrib.django.urls``
                         is included); every emailed link starts with it
``RETURN_ORIGINS``       further origins payment pages may return to       ``()``
``BUSINESS_NAME``        shown on every page and email                     ``"Customer portal"``
``DATABASE``             the ``DATABASES`` alias the portal's tables       ``"default"``
                         live in and its transactions run on
``GATEWAYS``             the payment gateways: each a gateway object, or   ``()``
                         ``{"BACKEND": "dotted.Class", "OPTIONS": {...}}``
``POLICY``               a :class:`~portal_access.PortalPolicy` (or its    ``PortalPolicy()``
                         dotted path); its portal URL defaults to ``URL``
``RATE_LIMIT_CACHE``     the ``CACHES`` alias attempts are counted in      ``None``: in this
                         (shared by every worker), or ``None``             process's memory
``FROM_EMAIL``           the From address of the portal's emails           ``DEFAULT_FROM_EMAIL``
``EMAIL_BACKEND``        an email backend for the portal's emails only     ``EMAIL_BACKEND``
``CLOCK``                a :class:`~portal_access.ports.Clock` (or path)   the system clock
``BACKGROUND``           a :class:`~portal_access.ports.BackgroundRunner`  a thread that closes
                         (or path) for the anonymous flows' jobs           its connections
``LOGIN_URL``            where visitors without access are sent            ``"portal_access:``
                         (a URL name or path)                              ``login"``
``HOME_URL``             where a contact with full access lands            ``"portal_access:``
                                                                           ``dashboard"``
``TOPICS``               event topics kept in the outbox for another       ``()``
                         process's receivers (the worker's), whatever
                         this process's signals have receivers for
``DOCUMENT_LINK_KEY``    at least 32 random ``bytes`` signing emailed      ``None``: no document
                         document links (not ``SECRET_KEY``)               links
``RENDERER``             a :class:`~portal_access.ports.DocumentRenderer`  ``None``: documents
                         (or path) drawing invoices as files               are not drawn
``OUTBOX``               an :class:`~portal_access.OutboxSettings` (or     ``OutboxSettings()``
                         path): claim lease, retry waits, batch
=======================  ================================================  =====================

A wrong value (no ``URL``, a relative one, an unknown key, a backend that does not
import, an unknown topic, a short or text ``DOCUMENT_LINK_KEY``) is a
:class:`~portal_access.ConfigurationError` naming the key, raised by :func:`portal` and
reported by ``manage.py check`` (:mod:`.checks`). The emailed links
are ``URL`` followed by :data:`LINK_PATHS`: the app's URL patterns serve exactly these.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs
from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from portal_access import (
    ConfigurationError,
    OutboxSettings,
    PortalAccess,
    PortalLinks,
    PortalPolicy,
    SystemPortalOptions,
)
from portal_access.adapters import MemoryRateLimiter, SystemClock
from portal_access.ports import (
    BackgroundRunner,
    Clock,
    DocumentRenderer,
    PaymentGateway,
    RateLimiter,
)
from portal_access.storage.memory import MemoryStore

__all__ = [
    "DEFAULTS",
    "LINK_PATHS",
    "SETTING",
    "DjangoSettings",
    "listen",
    "portal",
    "reset_portal",
]

#: The name of the setting.
SETTING = "PORTAL_ACCESS"

#: Every key of ``PORTAL_ACCESS`` and its default (``None``: required, or chosen at build).
DEFAULTS: dict[str, object] = {
    "URL": None,
    "RETURN_ORIGINS": (),
    "BUSINESS_NAME": "Customer portal",
    "DATABASE": "default",
    "GATEWAYS": (),
    "POLICY": None,
    "RATE_LIMIT_CACHE": None,
    "FROM_EMAIL": None,
    "EMAIL_BACKEND": None,
    "CLOCK": None,
    "BACKGROUND": None,
    "LOGIN_URL": "portal_access:login",
    "HOME_URL": "portal_access:dashboard",
    "TOPICS": (),
    "DOCUMENT_LINK_KEY": None,
    "RENDERER": None,
    "OUTBOX": None,
}

#: Where each single-use link points, under ``URL`` (the app's URL patterns serve these).
LINK_PATHS: Mapping[str, str] = {
    "invitation": "invitation/",
    "set_password": "set-password/",
    "reset_password": "reset-password/",
    "resubscribe": "resubscribe/",
    "document": "document/",
}


def _fail(key: str, message: str, value: object = None) -> ConfigurationError:
    return ConfigurationError(message, field=f"{SETTING}[{key!r}]", value=value)


def _text(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key, DEFAULTS[key])
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, "must be a non-blank string", value)
    return value.strip()


def _optional_text(config: Mapping[str, Any], key: str) -> str | None:
    return None if config.get(key) is None else _text(config, key)


def _url(config: Mapping[str, Any]) -> str:
    if config.get("URL") is None:
        raise _fail(
            "URL",
            "is required: the absolute URL the portal's pages are served at (emailed links "
            "start with it), e.g. 'https://portal.example.com/portal/'",
        )
    value = _text(config, "URL")
    parts = urlsplit(value)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.netloc
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
    ):
        raise _fail("URL", f"must be an absolute http(s) URL, not {value!r}", value)
    return value.rstrip("/") + "/"


def _load(key: str, value: object) -> object:
    """``value``, or what its dotted path names (called when it is a class or factory)."""
    if not isinstance(value, str):
        return value
    try:
        found = import_string(value)
    except ImportError as exc:
        raise _fail(key, f"{value!r} does not import: {exc}", value) from None
    return found() if callable(found) else found


def _gateway(entry: object, position: int) -> PaymentGateway:
    key = f"GATEWAYS[{position}]"
    if isinstance(entry, Mapping):
        unknown = set(entry) - {"BACKEND", "OPTIONS"}
        backend, options = entry.get("BACKEND"), entry.get("OPTIONS", {})
        if unknown or not isinstance(backend, str) or not isinstance(options, Mapping):
            raise _fail(
                key, "must be {'BACKEND': 'dotted.path', 'OPTIONS': {...}} or a gateway", entry
            )
        try:
            factory = import_string(backend)
        except ImportError as exc:
            raise _fail(key, f"{backend!r} does not import: {exc}", backend) from None
        try:
            entry = factory(**options)
        except ConfigurationError as exc:
            raise _fail(key, f"{exc.field}: {exc.message}", backend) from None
        except TypeError as exc:
            raise _fail(key, f"wrong OPTIONS for {backend}: {exc}", backend) from None
    else:
        entry = _load(key, entry)
    if not isinstance(entry, PaymentGateway):
        raise _fail(key, f"is not a payment gateway: {entry!r}", entry)
    return entry


#: The keys of the facade's own arguments, by the ``PortalAccess`` argument they set.
_FACADE_KEYS = {
    "topics": "TOPICS",
    "document_link_key": "DOCUMENT_LINK_KEY",
    "outbox": "OUTBOX",
    "renderer": "RENDERER",
}


def _facade_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """``TOPICS``, ``DOCUMENT_LINK_KEY``, ``RENDERER`` and ``OUTBOX`` as
    :class:`~portal_access.PortalAccess` arguments, judged by the facade itself (on a
    store in memory) so ``manage.py check`` reports what building the portal would."""
    topics = config.get("TOPICS", ())
    if isinstance(topics, str | bytes) or not isinstance(topics, Sequence | frozenset | set):
        raise _fail("TOPICS", "must be a list of topic names", topics)
    key = config.get("DOCUMENT_LINK_KEY")
    if key is not None and not isinstance(key, bytes):
        raise _fail(
            "DOCUMENT_LINK_KEY",
            "must be bytes (at least 32 random ones), e.g. bytes.fromhex(env('PORTAL_DOC_KEY'))",
        )
    renderer = _load("RENDERER", config.get("RENDERER"))
    if renderer is not None and not callable(getattr(renderer, "render", None)):
        raise _fail("RENDERER", "must be a DocumentRenderer (with a render() method)", renderer)
    outbox = _load("OUTBOX", config.get("OUTBOX")) or OutboxSettings()
    if not isinstance(outbox, OutboxSettings):
        raise _fail("OUTBOX", "must be an OutboxSettings", outbox)
    options: dict[str, Any] = {
        "topics": tuple(topics),
        "document_link_key": key,
        "renderer": renderer,
        "outbox": outbox,
    }
    try:
        PortalAccess(store=MemoryStore(), gateways=(), development=True, **options)
    except ConfigurationError as exc:
        name = _FACADE_KEYS.get(exc.field or "", "TOPICS")
        raise _fail(name, exc.message, config.get(name)) from None
    return options


def _check_names(config: Mapping[str, Any]) -> None:
    for key in config:
        if key not in DEFAULTS:
            close = difflib.get_close_matches(str(key), DEFAULTS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise _fail(str(key), f"is not a portal-access setting{hint}")


def raw_settings() -> Mapping[str, Any]:
    """The host's ``PORTAL_ACCESS`` dict, as it is now.

    Raises:
        ConfigurationError: it is missing or not a dict.
    """
    config = getattr(django_settings, SETTING, None)
    if config is None:
        raise ConfigurationError(
            "is required: a dict with at least 'URL' (see docs/django.md)", field=SETTING
        )
    if not isinstance(config, Mapping):
        raise ConfigurationError("must be a dict", field=SETTING, value=config)
    return config


@attrs.frozen
class DjangoSettings:
    """The app's settings, read and checked (see the module docstring for each key)."""

    url: str
    return_origins: frozenset[str]
    business_name: str
    database: str
    gateways: tuple[PaymentGateway, ...]
    policy: PortalPolicy
    rate_limit_cache: str | None
    from_email: str | None
    email_backend: str | None
    clock: Clock
    background: BackgroundRunner | None
    login_url: str
    home_url: str
    topics: tuple[str, ...] = ()
    document_link_key: bytes | None = None
    renderer: DocumentRenderer | None = None
    outbox: OutboxSettings = attrs.field(factory=OutboxSettings)

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of :attr:`url`."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def links(self) -> PortalLinks:
        """Where emailed links point: :attr:`url` followed by :data:`LINK_PATHS`."""
        parts = urlsplit(self.url)
        base = f"{parts.scheme}://{parts.netloc}"
        return PortalLinks(base_url=base, **{k: parts.path + p for k, p in LINK_PATHS.items()})

    @classmethod
    def read(cls, config: Mapping[str, Any] | None = None) -> DjangoSettings:
        """Read and check ``config`` (default: ``settings.PORTAL_ACCESS`` now).

        Raises:
            ConfigurationError: a missing or malformed key, or an unknown one.

        >>> s = DjangoSettings.read({"URL": "https://portal.example.com/portal"})
        >>> s.url, s.links.link(s.links.invitation, "abc")
        ('https://portal.example.com/portal/', 'https://portal.example.com/portal/invitation/?token=abc')
        >>> DjangoSettings.read({"URL": "/portal/"})
        Traceback (most recent call last):
        ...
        portal_access.ConfigurationError: PORTAL_ACCESS['URL']: must be an absolute ...
        """
        config = raw_settings() if config is None else config
        if not isinstance(config, Mapping):
            raise ConfigurationError("must be a dict", field=SETTING, value=config)
        _check_names(config)
        url = _url(config)
        origins = config.get("RETURN_ORIGINS", ())
        try:
            return_origins = SystemPortalOptions(return_origins=origins).return_origins
        except ConfigurationError as exc:
            raise _fail("RETURN_ORIGINS", exc.message, origins) from None
        gateways = config.get("GATEWAYS", ())
        if isinstance(gateways, str | bytes | Mapping) or not isinstance(gateways, Sequence):
            raise _fail("GATEWAYS", "must be a list of gateways", gateways)
        built = tuple(_gateway(entry, n) for n, entry in enumerate(gateways))
        names = [gateway.name for gateway in built]
        if len(set(names)) != len(names):
            raise _fail("GATEWAYS", f"two gateways share a name: {names}", names)
        policy = _load("POLICY", config.get("POLICY")) or PortalPolicy()
        if not isinstance(policy, PortalPolicy):
            raise _fail("POLICY", "must be a PortalPolicy", policy)
        clock = _load("CLOCK", config.get("CLOCK")) or SystemClock()
        if not callable(getattr(clock, "now", None)):
            raise _fail("CLOCK", "must have a now() method", clock)
        background = _load("BACKGROUND", config.get("BACKGROUND"))
        if background is not None and not callable(background):
            raise _fail("BACKGROUND", "must be callable with a job", background)
        cache = _optional_text(config, "RATE_LIMIT_CACHE")
        if cache is not None and cache not in django_settings.CACHES:
            raise _fail("RATE_LIMIT_CACHE", f"{cache!r} is not in CACHES", cache)
        database = _text(config, "DATABASE")
        if database not in django_settings.DATABASES:
            raise _fail("DATABASE", f"{database!r} is not in DATABASES", database)
        facade = _facade_options(config)
        settings = cls(
            url=url,
            return_origins=return_origins,
            business_name=_text(config, "BUSINESS_NAME"),
            database=database,
            gateways=built,
            policy=policy,
            rate_limit_cache=cache,
            from_email=_optional_text(config, "FROM_EMAIL"),
            email_backend=_optional_text(config, "EMAIL_BACKEND"),
            clock=clock,  # type: ignore[arg-type]  # checked above
            background=background,
            login_url=_text(config, "LOGIN_URL"),
            home_url=_text(config, "HOME_URL"),
            **facade,
        )
        return attrs.evolve(settings, policy=_policy(settings))


def _policy(settings: DjangoSettings) -> PortalPolicy:
    """The policy with ``URL`` as its portal URL unless the host set one, and ``URL``'s
    origin and ``RETURN_ORIGINS`` among the return origins."""
    system = settings.policy.system
    if system.portal_url == attrs.fields(SystemPortalOptions).portal_url.default:
        system = attrs.evolve(system, portal_url=settings.url)
    origins = system.return_origins | settings.return_origins | {settings.origin}
    return attrs.evolve(settings.policy, system=attrs.evolve(system, return_origins=origins))


# -- the process's portal --------------------------------------------------------------------

_lock = threading.Lock()
_built: tuple[DjangoSettings, PortalAccess] | None = None


def current_settings() -> DjangoSettings:
    """The settings the current :func:`portal` was built from (building it if needed)."""
    portal()
    assert _built is not None
    return _built[0]


def portal() -> PortalAccess:
    """The process's :class:`~portal_access.PortalAccess`, built from ``PORTAL_ACCESS`` on
    first use: the ORM store (:class:`~portal_access.contrib.django.DjangoStore`)
    on the ``DATABASE`` alias, Django's password hashers, mail through
    ``django.core.mail``, the configured gateways, policy and rate-limit cache.

    Built again after any change of the settings it reads (``override_settings``).

    Raises:
        ConfigurationError: a missing or wrong setting.
    """
    built = _built
    if built is not None:
        return built[1]
    with _lock:
        if _built is None:
            _build()
        assert _built is not None
        return _built[1]


def reset_portal() -> None:
    """Forget the built portal: the next :func:`portal` reads the settings again."""
    global _built  # noqa: PLW0603 - the one process-wide portal
    with _lock:
        _built = None


def _build() -> None:
    global _built  # noqa: PLW0603 - the one process-wide portal
    from portal_access.contrib.django import signals  # noqa: PLC0415 - needs the app registry
    from portal_access.contrib.django._adapters import (  # noqa: PLC0415
        CacheRateLimiter,
        DjangoBackground,
        DjangoMailer,
        DjangoPasswordHasher,
    )
    from portal_access.contrib.django._store import DjangoStore  # noqa: PLC0415 - models

    settings = DjangoSettings.read()
    limiter: RateLimiter = (
        MemoryRateLimiter()
        if settings.rate_limit_cache is None
        else CacheRateLimiter(settings.rate_limit_cache)
    )
    portal = PortalAccess(
        store=DjangoStore(using=settings.database),
        gateways=settings.gateways,
        mailer=DjangoMailer(from_email=settings.from_email, backend=settings.email_backend),
        clock=settings.clock,
        hasher=DjangoPasswordHasher(),
        limiter=limiter,
        policy=settings.policy,
        links=settings.links,
        business_name=settings.business_name,
        background=settings.background or DjangoBackground(),
        topics=settings.topics,
        document_link_key=settings.document_link_key,
        renderer=settings.renderer,
        outbox=settings.outbox,
    )
    signals.connect_portal(portal, using=settings.database)
    _built = (settings, portal)


#: The settings whose change rebuilds the portal.
_WATCHED = frozenset({SETTING, "DATABASES", "CACHES", "DEFAULT_FROM_EMAIL", "PASSWORD_HASHERS"})


def _setting_changed(*, setting: str, **_kwargs: object) -> None:
    if setting in _WATCHED:
        reset_portal()


def listen() -> None:
    """Rebuild the portal whenever a watched setting changes (``override_settings``)."""
    setting_changed.connect(_setting_changed, dispatch_uid="portal_access.settings")
