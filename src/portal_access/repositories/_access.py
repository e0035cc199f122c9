"""Repositories of portal logins, access states and token records.

Logins and access states carry a row version: a save names the version it read
(``None`` to insert) and comes back with the version bumped; a concurrent writer makes
it a :class:`~portal_access.StaleStateError`. A token is used once: its row is read
locked, then updated only if still unused, so of two concurrent redemptions only one
succeeds.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from portal_access._domain.access import AccessState
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ConflictError
from portal_access._domain.logins import PortalLogin
from portal_access._domain.tokens import TokenRecord
from portal_access._domain.validation import ensure_aware
from portal_access.ports import Lock, Row
from portal_access.repositories._base import Repository
from portal_access.repositories._tables import (
    ACCESS_STATES,
    ACCESS_STATES_BY_ACCOUNT,
    LOGINS,
    LOGINS_BY_EMAIL,
    TOKENS,
)

__all__ = ["AccessStateRepository", "LoginRepository", "TokenRepository"]


class LoginRepository(Repository):
    """Portal logins by contact and by email (the username)."""

    table = LOGINS

    def get(self, contact_id: str) -> PortalLogin | None:
        """The contact's login, or ``None``."""
        return self._get((contact_id,), PortalLogin)

    def with_email(self, email: EmailAddress) -> PortalLogin | None:
        """The login whose email equals ``email`` case-insensitively, or ``None``."""
        found = self._find(LOGINS_BY_EMAIL, email.key, PortalLogin)
        return found[0] if found else None

    def save(self, login: PortalLogin, *, expected_version: int | None) -> PortalLogin:
        """Insert (``expected_version=None``) or update the login; return it with
        ``version`` bumped.

        Raises:
            ConflictError: another contact's login has this email (any case).
            StaleStateError: the stored version is not ``expected_version`` (or a row
                exists when inserting).
        """
        other = self.with_email(login.email)
        if other is not None and other.contact_id != login.contact_id:
            raise ConflictError(f"a login with email {login.email} exists")
        return self._put_version(
            login, expected_version, contact_id=login.contact_id, email_key=login.email.key
        )


class AccessStateRepository(Repository):
    """The per-contact access state: the one row ``check_access`` reads."""

    table = ACCESS_STATES

    def get(self, contact_id: str) -> AccessState | None:
        """The state, or ``None``."""
        return self._get((contact_id,), AccessState)

    def save(self, state: AccessState, *, expected_version: int | None) -> AccessState:
        """Insert (``expected_version=None``) or update; return it with ``version`` bumped.

        Raises:
            StaleStateError: the stored version is not ``expected_version`` (or a row
                exists when inserting).
        """
        return self._put_version(
            state, expected_version, contact_id=state.contact_id, account_id=state.account_id
        )

    def contact_ids_for_account(self, account_id: str) -> tuple[str, ...]:
        """Contacts of the account that have an access state, in id order."""
        return self._keys(ACCESS_STATES_BY_ACCOUNT, account_id)


class TokenRepository(Repository):
    """Token records by digest (the token itself is never stored)."""

    table = TOKENS

    def get(self, digest: str) -> TokenRecord | None:
        """The record, or ``None``."""
        return self._get((digest,), TokenRecord)

    def add(self, record: TokenRecord) -> None:
        """Insert a new record.

        Raises:
            ConflictError: a record with this digest exists.
        """
        row = self._row(record, digest=record.digest, used_at=record.used_at)
        if not self.transaction.insert(self.table, row):
            raise ConflictError("a token with this digest exists")

    def mark_used(self, digest: str, used_at: datetime) -> bool:
        """Set ``used_at`` if it is still unset; ``True`` if this call did it: of two
        concurrent redemptions only one returns ``True``.

        Raises:
            ValidationError: ``used_at`` is naive.
        """
        ensure_aware(used_at, field="used_at")
        row = self.transaction.get(self.table, (digest,), lock=Lock.WAIT)
        if row is None:
            return False
        record = self._decode(row, TokenRecord)
        if record.used_at is not None:
            return False
        used: Row = self._row(attrs.evolve(record, used_at=used_at), digest=digest, used_at=used_at)
        return self.transaction.update(self.table, used)
