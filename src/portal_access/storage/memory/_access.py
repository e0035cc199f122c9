"""Memory repositories for portal logins, access states and token records.

Logins and access states carry a row version (optimistic concurrency): a save names
the version it read, and the stored value comes back with the version bumped by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from portal_access._domain.access import AccessState
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ConflictError, StaleStateError
from portal_access._domain.logins import PortalLogin
from portal_access._domain.tokens import TokenRecord
from portal_access.storage.memory._tables import Repository, Transaction

__all__ = [
    "MemoryAccessStateRepository",
    "MemoryLoginRepository",
    "MemoryTokenRepository",
    "next_version",
]


def next_version(kind: str, key: str, stored: int | None, expected: int | None) -> int:
    """The version a row gets when saved over ``stored`` by a writer that read ``expected``.

    Args:
        kind: what the row is, for the message (``"login"``).
        key: the row's key, for the message.
        stored: the stored row's version, or ``None`` when there is no row.
        expected: the version the writer read, or ``None`` to insert.

    Raises:
        StaleStateError: ``stored`` is not ``expected`` (a row exists when inserting, or
            none exists or it changed when updating).

    >>> next_version("login", "c-1", None, None), next_version("login", "c-1", 3, 3)
    (1, 4)
    """
    if stored != expected:
        found = "no row" if stored is None else f"version {stored}"
        wanted = "no row" if expected is None else f"version {expected}"
        raise StaleStateError(f"{kind} {key!r}: expected {wanted}, found {found}")
    return 1 if expected is None else expected + 1


class MemoryLoginRepository(Repository):
    """Logins by contact and email (:class:`portal_access.ports.LoginRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "logins")

    def get(self, contact_id: str) -> PortalLogin | None:
        """The contact's login, or ``None``."""
        found: PortalLogin | None = self._rows().get(contact_id)
        return found

    def with_email(self, email: EmailAddress) -> PortalLogin | None:
        """The login whose email equals ``email`` case-insensitively, or ``None``."""
        logins: list[PortalLogin] = list(self._rows().values())
        return next((login for login in logins if login.email.key == email.key), None)

    def save(self, login: PortalLogin, *, expected_version: int | None) -> PortalLogin:
        """Insert (``expected_version=None``) or update; return it with ``version`` bumped.

        Raises:
            StaleStateError: the stored version is not ``expected_version``.
            ConflictError: another contact's login has this email (any case).
        """
        stored = self.get(login.contact_id)
        version = next_version(
            "login",
            login.contact_id,
            None if stored is None else stored.version,
            expected_version,
        )
        other = self.with_email(login.email)
        if other is not None and other.contact_id != login.contact_id:
            raise ConflictError(f"a login with email {login.email} exists")
        saved = attrs.evolve(login, version=version)
        self._writable()[login.contact_id] = saved
        return saved


class MemoryAccessStateRepository(Repository):
    """Per-contact access states (:class:`portal_access.ports.AccessStateRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "access")

    def get(self, contact_id: str) -> AccessState | None:
        """The state, or ``None``."""
        found: AccessState | None = self._rows().get(contact_id)
        return found

    def save(self, state: AccessState, *, expected_version: int | None) -> AccessState:
        """Insert (``expected_version=None``) or update; return it with ``version`` bumped.

        Raises:
            StaleStateError: the stored version is not ``expected_version`` (or a row
                exists when inserting).
        """
        stored = self.get(state.contact_id)
        version = next_version(
            "access state",
            state.contact_id,
            None if stored is None else stored.version,
            expected_version,
        )
        saved = attrs.evolve(state, version=version)
        self._writable()[state.contact_id] = saved
        return saved

    def contact_ids_for_account(self, account_id: str) -> Sequence[str]:
        """Contacts of the account that have an access state, in id order."""
        states: list[AccessState] = list(self._rows().values())
        return tuple(sorted(s.contact_id for s in states if s.account_id == account_id))


class MemoryTokenRepository(Repository):
    """Token records by digest (:class:`portal_access.ports.TokenRepository`)."""

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx, "tokens")

    def get(self, digest: str) -> TokenRecord | None:
        """The record, or ``None``."""
        found: TokenRecord | None = self._rows().get(digest)
        return found

    def add(self, record: TokenRecord) -> None:
        """Insert a new record.

        Raises:
            ConflictError: a record with this digest exists.
        """
        if record.digest in self._rows():
            raise ConflictError("a token with this digest exists")
        self._writable()[record.digest] = record

    def mark_used(self, digest: str, used_at: datetime) -> bool:
        """Set ``used_at`` if it is still unset; ``True`` if this call did it.

        Raises:
            ValidationError: ``used_at`` is naive.
        """
        record = self.get(digest)
        if record is None or record.used_at is not None:
            return False
        self._writable()[digest] = attrs.evolve(record, used_at=used_at)
        return True
