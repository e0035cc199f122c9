"""The ports: the small typing Protocols the service needs from the outside world.

Implement these to plug in your own store, gateway, mailer, clock, token source,
password hasher or rate limiter. Each method's docstring is the contract; the contract
suites in :mod:`portal_access.testing` check an implementation against it.

- :class:`Store` hands out units of work; a :class:`UnitOfWork` commits everything it
  wrote or nothing, and exposes one small repository per aggregate.
- :class:`PaymentGateway` opens hosted checkout pages, verifies and normalises webhooks,
  lists past events (reconcile), refunds, cancels.
- :class:`Mailer`, :class:`Clock`, :class:`TokenSource`, :class:`PasswordHasher`,
  :class:`RateLimiter`, :class:`BackgroundRunner`: one or two methods each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from portal_access._domain.access import AccessState
from portal_access._domain.accounts import Account, AccountClass, Site
from portal_access._domain.billing import Invoice, Plan
from portal_access._domain.checkout import CheckoutRequest, CheckoutSession
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.events import OutboxMessage
from portal_access._domain.gateway_events import GatewayEvent, SubscriptionReport
from portal_access._domain.logins import PortalLogin
from portal_access._domain.money import Money
from portal_access._domain.offers import Offer
from portal_access._domain.payments import PaymentSnapshot
from portal_access._domain.tokens import TokenRecord
from portal_access._domain.validation import aware_datetime, identifier, instance_of, optional

__all__ = [
    "AccessStateRepository",
    "AccountClassRepository",
    "AccountRepository",
    "BackgroundRunner",
    "CheckoutRecord",
    "CheckoutRepository",
    "Clock",
    "ContactRepository",
    "GatewayEventRepository",
    "IdempotencyRepository",
    "InvoiceRepository",
    "LoginRepository",
    "Mailer",
    "OfferRepository",
    "OutboxRepository",
    "PasswordHasher",
    "PaymentGateway",
    "PaymentRecord",
    "PaymentRepository",
    "PlanRepository",
    "RateLimiter",
    "SiteRepository",
    "Store",
    "SubscriptionRepository",
    "TokenRepository",
    "TokenSource",
    "UnitOfWork",
]


# -- records the store keeps besides the domain values -----------------------------------


@attrs.frozen
class PaymentRecord:
    """A payment as the store keeps it: the newest snapshot and whose it is.

    Unique by ``(snapshot.gateway, snapshot.payment_id)``: the create call and every
    webhook upsert the same row, so a create call racing its webhook makes one payment.
    """

    snapshot: PaymentSnapshot = attrs.field(validator=instance_of(PaymentSnapshot))
    account_id: str = attrs.field(validator=identifier)
    contact_id: str | None = attrs.field(default=None, validator=optional(identifier))
    recorded_at: datetime | None = attrs.field(default=None, validator=optional(aware_datetime))


@attrs.frozen
class CheckoutRecord:
    """A hosted checkout page we opened, and what it was for."""

    session: CheckoutSession = attrs.field(validator=instance_of(CheckoutSession))
    purpose: str = attrs.field(validator=identifier)
    invoice_id: str | None = attrs.field(default=None, validator=optional(identifier))
    contact_id: str | None = attrs.field(default=None, validator=optional(identifier))
    idempotency_key: str = attrs.field(default="", validator=instance_of(str))


# -- repositories: one per aggregate, each a few methods ---------------------------------


class OfferRepository(Protocol):
    """Offers (kickoff forms) by id."""

    def get(self, offer_id: str) -> Offer | None:
        """The offer, or ``None``."""

    def save(self, offer: Offer) -> None:
        """Insert or replace the offer under its id."""


class PlanRepository(Protocol):
    """Subscription plans by id."""

    def get(self, plan_id: str) -> Plan | None:
        """The plan, or ``None``."""

    def save(self, plan: Plan) -> None:
        """Insert or replace the plan under its id."""


class AccountClassRepository(Protocol):
    """Account classes by id."""

    def get(self, class_id: str) -> AccountClass | None:
        """The class, or ``None``."""

    def save(self, account_class: AccountClass) -> None:
        """Insert or replace the class under its id."""


class AccountRepository(Protocol):
    """Accounts by id (each holds a copy of its class, kept current by the service)."""

    def get(self, account_id: str) -> Account | None:
        """The account, or ``None``."""

    def save(self, account: Account) -> None:
        """Insert or replace the account under its id."""

    def ids_in_class(self, class_id: str) -> Sequence[str]:
        """Ids of the accounts whose class is ``class_id``, in id order."""


class SiteRepository(Protocol):
    """Sites, by account."""

    def for_account(self, account_id: str) -> tuple[Site, ...]:
        """Every site of the account, active or not, in id order."""

    def save(self, site: Site) -> None:
        """Insert or replace the site under its id."""


class ContactRepository(Protocol):
    """Contacts by id, by account, by email."""

    def get(self, contact_id: str) -> Contact | None:
        """The contact, or ``None``."""

    def save(self, contact: Contact) -> None:
        """Insert or replace the contact under its id."""

    def with_email(self, email: EmailAddress) -> Sequence[Contact]:
        """Contacts whose email equals ``email`` case-insensitively, in id order."""

    def for_account(self, account_id: str) -> Sequence[Contact]:
        """Contacts of the account, in id order."""


class LoginRepository(Protocol):
    """Portal logins by contact and by email (the username)."""

    def get(self, contact_id: str) -> PortalLogin | None:
        """The contact's login, or ``None``."""

    def with_email(self, email: EmailAddress) -> PortalLogin | None:
        """The login whose email equals ``email`` case-insensitively, or ``None``."""

    def save(self, login: PortalLogin, *, expected_version: int | None) -> PortalLogin:
        """Insert (``expected_version=None``) or update the login; return it with
        ``version`` bumped.

        Raises:
            ConflictError: another contact's login has this email (any case).
            StaleStateError: the stored version is not ``expected_version`` (or a row
                exists when inserting).
        """


