"""The ports: the small typing Protocols the service needs from the outside world.

Implement these to plug in your own store, gateway, mailer, clock, token source,
password hasher or rate limiter. Each method's docstring is the contract; the contract
suites in :mod:`portal_access.testing` check an implementation against it.

- :class:`Store` keeps rows of the tables :mod:`portal_access.repositories` declares
  (:class:`Table`, :class:`Column`, :class:`Index`) and hands out transactions; a
  :class:`StoreTransaction` reads and writes :class:`Row` values by key and by index.
  Eight methods in all: every rule (numbering, single use, orderings, versions) lives
  once, in the repositories above this port (``docs/stores.md``). A store whose
  transactions may run inside a host's transaction also offers :class:`AfterCommit`.
- :class:`PaymentGateway` opens hosted checkout pages, verifies and normalises webhooks,
  lists past events (reconcile), refunds, cancels.
- :class:`DocumentRenderer` draws an invoice or a statement as a PDF.
- :class:`Mailer`, :class:`Clock`, :class:`TokenSource`, :class:`PasswordHasher`,
  :class:`RateLimiter`, :class:`BackgroundRunner`: one or two methods each.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

import attrs

from portal_access._domain.autopay import SavedMethodCharge, SavedMethodSetup, SavedPaymentMethod
from portal_access._domain.checkout import CheckoutRequest, CheckoutSession
from portal_access._domain.documents import Document
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ValidationError
from portal_access._domain.gateway_events import GatewayEvent
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentSnapshot

__all__ = [
    "AfterCommit",
    "AggregateReads",
    "BackgroundRunner",
    "Clock",
    "Column",
    "Committed",
    "DocumentRenderer",
    "Index",
    "Key",
    "Lock",
    "Mailer",
    "PasswordHasher",
    "PaymentGateway",
    "RateLimiter",
    "Row",
    "SavedMethodCharging",
    "SavedMethodSaving",
    "Scalar",
    "Store",
    "StoreTransaction",
    "Table",
    "TokenSource",
    "Total",
    "Where",
]

#: A value a column holds.
Scalar = str | int | bool | date | datetime | None
#: A row's key: the values of its table's key columns, in the table's key order.
Key = tuple[Scalar, ...]
#: What :meth:`Store.read_committed` returns: a row's document and version.
Committed = tuple[str | None, int]

_COLUMN_TYPES = (str, int, bool, date, datetime)


# -- the store: what a table is ------------------------------------------------------------


def _names(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(n, str) and n for n in value):
        raise ValidationError("must be a tuple of column names", field=attribute.name, value=value)


@attrs.frozen
class Column:
    """A column of a :class:`Table`.

    Args:
        name: the column's name.
        type: what it holds: ``str`` (a key or lookup value, compared by code point),
            ``int``, ``bool``, ``date`` or ``datetime`` (timezone-aware; ordered as instants).
        nullable: whether it may hold ``None``.
        text: a ``str`` that is long and never looked up (a database stores it as
            unbounded text rather than as a key).
    """

    name: str
    type: type = attrs.field(validator=attrs.validators.in_(_COLUMN_TYPES))
    nullable: bool = False
    text: bool = attrs.field(default=False, kw_only=True)


@attrs.frozen
class Index:
    """A lookup of a :class:`Table`: rows whose ``equal`` columns equal given values,
    ordered by the ``order`` columns and then by the table's key.

    Args:
        name: the index's name (a database names its index so).
        equal: the columns a lookup gives values for; none: the lookup selects every
            row, in order (the audit trail read whole).
        order: the columns that order what a lookup finds (never nullable).
        unique: no two rows may hold the same values in the ``equal`` columns (rows
            with a ``None`` among them never clash, as in SQL).

    >>> by_class = Index("ix_accounts_class", ("class_id",))
    >>> by_class.selects({"id": "a-1", "class_id": "k-1"}, ("k-1",))
    True
    """

    name: str
    equal: tuple[str, ...] = attrs.field(validator=_names)
    order: tuple[str, ...] = attrs.field(default=(), validator=_names)
    unique: bool = False

    def selects(self, values: Mapping[str, Scalar], wanted: Sequence[Scalar]) -> bool:
        """Whether a row holding ``values`` is found by a lookup of ``wanted`` (one value
        per ``equal`` column; ``None`` finds nothing, as SQL's ``=``)."""
        return all(
            value is not None and values[name] == value
            for name, value in zip(self.equal, wanted, strict=True)
        )


@attrs.frozen
class Table:
    """A table a store keeps: its key, its columns, its lookups.

    Args:
        name: the table's name.
        key: the columns that identify a row (never nullable).
        columns: every column, the key's included.
        indexes: the lookups :meth:`StoreTransaction.find` serves.
        document: each row also holds a document (:attr:`Row.doc`, long text).
        versioned: each row also holds a version (:attr:`Row.version`) that
            :meth:`StoreTransaction.update` can require.

    Raises:
        ValidationError: the key or an index names an unknown column, or a nullable one
            where it may not.

    >>> by_account = Index("ix_invoices_account", ("account_id",), order=("issued_on",))
    >>> invoices = Table(
    ...     "invoices",
    ...     ("id",),
    ...     (Column("id", str), Column("account_id", str), Column("issued_on", date)),
    ...     (by_account,),
    ... )
    >>> row = Row({"id": "inv-1", "account_id": "a-1", "issued_on": date(2026, 3, 1)}, "{}")
    >>> invoices.key_of(row.values), invoices.sort_key(by_account)(row)
    (('inv-1',), (datetime.date(2026, 3, 1), 'inv-1'))
    """

    name: str
    key: tuple[str, ...] = attrs.field(validator=_names)
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...] = ()
    document: bool = True
    versioned: bool = False

    def __attrs_post_init__(self) -> None:
        names = {column.name for column in self.columns}
        required = {column.name for column in self.columns if not column.nullable}
        wrong = [name for name in self.key if name not in required]
        for index in self.indexes:
            wrong += [name for name in index.equal if name not in names]
            wrong += [name for name in index.order if name not in required]
        if wrong:
            raise ValidationError(
                f"table {self.name}: unknown or nullable columns {wrong}", field="columns"
            )

    def key_of(self, values: Mapping[str, Scalar]) -> Key:
        """The key of a row holding ``values``."""
        return tuple(map(values.__getitem__, self.key))

    def sort_key(self, index: Index) -> Callable[[Row], tuple[Scalar, ...]]:
        """What orders the rows ``index`` finds: its ``order`` columns, then the key."""
        names = index.order + self.key
        return lambda row: tuple(row.values[name] for name in names)


