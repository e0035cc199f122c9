"""The audit trail's repository: entries inserted with the change they record, never
changed, read by contact, by account or all together, oldest first.

An entry is one row under its id holding the :class:`~portal_access.AuditRecord` as its
document, with copies of ``occurred_at``, the contact and the account in columns for the
lookups. Entries are ordered by ``occurred_at``, then by their unit of work (``batch``:
the id of its first entry), then by ``ordinal`` (their place in it): the entries of one
unit of work at one instant stay together, in the order they were recorded (the service
gives every entry of a unit of work the same time). A record holds a ``dict`` (its
details), so records are encoded and decoded afresh every time, never shared through
the document cache.

>>> from datetime import UTC, datetime
>>> from portal_access._domain.audit import Actor, AuditAction, AuditRecord
>>> from portal_access.repositories import unit_of_work
>>> from portal_access.storage.memory import MemoryStore
>>> store, at = MemoryStore(), datetime(2026, 3, 2, tzinfo=UTC)
>>> with unit_of_work(store) as uow:
...     for n, action in enumerate([AuditAction.SEND_INVITATION, AuditAction.ACCESS_CHANGED]):
...         uow.audit_trail.add(AuditRecord(id=f"au_{9 - n}", occurred_at=at,
...             actor=Actor.system(), action=action, contact_id="c-1"))
>>> with unit_of_work(store) as uow:
...     [entry.action.value for entry in uow.audit_trail.entries(contact_id="c-1")]
['send_invitation', 'access_changed']
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from portal_access._domain.audit import AuditRecord
from portal_access._domain.errors import ConflictError, ValidationError
from portal_access._domain.serialization import to_json
from portal_access._domain.validation import ensure_aware, ensure_identifier
from portal_access.ports import Index, Row, Scalar, StoreTransaction
from portal_access.repositories._base import Repository
from portal_access.repositories._documents import DocumentCache, load
from portal_access.repositories._tables import (
    AUDIT_BY_ACCOUNT,
    AUDIT_BY_CONTACT,
    AUDIT_ENTRIES,
    AUDIT_IN_ORDER,
)

__all__ = ["AuditTrailRepository"]


class AuditTrailRepository(Repository):
    """The audit trail: append-only entries, read oldest first (or newest first)."""

    table = AUDIT_ENTRIES

    def __init__(self, transaction: StoreTransaction, documents: DocumentCache) -> None:
        super().__init__(transaction, documents)
        self._added = 0
        self._batch = ""

    def add(self, record: AuditRecord) -> None:
        """Append ``record`` (after every entry this unit of work added before it).

        Raises:
            ConflictError: an entry with this id exists.
        """
        self._added += 1
        self._batch = self._batch or record.id
        values: dict[str, Scalar] = {
            "id": record.id,
            "occurred_at": record.occurred_at,
            "batch": self._batch,
            "ordinal": self._added,
            "contact_id": record.contact_id,
            "account_id": record.account_id,
        }
        if not self.transaction.insert(self.table, Row(values, to_json(record))):
            raise ConflictError(f"audit entry {record.id!r} exists")

    def entries(
        self,
        *,
        contact_id: str | None = None,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> tuple[AuditRecord, ...]:
        """The entries about ``contact_id`` and/or ``account_id`` (every entry when
        neither is given) that occurred at or after ``since`` and before ``until``,
        oldest first (``newest_first``: the other way), at most ``limit`` of them.

        The store finds the contact's or the account's entries by index; the time window
        is applied to what it finds (the store port has no range lookups), so a read of
        the whole trail reads every entry.

        Raises:
            ValidationError: an id that is not one, a naive ``since`` or ``until``, or a
                negative ``limit``.
        """
        index, value = self._lookup(contact_id, account_id)
        for name, instant in (("since", since), ("until", until)):
            if instant is not None:
                ensure_aware(instant, field=name)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise ValidationError("must be a whole number", field="limit", value=limit)
        if limit is not None and limit < 0:
            raise ValidationError("must not be negative", field="limit", value=limit)
        # Oldest first, nothing cut from the front and no second filter: the store can
        # stop at the limit (entries after ``until`` come last, so dropping them
        # afterwards is exact).
        both = contact_id is not None and account_id is not None
        pushed = None if since is not None or newest_first or both else limit
        rows = self.transaction.find(self.table, index, value, limit=pushed)
        found: Sequence[AuditRecord] = [
            record
            for row in rows
            if _within(row, since, until)
            and (account_id is None or row.values["account_id"] == account_id)
            for record in (_record(row),)
        ]
        if newest_first:
            found = found[::-1]
        return tuple(found if limit is None else found[:limit])

    @staticmethod
    def _lookup(contact_id: str | None, account_id: str | None) -> tuple[Index, tuple[str, ...]]:
        if contact_id is not None:
            return AUDIT_BY_CONTACT, (ensure_identifier(contact_id, field="contact_id"),)
        if account_id is not None:
            return AUDIT_BY_ACCOUNT, (ensure_identifier(account_id, field="account_id"),)
        return AUDIT_IN_ORDER, ()


def _within(row: Row, since: datetime | None, until: datetime | None) -> bool:
    at = row.values["occurred_at"]
    assert isinstance(at, datetime)
    return (since is None or at >= since) and (until is None or at < until)


def _record(row: Row) -> AuditRecord:
    assert row.doc is not None
    return load(row.doc, AuditRecord, row.values["id"])