class InvoiceRepository(Protocol):
    """Invoices by id, number, contact and account."""

    def get(self, invoice_id: str) -> Invoice | None:
        """The invoice, or ``None``."""

    def with_number(self, number: str) -> Invoice | None:
        """The invoice with this number (exact match after trimming), or ``None``."""

    def for_account(self, account_id: str) -> Sequence[Invoice]:
        """Invoices of the account, oldest issue date first, then by id."""

    def save(self, invoice: Invoice) -> None:
        """Insert or replace the invoice under its id.

        Raises:
            ConflictError: another invoice already has this number.
            StaleStateError: ``get`` in this unit of work found no such invoice and a
                concurrent unit of work has created it since.
        """

    def next_number(self) -> str:
        """A new invoice number, unique and increasing ("1001", "1002", ...).

        It is taken inside the unit of work: a rollback hands the number out again (so
        SQL stores keep a counter row, not a database sequence)."""


class PaymentRepository(Protocol):
    """Payments keyed by ``(gateway, vendor payment id)``."""

    def get(self, gateway: str, payment_id: str) -> PaymentRecord | None:
        """The record, or ``None``."""

    def save(self, record: PaymentRecord) -> None:
        """Insert or replace the record under ``(gateway, payment_id)``.

        ``get`` may lock the row until the unit of work ends.

        Raises:
            StaleStateError: ``get`` in this unit of work found no such row and a
                concurrent unit of work has created it since (so an older snapshot never
                replaces a newer one).
        """

    def for_account(self, account_id: str) -> Sequence[PaymentRecord]:
        """Payments of the account, in ``(gateway, payment_id)`` order."""


class SubscriptionRepository(Protocol):
    """Subscriptions keyed by ``(gateway, vendor subscription id)``."""

    def get(self, gateway: str, subscription_id: str) -> SubscriptionReport | None:
        """The newest report kept, or ``None``."""

    def save(self, report: SubscriptionReport) -> None:
        """Insert or replace under ``(gateway, subscription_id)``.

        ``get`` may lock the row until the unit of work ends.

        Raises:
            StaleStateError: ``get`` in this unit of work found no such row and a
                concurrent unit of work has created it since (so an older snapshot never
                replaces a newer one).
        """

    def for_contact(self, contact_id: str) -> Sequence[SubscriptionReport]:
        """The contact's subscriptions, in ``(gateway, subscription_id)`` order."""


class AccessStateRepository(Protocol):
    """The per-contact access state: the one row ``check_access`` reads."""

    def get(self, contact_id: str) -> AccessState | None:
        """The state, or ``None``."""

    def save(self, state: AccessState, *, expected_version: int | None) -> AccessState:
        """Insert (``expected_version=None``) or update; return it with ``version`` bumped.

        Raises:
            StaleStateError: the stored version is not ``expected_version`` (or a row
                exists when inserting).
        """

    def contact_ids_for_account(self, account_id: str) -> Sequence[str]:
        """Contacts of the account that have an access state, in id order."""


