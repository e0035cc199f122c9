"""The SQL store's schema migrations (Alembic), shipped inside the package.

The scripts live next to this module (``env.py``, ``versions/``); the Alembic
:class:`~alembic.config.Config` is built in code, so no ``alembic.ini`` is needed:

- :func:`upgrade` creates or upgrades a database to the newest revision (also
  ``python -m portal_access db upgrade --url URL``);
- :func:`current_revision` says where a database is (``db current``);
- :func:`check_schema` is what :class:`~portal_access.storage.sql.SqlStore` runs before
  its first use: it refuses a database older or newer than this library understands.

To write a new revision, use Alembic's own command with :func:`alembic_config`::

    from alembic import command
    command.revision(alembic_config(None), "add a column", rev_id="0009")

and write ``upgrade()`` by hand, with the tables as they are *at that revision* (never
import :mod:`~portal_access.storage.sql._schema` from a migration: it changes later).
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from portal_access._domain.errors import SchemaVersionError
from portal_access.storage.sql._engine import READ_ONLY, make_engine
from portal_access.storage.sql._errors import translate
from portal_access.storage.sql._urls import database_url, safe_url

__all__ = [
    "MIGRATIONS",
    "alembic_config",
    "check_schema",
    "current_revision",
    "head_revision",
    "known_revision",
    "migrate",
    "revision_of",
    "upgrade",
]

#: The directory Alembic runs from (``script_location``).
MIGRATIONS = Path(__file__).resolve().parent
# Alembic's ``context`` and ``op`` are module-level proxies: one migration per process.
_ALEMBIC = threading.Lock()


def alembic_config(connection: Connection | None) -> Config:
    """An Alembic configuration for the shipped scripts, running on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(None))


def head_revision() -> str:
    """The newest revision this version of portal-access knows."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the shipped revisions (else a newer library made it)."""
    try:
        _scripts().get_revision(revision)
    except (RevisionError, CommandError):
        return False
    return True


def revision_of(connection: Connection) -> str | None:
    """The database's revision, or ``None`` when it has none (an empty database)."""
    heads = MigrationContext.configure(connection).get_current_heads()
    return heads[0] if heads else None


def migrate(engine: Engine, revision: str = "heads") -> str:
    """Upgrade the database of ``engine`` to ``revision``; return the revision reached.

    Each run is one transaction (both databases have transactional DDL), and runs
    started at once take turns: in one process because Alembic keeps its running
    context in module globals, across processes through the database's locks.

    Raises:
        StorageError: the database failed.
    """
    try:
        with _ALEMBIC, engine.connect() as connection:
            command.upgrade(alembic_config(connection), revision)
            connection.commit()
            reached = revision_of(connection)
            connection.rollback()
    except DBAPIError as exc:
        raise translate(exc) from exc
    except CommandError as exc:  # the database is at a revision we do not know
        raise SchemaVersionError(
            f"cannot upgrade the database at {safe_url(engine.url)}: {exc}; it was upgraded "
            "by a newer portal-access (pip install -U portal-access)"
        ) from exc
    assert reached is not None
    return reached


def upgrade(url: str) -> str:
    """Create or upgrade the database at ``url`` to the newest revision; return it.

    Raises:
        ConfigurationError: not a SQLite path or PostgreSQL URL.
        StorageError: the database failed.
    """
    engine = make_engine(database_url(url))
    try:
        return migrate(engine)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision of the database at ``url``, or ``None`` when it has none.

    Raises:
        StorageError: the database failed.
    """
    engine = make_engine(database_url(url))
    try:
        with engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True})
            return revision_of(connection)
    except DBAPIError as exc:
        raise translate(exc) from exc
    finally:
        engine.dispose()


def check_schema(connection: Connection) -> str:
    """The database's revision, if it is the one this library needs.

    Raises:
        SchemaVersionError: the database is empty, older, or newer than this library.
    """
    where = safe_url(connection.engine.url)
    fix = f"python -m portal_access db upgrade --url {where}"
    found = revision_of(connection)
    head = head_revision()
    if found == head:
        return found
    if found is None:
        raise SchemaVersionError(
            f"the database at {where} has no portal-access schema (expected revision "
            f"{head}); create it with `{fix}` or SqlStore(url, create=True)"
        )
    if not known_revision(found):
        raise SchemaVersionError(
            f"the database at {where} is at schema revision {found}, newer than this "
            f"version of portal-access understands (it expects {head}); upgrade "
            "portal-access (pip install -U portal-access)"
        )
    raise SchemaVersionError(
        f"the database at {where} is at schema revision {found}, older than the revision "
        f"{head} this version of portal-access needs; upgrade it with `{fix}`"
    )
