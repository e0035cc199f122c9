"""The stores' cache of decoded documents: it hands back a remembered value only for the
very text that value encodes to, so it can never serve anything decoding would not."""

from __future__ import annotations

import threading

import attrs
import pytest
from hypothesis import given

from portal_access import AccessState, Money, StorageError
from portal_access._domain.serialization import from_json, to_json
from portal_access.repositories._documents import DocumentCache, load
from portal_access.testing import strategies


@given(strategies.access_states())
def test_a_document_encoded_here_decodes_to_the_value_itself(state: AccessState):
    """Decoding the text the cache just encoded returns that value, equal to a fresh decode."""
    documents = DocumentCache()
    doc = documents.encode(state)
    assert doc == to_json(state)
    assert documents.decode(doc, AccessState, state.contact_id) is state
    assert from_json(doc, AccessState) == state


@given(strategies.access_states())
def test_a_document_read_twice_is_decoded_once(state: AccessState):
    """The second read of the same text returns the value the first read built."""
    doc = to_json(state)
    documents = DocumentCache()
    first = documents.decode(doc, AccessState, state.contact_id)
    assert first == state
    assert documents.decode(doc, AccessState, state.contact_id) is first


def test_a_changed_document_is_decoded_afresh():
    """A newer version of a row (other text) never gets the cached older value."""
    documents = DocumentCache()
    old = documents.decode(to_json(Money(100, "USD")), Money, "fee")
    new = documents.decode(to_json(Money(200, "USD")), Money, "fee")
    assert (old, new) == (Money(100, "USD"), Money(200, "USD"))


def test_a_damaged_document_raises_every_time_and_is_not_remembered():
    """A document that is not a valid value is a StorageError naming the row, each read."""
    documents = DocumentCache()
    for _ in range(2):
        with pytest.raises(StorageError, match="stored Money 'fee' cannot be read"):
            documents.decode('{"amount":-5,"currency":"USD"}', Money, "fee")
    with pytest.raises(StorageError, match="stored Money 'fee' cannot be read"):
        load("not json", Money, "fee")


@attrs.frozen
class _Fee:
    amount: int
    currency: str


def test_the_same_text_decoded_as_another_class_is_that_class():
    """The cache is keyed by class as well as text."""
    documents = DocumentCache()
    doc = documents.encode(Money(100, "USD"))
    fee = documents.decode(doc, _Fee, "fee")
    assert fee == _Fee(100, "USD")
    assert documents.decode(doc, Money, "fee") == Money(100, "USD")


def test_the_cache_keeps_at_most_its_size_dropping_the_oldest():
    """Beyond ``size`` documents the oldest is forgotten (decoded afresh next time)."""
    documents = DocumentCache(size=2)
    values = [Money(n, "USD") for n in (1, 2, 3)]
    docs = [documents.encode(value) for value in values]
    assert documents.decode(docs[2], Money, "fee") is values[2]
    assert documents.decode(docs[1], Money, "fee") is values[1]
    again = documents.decode(docs[0], Money, "fee")
    assert again == values[0]
    assert again is not values[0]


def test_threads_sharing_a_cache_each_get_their_documents_value():
    """Concurrent encodes and decodes (with constant eviction) never mix values up."""
    documents = DocumentCache(size=8)
    failures: list[str] = []

    def work(offset: int) -> None:
        for n in range(2_000):
            value = Money(offset * 10_000 + n, "USD")
            doc = documents.encode(value)
            if documents.decode(doc, Money, "fee") != value:
                failures.append(doc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_cache_of_size_zero_decodes_every_read():
    """``size=0`` remembers nothing: each read is a fresh decode (equal, not the same)."""
    documents = DocumentCache(size=0)
    value = Money(100, "USD")
    doc = documents.encode(value)
    first = documents.decode(doc, Money, "fee")
    assert first == value
    assert first is not value
    assert documents.decode(doc, Money, "fee") is not first
