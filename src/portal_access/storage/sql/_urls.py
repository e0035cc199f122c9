"""Which database a URL names: SQLite (a file) or PostgreSQL (through psycopg 3).

>>> database_url("portal.db").render_as_string()
'sqlite:///portal.db'
>>> database_url("postgresql://app:secret@db.example/portal").render_as_string()
'postgresql+psycopg://app:***@db.example/portal'
>>> psycopg_conninfo(database_url("postgresql://app@db.example:5433/portal"))
'host=db.example port=5433 user=app dbname=portal'
"""

from __future__ import annotations

import os

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from portal_access._domain.errors import ConfigurationError

__all__ = ["absolute", "database_url", "psycopg_conninfo", "safe_url", "sqlite_path"]

_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}


def database_url(url: str | os.PathLike[str]) -> URL:
    """The SQLAlchemy URL for ``url``: a bare file path or ``sqlite:///path`` gives SQLite,
    ``postgresql://`` (or ``postgres://``) gives PostgreSQL through psycopg 3.

    Raises:
        ConfigurationError: another database or driver, an unparsable URL, or an
            in-memory SQLite database (each connection would get its own, empty one).
    """
    text = os.fspath(url)
    if "://" not in text:
        text = f"sqlite:///{text}"
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise ConfigurationError(f"not a database URL: {exc}", field="url") from None
    scheme = parsed.drivername
    if scheme in _POSTGRES_SCHEMES:
        return parsed.set(drivername="postgresql+psycopg")
    if scheme in _SQLITE_SCHEMES:
        database = parsed.database or ""
        if database in ("", ":memory:") or "mode=memory" in database:
            raise ConfigurationError(
                "an in-memory SQLite database is private to one connection; give a file path",
                field="url",
                value=safe_url(parsed),
            )
        return parsed.set(drivername="sqlite")
    raise ConfigurationError(
        "only SQLite (a file path or sqlite:///path) and PostgreSQL "
        "(postgresql://, through psycopg 3) are supported",
        field="url",
        value=safe_url(parsed),
    )


def absolute(url: URL) -> URL:
    """``url`` with a SQLite file's path made absolute, so that every connection (and the
    hot path's own) opens the same file even if the process changes directory."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return url
    return url.set(database=os.path.abspath(url.database))


def safe_url(url: URL) -> str:
    """``url`` as text with its password hidden, for messages and logs."""
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> str:
    """The file a SQLite URL names."""
    return url.database or ""


def psycopg_conninfo(url: URL) -> str:
    """A libpq connection string for a PostgreSQL URL, query options included
    (``?options=-csearch_path%3Dtenant`` picks the schema)."""
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415 - only for PostgreSQL

    params: dict[str, str | int | None] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    for name, value in url.query.items():
        params[name] = value if isinstance(value, str) else value[-1]
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})
