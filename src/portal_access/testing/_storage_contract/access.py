"""The storage contract for portal logins, access states and token records."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from portal_access._domain.errors import ConflictError, StaleStateError
from portal_access.ports import Store
from portal_access.repositories import unit_of_work
from portal_access.testing._storage_contract import values

__all__ = ["AccessContract"]


class AccessContract:
    """What every store's login, access-state and token repositories guarantee."""

    def test_logins_get_unknown_is_none(self, store: Store) -> None:
        """logins.get of a contact without a login is None."""
        with unit_of_work(store) as uow:
            assert uow.logins.get("c-unknown") is None

    def test_logins_insert_gives_version_one(self, store: Store) -> None:
        """logins.save with expected_version=None inserts the login at version 1."""
        with unit_of_work(store) as uow:
            saved = uow.logins.save(values.login(), expected_version=None)
        assert saved == attrs.evolve(values.login(), version=1)
        with unit_of_work(store) as uow:
            assert uow.logins.get("c-1") == saved

    def test_logins_update_bumps_version(self, store: Store) -> None:
        """logins.save with the stored version updates the login and bumps its version."""
        with unit_of_work(store) as uow:
            first = uow.logins.save(values.login(), expected_version=None)
        changed = first.with_temporary_password("hash$1")
        with unit_of_work(store) as uow:
            second = uow.logins.save(changed, expected_version=1)
        assert second == attrs.evolve(changed, version=2)
        with unit_of_work(store) as uow:
            assert uow.logins.get("c-1") == second

    def test_logins_stale_version_raises(self, store: Store) -> None:
        """logins.save with a version other than the stored one raises StaleStateError."""
        with unit_of_work(store) as uow:
            uow.logins.save(values.login(), expected_version=None)
        changed = values.login().with_temporary_password("hash$1")
        with pytest.raises(StaleStateError), unit_of_work(store) as uow:
            uow.logins.save(changed, expected_version=7)
        with unit_of_work(store) as uow:
            assert uow.logins.get("c-1") == attrs.evolve(values.login(), version=1)

    def test_logins_insert_over_existing_raises(self, store: Store) -> None:
        """logins.save with expected_version=None for a contact that has a login is stale."""
        with unit_of_work(store) as uow:
            uow.logins.save(values.login(), expected_version=None)
        with pytest.raises(StaleStateError), unit_of_work(store) as uow:
            uow.logins.save(values.login(address="other@example.com"), expected_version=None)

    def test_logins_update_of_missing_raises(self, store: Store) -> None:
        """logins.save with a version for a contact without a login raises StaleStateError."""
        with pytest.raises(StaleStateError), unit_of_work(store) as uow:
            uow.logins.save(values.login(), expected_version=1)

    def test_logins_email_unique_in_any_case(self, store: Store) -> None:
        """logins.save of a second login whose email differs only in case raises ConflictError."""
        with unit_of_work(store) as uow:
            uow.logins.save(values.login("c-1", address="ann@example.com"), expected_version=None)
        with pytest.raises(ConflictError), unit_of_work(store) as uow:
            uow.logins.save(values.login("c-2", address="ANN@Example.com"), expected_version=None)
        with unit_of_work(store) as uow:
            assert uow.logins.get("c-2") is None

    def test_logins_with_email_case_insensitive(self, store: Store) -> None:
        """logins.with_email finds the login whatever the case, and None for another email."""
        with unit_of_work(store) as uow:
            saved = uow.logins.save(values.login(address="Ann@example.com"), expected_version=None)
        with unit_of_work(store) as uow:
            assert uow.logins.with_email(values.email("ANN@EXAMPLE.COM")) == saved
            assert uow.logins.with_email(values.email("bob@example.com")) is None

    def test_logins_with_email_follows_an_email_change(self, store: Store) -> None:
        """A login saved with a new email is found by the new one and not the old one."""
        with unit_of_work(store) as uow:
            uow.logins.save(values.login(address="ann@example.com"), expected_version=None)
        with unit_of_work(store) as uow:
            moved = uow.logins.save(values.login(address="ann@new.example"), expected_version=1)
        with unit_of_work(store) as uow:
            assert uow.logins.with_email(values.email("ann@example.com")) is None
            assert uow.logins.with_email(values.email("ann@new.example")) == moved
            assert uow.logins.get("c-1") == moved

    def test_access_get_unknown_is_none(self, store: Store) -> None:
        """access.get of a contact without a state is None."""
        with unit_of_work(store) as uow:
            assert uow.access.get("c-unknown") is None

    def test_access_insert_gives_version_one(self, store: Store) -> None:
        """access.save with expected_version=None inserts the state at version 1."""
        with unit_of_work(store) as uow:
            saved = uow.access.save(values.access_state(), expected_version=None)
        assert saved == values.access_state(version=1)
        with unit_of_work(store) as uow:
            assert uow.access.get("c-1") == saved

    def test_access_update_bumps_version(self, store: Store) -> None:
        """access.save with the stored version updates the state and bumps its version."""
        with unit_of_work(store) as uow:
            first = uow.access.save(values.access_state(), expected_version=None)
        with unit_of_work(store) as uow:
            second = uow.access.save(attrs.evolve(first, registered=False), expected_version=1)
        assert second == values.access_state(registered=False, version=2)
        with unit_of_work(store) as uow:
            assert uow.access.get("c-1") == second

    def test_access_stale_version_raises(self, store: Store) -> None:
        """access.save with a version other than the stored one raises StaleStateError."""
        with unit_of_work(store) as uow:
            uow.access.save(values.access_state(), expected_version=None)
        with pytest.raises(StaleStateError), unit_of_work(store) as uow:
            uow.access.save(values.access_state(registered=False), expected_version=2)
        with unit_of_work(store) as uow:
            assert uow.access.get("c-1") == values.access_state(version=1)

    def test_access_insert_over_existing_raises(self, store: Store) -> None:
        """access.save with expected_version=None when a state exists raises StaleStateError."""
        with unit_of_work(store) as uow:
            uow.access.save(values.access_state(), expected_version=None)
        with pytest.raises(StaleStateError), unit_of_work(store) as uow:
            uow.access.save(values.access_state(registered=False), expected_version=None)

    def test_access_update_of_missing_raises(self, store: Store) -> None:
        """access.save with a version for a contact without a state raises StaleStateError."""
        with pytest.raises(StaleStateError), unit_of_work(store) as uow:
            uow.access.save(values.access_state(), expected_version=1)

    def test_access_contact_ids_for_account_in_id_order(self, store: Store) -> None:
        """access.contact_ids_for_account lists the account's contacts with a state, by id."""
        with unit_of_work(store) as uow:
            for contact_id in ("c-b", "c-c", "c-a"):
                uow.access.save(values.access_state(contact_id), expected_version=None)
            uow.access.save(values.access_state("c-0", account_id="a-2"), expected_version=None)
        with unit_of_work(store) as uow:
            assert list(uow.access.contact_ids_for_account("a-1")) == ["c-a", "c-b", "c-c"]
            assert list(uow.access.contact_ids_for_account("a-none")) == []

    def test_access_contact_ids_for_account_follow_an_account_change(self, store: Store) -> None:
        """A state saved with another account is listed under the new account only."""
        with unit_of_work(store) as uow:
            uow.access.save(values.access_state("c-1", account_id="a-1"), expected_version=None)
        moved = values.access_state("c-1", account_id="a-2")
        with unit_of_work(store) as uow:
            saved = uow.access.save(moved, expected_version=1)
        with unit_of_work(store) as uow:
            assert list(uow.access.contact_ids_for_account("a-1")) == []
            assert list(uow.access.contact_ids_for_account("a-2")) == ["c-1"]
            assert uow.access.get("c-1") == saved == attrs.evolve(moved, version=2)

    def test_access_stale_version_with_another_account_raises(self, store: Store) -> None:
        """access.save of a stale version raises StaleStateError, whether or not the
        account changed, and leaves the stored state as it was."""
        with unit_of_work(store) as uow:
            uow.access.save(values.access_state("c-1"), expected_version=None)
        for account_id in ("a-1", "a-2"):
            moved = values.access_state("c-1", account_id=account_id, registered=False)
            with pytest.raises(StaleStateError), unit_of_work(store) as uow:
                uow.access.save(moved, expected_version=5)
        with unit_of_work(store) as uow:
            assert uow.access.get("c-1") == values.access_state("c-1", version=1)

    def test_tokens_add_then_get(self, store: Store) -> None:
        """tokens.add stores the record under its digest; get of another digest is None."""
        with unit_of_work(store) as uow:
            uow.tokens.add(values.token("token-1"))
        with unit_of_work(store) as uow:
            assert uow.tokens.get(values.token("token-1").digest) == values.token("token-1")
            assert uow.tokens.get(values.token("token-2").digest) is None

    def test_tokens_add_duplicate_raises(self, store: Store) -> None:
        """tokens.add of a digest already stored raises ConflictError and keeps the first."""
        with unit_of_work(store) as uow:
            uow.tokens.add(values.token(contact_id="c-1"))
        with pytest.raises(ConflictError), unit_of_work(store) as uow:
            uow.tokens.add(values.token(contact_id="c-2"))
        with unit_of_work(store) as uow:
            assert uow.tokens.get(values.token().digest) == values.token(contact_id="c-1")

    def test_tokens_mark_used_first_time(self, store: Store) -> None:
        """tokens.mark_used of an unused token sets used_at and returns True."""
        with unit_of_work(store) as uow:
            uow.tokens.add(values.token())
        with unit_of_work(store) as uow:
            assert uow.tokens.mark_used(values.token().digest, values.NOW) is True
        with unit_of_work(store) as uow:
            assert uow.tokens.get(values.token().digest) == attrs.evolve(
                values.token(), used_at=values.NOW
            )

    def test_tokens_mark_used_only_once(self, store: Store) -> None:
        """tokens.mark_used of a used token returns False and keeps the first used_at."""
        later = values.NOW + timedelta(minutes=5)
        with unit_of_work(store) as uow:
            uow.tokens.add(values.token())
            assert uow.tokens.mark_used(values.token().digest, values.NOW) is True
            assert uow.tokens.mark_used(values.token().digest, later) is False
        with unit_of_work(store) as uow:
            assert uow.tokens.mark_used(values.token().digest, later) is False
            record = uow.tokens.get(values.token().digest)
            assert record is not None
            assert record.used_at == values.NOW

    def test_tokens_mark_used_unknown_is_false(self, store: Store) -> None:
        """tokens.mark_used of an unknown digest returns False."""
        with unit_of_work(store) as uow:
            assert uow.tokens.mark_used(values.token().digest, values.NOW) is False
