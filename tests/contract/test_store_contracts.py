"""The two contract suites a store writer runs, on the one-page store of
``examples/minimal_store.py``; what they say when a fixture is missing; a store that
overrides a repository (it keeps the contract, and the service uses its override); and
``docs/stores.md`` showing the example as it is."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import markdown
import pytest
from examples.minimal_store import DictStore

from portal_access import ConfigurationError, Contact, EmailAddress
from portal_access._domain.events import OutboxMessage
from portal_access.repositories import OutboxRepository, TokenRepository, unit_of_work
from portal_access.storage.memory import MemoryStore
from portal_access.testing import StorageContract, StoreContract
from tests.service.harness import ADMIN, account, build

ROOT = Path(__file__).resolve().parents[2]


class _OnDictStore:
    """A new one-page store for each test."""

    @pytest.fixture
    def store(self) -> DictStore:
        return DictStore()


class TestMinimalStorePort(_OnDictStore, StoreContract):
    """The one-page example store keeps the store port's contract."""


class TestMinimalStore(_OnDictStore, StorageContract):
    """The library's repositories keep the storage contract on the one-page store."""


class CountedOutbox(OutboxRepository):
    """The library's outbox, noting the messages it adds: a stand-in for an override
    that serves a method faster."""

    added: ClassVar[list[str]] = []

    def add(
        self,
        message: OutboxMessage,
        *,
        due_at: datetime | None = None,
        claimed_by: str | None = None,
    ) -> None:
        type(self).added.append(message.id)
        super().add(message, due_at=due_at, claimed_by=claimed_by)


class OverridingStore(MemoryStore):
    """A memory store that brings its own outbox repository."""

    repositories: ClassVar[dict[str, type]] = {"outbox": CountedOutbox}


class TestStoreWithAnOverride(StorageContract):
    """A store whose outbox is its own subclass still keeps the storage contract."""

    @pytest.fixture
    def store(self) -> OverridingStore:
        CountedOutbox.added.clear()
        return OverridingStore()


def test_units_of_work_use_the_stores_override():
    """Every unit of work on a store with ``repositories`` uses its class, the service's
    included: the invitation email goes through the store's outbox."""
    CountedOutbox.added.clear()
    harness = build(store=OverridingStore())  # type: ignore[arg-type]
    harness.portal.save_account(account())
    bo = Contact(
        id="c-bo", account_id="acc-1", first_name="Bo", email=EmailAddress.parse("bo@x.io")
    )
    harness.portal.create_contact(bo)
    harness.portal.invite_contact("c-bo", staff=ADMIN)
    with unit_of_work(harness.store) as uow:
        assert type(uow.outbox) is CountedOutbox
        assert type(uow.tokens) is TokenRepository
        sent = [uow.outbox.get(message_id) for message_id in CountedOutbox.added]
    assert "email.requested" in [message.topic for message in sent if message]


@pytest.mark.parametrize(
    ("repositories", "message"),
    [
        ({"mailbox": CountedOutbox}, "no repository is called 'mailbox'"),
        ({"tokens": CountedOutbox}, "must subclass TokenRepository"),
        ({"outbox": "not a class"}, "must subclass OutboxRepository"),
    ],
)
def test_an_override_that_is_not_one_is_refused(repositories: dict[str, object], message: str):
    """An override of an unknown repository, or one that does not subclass the library's
    repository, is a ConfigurationError when a unit of work begins."""
    store = MemoryStore()
    store.repositories = repositories  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match=message), unit_of_work(store):
        pass


@pytest.mark.parametrize("contract", ["StoreContract", "StorageContract"])
def test_a_contract_without_a_store_fixture_says_what_to_write(tmp_path: Path, contract: str):
    """A subclass that forgets the ``store`` fixture fails every test with instructions."""
    (tmp_path / "test_bare.py").write_text(
        f"from portal_access.testing import {contract}\n\n\n"
        f"class TestBare({contract}):\n    pass\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "test_bare.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert f"{contract} needs a `store` fixture: override it" in result.stdout


def test_the_guide_shows_the_example_store_as_it_is():
    """docs/stores.md inserts examples/minimal_store.py whole when the site is built (a
    snippet include, never a copy), so the guide never drifts from the store the suite
    runs."""
    guide = (ROOT / "docs" / "stores.md").read_text(encoding="utf-8")
    example = (ROOT / "examples" / "minimal_store.py").read_text(encoding="utf-8")
    snippets = markdown.Markdown(
        extensions=["pymdownx.snippets"],
        extension_configs={"pymdownx.snippets": {"base_path": [str(ROOT)], "check_paths": True}},
    ).preprocessors["snippet"]
    built = "\n".join(snippets.run(guide.splitlines()))
    quoted = [block.strip() for block in re.findall(r"```py\n(.*?)```", built, re.S)]
    assert example.strip() in quoted
