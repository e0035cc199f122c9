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

from portal_access.domain.access import AccessState
from portal_access.domain.email_address import EmailAddress
from portal_access.domain.errors import ConflictError, StaleStateError
from portal_access.domain.logins import PortalLogin
from portal_access.domain.serialization import to_json
from portal_access.domain.tokens import TokenRecord
from portal_access.storage.sql import schema
from portal_access.storage.sql.transaction import SqlRepository, SqlTransaction, load

__all__ = ["SqlAccessStateRepository", "SqlLoginRepository", "SqlTokenRepository"]


def _save_versioned(
    tx: SqlTransaction,
    table: sa.Table,
    values: dict[str, object],
    *,
    kind: str,
    expected: int | None,
) -> int:
    """Write ``values`` (the key and ``doc`` included) as version ``expected + 1``.

    Raises:
        StaleStateError: the stored version is not ``expected``.
    """
    key_column = table.c[table.primary_key.columns.keys()[0]]
    key = values[key_column.name]
    version = 1 if expected is None else expected + 1
    row = {**values, "version": version}
    if expected is None:
        changed = tx.insert_new(table, row)
    else:
        update = (
            sa.update(table)
            .where(key_column == key, table.c.version == expected)
            .values({name: value for name, value in row.items() if name != key_column.name})
        )
        changed = tx.execute(update).rowcount == 1
    if not changed:
        stored = tx.first(sa.select(table.c.version).where(key_column == key))
        found = "no row" if stored is None else f"version {stored.version}"
        wanted = "no row" if expected is None else f"version {expected}"
        raise StaleStateError(f"{kind} {key!r}: expected {wanted}, found {found}")
    return version


class SqlLoginRepository(SqlRepository):
    """Logins by contact and email (:class:`portal_access.ports.LoginRepository`)."""

    def get(self, contact_id: str) -> PortalLogin | None:
        """The contact's login, or ``None``."""
        table = schema.logins
        row = self._tx.first(sa.select(table.c.doc).where(table.c.contact_id == contact_id))
        return None if row is None else load(row.doc, PortalLogin, contact_id)

    def with_email(self, email: EmailAddress) -> PortalLogin | None:
        """The login whose email equals ``email`` case-insensitively, or ``None``."""
        table = schema.logins
        row = self._tx.first(
            sa.select(table.c.contact_id, table.c.doc).where(table.c.email_key == email.key)
        )
        return None if row is None else load(row.doc, PortalLogin, row.contact_id)

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
            "doc": to_json(saved),
        }
        _save_versioned(self._tx, schema.logins, values, kind="login", expected=expected_version)
        return saved


class SqlAccessStateRepository(SqlRepository):
    """Per-contact access states (:class:`portal_access.ports.AccessStateRepository`)."""

    def get(self, contact_id: str) -> AccessState | None:
        """The state, or ``None``."""
        table = schema.access_states
        row = self._tx.first(sa.select(table.c.doc).where(table.c.contact_id == contact_id))
        return None if row is None else load(row.doc, AccessState, contact_id)

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
            "doc": to_json(saved),
        }
        _save_versioned(
            self._tx, schema.access_states, values, kind="access state", expected=expected_version
        )
        return saved

    def contact_ids_for_account(self, account_id: str) -> Sequence[str]:
        """Contacts of the account that have an access state, in id order."""
        table = schema.access_states
        rows = self._tx.all(
            sa.select(table.c.contact_id)
            .where(table.c.account_id == account_id)
            .order_by(table.c.contact_id)
        )
        return tuple(row.contact_id for row in rows)


class SqlTokenRepository(SqlRepository):
    """Token records by digest (:class:`portal_access.ports.TokenRepository`)."""

    def get(self, digest: str) -> TokenRecord | None:
        """The record, or ``None``."""
        table = schema.tokens
        row = self._tx.first(sa.select(table.c.doc).where(table.c.digest == digest))
        return None if row is None else load(row.doc, TokenRecord, digest[:8])

    def add(self, record: TokenRecord) -> None:
        """Insert a new record.

        Raises:
            ConflictError: a record with this digest exists.
        """
        values = {"digest": record.digest, "used_at": record.used_at, "doc": to_json(record)}
        if not self._tx.insert_new(schema.tokens, values):
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
        table = schema.tokens
        update = (
            sa.update(table)
            .where(table.c.digest == digest, table.c.used_at.is_(None))
            .values(used_at=used_at, doc=to_json(used))
        )
        return self._tx.execute(update).rowcount == 1
