"""SQL repositories for portal logins, access states and token records.

Logins and access states carry a row ``version`` (optimistic concurrency): an update
is ``UPDATE ... WHERE key = :key AND version = :read``, an insert is ``INSERT ... ON
CONFLICT DO NOTHING``; no row changed means another unit of work got there first, a
:class:`~portal_access.StaleStateError` the service answers by running the use case
again. On PostgreSQL the losing ``UPDATE`` waits for the winner's commit and then finds
the version changed, so it never overwrites it.

Tokens are single-use through ``UPDATE ... WHERE used_at IS NULL``: of two concurrent
redemptions exactly one changes the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
import sqlalchemy as sa

from portal_access._domain.access import AccessState
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ConflictError, StaleStateError
from portal_access._domain.logins import PortalLogin
from portal_access._domain.tokens import TokenRecord
from portal_access.storage.sql import _schema as schema
from portal_access.storage.sql._statements import Statement, indexed_columns, insert_new, same
from portal_access.storage.sql._transaction import SqlRepository, SqlTransaction

__all__ = ["SqlAccessStateRepository", "SqlLoginRepository", "SqlTokenRepository"]


class _Versioned:
    """The statements that write a row-versioned table (its key is one column).

    An update first tries to leave the indexed columns alone (``keeping``: SQLite
    rewrites the index entries of every column an ``UPDATE`` sets, changed or not), and
    sets every column (``replacing``) only when that changed no row.
    """

    def __init__(self, table: sa.Table) -> None:
        (key,) = table.primary_key
        self.key = key.name
        self.insert = insert_new(table)
        current = (key == sa.bindparam("key"), table.c.version == sa.bindparam("expected"))
        indexed = indexed_columns(table)
        columns = [c.name for c in table.columns if c is not key]
        self.keeping = Statement(
            sa.update(table)
            .where(*current, *(same(table.c[c], sa.bindparam(c)) for c in indexed))
            .values({c: sa.bindparam(c) for c in columns if c not in indexed})
        )
        self.replacing = Statement(
            sa.update(table).where(*current).values({c: sa.bindparam(c) for c in columns})
        )
        self.version = Statement(sa.select(table.c.version).where(key == sa.bindparam("key")))
        self.doc = Statement(sa.select(table.c.doc).where(key == sa.bindparam("key")))


_LOGINS = _Versioned(schema.logins)
_LOGIN_WITH_EMAIL = Statement(
    sa.select(schema.logins.c.contact_id, schema.logins.c.doc).where(
        schema.logins.c.email_key == sa.bindparam("email_key")
    )
)
_ACCESS_STATES = _Versioned(schema.access_states)
_CONTACT_IDS_OF_ACCOUNT = Statement(
    sa.select(schema.access_states.c.contact_id)
    .where(schema.access_states.c.account_id == sa.bindparam("account_id"))
    .order_by(schema.access_states.c.contact_id)
)
_TOKENS = schema.tokens
_TOKEN = Statement(sa.select(_TOKENS.c.doc).where(_TOKENS.c.digest == sa.bindparam("key")))
_ADD_TOKEN = insert_new(_TOKENS)
_USE_TOKEN = Statement(
    sa.update(_TOKENS)
    .where(_TOKENS.c.digest == sa.bindparam("key"), _TOKENS.c.used_at.is_(None))
    .values(used_at=sa.bindparam("used_at"), doc=sa.bindparam("doc"))
)


def _save_versioned(
    tx: SqlTransaction,
    table: _Versioned,
    values: dict[str, object],
    *,
    kind: str,
    expected: int | None,
) -> int:
    """Write ``values`` (the key and ``doc`` included) as version ``expected + 1``.

    Raises:
        StaleStateError: the stored version is not ``expected``.
    """
    key = values[table.key]
    version = 1 if expected is None else expected + 1
    row = {**values, "version": version}
    if expected is None:
        changed = tx.count(table.insert, row) == 1
    else:
        values = {**row, "key": key, "expected": expected}
        changed = tx.count(table.keeping, values) == 1 or tx.count(table.replacing, values) == 1
    if not changed:
        stored = tx.first(table.version, {"key": key})
        found = "no row" if stored is None else f"version {stored[0]}"
        wanted = "no row" if expected is None else f"version {expected}"
        raise StaleStateError(f"{kind} {key!r}: expected {wanted}, found {found}")
    return version


class SqlLoginRepository(SqlRepository):
    """Logins by contact and email (:class:`portal_access.ports.LoginRepository`)."""

    def get(self, contact_id: str) -> PortalLogin | None:
        """The contact's login, or ``None``."""
        row = self._tx.first(_LOGINS.doc, {"key": contact_id})
        return None if row is None else self._tx.decode(row[0], PortalLogin, contact_id)

    def with_email(self, email: EmailAddress) -> PortalLogin | None:
        """The login whose email equals ``email`` case-insensitively, or ``None``."""
        row = self._tx.first(_LOGIN_WITH_EMAIL, {"email_key": email.key})
        return None if row is None else self._tx.decode(row[1], PortalLogin, row[0])

    def save(self, login: PortalLogin, *, expected_version: int | None) -> PortalLogin:
        """Insert (``expected_version=None``) or update; return it with ``version`` bumped.

        Raises:
            StaleStateError: the stored version is not ``expected_version``.
            ConflictError: another contact's login has this email (any case).
        """
        other = self.with_email(login.email)
        if other is not None and other.contact_id != login.contact_id:
            raise ConflictError(f"a login with email {login.email} exists")
        version = 1 if expected_version is None else expected_version + 1
        saved = attrs.evolve(login, version=version)
        values: dict[str, object] = {
            "contact_id": login.contact_id,
            "email_key": login.email.key,
            "doc": self._tx.encode(saved),
        }
        _save_versioned(self._tx, _LOGINS, values, kind="login", expected=expected_version)
        return saved


