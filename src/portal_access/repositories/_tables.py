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
#: The account summary's figures are read from these columns, never from the documents:
#: ``status``, ``currency``, ``balance`` (minor units), ``due_on``, who the invoice is
#: addressed to and its site (filled on every save; migration 0004 filled older rows).
#: This index holds them all, so the summary's sums and counts read the index alone.
INVOICES_BY_STATUS = Index(
    "ix_invoices_status",
    ("account_id", "status", "contact_id", "site_id", "currency", "due_on", "balance"),
)
INVOICES = Table(
    "invoices",
    ("id",),
    (
        _str("id"),
        _str("number_key"),
        _str("account_id"),
        Column("issued_on", date),
        _str("status", nullable=True),
        _str("currency", nullable=True),
        Column("balance", int, nullable=True),
        Column("due_on", date, nullable=True),
        _str("contact_id", nullable=True),
        _str("site_id", nullable=True),
    ),
    (INVOICES_BY_NUMBER, INVOICES_BY_ACCOUNT, INVOICES_BY_STATUS),
)
PAYMENTS_BY_ACCOUNT = Index("ix_payments_account", ("account_id",))
#: As invoices: the summary's columns (the payment's invoice, status, amount and when it
#: was first recorded, and its invoice's contact and site), and two indexes that hold
#: what the summary counts and lists, newest first.
PAYMENTS_BY_STATUS = Index(
    "ix_payments_status",
    ("account_id", "status", "invoice_id", "contact_id", "site_id", "amount"),
)
PAYMENTS_BY_RECORDED = Index("ix_payments_recorded", ("account_id",), order=("recorded_at",))
PAYMENTS = Table(
    "payments",
    ("gateway", "payment_id"),
    (
        _str("gateway"),
        _str("payment_id"),
        _str("account_id"),
        _str("invoice_id", nullable=True),
        _str("status", nullable=True),
        Column("amount", int, nullable=True),
        _str("currency", nullable=True),
        Column("recorded_at", datetime),
        _str("contact_id", nullable=True),
        _str("site_id", nullable=True),
    ),
    (PAYMENTS_BY_ACCOUNT, PAYMENTS_BY_STATUS, PAYMENTS_BY_RECORDED),
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
#: The counter comments are numbered from, in the order they are posted.
COMMENT_NUMBERS = "comment_number"
#: A document's comments in the order they were posted: ``"<kind>:<id>"`` of the document.
DOCUMENT_COMMENTS_BY_DOCUMENT = Index(
    "ix_document_comments_document", ("document_key",), order=("number",)
)
DOCUMENT_COMMENTS = Table(
    "document_comments",
    ("id",),
    (_str("id"), _str("document_key"), Column("number", int)),
    (DOCUMENT_COMMENTS_BY_DOCUMENT,),
)
IDEMPOTENCY = Table(
    "idempotency", ("key",), (_str("key"), Column("result", str, text=True)), document=False
)
#: The audit trail's order: when, then the unit of work (its first entry's id), then the
#: entry's place in its unit of work.
_AUDIT_ORDER = ("occurred_at", "batch", "ordinal")
#: A contact's audit entries, oldest first.
AUDIT_BY_CONTACT = Index("ix_audit_entries_contact", ("contact_id",), order=_AUDIT_ORDER)
#: An account's audit entries, oldest first.
AUDIT_BY_ACCOUNT = Index("ix_audit_entries_account", ("account_id",), order=_AUDIT_ORDER)
#: Every audit entry, oldest first (an index with no ``equal`` column selects every row).
AUDIT_IN_ORDER = Index("ix_audit_entries_time", (), order=_AUDIT_ORDER)
#: The audit trail: one row per entry, inserted and never changed.
AUDIT_ENTRIES = Table(
    "audit_entries",
    ("id",),
    (
        _str("id"),
        Column("occurred_at", datetime),
        _str("batch"),
        Column("ordinal", int),
        _str("contact_id", nullable=True),
        _str("account_id", nullable=True),
    ),
    (AUDIT_BY_CONTACT, AUDIT_BY_ACCOUNT, AUDIT_IN_ORDER),
)
#: Rate-limit windows by when they stop mattering, soonest first (for pruning).
RATE_LIMITS_BY_EXPIRY = Index("ix_rate_limits_expiry", (), order=("expires_at",))
#: One row per rate-limit key (hashed) and fixed window (``slot``: which one, counted
#: from 2020 in windows): the attempts counted in it.
RATE_LIMITS = Table(
    "rate_limits",
    ("key", "slot"),
    (
        _str("key"),
        Column("slot", int),
        Column("attempts", int),
        Column("expires_at", datetime),
    ),
    (RATE_LIMITS_BY_EXPIRY,),
    document=False,
)

#: Saved payment methods, one per contact (the newest), found by gateway for autopay.
SAVED_METHODS_BY_GATEWAY = Index("ix_saved_methods_gateway", ("gateway",))
#: A saved method by the gateway's id for it (``method_id``: the vendor's id of the
#: contact's newest method, removed or not), for a vendor's report that does not say
#: whose method it is; more than one contact's row may hold the same id, by contact id.
#: Migration 0009 (Django: 0003) filled the column of older rows from their documents.
SAVED_METHODS_BY_METHOD = Index("ix_saved_methods_method", ("gateway", "method_id"))
SAVED_METHODS = Table(
    "saved_methods",
    ("contact_id",),
    (_str("contact_id"), _str("gateway"), _str("method_id")),
    (SAVED_METHODS_BY_GATEWAY, SAVED_METHODS_BY_METHOD),
)
#: One autopay attempt per invoice and saved method.
AUTOPAY_ATTEMPTS_BY_INVOICE = Index("ix_autopay_attempts_invoice", ("invoice_id",))
AUTOPAY_ATTEMPTS = Table(
    "autopay_attempts",
    ("invoice_id", "method_id"),
    (_str("invoice_id"), _str("method_id")),
    (AUTOPAY_ATTEMPTS_BY_INVOICE,),
)
#: The host's catalog items; those for sale, by name.
CATALOG_ITEMS_FOR_SALE = Index("ix_catalog_items_sale", ("for_sale",), order=("name",))
CATALOG_ITEMS = Table(
    "catalog_items",
    ("id",),
    (_str("id"), Column("for_sale", bool), _str("name")),
    (CATALOG_ITEMS_FOR_SALE,),
)
PURCHASE_ORDERS_BY_CONTACT = Index(
    "ix_purchase_orders_contact", ("contact_id",), order=("placed_at",)
)
PURCHASE_ORDERS = Table(
    "purchase_orders",
    ("id",),
    (_str("id"), _str("contact_id"), Column("placed_at", datetime)),
    (PURCHASE_ORDERS_BY_CONTACT,),
)
#: Staff's mapping of (gateway, payment method) to a bank or ledger account.
LEDGER_ACCOUNTS_BY_GATEWAY = Index("ix_ledger_accounts_gateway", ("gateway",))
LEDGER_ACCOUNTS = Table(
    "ledger_accounts",
    ("gateway", "method"),
    (_str("gateway"), _str("method")),
    (LEDGER_ACCOUNTS_BY_GATEWAY,),
)
#: One accounting entry per payment and kind (payment, fee, refund, dispute).
ACCOUNTING_ENTRIES_BY_MONTH = Index(
    "ix_accounting_entries_month", ("month",), order=("occurred_at",)
)
ACCOUNTING_ENTRIES_UNMAPPED = Index(
    "ix_accounting_entries_unmapped", ("unmapped",), order=("occurred_at",)
)
ACCOUNTING_ENTRIES = Table(
    "accounting_entries",
    ("gateway", "payment_id", "kind"),
    (
        _str("gateway"),
        _str("payment_id"),
        _str("kind"),
        _str("month"),
        Column("occurred_at", datetime),
        Column("unmapped", bool),
    ),
    (ACCOUNTING_ENTRIES_BY_MONTH, ACCOUNTING_ENTRIES_UNMAPPED),
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
    SAVED_METHODS,
    AUTOPAY_ATTEMPTS,
    CATALOG_ITEMS,
    PURCHASE_ORDERS,
    LEDGER_ACCOUNTS,
    ACCOUNTING_ENTRIES,
    AUDIT_ENTRIES,
    RATE_LIMITS,
    DOCUMENT_COMMENTS,
)
