"""Portal logins: the email username and the (hashed) password of a contact.

Seed 003_11ad6fb0c789d951.txt: "Customers log in using their email address as their
username and a password set by staff during initial setup." A staff-set password is
temporary: it must be changed at the first login (docs/rules.md), and no password is ever
sent by email.

>>> from datetime import datetime, timezone
>>> login = PortalLogin(contact_id="c-1", email=EmailAddress.parse("ann@example.com"))
>>> login.registered
False
>>> login.with_password("scrypt$...", now=datetime(2026, 1, 1, tzinfo=timezone.utc)).registered
True
"""

from __future__ import annotations

from datetime import datetime

import attrs

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.links import LinkLedger
from portal_access._domain.validation import (
    aware_datetime,
    identifier,
    instance_of,
    int64,
    non_blank,
    optional,
)

__all__ = ["PortalLogin"]


@attrs.frozen
class PortalLogin:
    """A contact's credentials.

    Args:
        contact_id: whose login it is.
        email: the username; unique among logins, case-insensitively.
        password_hash: the password hasher's encoded hash, or ``None`` before one is set.
        temporary: the password was set by staff and must be changed at first login.
        registered_at: when the contact first set a password of their own (the moment
            seed 000's registration happens); ``None`` until then.
        links: which of the contact's single-use links are still alive; every password
            set here retires them all.
        version: the row version, bumped by every write.
    """

    contact_id: str = attrs.field(validator=identifier)
    email: EmailAddress = attrs.field(validator=instance_of(EmailAddress))
    password_hash: str | None = attrs.field(default=None, validator=optional(non_blank), repr=False)
    temporary: bool = attrs.field(default=False, validator=instance_of(bool))
    registered_at: datetime | None = attrs.field(default=None, validator=optional(aware_datetime))
    links: LinkLedger = attrs.field(factory=LinkLedger, validator=instance_of(LinkLedger))
    version: int = attrs.field(default=0, validator=int64)

    @property
    def registered(self) -> bool:
        """The contact has set a password of their own."""
        return self.registered_at is not None

    def with_password(self, password_hash: str, *, now: datetime) -> PortalLogin:
        """The contact set their own password: registered from ``now`` if not before.
        Every outstanding link dies."""
        return attrs.evolve(
            self,
            password_hash=password_hash,
            temporary=False,
            registered_at=self.registered_at or now,
            links=self.links.revoke_all(),
        )

    def with_temporary_password(self, password_hash: str) -> PortalLogin:
        """Staff set a temporary password (seed 003); it must be changed at first login.
        Every outstanding link dies."""
        return attrs.evolve(
            self, password_hash=password_hash, temporary=True, links=self.links.revoke_all()
        )
