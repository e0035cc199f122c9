"""Domain values as stored JSON documents, and the decoded values of recent documents.

The repositories keep each value as one JSON document
(:mod:`portal_access._domain.serialization`) and read and write it here. Decoding is
the expensive half: JSON, then cattrs building every nested value with its attrs
validators, tens of microseconds for an access state. Yet
most documents a unit of work reads are ones this process wrote or read moments before
(a webhook reads the payment and the access state the previous webhook of that payment
wrote). :class:`DocumentCache` remembers the value of each document it encoded or
decoded, keyed by class and the document's exact text, and hands that value back when
the same text is read again:

- it only ever serves a value equal to what decoding the text gives (the round trip is
  property-tested for every value class): a document that differs by one character (a
  newer version, another worker's write, a restored backup) is a different key and is
  decoded afresh; what it stores is the text's value, true whether or not the
  transaction that wrote it committed. For a text it encoded it serves the very value
  written, as the memory store does (so a ``datetime`` keeps the time zone object it was
  written with, where a fresh decode gives the same instant with a fixed offset);
- sharing a value is safe because every cached class is a frozen attrs class whose
  fields are themselves immutable (tuples, frozensets, other frozen values). A class
  with a mutable field (``OutboxMessage`` carries a ``dict`` payload) must use
  :func:`load` and :func:`~portal_access._domain.serialization.to_json` instead;
- it is bounded (the oldest entries go first) and safe to share between threads.

:meth:`DocumentCache.latest` serves the hot path (``check_access``) differently: it keeps
the value of each row's newest version, by key, so a read that finds the version it
decoded last skips the decode without even looking at the document. A row version
names one content only within one store, so that half is per store: each store has
its own cache (:func:`~portal_access.repositories.documents_of`).

>>> from portal_access._domain.money import Money
>>> documents = DocumentCache(size=2)
>>> text = documents.encode(Money(2500, "USD"))
>>> text
'{"amount":2500,"currency":"USD"}'
>>> documents.decode(text, Money, key="fee") is documents.decode(text, Money, key="fee")
True
>>> documents.decode('{"amount":-1,"currency":"USD"}', Money, key="fee")
Traceback (most recent call last):
...
portal_access.StorageError: stored Money 'fee' cannot be read: ...
"""

from __future__ import annotations

import threading
from itertools import islice
from typing import TypeVar, cast

from portal_access._domain.errors import PortalAccessError, StorageError
from portal_access._domain.serialization import from_json, to_json

__all__ = ["DEFAULT_DOCUMENT_CACHE_SIZE", "DEFAULT_ROW_CACHE_SIZE", "DocumentCache", "load"]

T = TypeVar("T")

#: How many decoded documents a store keeps: a few per object a burst of webhooks or
#: page views touches, a few megabytes at most.
DEFAULT_DOCUMENT_CACHE_SIZE = 1024
#: How many rows' newest documents :meth:`DocumentCache.latest` keeps: every contact
#: browsing the portal now.
DEFAULT_ROW_CACHE_SIZE = 65_536


def load(doc: str, cls: type[T], key: object) -> T:
    """Decode a stored JSON document into a ``cls``.

    Raises:
        StorageError: the document is not a valid ``cls`` (the row was damaged).
    """
    try:
        return from_json(doc, cls)
    except (PortalAccessError, ValueError, TypeError, KeyError) as exc:
        raise StorageError(f"stored {cls.__name__} {key!r} cannot be read: {exc}") from exc


class DocumentCache:
    """Encodes values to documents and decodes documents, remembering both ways.

    Args:
        size: how many documents to remember; ``0`` remembers none (every read decodes).
        rows: how many rows :meth:`latest` remembers (at least one).
    """

    def __init__(
        self, size: int = DEFAULT_DOCUMENT_CACHE_SIZE, *, rows: int = DEFAULT_ROW_CACHE_SIZE
    ) -> None:
        self._size = max(size, 0)
        self._rows = max(rows, 1)
        self._values: dict[tuple[type, str], object] = {}
        self._latest: dict[object, tuple[int, object]] = {}
        self._lock = threading.Lock()

    def encode(self, value: object) -> str:
        """``value`` as a document (:func:`~portal_access._domain.serialization.to_json`);
        decoding that text later returns ``value`` itself."""
        doc = to_json(value)
        self._remember(type(value), doc, value)
        return doc

    def decode(self, doc: str, cls: type[T], key: object) -> T:
        """The ``cls`` that ``doc`` holds (``key`` names the row in errors).

        Raises:
            StorageError: the document is not a valid ``cls`` (the row was damaged).
        """
        cached = self._values.get((cls, doc))
        if cached is not None:
            return cast("T", cached)
        value = load(doc, cls, key)
        self._remember(cls, doc, value)
        return value

    def latest(self, doc: str, cls: type[T], key: object, version: int) -> T:
        """The ``cls`` that ``doc``, the document of row ``key`` at ``version``, holds;
        decoded only when the version is not the one this row had when last asked (one
        class of rows per cache: the access states).

        >>> from portal_access._domain.money import Money
        >>> documents = DocumentCache()
        >>> fee = documents.latest('{"amount":2500,"currency":"USD"}', Money, "fee", 1)
        >>> documents.latest('{"amount":2500,"currency":"USD"}', Money, "fee", 1) is fee
        True
        >>> documents.latest('{"amount":900,"currency":"USD"}', Money, "fee", 2)
        Money(amount=900, currency='USD')

        Raises:
            StorageError: the document is not a valid ``cls`` (the row was damaged).
        """
        found = self._latest.get(key)
        if found is not None and found[0] == version:
            return found[1]  # type: ignore[return-value] # the value of this version
        value = load(doc, cls, key)
        with self._lock:
            latest = self._latest
            if len(latest) >= self._rows and key not in latest:
                for old in list(islice(latest, max(self._rows // 8, 1))):
                    del latest[old]
            latest[key] = (version, value)
        return value

    def clear(self) -> None:
        """Forget every document."""
        with self._lock:
            self._values.clear()
            self._latest.clear()

    def _remember(self, cls: type, doc: str, value: object) -> None:
        if not self._size:
            return
        with self._lock:
            values = self._values
            values[cls, doc] = value
            while len(values) > self._size:
                del values[next(iter(values))]