class Row(NamedTuple):
    """One row: its columns' values, and its document and version when the table has them.

    (A named tuple rather than an attrs class: the hot path makes one per page view.)

    Attributes:
        values: a value for every column of the table (read-only).
        doc: the document (``None`` when the table keeps none).
        version: the row version (``0`` when the table keeps none).
    """

    values: Mapping[str, Scalar]
    doc: str | None = None
    version: int = 0


class Lock(enum.Enum):
    """How a read inside a transaction locks the rows it returns, until the transaction
    ends. A store that runs one transaction at a time may ignore it."""

    NONE = "none"
    """No lock: read the newest committed rows (and the transaction's own writes)."""
    WAIT = "wait"
    """Lock the rows, waiting for another transaction's lock (``FOR UPDATE``); what is
    returned is the newest committed state after that wait."""
    SKIP = "skip"
    """Lock the rows, leaving out those another transaction has locked
    (``FOR UPDATE SKIP LOCKED``)."""


# -- the store: the port ---------------------------------------------------------------------


class StoreTransaction(Protocol):
    """One transaction of a :class:`Store`: reads see the committed state plus its own
    writes; nothing it writes is seen elsewhere before it commits.

    Every method raises :class:`~portal_access.StorageError` once the transaction has
    ended, or when the store fails.
    """

    def get(self, table: Table, key: Key, *, lock: Lock = Lock.NONE) -> Row | None:
        """The row of ``table`` with this ``key``, or ``None`` (locked as ``lock`` says)."""

    def find(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        limit: int | None = None,
        lock: Lock = Lock.NONE,
    ) -> Sequence[Row]:
        """The rows of ``table`` that ``index`` selects for ``values`` (one per ``equal``
        column; see :meth:`Index.selects`), ordered by :meth:`Table.sort_key`: the
        index's ``order`` columns, then the key. At most ``limit`` rows when given."""

    def insert(self, table: Table, row: Row) -> bool:
        """Add ``row``; ``False``, writing nothing, when its key or the values of a unique
        index are taken. Either way the transaction stays usable (``ON CONFLICT DO
        NOTHING``, never a failed statement)."""

    def update(self, table: Table, row: Row, *, expected_version: int | None = None) -> bool:
        """Replace the row whose key is ``row``'s with ``row`` (values, document and
        version, as given); when ``expected_version`` is given, only if the stored row's
        version equals it. ``False``, writing nothing, when no row matched.

        Raises:
            ConflictError: the new values take a unique index's values held by another
                row (the repositories check first; only a race gets here). The
                transaction then cannot commit.
        """

    def delete(self, table: Table, key: Key) -> bool:
        """Remove the row with this ``key``; ``False`` when there was none."""

    def next_value(self, counter: str, *, first: int) -> int:
        """The next value of the named counter: ``first`` on its first use, then one more
        than the last value handed out. Taken inside the transaction: a rollback hands
        it out again; concurrent transactions never get the same value."""


