"""Which of a contact's single-use links still work: every link dies with what it was for.

A link (invitation, set password, reset password, re-subscribe) is worth something only
while the facts it was mailed under hold. So, besides expiring and being used once
(:mod:`~portal_access._domain.tokens`), every outstanding link of a contact dies

- when the contact's email changes: the link is bound to the address it was mailed to
  (``TokenRecord.sent_to``), and the change retires every link issued before it;
- when a password is set by any route (a link, ``change_password``, a staff-set
  temporary password): whoever holds an older mail no longer holds the account;
- when a newer link of the same purpose is used: using a link retires the older ones.

A :class:`LinkLedger` on the contact's login says all of this with three numbers, so no
search of the tokens is ever needed: each link carries a serial, handed out in order
when it is issued; ``valid_from`` is the lowest serial still alive; and each purpose has
its own floor, raised when a link of that purpose is used. The ledger is written in the
same unit of work as the change that retires links, under the login's row version, so a
link used concurrently with a password change loses one way or the other, never both.

>>> from datetime import datetime, timezone
>>> from portal_access._domain.tokens import TokenPurpose, issue_token
>>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> ledger = LinkLedger()
>>> first, ledger = ledger.issue()
>>> second, ledger = ledger.issue()
>>> reset = lambda serial: issue_token(bytes(32), purpose=TokenPurpose.RESET_PASSWORD,
...                                    contact_id="c-1", now=now, serial=serial)[1]
>>> ledger.alive(reset(first)), ledger.alive(reset(second))
(True, True)
>>> ledger = ledger.used(reset(second))
>>> ledger.alive(reset(first))
False
>>> ledger.revoke_all().alive(reset(second))
False
"""

from __future__ import annotations

import attrs

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import InvalidTokenError, ValidationError
from portal_access._domain.tokens import TokenPurpose, TokenRecord

__all__ = ["LinkLedger", "ensure_link_alive"]


def _serial(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or not 0 <= value < 2**63:
        raise ValidationError("must be a non-negative 64-bit int", field=attribute.name, value=None)


def _floors(value: object) -> tuple[tuple[TokenPurpose, int], ...]:
    """Per-purpose floors as sorted ``(purpose, serial)`` pairs (a dict is accepted)."""
    items: object = list(value.items()) if isinstance(value, dict) else value
    if not isinstance(items, tuple | list):
        raise ValidationError("must be (purpose, serial) pairs", field="floors", value=value)
    floors: dict[TokenPurpose, int] = {}
    item: object
    for item in items:
        if (
            not isinstance(item, tuple | list)
            or len(item) != 2
            or type(item[1]) is not int
            or not 0 <= item[1] < 2**63
        ):
            raise ValidationError("must be (purpose, serial) pairs", field="floors", value=item)
        try:
            purpose = TokenPurpose(item[0])
        except ValueError:
            raise ValidationError("not a link purpose", field="floors", value=item) from None
        floors[purpose] = item[1]
    return tuple(sorted(floors.items(), key=lambda pair: pair[0].value))


@attrs.frozen
class LinkLedger:
    """The serials of a contact's links, and which of them are still alive.

    Args:
        issued: the serial of the newest link issued (0: none yet).
        valid_from: links with a lower serial are dead (a password was set, or the
            email changed). Links issued before ledgers existed carry serial 0 and stay
            alive until the first such change.
        floors: per purpose, the lowest serial still alive (raised when a link of that
            purpose is used).
    """

    issued: int = attrs.field(default=0, validator=_serial)
    valid_from: int = attrs.field(default=0, validator=_serial)
    floors: tuple[tuple[TokenPurpose, int], ...] = attrs.field(default=(), converter=_floors)

    def issue(self) -> tuple[int, LinkLedger]:
        """The serial for a new link, and the ledger that has handed it out."""
        serial = self.issued + 1
        return serial, attrs.evolve(self, issued=serial)

    def revoke_all(self) -> LinkLedger:
        """Every link issued so far dies (a password was set, or the email changed)."""
        return attrs.evolve(self, valid_from=self.issued + 1)

    def used(self, record: TokenRecord) -> LinkLedger:
        """``record``'s link was used: it and every older link of its purpose die."""
        floors = dict(self.floors)
        floors[record.purpose] = max(floors.get(record.purpose, 0), record.serial + 1)
        return attrs.evolve(self, floors=tuple(floors.items()))

    def alive(self, record: TokenRecord) -> bool:
        """Whether ``record``'s link survived every change since it was issued."""
        floor = dict(self.floors).get(record.purpose, 0)
        return max(self.valid_from, floor) <= record.serial <= self.issued


def ensure_link_alive(
    record: TokenRecord, ledger: LinkLedger, email: EmailAddress | None
) -> TokenRecord:
    """``record`` if its link still works for a contact with ``ledger`` and ``email``.

    Raises:
        InvalidTokenError: the link was retired (see the module docstring), or it was
            mailed to an address that is no longer the contact's.
    """
    if record.sent_to is not None and (email is None or email.key != record.sent_to):
        raise InvalidTokenError("this link was sent to an address that is no longer yours")
    if not ledger.alive(record):
        raise InvalidTokenError("this link was replaced; use the newest one you received")
    return record
