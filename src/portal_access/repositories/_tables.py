"""The tables every store keeps, declared once: the SQL schema is derived from them.

Each row holds its domain value as one JSON document (``doc``) plus a copy, in real
columns, of every value a lookup, a uniqueness rule or an ordering needs: the document
is the truth, the columns are written with it by the repositories. Keys and lookups are
``str`` and compare by code point, as Python's ``sorted`` does.

>>> [table.name for table in TABLES][:4]
['offers', 'plans', 'account_classes', 'accounts']
>>> INVOICES_BY_ACCOUNT.order
('issued_on',)
"""

from __future__ import annotations

from datetime import date, datetime

from portal_access.ports import Column, Index, Table

#: The counter invoice numbers come from (:meth:`~portal_access.ports.StoreTransaction.next_value`).
INVOICE_NUMBERS = "invoice_number"
#: The first invoice number handed out.
FIRST_INVOICE_NUMBER = 1001


def _str(name: str, *, nullable: bool = False) -> Column:
    return Column(name, str, nullable)


OFFERS = Table("offers", ("id",), (_str("id"),))
PLANS = Table("plans", ("id",), (_str("id"),))
ACCOUNT_CLASSES = Table("account_classes", ("id",), (_str("id"),))
ACCOUNTS_BY_CLASS = Index("ix_accounts_class", ("class_id",))
ACCOUNTS = Table("accounts", ("id",), (_str("id"), _str("class_id")), (ACCOUNTS_BY_CLASS,))
SITES_BY_ACCOUNT = Index("ix_sites_account", ("account_id",))
SITES = Table("sites", ("id",), (_str("id"), _str("account_id")), (SITES_BY_ACCOUNT,))
CONTACTS_BY_ACCOUNT = Index("ix_contacts_account", ("account_id",))
#: By ``EmailAddress.key``: the case-folded address.
CONTACTS_BY_EMAIL = Index("ix_contacts_email", ("email_key",))
CONTACTS = Table(
    "contacts",
    ("id",),
    (_str("id"), _str("account_id"), _str("email_key", nullable=True)),
    (CONTACTS_BY_ACCOUNT, CONTACTS_BY_EMAIL),
)
LOGINS_BY_EMAIL = Index("uq_logins_email_key", ("email_key",), unique=True)
LOGINS = Table(
    "logins",
    ("contact_id",),
    (_str("contact_id"), _str("email_key")),
    (LOGINS_BY_EMAIL,),
    versioned=True,
)
#: By the number without surrounding spaces.
INVOICES_BY_NUMBER = Index("uq_invoices_number_key", ("number_key",), unique=True)
INVOICES_BY_ACCOUNT = Index("ix_invoices_account", ("account_id",), order=("issued_on",))
INVOICES = Table(
    "invoices",
    ("id",),
    (_str("id"), _str("number_key"), _str("account_id"), Column("issued_on", date)),
    (INVOICES_BY_NUMBER, INVOICES_BY_ACCOUNT),
)
PAYMENTS_BY_ACCOUNT = Index("ix_payments_account", ("account_id",))
PAYMENTS = Table(
    "payments",
    ("gateway", "payment_id"),
    (_str("gateway"), _str("payment_id"), _str("account_id")),
    (PAYMENTS_BY_ACCOUNT,),
)
SUBSCRIPTIONS_BY_CONTACT = Index("ix_subscriptions_contact", ("contact_id",))
SUBSCRIPTIONS = Table(
    "subscriptions",
    ("gateway", "subscription_id"),
    (_str("gateway"), _str("subscription_id"), _str("contact_id")),
    (SUBSCRIPTIONS_BY_CONTACT,),
)
ACCESS_STATES_BY_ACCOUNT = Index("ix_access_states_account", ("account_id",))
#: The one row ``check_access`` reads (:func:`~portal_access.repositories.read_access_state`).
ACCESS_STATES = Table(
    "access_states",
    ("contact_id",),
    (_str("contact_id"), _str("account_id")),
    (ACCESS_STATES_BY_ACCOUNT,),
    versioned=True,
)
TOKENS = Table("tokens", ("digest",), (_str("digest"), Column("used_at", datetime, nullable=True)))
#: Every processed-event record, oldest first (what ``prune`` deletes first).
GATEWAY_EVENTS_BY_AGE = Index("ix_gateway_events_processed", (), order=("processed_at",))
GATEWAY_EVENTS = Table(
    "gateway_events",
    ("gateway", "event_id"),
    (
        _str("gateway"),
        _str("event_id"),
        Column("outcome", str, text=True),
        Column("processed_at", datetime),
    ),
    (GATEWAY_EVENTS_BY_AGE,),
    document=False,
)
CHECKOUTS_BY_KEY = Index("ix_checkouts_key", ("idempotency_key",))
CHECKOUTS_BY_INVOICE = Index("ix_checkouts_invoice", ("invoice_id",))
CHECKOUTS = Table(
    "checkouts",
    ("gateway", "session_id"),
    (
        _str("gateway"),
        _str("session_id"),
        _str("idempotency_key"),
        _str("invoice_id", nullable=True),
    ),
    (CHECKOUTS_BY_KEY, CHECKOUTS_BY_INVOICE),
)
#: Undelivered messages, soonest due first: ``find(OUTBOX, OUTBOX_PENDING, (False,))``
#: (a new message is due when it occurs); delivered ones, first delivered first.
OUTBOX_PENDING = Index("ix_outbox_pending", ("delivered",), order=("due_at",))
#: A message's ``delivered`` flag, ``attempts`` count and claim live in their columns
#: only. ``due_at``: an undelivered message's next moment a worker may claim it (when it
#: occurred, when its claim's lease ends, when its next retry is due); a delivered one's
#: delivery. ``claimed_by``: the claim of the worker that last claimed it.
OUTBOX = Table(
    "outbox",
    ("id",),
    (
        _str("id"),
        Column("occurred_at", datetime),
        _str("topic"),
        Column("delivered", bool),
        Column("attempts", int),
        Column("due_at", datetime),
        _str("claimed_by", nullable=True),
    ),
    (OUTBOX_PENDING,),
)
IDEMPOTENCY = Table(
    "idempotency", ("key",), (_str("key"), Column("result", str, text=True)), document=False
)

#: Every table, in the order a database may create them.
TABLES = (
    OFFERS,
    PLANS,
    ACCOUNT_CLASSES,
    ACCOUNTS,
    SITES,
    CONTACTS,
    LOGINS,
    INVOICES,
    PAYMENTS,
    SUBSCRIPTIONS,
    ACCESS_STATES,
    TOKENS,
    GATEWAY_EVENTS,
    CHECKOUTS,
    OUTBOX,
    IDEMPOTENCY,
)
