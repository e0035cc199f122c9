"""The ports over Django's own services: mail, password hashers, the cache, and
background jobs that give their database connections back.

- :class:`DjangoMailer` sends through ``django.core.mail`` (the host's
  ``EMAIL_BACKEND``), one multipart message per call.
- :class:`DjangoPasswordHasher` hashes through ``django.contrib.auth.hashers`` (the
  host's ``PASSWORD_HASHERS``; a hash made under an older first hasher still verifies).
- :class:`CacheRateLimiter` counts attempts in a Django cache, so every worker that
  shares the cache (Redis, Memcached, the database cache) shares the count.
- :class:`DjangoBackground` runs jobs on :class:`~portal_access.adapters.BackgroundThread`
  and closes the thread's database connections after each one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import caches
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import close_old_connections, connections

from portal_access import ConfigurationError, EmailAddress, RateLimitedError
from portal_access.adapters import BackgroundThread

__all__ = ["CacheRateLimiter", "DjangoBackground", "DjangoMailer", "DjangoPasswordHasher"]


class DjangoMailer:
    """A :class:`~portal_access.ports.Mailer` over ``django.core.mail``.

    Args:
        from_email: the From address; ``None`` uses ``DEFAULT_FROM_EMAIL``.
        backend: an ``EMAIL_BACKEND`` path for this mailer only; ``None`` uses the host's.

    The outbox's message id goes out as the ``Message-ID`` header, so a message sent
    again after a failure can be recognised by the receiving side.
    """

    def __init__(self, *, from_email: str | None = None, backend: str | None = None) -> None:
        self.from_email = from_email
        self.backend = backend

    def send(
        self,
        *,
        message_id: str,
        to: Sequence[EmailAddress],
        subject: str,
        text: str,
        html: str,
    ) -> None:
        """Send one message (text, and HTML when given); any failure propagates (retried)."""
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=self.from_email,
            to=[str(address) for address in to],
            connection=get_connection(self.backend, fail_silently=False),
        )
        domain = (self.from_email or "portal-access.invalid").rpartition("@")[2].strip("> ")
        message.extra_headers["Message-ID"] = f"<{message_id}@{domain or 'portal-access'}>"
        if html:
            message.attach_alternative(html, "text/html")
        message.send(fail_silently=False)


class DjangoPasswordHasher:
    """A :class:`~portal_access.ports.PasswordHasher` over Django's hashers.

    >>> from django.conf import settings
    >>> settings.configured or settings.configure()
    True
    >>> hasher = DjangoPasswordHasher()
    >>> hasher.verify("correct horse", hasher.hash("correct horse"))
    True
    """

    def hash(self, password: str) -> str:
        """``make_password(password)``: the first of ``PASSWORD_HASHERS``, salted."""
        return make_password(password)

    def verify(self, password: str, encoded: str) -> bool:
        """``check_password``: constant-time, whichever configured hasher made ``encoded``."""
        return bool(check_password(password, encoded))


class CacheRateLimiter:
    """A :class:`~portal_access.ports.RateLimiter` kept in a Django cache: at most
    ``limit`` attempts per key in a window, counted across every worker sharing it.

    The window is a fixed one (the count starts with a key's first attempt and lasts
    ``window``), kept with the cache's atomic ``add`` and ``incr``.

    Args:
        alias: the ``CACHES`` alias.
        limit: attempts allowed per window (the next one is refused).
        window: how long a count lasts.

    Raises:
        ConfigurationError: a ``limit`` below 1 or a ``window`` not a positive ``timedelta``.
    """

    def __init__(
        self, alias: str = "default", *, limit: int = 10, window: timedelta = timedelta(minutes=15)
    ) -> None:
        if type(limit) is not int or limit < 1:
            raise ConfigurationError("must be an int of at least 1", field="limit", value=limit)
        if not isinstance(window, timedelta):
            raise ConfigurationError("must be a positive timedelta", field="window", value=window)
        if window <= timedelta(0):
            raise ConfigurationError("must be a positive timedelta", field="window", value=window)
        self.alias, self.limit, self.window = alias, limit, window

    def hit(self, key: str, *, now: datetime) -> None:
        """Count an attempt; refuse it when the window's count is reached.

        Raises:
            RateLimitedError: ``limit`` attempts already counted in the window.
        """
        cache = caches[self.alias]
        seconds = math.ceil(self.window.total_seconds())
        name = f"portal_access:rate:{key}"
        started = f"{name}:started"
        if cache.add(name, 1, timeout=seconds):
            cache.set(started, now.timestamp(), timeout=seconds)
            return
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr: a new window
            cache.add(name, 1, timeout=seconds)
            return
        if count > self.limit:
            cache.decr(name)  # a refused attempt is not counted
            began = cache.get(started)
            elapsed = now.timestamp() - began if isinstance(began, float) else 0.0
            retry_after = max(seconds - elapsed, 0.0)
            raise RateLimitedError(
                f"too many attempts; try again in {retry_after:.0f} seconds",
                retry_after=retry_after,
            )


class DjangoBackground:
    """A :class:`~portal_access.ports.BackgroundRunner`: jobs run on one daemon thread
    (:class:`~portal_access.adapters.BackgroundThread`), and each job's database
    connections are closed when it ends, as Django closes a request's."""

    def __init__(self) -> None:
        self._thread = BackgroundThread()

    def __call__(self, job: Callable[[], object]) -> None:
        """Queue ``job``."""
        self._thread(lambda: _closing(job))

    def drain(self, *, timeout: float | None = None) -> bool:
        """Wait until every job queued so far has run; ``False`` if ``timeout`` passed."""
        return self._thread.drain(timeout=timeout)


def _closing(job: Callable[[], object]) -> object:
    close_old_connections()
    try:
        return job()
    finally:
        connections.close_all()
