"""Where a payer may be sent back to after a hosted payment page: the portal, only.

Checkout, quick pay and re-subscribe take a ``success_url`` and a ``cancel_url`` from
the host, and quick pay from an anonymous visitor. A return URL that could point
anywhere makes the payment page an open redirect with our name on it, so a return URL
must be on one of the configured portal origins, exactly: the origin of
``SystemPortalOptions.portal_url`` and any listed in ``return_origins``. The scheme is
part of the origin, so plain ``http`` passes only where an ``http`` origin was
configured (a development server). Nothing is guessed:

- no user info (``https://portal.example@evil.example`` names the host ``evil.example``),
  no backslash (browsers read it as a slash), no whitespace or control characters, no
  non-ASCII text (encode it), at most :data:`MAX_RETURN_URL_LENGTH` characters;
- with no portal origin configured (``portal_url`` left at its ``.invalid`` default and
  no ``return_origins``), every return URL is a :class:`ConfigurationError`: a missing
  setting never widens the check.

>>> origins = frozenset({"https://portal.example"})
>>> check_return_url("https://portal.example/paid?x=1", origins=origins, field="success_url")
'https://portal.example/paid?x=1'
>>> check_return_url("https://portal.example@evil.example/", origins=origins, field="cancel_url")
Traceback (most recent call last):
...
portal_access.ValidationError: cancel_url: must not carry user info
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from portal_access._domain.errors import ConfigurationError, ValidationError

__all__ = [
    "MAX_RETURN_URL_LENGTH",
    "check_return_url",
    "check_return_urls",
    "origin",
    "url_origin",
]

#: The longest return URL accepted.
MAX_RETURN_URL_LENGTH = 2048
_DEFAULT_PORTS = {"https": 443, "http": 80}
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")  # controls, space, DEL and backslash


def url_origin(url: object, *, field: str) -> str:
    """The origin (``scheme://host[:port]``, lower-cased, default port left out) of an
    absolute ``http``/``https`` URL.

    Raises:
        ValidationError: not a ``str``, too long, not ASCII, holding whitespace, control
            characters or a backslash, user info, another scheme, or no host.

    >>> url_origin("HTTPS://Portal.Example:443/x", field="url")
    'https://portal.example'
    """
    if not isinstance(url, str) or len(url) > MAX_RETURN_URL_LENGTH:
        raise ValidationError(
            f"must be a URL of at most {MAX_RETURN_URL_LENGTH} characters", field=field
        )
    if not url.isascii() or _UNSAFE.search(url) is not None:
        raise ValidationError(
            "must be ASCII without whitespace, control characters or backslashes",
            field=field,
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError("is not a URL", field=field, value=url) from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValidationError("must be an http(s) URL", field=field, value=url)
    if "@" in parts.netloc:
        raise ValidationError("must not carry user info", field=field, value=url)
    host = parts.hostname
    if not host:
        raise ValidationError("must name a host", field=field, value=url)
    shown = f"[{host}]" if ":" in host else host
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def origin(value: object, *, field: str) -> str:
    """A configured origin: ``scheme://host[:port]`` with nothing after it but ``/``.

    Raises:
        ConfigurationError: not such an origin.

    >>> origin("https://pay.example/", field="return_origins")
    'https://pay.example'
    """
    try:
        found = url_origin(value, field=field)
    except ValidationError as exc:
        raise ConfigurationError(exc.message, field=field, value=value) from None
    assert isinstance(value, str)
    rest = urlsplit(value)
    if rest.path not in ("", "/") or rest.query or rest.fragment:
        raise ConfigurationError(
            "must be an origin (scheme://host[:port]) without a path", field=field, value=value
        )
    return found


def check_return_url(url: object, *, origins: frozenset[str], field: str) -> str:
    """``url`` if a payer may be sent back to it: on one of ``origins``, exactly.

    Args:
        url: the return URL.
        origins: the configured portal origins (see :func:`url_origin`).
        field: the argument's name, for the error.

    Raises:
        ConfigurationError: ``origins`` is empty: no portal origin is configured.
        ValidationError: ``url`` is malformed (see :func:`url_origin`) or on another
            origin (another host, port or scheme).
    """
    if not origins:
        raise ConfigurationError(
            "no portal origin is configured: set SystemPortalOptions.portal_url "
            "(or return_origins) so return URLs can be checked",
            field="portal_url",
        )
    if url_origin(url, field=field) not in origins:
        raise ValidationError(
            "must be on the portal's own origin (https unless configured)",
            field=field,
            value=url,
        )
    assert isinstance(url, str)
    return url


def check_return_urls(origins: frozenset[str], *, success_url: object, cancel_url: object) -> None:
    """:func:`check_return_url` for a payment page's two return URLs.

    Raises:
        ConfigurationError, ValidationError: as :func:`check_return_url`.
    """
    check_return_url(success_url, origins=origins, field="success_url")
    check_return_url(cancel_url, origins=origins, field="cancel_url")
