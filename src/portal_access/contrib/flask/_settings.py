"""The ``PORTAL_ACCESS_*`` settings, read from ``app.config`` once, in ``init_app``.

=====================================  ==============================  =====================
setting                                what it is                      default
=====================================  ==============================  =====================
``PORTAL_ACCESS_URL``                  the absolute URL the app is     required
                                       served at; every emailed link
                                       and checkout return URL starts
                                       with it, and payment pages may
                                       return to its origin only
``PORTAL_ACCESS_RETURN_ORIGINS``       further origins payment pages   ``()``
                                       may return to (your own views
                                       on another host), e.g.
                                       ``["https://www.example.com"]``
``PORTAL_ACCESS_URL_PREFIX``           where the portal's pages are    ``"/portal"``
``PORTAL_ACCESS_WEBHOOK_PREFIX``       where the webhook endpoints     ``"/portal-access/``
                                       are (``<prefix>/<gateway>``)    ``webhooks"``
``PORTAL_ACCESS_BUSINESS_NAME``        shown on every page and email   ``"Customer portal"``
``PORTAL_ACCESS_LOGIN_ENDPOINT``       where the guard sends visitors  ``"portal_access.``
                                       without access                  ``login"``
``PORTAL_ACCESS_HOME_ENDPOINT``        where a contact with full       ``"portal_access.``
                                       access lands                    ``dashboard"``
``PORTAL_ACCESS_SANDBOX``              add the in-process sandbox      ``False``
                                       gateway and its development
                                       checkout page
``PORTAL_ACCESS_SANDBOX_WEBHOOK_       the sandbox's signing secret    random per app
SECRET``
``PORTAL_ACCESS_DOCUMENT_LINK_KEY``    signs the portal link of each   ``None`` (no document
                                       document (seed 004): 32+ bytes, links: emails carry
                                       or their hex text                the portal's address)
=====================================  ==============================  =====================

A wrong value (a missing URL, a relative one, ``"yes"`` for a boolean, a misspelt
setting name, a document link key that is not hex or shorter than 32 bytes) is a
:class:`~portal_access.ConfigurationError` naming the setting. The document link key is
bytes, or a string of hex digits (``secrets.token_hex(32)``), decoded with
:meth:`bytes.fromhex`: a config file or an environment variable holds text, and a
passphrase typed as the key is refused rather than used as weak key material. The
sandbox lets anyone "pay" from its development page, so it is refused unless the
portal URL is on this machine (``localhost``, ``127.0.0.1``, ``::1``) or the app runs in
debug or testing mode.

>>> settings = FlaskSettings.from_config(
...     {"SECRET_KEY": "x", "PORTAL_ACCESS_URL": "https://portal.example.com/"},
...     debug=False, testing=False)
>>> settings.url, settings.url_prefix, settings.origin
('https://portal.example.com', '/portal', 'https://portal.example.com')
>>> FlaskSettings.from_config({"SECRET_KEY": "x", "PORTAL_ACCESS_URL": "https://a.example",
...     "PORTAL_ACCESS_SANDBOX": True}, debug=False, testing=False)
Traceback (most recent call last):
...
portal_access.ConfigurationError: PORTAL_ACCESS_SANDBOX: ...
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from portal_access import ConfigurationError, SystemPortalOptions

__all__ = ["DEFAULTS", "FlaskSettings"]

PREFIX = "PORTAL_ACCESS_"

#: Every setting and its default (``None``: required, or chosen at start-up).
DEFAULTS: dict[str, object] = {
    "PORTAL_ACCESS_URL": None,
    "PORTAL_ACCESS_RETURN_ORIGINS": (),
    "PORTAL_ACCESS_URL_PREFIX": "/portal",
    "PORTAL_ACCESS_WEBHOOK_PREFIX": "/portal-access/webhooks",
    "PORTAL_ACCESS_BUSINESS_NAME": "Customer portal",
    "PORTAL_ACCESS_LOGIN_ENDPOINT": "portal_access.login",
    "PORTAL_ACCESS_HOME_ENDPOINT": "portal_access.dashboard",
    "PORTAL_ACCESS_SANDBOX": False,
    "PORTAL_ACCESS_SANDBOX_WEBHOOK_SECRET": None,
    "PORTAL_ACCESS_DOCUMENT_LINK_KEY": None,
}

#: The shortest document link key (PortalAccess's own minimum, which it checks again).
MIN_DOCUMENT_LINK_KEY_BYTES = 32

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _fail(name: str, message: str, value: object = None) -> ConfigurationError:
    return ConfigurationError(message, field=name, value=value)


def _text(config: Mapping[str, Any], name: str) -> str:
    value = config.get(name, DEFAULTS[name])
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, "must be a non-blank string", value)
    return value.strip()


def _flag(config: Mapping[str, Any], name: str) -> bool:
    value = config.get(name, DEFAULTS[name])
    if not isinstance(value, bool):
        raise _fail(name, f"must be True or False, not {value!r}", value)
    return value


def _path(config: Mapping[str, Any], name: str) -> str:
    value = _text(config, name)
    if not value.startswith("/") or "?" in value or "#" in value:
        raise _fail(name, f"must be a path starting with '/', not {value!r}", value)
    return value.rstrip("/")


def _url(config: Mapping[str, Any]) -> str:
    name = "PORTAL_ACCESS_URL"
    if config.get(name) is None:
        raise _fail(
            name,
            "is required: the absolute URL the app is served at (emailed links start with "
            "it), e.g. 'https://portal.example.com' or 'http://127.0.0.1:5000'",
        )
    value = _text(config, name)
    parts = urlsplit(value)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.netloc
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
    ):
        raise _fail(name, f"must be an absolute http(s) URL, not {value!r}", value)
    return value.rstrip("/")


def _document_link_key(config: Mapping[str, Any]) -> bytes | None:
    name = "PORTAL_ACCESS_DOCUMENT_LINK_KEY"
    value = config.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            key = bytes.fromhex(value.strip())
        except ValueError:
            raise _fail(
                name,
                "must be bytes, or hex digits: python -c 'import secrets; "
                "print(secrets.token_hex(32))'",
            ) from None
    elif isinstance(value, bytes):
        key = value
    else:
        raise _fail(name, "must be bytes or a string of hex digits")
    if len(key) < MIN_DOCUMENT_LINK_KEY_BYTES:
        raise _fail(name, f"must be at least {MIN_DOCUMENT_LINK_KEY_BYTES} random bytes")
    return key


def _return_origins(config: Mapping[str, Any]) -> frozenset[str]:
    name = "PORTAL_ACCESS_RETURN_ORIGINS"
    value = config.get(name, DEFAULTS[name])
    try:
        return SystemPortalOptions(return_origins=value).return_origins
    except ConfigurationError as exc:
        raise _fail(name, exc.message, value) from None


def _check_names(config: Mapping[str, Any]) -> None:
    for key in config:
        if key.startswith(PREFIX) and key not in DEFAULTS:
            close = difflib.get_close_matches(key, DEFAULTS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise _fail(key, f"is not a portal-access setting{hint}")


@attrs.frozen
class FlaskSettings:
    """The extension's settings for one app (see the module docstring for each)."""

    url: str
    return_origins: frozenset[str]
    url_prefix: str
    webhook_prefix: str
    business_name: str
    login_endpoint: str
    home_endpoint: str
    sandbox: bool
    sandbox_webhook_secret: str | None
    document_link_key: bytes | None = attrs.field(default=None, repr=False)

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of :attr:`url`: where payment pages may return to."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, debug: bool, testing: bool) -> FlaskSettings:
        """Read and check the settings.

        Raises:
            ConfigurationError: no ``SECRET_KEY`` (sessions and CSRF need one), a
                missing or malformed setting, an unknown ``PORTAL_ACCESS_*`` name, or the
                sandbox on a portal URL that is not on this machine outside debug/testing.
        """
        _check_names(config)
        if not config.get("SECRET_KEY"):
            raise _fail("SECRET_KEY", "is required: portal sessions and CSRF tokens are signed")
        url = _url(config)
        sandbox = _flag(config, "PORTAL_ACCESS_SANDBOX")
        if sandbox and not (debug or testing or urlsplit(url).hostname in _LOCAL_HOSTS):
            raise _fail(
                "PORTAL_ACCESS_SANDBOX",
                "the sandbox's development page lets anyone mark payments paid; it runs only "
                "when PORTAL_ACCESS_URL is on this machine or the app is in debug or testing",
                True,
            )
        secret = config.get("PORTAL_ACCESS_SANDBOX_WEBHOOK_SECRET")
        if secret is not None and (not isinstance(secret, str) or not secret.strip()):
            raise _fail("PORTAL_ACCESS_SANDBOX_WEBHOOK_SECRET", "must be a non-blank string")
        return cls(
            url=url,
            return_origins=_return_origins(config),
            url_prefix=_path(config, "PORTAL_ACCESS_URL_PREFIX"),
            webhook_prefix=_path(config, "PORTAL_ACCESS_WEBHOOK_PREFIX"),
            business_name=_text(config, "PORTAL_ACCESS_BUSINESS_NAME"),
            login_endpoint=_text(config, "PORTAL_ACCESS_LOGIN_ENDPOINT"),
            home_endpoint=_text(config, "PORTAL_ACCESS_HOME_ENDPOINT"),
            sandbox=sandbox,
            sandbox_webhook_secret=secret,
            document_link_key=_document_link_key(config),
        )