class Total(NamedTuple):
    """One group of :meth:`AggregateReads.totals`: the group's values (one per ``by``
    column), the sums of the ``sums`` columns over its rows, and how many rows it has."""

    group: tuple[Scalar, ...]
    sums: tuple[int, ...]
    rows: int


#: Row filters of :class:`AggregateReads`: per column, the values a row may hold there
#: (``None`` among them matches a null).
Where = Mapping[str, Collection[Scalar]]


@runtime_checkable
class AggregateReads(Protocol):
    """An optional capability of a :class:`StoreTransaction`: sums and the newest rows,
    computed by the store in one statement each.

    The repositories use it when a transaction has it (the SQL store's does), and
    otherwise compute the same from :meth:`StoreTransaction.find` in Python, so a store
    of your own needs none of it. Both methods see the rows ``index`` selects for
    ``values`` (as ``find`` does) that also pass ``where``.
    """

    def totals(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        by: Sequence[str],
        sums: Sequence[str] = (),
        where: Where | None = None,
        min_count: int = 1,
    ) -> Sequence[Total]:
        """The rows grouped by the ``by`` columns: per group, the sums of the ``sums``
        (integer) columns and the row count; only groups of ``min_count`` rows or more.
        Groups come in no particular order."""

    def newest(
        self,
        table: Table,
        index: Index,
        values: Sequence[Scalar],
        *,
        order: Sequence[str],
        limit: int | None = None,
        where: Where | None = None,
    ) -> Sequence[Row]:
        """The rows in descending order of the ``order`` columns (never nullable), then
        of the key; at most ``limit`` when given."""


class Store(Protocol):
    """Where portal-access keeps its state: rows of the tables declared in
    :data:`portal_access.repositories.TABLES`, each kept under its key.

    A store may also define ``repositories`` (a mapping of repository name to a subclass
    of the library's repository, used instead of it) and ``documents`` (a
    :class:`~portal_access.repositories.DocumentCache`): see ``docs/stores.md``.
    """

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """Begin a transaction; leaving the block commits, an exception rolls back (and
        propagates unchanged). Transactions do not nest within a thread.

        Raises:
            StaleStateError: the commit lost a race the caller may retry.
            StorageError: the store failed, a transaction is already open in this
                thread, or a statement failed and the block carried on (nothing is
                committed).
        """

    def read_committed(self, table: Table, key: Key) -> Committed | None:
        """``(doc, version)`` of the committed row of ``table`` with this ``key`` (as
        :attr:`Row.doc` and :attr:`Row.version` say), or ``None``, read outside any
        transaction: the hot path of ``check_access``, called on every portal page, which
        needs nothing else of the row. It never sees uncommitted writes.

        Raises:
            StorageError: the store failed.
        """


