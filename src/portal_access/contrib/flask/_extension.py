"""``PortalAccessExtension``: portal-access in a Flask app, the Flask way."""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, TypedDict

import attrs
from blinker import NamedSignal
from flask import Flask, has_app_context
from typing_extensions import Unpack

from portal_access import (
    ConfigurationError,
    EmailTemplates,
    OutboxMessage,
    PortalAccess,
    PortalPolicy,
    SystemPortalOptions,
)
from portal_access.adapters import SystemClock
from portal_access.contrib.flask import signals
from portal_access.contrib.flask._blueprint import portal_blueprint, sandbox_blueprint
from portal_access.contrib.flask._cli import portal_access_cli
from portal_access.contrib.flask._links import portal_links
from portal_access.contrib.flask._sandbox_checkout import SandboxDesk
from portal_access.contrib.flask._settings import DEFAULTS, FlaskSettings
from portal_access.contrib.flask._state import EXTENSION_KEY, ContactLoader, PortalApp, app_state
from portal_access.contrib.flask._webhooks import exempt_from_flask_wtf, webhook_blueprint
from portal_access.ports import (
    BackgroundRunner,
    Clock,
    DocumentRenderer,
    Mailer,
    PasswordHasher,
    PaymentGateway,
    RateLimiter,
    Store,
    TokenSource,
)

__all__ = ["PortalAccessExtension", "PortalParts"]


class PortalParts(TypedDict, total=False):
    """What the portal is built from; ``store`` and ``mailer`` are required.

    The same keywords as :class:`~portal_access.PortalAccess`, less the ones the
    extension sets from the app: ``links`` (this app's own pages), ``business_name``
    (``PORTAL_ACCESS_BUSINESS_NAME``) and ``document_link_key``
    (``PORTAL_ACCESS_DOCUMENT_LINK_KEY``). A ``renderer`` needs the document link key
    (the "Download PDF" link lives on the document's page, which the key opens). A
    ``policy`` whose portal URL is left at its default gets the portal's own; its return
    origins always include ``PORTAL_ACCESS_URL``'s origin and
    ``PORTAL_ACCESS_RETURN_ORIGINS``.
    """

    store: Store
    mailer: Mailer
    gateways: Iterable[PaymentGateway]
    policy: PortalPolicy
    clock: Clock
    ids: TokenSource
    hasher: PasswordHasher
    limiter: RateLimiter
    templates: EmailTemplates
    background: BackgroundRunner
    renderer: DocumentRenderer
    document_link_lifetime: timedelta


