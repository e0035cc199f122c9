"""The storage contract for the audit trail: entries kept with their unit of work, in
the order they happened, found by contact, by account, or all together."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from portal_access._domain.errors import ConflictError, ValidationError
from portal_access.ports import Store
from portal_access.repositories import unit_of_work
from portal_access.testing._storage_contract import values
from portal_access.testing._storage_contract.transactions import roll_back

__all__ = ["AuditContract"]


class AuditContract:
    """What every store's audit trail repository guarantees."""

    def test_audit_entry_reads_back_whole(self, store: Store) -> None:
        """An added entry reads back equal: actor, action, reason, subjects, details."""
        entry = values.audit_entry(reason="=HYPERLINK(\"x\")\n'quoted', \u00e9t\u00e9")
        with unit_of_work(store) as uow:
            uow.audit_trail.add(entry)
        with unit_of_work(store) as uow:
            assert uow.audit_trail.entries() == (entry,)
            assert uow.audit_trail.entries(contact_id="c-1") == (entry,)
            assert uow.audit_trail.entries(account_id="a-1") == (entry,)
            assert uow.audit_trail.entries(contact_id="c-2") == ()

    def test_audit_entries_roll_back_with_their_unit_of_work(self, store: Store) -> None:
        """An entry added in a unit of work that rolls back is not kept."""
        roll_back(store, lambda uow: uow.audit_trail.add(values.audit_entry()))
        with unit_of_work(store) as uow:
            assert uow.audit_trail.entries() == ()

    def test_audit_entry_ids_are_unique(self, store: Store) -> None:
        """Adding a second entry with a taken id raises ConflictError."""
        with unit_of_work(store) as uow:
            uow.audit_trail.add(values.audit_entry())
        with pytest.raises(ConflictError), unit_of_work(store) as uow:
            uow.audit_trail.add(values.audit_entry(reason="again"))
        with unit_of_work(store) as uow:
            assert [e.reason for e in uow.audit_trail.entries()] == ["client is a partner"]

    def test_audit_entries_in_the_order_they_happened(self, store: Store) -> None:
        """Oldest instant first (whatever offset it was given in); entries of one unit of
        work at one instant in the order added, whatever their ids."""
        later = values.NOW + timedelta(minutes=1)
        earlier = (values.NOW - timedelta(minutes=1)).astimezone(timezone(timedelta(hours=5)))
        with unit_of_work(store) as uow:
            uow.audit_trail.add(values.audit_entry("au-9"))
            uow.audit_trail.add(values.audit_entry("au-1"))
            uow.audit_trail.add(values.audit_entry("au-0", occurred_at=later))
        with unit_of_work(store) as uow:
            uow.audit_trail.add(values.audit_entry("au-5", occurred_at=earlier))
        with unit_of_work(store) as uow:
            trail = uow.audit_trail
            assert [e.id for e in trail.entries()] == ["au-5", "au-9", "au-1", "au-0"]
            assert [e.id for e in trail.entries(newest_first=True)] == [
                "au-0",
                "au-1",
                "au-9",
                "au-5",
            ]
            assert [e.id for e in trail.entries(contact_id="c-1", limit=2)] == ["au-5", "au-9"]
            assert [e.id for e in trail.entries(limit=1, newest_first=True)] == ["au-0"]
            assert trail.entries(limit=0) == ()

    def test_audit_entries_in_a_window(self, store: Store) -> None:
        """``since`` is inclusive, ``until`` exclusive; both combine with the limit."""
        at = [values.NOW + timedelta(minutes=n) for n in range(4)]
        with unit_of_work(store) as uow:
            for n, when in enumerate(at):
                uow.audit_trail.add(values.audit_entry(f"au-{n}", occurred_at=when))
        with unit_of_work(store) as uow:
            trail = uow.audit_trail
            assert [e.id for e in trail.entries(since=at[1])] == ["au-1", "au-2", "au-3"]
            assert [e.id for e in trail.entries(until=at[2])] == ["au-0", "au-1"]
            assert [e.id for e in trail.entries(since=at[1], until=at[3], limit=1)] == ["au-1"]
            assert [e.id for e in trail.entries(until=at[3], limit=5)] == ["au-0", "au-1", "au-2"]
            newest = trail.entries(since=at[1], limit=2, newest_first=True)
            assert [e.id for e in newest] == ["au-3", "au-2"]

    def test_audit_entries_by_contact_and_account(self, store: Store) -> None:
        """A contact's entries, an account's (entries about no contact included), both."""
        with unit_of_work(store) as uow:
            uow.audit_trail.add(values.audit_entry("au-1"))
            uow.audit_trail.add(values.audit_entry("au-2", contact_id="c-2"))
            uow.audit_trail.add(values.audit_entry("au-3", contact_id=None))
            uow.audit_trail.add(values.audit_entry("au-4", contact_id="c-1", account_id="a-2"))
            uow.audit_trail.add(values.audit_entry("au-5", contact_id=None, account_id=None))
        with unit_of_work(store) as uow:
            trail = uow.audit_trail
            assert [e.id for e in trail.entries(contact_id="c-1")] == ["au-1", "au-4"]
            assert [e.id for e in trail.entries(account_id="a-1")] == ["au-1", "au-2", "au-3"]
            both = trail.entries(contact_id="c-1", account_id="a-1", limit=5)
            assert [e.id for e in both] == ["au-1"]
            assert len(trail.entries()) == 5

    def test_audit_entries_refuse_bad_questions(self, store: Store) -> None:
        """A naive time, a negative or non-integer limit, a blank id: ValidationError."""
        with unit_of_work(store) as uow:
            trail = uow.audit_trail
            with pytest.raises(ValidationError):
                trail.entries(since=values.NOW.replace(tzinfo=None))
            with pytest.raises(ValidationError):
                trail.entries(limit=-1)
            with pytest.raises(ValidationError):
                trail.entries(limit=True)
            with pytest.raises(ValidationError):
                trail.entries(contact_id=" ")