@runtime_checkable
class AfterCommit(Protocol):
    """An optional capability of a :class:`Store` whose transactions may run inside a
    transaction the host opened and commits (Django's ``transaction.atomic``): leaving
    :meth:`Store.transaction`'s block then commits nothing yet, the host's commit does.

    The service delivers the outbox (emails, subscribers) through it, so that nothing
    leaves the process before the rows behind it are committed; the messages of a host
    transaction that rolls back are rolled back with it. A store without it commits
    when the block ends, and the service delivers at once.
    """

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` once the transaction open in this thread commits: at once
        when none is open (an exception then propagates to the caller); never when it
        rolls back. Called later, after the host's commit, an exception it raises is
        logged, never raised into the host's code."""


# -- the outside world --------------------------------------------------------------------


@runtime_checkable
class PaymentGateway(Protocol):
    """A payment processor (Stripe, Square, PayPal, or the in-process sandbox).

    Adapters translate vendor errors into :class:`~portal_access.GatewayError`
    subclasses at their edge, with ``raise ... from exc``.
    """

    @property
    def name(self) -> str:
        """The gateway's name as offers and contacts use it (``"stripe"``)."""

    def start_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a hosted page for ``request``; the same ``idempotency_key`` returns the
        same page (or an equivalent) rather than a second one.

        Reports of payments made there must carry ``request.invoice_id`` (as vendor
        metadata) so they find their invoice, and subscriptions ``request.contact_id``.

        Raises:
            GatewayError: the vendor refused or could not be reached.
        """

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        """Verify the vendor's signature over ``body`` *before* parsing anything, then
        normalise the event. ``headers`` keys are matched case-insensitively.

        Raises:
            WebhookVerificationError: bad or missing signature, stale timestamp, or a
                body that is not the vendor's JSON.
            GatewayError: the adapter had to look an object up at the vendor (e.g. a
                refund's charge without our metadata) and could not; answer 5xx so the
                vendor retries.
        """

    def list_events(self, *, since: datetime) -> Iterator[GatewayEvent]:
        """Events the vendor recorded since ``since``, oldest first (for reconcile).

        Raises:
            GatewayError: the vendor could not be asked (reconcile can be run again).
        """

    def refund(self, payment_id: str, *, amount: Money | None, idempotency_key: str) -> None:
        """Refund a payment, in full when ``amount`` is ``None``. The new state arrives
        as a report like any other."""

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> None:
        """Cancel a subscription now."""

    def expire_checkout(self, session_id: str) -> None:
        """Close a hosted page that must no longer take payment (e.g. after a waiver).
        Closing one already closed or completed is not an error.

        Raises:
            GatewayRejectedError: the vendor knows no such page.
        """


@runtime_checkable
class SavedMethodCharging(Protocol):
    """A :class:`PaymentGateway` that can charge a saved payment method off-session,
    which autopay needs (seeds 001 and 003). A gateway without this method is skipped
    by autopay, which says so in its report (``docs/concepts/autopay.md``).
    """

    def charge_saved_method(self, charge: SavedMethodCharge) -> PaymentSnapshot:
        """Charge ``charge.amount`` to the saved method ``charge.method_id`` of contact
        ``charge.contact_id``, reporting ``charge.invoice_id`` as the payment's invoice
        (as a checkout payment does); the same ``idempotency_key`` charges once.

        Returns the payment as the vendor answered: ``SUCCEEDED``, ``PROCESSING`` (a
        bank payment clearing) or ``FAILED`` (declined, where the vendor answers a
        decline with a payment, as the sandbox does). Later states arrive as reports
        like any other. Autopay records a decline either way.

        Raises:
            PaymentDeclinedError: the vendor refused the charge with a decline code
                (Stripe, Square and PayPal answer a decline this way).
            GatewayRejectedError: the vendor knows no such method, or not for this
                contact.
            GatewayUnavailableError: the vendor could not be reached (retry with the
                same key).
        """


@runtime_checkable
class SavedMethodSaving(Protocol):
    """A :class:`PaymentGateway` that saves a payment method from a token the payer's
    browser got from the vendor's own script, without a payment (Square's card nonce,
    PayPal's approved vault setup token). ``PortalAccess.save_payment_method`` calls it
    only for a contact who may save a method (seed 003) through that gateway (seed 004);
    see ``docs/concepts/autopay.md``.
    """

    def save_method(self, setup: SavedMethodSetup) -> SavedPaymentMethod:
        """Save the method ``setup.token`` stands for as contact ``setup.contact_id``'s
        (the vendor's customer profile of the contact, made when missing); the same
        ``idempotency_key`` saves once.

        Returns the saved method (its ``method_id`` is what
        :meth:`SavedMethodCharging.charge_saved_method` is later given).

        Raises:
            GatewayRejectedError: the vendor refused the token (unknown, used, expired,
                or made for another contact).
            PaymentDeclinedError: the card's issuer refused to store it.
            GatewayUnavailableError: the vendor could not be reached (retry with the same
                key).
        """


class Mailer(Protocol):
    """Sends email. Called after commit, from the outbox; may be called again for the
    same message after a failure, so implementations may deduplicate on ``message_id``."""

    def send(
        self,
        *,
        message_id: str,
        to: Sequence[EmailAddress],
        subject: str,
        text: str,
        html: str,
    ) -> None:
        """Send one message; raise any exception to have it retried later."""


class Clock(Protocol):
    """The time. The only place ``now`` comes from."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""


class TokenSource(Protocol):
    """Randomness: token bytes and new ids."""

    def token_bytes(self, size: int) -> bytes:
        """``size`` cryptographically strong random bytes (``secrets.token_bytes``)."""

    def new_id(self, prefix: str) -> str:
        """A new unique id starting with ``prefix`` (``"c_"``, ``"inv_"``...)."""


class DocumentRenderer(Protocol):
    """Draws a document (an invoice or a statement, seed 004) as a file to download."""

    #: The media type of what :meth:`render` returns (``"application/pdf"``).
    media_type: str

    def render(self, document: Document) -> bytes:
        """The file of ``document``: every text, amount and the portal link it holds,
        as given (amounts come already written in their currency's minor units)."""


class PasswordHasher(Protocol):
    """Hashes and checks passwords with a memory-hard scheme."""

    def hash(self, password: str) -> str:
        """An encoded hash of ``password`` that includes its own parameters and salt."""

    def verify(self, password: str, encoded: str) -> bool:
        """Whether ``password`` matches ``encoded``, in constant time."""


class RateLimiter(Protocol):
    """Counts attempts per key in a sliding window. The library calls it outside any
    unit of work, so a limiter may open transactions of its own on the store."""

    def hit(self, key: str, *, now: datetime) -> None:
        """Count one attempt under ``key``.

        Raises:
            RateLimitedError: the window's limit is already reached (this attempt is
                refused and not counted).
        """


class BackgroundRunner(Protocol):
    """Runs a job after the current request has been answered (a thread, a task queue).

    The anonymous flows hand it their real work, so the visitor's request takes the
    same time whether or not anything matched. A job is a callable without arguments
    that logs its own failures; a runner may run jobs in any thread, in any order, and
    at most once each.
    """

    def __call__(self, job: Callable[[], object]) -> object:
        """Arrange for ``job()`` to run soon, outside the caller's request."""