class SqlAccessStateRepository(SqlRepository):
    """Per-contact access states (:class:`portal_access.ports.AccessStateRepository`)."""

    def get(self, contact_id: str) -> AccessState | None:
        """The state, or ``None``."""
        row = self._tx.first(_ACCESS_STATES.doc, {"key": contact_id})
        return None if row is None else self._tx.decode(row[0], AccessState, contact_id)

    def save(self, state: AccessState, *, expected_version: int | None) -> AccessState:
        """Insert (``expected_version=None``) or update; return it with ``version`` bumped.

        Raises:
            StaleStateError: the stored version is not ``expected_version`` (or a row
                exists when inserting).
        """
        version = 1 if expected_version is None else expected_version + 1
        saved = attrs.evolve(state, version=version)
        values: dict[str, object] = {
            "contact_id": state.contact_id,
            "account_id": state.account_id,
            "doc": self._tx.encode(saved),
        }
        _save_versioned(
            self._tx, _ACCESS_STATES, values, kind="access state", expected=expected_version
        )
        return saved

    def contact_ids_for_account(self, account_id: str) -> Sequence[str]:
        """Contacts of the account that have an access state, in id order."""
        rows = self._tx.all(_CONTACT_IDS_OF_ACCOUNT, {"account_id": account_id})
        return tuple(contact_id for (contact_id,) in rows)


class SqlTokenRepository(SqlRepository):
    """Token records by digest (:class:`portal_access.ports.TokenRepository`)."""

    def get(self, digest: str) -> TokenRecord | None:
        """The record, or ``None``."""
        row = self._tx.first(_TOKEN, {"key": digest})
        return None if row is None else self._tx.decode(row[0], TokenRecord, digest[:8])

    def add(self, record: TokenRecord) -> None:
        """Insert a new record.

        Raises:
            ConflictError: a record with this digest exists.
        """
        values = {
            "digest": record.digest,
            "used_at": record.used_at,
            "doc": self._tx.encode(record),
        }
        if self._tx.count(_ADD_TOKEN, values) != 1:
            raise ConflictError("a token with this digest exists")

    def mark_used(self, digest: str, used_at: datetime) -> bool:
        """Set ``used_at`` if it is still unset; ``True`` if this call did it.

        Raises:
            ValidationError: ``used_at`` is naive.
        """
        record = self.get(digest)
        if record is None or record.used_at is not None:
            return False
        used = attrs.evolve(record, used_at=used_at)
        values = {"key": digest, "used_at": used_at, "doc": self._tx.encode(used)}
        return self._tx.count(_USE_TOKEN, values) == 1