class TokenRepository(Protocol):
    """Token records by digest (the token itself is never stored)."""

    def get(self, digest: str) -> TokenRecord | None:
        """The record, or ``None``."""

    def add(self, record: TokenRecord) -> None:
        """Insert a new record.

        Raises:
            ConflictError: a record with this digest exists.
        """

    def mark_used(self, digest: str, used_at: datetime) -> bool:
        """Set ``used_at`` if it is still unset; ``True`` if this call did it.

        This is the single-use guarantee: of two concurrent redemptions only one
        returns ``True`` (``UPDATE ... WHERE used_at IS NULL``).
        """


class GatewayEventRepository(Protocol):
    """Which gateway events were processed: written in the same unit of work as their
    effects, so a failed apply rolls it back and the vendor's retry is processed."""

    def record(self, gateway: str, event_id: str, outcome: str, at: datetime) -> bool:
        """Record the event; ``False`` (and nothing written) when already recorded."""

    def outcome(self, gateway: str, event_id: str) -> str | None:
        """The recorded outcome, or ``None`` when never processed."""


class CheckoutRepository(Protocol):
    """Hosted checkout pages by idempotency key and by session."""

    def with_key(self, idempotency_key: str) -> CheckoutRecord | None:
        """The page opened under this key, or ``None``. A blank key matches nothing;
        should two pages share a key, the first in ``(gateway, session_id)`` order wins."""

    def save(self, record: CheckoutRecord) -> None:
        """Insert or replace under ``(session.gateway, session.session_id)``."""

    def for_invoice(self, invoice_id: str) -> Sequence[CheckoutRecord]:
        """Pages opened for the invoice, in ``(gateway, session_id)`` order."""


class OutboxRepository(Protocol):
    """Events waiting for delivery to the mailer and the host's subscribers."""

    def add(self, message: OutboxMessage) -> None:
        """Append a message. One added as ``delivered`` is kept, and never pending.

        Raises:
            ConflictError: a message with this id exists.
        """

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, delivered or not, or ``None``."""

    def pending(self, limit: int) -> Sequence[OutboxMessage]:
        """Up to ``limit`` undelivered messages, oldest first (then by id)."""

    def mark_delivered(self, message_id: str) -> None:
        """Mark delivered and clear the payload of emails (they hold single-use links):
        an ``email.requested`` message's payload becomes ``{"cleared": True}``.

        Raises:
            NotFoundError: no message has this id.
        """

    def mark_failed(self, message_id: str) -> None:
        """Count one failed delivery attempt; the message stays pending.

        Raises:
            NotFoundError: no message has this id.
        """


class IdempotencyRepository(Protocol):
    """Results of use cases run under an idempotency key."""

    def get(self, key: str) -> str | None:
        """The stored result (JSON text), or ``None``."""

    def put(self, key: str, result: str) -> None:
        """Store the result under ``key``.

        Raises:
            ConflictError: the key is taken (a :class:`StaleStateError` when a concurrent
                unit of work stored it after this one's ``get`` found nothing: running
                the use case again returns that result).
        """


class UnitOfWork(Protocol):
    """One transaction: everything written through it commits together, or nothing.

    Repositories read their own writes within the unit of work.
    """

    offers: OfferRepository
    plans: PlanRepository
    account_classes: AccountClassRepository
    accounts: AccountRepository
    sites: SiteRepository
    contacts: ContactRepository
    logins: LoginRepository
    invoices: InvoiceRepository
    payments: PaymentRepository
    subscriptions: SubscriptionRepository
    access: AccessStateRepository
    tokens: TokenRepository
    gateway_events: GatewayEventRepository
    checkouts: CheckoutRepository
    outbox: OutboxRepository
    idempotency: IdempotencyRepository


class Store(Protocol):
    """Where portal-access keeps its state."""

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """Begin a unit of work; leaving the block commits, an exception rolls back.
        Units of work do not nest.

        Raises:
            StaleStateError: the commit lost a race the caller may retry.
            StorageError: the store failed, or a statement failed and the block carried
                on (nothing is committed).
        """

    def read_access_state(self, contact_id: str) -> AccessState | None:
        """The contact's committed access state, read outside any unit of work: the hot
        path of ``check_access``. One indexed read; an implementation may cache by
        version. It sees only committed state."""


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


class PasswordHasher(Protocol):
    """Hashes and checks passwords with a memory-hard scheme."""

    def hash(self, password: str) -> str:
        """An encoded hash of ``password`` that includes its own parameters and salt."""

    def verify(self, password: str, encoded: str) -> bool:
        """Whether ``password`` matches ``encoded``, in constant time."""


class RateLimiter(Protocol):
    """Counts attempts per key in a sliding window."""

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