class PortalAccessExtension:
    """Mount a customer portal on a Flask app: pages, guard, webhooks, CLI, signals.

    ``PortalAccessExtension(app, store=..., mailer=...)``, or build it bare and call
    :meth:`init_app` from an app factory. Settings are read from ``app.config`` (see
    :mod:`portal_access.contrib.flask`); state lives in ``app.extensions["portal_access"]``.
    Nothing happens until ``init_app``.

    Args:
        app: the app, or ``None`` to call :meth:`init_app` later.
        parts: see :class:`PortalParts`; given here, they are the defaults of every
            :meth:`init_app`.

    Raises:
        ConfigurationError: see :meth:`init_app`.

    >>> from flask import Flask
    >>> from portal_access.adapters import MemoryMailer
    >>> from portal_access.storage.memory import MemoryStore
    >>> app = Flask(__name__)
    >>> app.config.update(SECRET_KEY="dev", PORTAL_ACCESS_URL="https://portal.example.com")
    >>> extension = PortalAccessExtension(app, store=MemoryStore(), mailer=MemoryMailer())
    >>> with app.test_request_context():
    ...     extension.portal.policy.system.portal_url
    'https://portal.example.com/portal/'
    """

    def __init__(self, app: Flask | None = None, **parts: Unpack[PortalParts]) -> None:
        self._app = app
        self._parts = parts
        self._loader: ContactLoader | None = None
        self._states: weakref.WeakSet[PortalApp] = weakref.WeakSet()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, **parts: Unpack[PortalParts]) -> None:
        """Build the app's portal and mount its blueprints, webhooks and commands.

        Args:
            app: the Flask app.
            parts: override the constructor's (see :class:`PortalParts`).

        Raises:
            ConfigurationError: no ``store`` or ``mailer``; a missing or wrong
                ``PORTAL_ACCESS_*`` setting or ``SECRET_KEY`` (see
                :class:`~portal_access.contrib.flask._settings.FlaskSettings`); a
                ``renderer`` without ``PORTAL_ACCESS_DOCUMENT_LINK_KEY``.
            RuntimeError: the app is set up already.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("portal-access is already set up on this app")
        chosen: dict[str, Any] = {**self._parts, **parts}
        settings = FlaskSettings.from_config(app.config, debug=app.debug, testing=app.testing)
        state = _build(app, settings, chosen)
        state.contact_loader = self._loader
        app.extensions[EXTENSION_KEY] = state
        self._states.add(state)
        if settings.url.startswith("https://"):
            app.config["SESSION_COOKIE_SECURE"] = True
        if app.config.get("SESSION_COOKIE_SAMESITE") is None:
            app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
        app.register_blueprint(portal_blueprint(), url_prefix=settings.url_prefix)
        app.register_blueprint(webhook_blueprint(), url_prefix=settings.webhook_prefix)
        if state.sandbox is not None:
            app.register_blueprint(sandbox_blueprint(), url_prefix=f"{settings.url_prefix}/sandbox")
        exempt_from_flask_wtf(app)
        app.cli.add_command(portal_access_cli())
        _listen(state)

    @property
    def portal(self) -> PortalAccess:
        """The portal of the current app (or of the app given to the constructor).

        Raises:
            RuntimeError: no app context and no app given, or not set up on the app.
        """
        if has_app_context():
            return app_state().portal
        if self._app is None:
            raise RuntimeError("no app: use extension.portal inside an app context")
        return app_state(self._app).portal

    def contact_loader(self, loader: ContactLoader) -> ContactLoader:
        """Use the host's login instead of the portal's (Flask-Login, say): ``loader()``
        returns the logged-in contact's id, or ``None``. A decorator.

        >>> extension = PortalAccessExtension()
        >>> @extension.contact_loader
        ... def current_contact():
        ...     return None  # e.g. current_user.contact_id if logged in
        """
        self._loader = loader
        for state in self._states:
            state.contact_loader = loader
        return loader


def _build(app: Flask, settings: FlaskSettings, parts: dict[str, Any]) -> PortalApp:
    store, mailer = parts.get("store"), parts.get("mailer")
    if store is None:
        raise ConfigurationError("a store is required (SqlStore, MemoryStore...)", field="store")
    if mailer is None:
        raise ConfigurationError(
            "a mailer is required: invitations and password links go by email "
            "(ConsoleMailer while developing, SmtpMailer in production)",
            field="mailer",
        )
    renderer = parts.get("renderer")
    if renderer is not None and settings.document_link_key is None:
        raise ConfigurationError(
            "a renderer draws the PDFs of the document page, which only a signed document "
            "link opens: set PORTAL_ACCESS_DOCUMENT_LINK_KEY too (secrets.token_hex(32))",
            field="PORTAL_ACCESS_DOCUMENT_LINK_KEY",
        )
    clock = parts.get("clock") or SystemClock()
    gateways = list(parts.get("gateways", ()))
    desk = SandboxDesk(settings, clock) if settings.sandbox else None
    if desk is not None:
        gateways.append(desk.gateway)
    portal = PortalAccess(
        store=store,
        gateways=gateways,
        mailer=mailer,
        clock=clock,
        ids=parts.get("ids"),
        hasher=parts.get("hasher"),
        limiter=parts.get("limiter"),
        policy=_policy(parts.get("policy"), settings),
        templates=parts.get("templates"),
        links=portal_links(settings),
        # the default name is a page title, not a business: emails then read without one
        business_name=None
        if settings.business_name == DEFAULTS["PORTAL_ACCESS_BUSINESS_NAME"]
        else settings.business_name,
        background=parts.get("background"),
        document_link_key=settings.document_link_key,
        renderer=renderer,
        **_lifetime(parts),
    )
    names = frozenset(gateway.name for gateway in gateways)
    return PortalApp(app, settings, portal, store, names, sandbox=desk, pdf=renderer is not None)


def _lifetime(parts: dict[str, Any]) -> dict[str, Any]:
    """The document link lifetime when the host chose one (else PortalAccess's default)."""
    lifetime = parts.get("document_link_lifetime")
    return {} if lifetime is None else {"document_link_lifetime": lifetime}


def _policy(policy: PortalPolicy | None, settings: FlaskSettings) -> PortalPolicy:
    """``policy`` with the portal's home as its portal URL, unless the host set one, and
    this app's origin and ``PORTAL_ACCESS_RETURN_ORIGINS`` among the return origins (the
    extension's payment pages return to this app)."""
    policy = policy or PortalPolicy()
    system = policy.system
    if system.portal_url == attrs.fields(SystemPortalOptions).portal_url.default:
        system = attrs.evolve(system, portal_url=f"{settings.url}{settings.url_prefix}/")
    origins = system.return_origins | settings.return_origins | {settings.origin}
    return attrs.evolve(policy, system=attrs.evolve(system, return_origins=origins))


# -- signals: subscribe a topic once something receives it ---------------------------------

_LIVE: weakref.WeakSet[PortalApp] = weakref.WeakSet()


_sending = threading.local()


def _subscribe(state: PortalApp, signal: NamedSignal) -> None:
    if signal.name in state.topics:
        return
    state.topics.add(signal.name)
    app = state.app

    def send(message: OutboxMessage) -> None:
        # A receiver that calls the portal runs a use case, which delivers what the
        # outbox holds, this message included (it is marked delivered only after the
        # receivers return): sending it again from inside its own delivery would recurse.
        busy: set[str] = _sending.__dict__.setdefault("ids", set())
        if message.id in busy:
            return
        busy.add(message.id)
        try:
            signal.send(app, message=message)
        finally:
            busy.discard(message.id)

    state.portal.subscribe(send, topic=signal.name)


def _receiver_connected(signal: NamedSignal, **_connection: object) -> None:
    for state in list(_LIVE):
        _subscribe(state, signal)


@functools.cache
def _watch_connections() -> None:
    """Hear, once per process, whenever a receiver connects to one of the signals."""
    for signal in signals.portal_signals():
        signal.receiver_connected.connect(_receiver_connected, weak=False)


def _listen(state: PortalApp) -> None:
    """Subscribe ``state``'s portal to every signal with receivers, now and later."""
    _LIVE.add(state)
    _watch_connections()
    for signal in signals.portal_signals():
        if signal.receivers:
            _subscribe(state, signal)
