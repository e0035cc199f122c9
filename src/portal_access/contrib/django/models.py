"""The ORM models: one per table of :data:`portal_access.repositories.TABLES`, plus the
counters, in the host's database.

Each model mirrors its declared table exactly (a test compares them): a column per
declared column, ``version`` on versioned tables, ``doc`` (the row's JSON document, the
truth; the other columns are copies for lookups) on tables of documents, the declared
key as the primary key, a unique constraint per unique index, and an index per other
lookup covering its ``equal`` and ``order`` columns and then the key. A table keyed by
two columns gets an ``id`` surrogate primary key and a unique constraint on its key.
Tables are named ``portal_access_<table>``; nothing in the schema depends on a setting
(the user link follows ``AUTH_USER_MODEL`` the way Django's own apps do).

The rows are written by the library (:class:`~portal_access.contrib.django.DjangoStore`)
through :class:`~portal_access.PortalAccess`, never by saving these models: use them to
read, in the admin and in reports. :class:`Contact` is the one with a column of its own,
``user``: the host's user a contact logs in as.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import models

__all__ = [
    "MODELS",
    "AccessState",
    "Account",
    "AccountClass",
    "AccountingEntry",
    "AuditEntry",
    "AutopayAttempt",
    "CatalogItem",
    "Checkout",
    "Contact",
    "Counter",
    "DocumentComment",
    "GatewayEvent",
    "IdempotencyRecord",
    "Invoice",
    "LedgerAccount",
    "Login",
    "Offer",
    "OutboxMessage",
    "Payment",
    "Plan",
    "PurchaseOrder",
    "RateLimit",
    "SavedMethod",
    "Site",
    "Subscription",
    "Token",
    "index_name",
]

#: The longest value a key or lookup column holds (ids are at most 255 characters;
#: idempotency keys join several).
KEY_LENGTH = 1024


#: Django's longest index name; a longer declared name is shortened (see
#: :func:`index_name`).
_INDEX_NAME_LENGTH = 30
_SHORT_NAMES = {
    "ix_accounting_entries_unmapped": "pa_ix_accounting_unmapped",
    "ix_document_comments_document": "pa_ix_document_comments_doc",
}


def index_name(name: str) -> str:
    """The model's name for the declared index ``name``: ``pa_<name>``, shortened where
    that exceeds Django's 30 characters.

    >>> index_name("ix_accounts_class")
    'pa_ix_accounts_class'
    >>> index_name("ix_document_comments_document")
    'pa_ix_document_comments_doc'
    """
    found = _SHORT_NAMES.get(name, f"pa_{name}")
    assert len(found) <= _INDEX_NAME_LENGTH, found
    return found


def _key(*, primary: bool = False, null: bool = False) -> models.CharField[str | None, str | None]:
    return models.CharField(max_length=KEY_LENGTH, primary_key=primary, null=null)


def _doc() -> models.TextField[str, str]:
    return models.TextField(help_text="The row's JSON document (the truth).")


class Offer(models.Model):
    """An offer (``offers``)."""

    id = _key(primary=True)
    doc = _doc()

    class Meta:
        db_table = "portal_access_offers"


class Plan(models.Model):
    """A subscription plan (``plans``)."""

    id = _key(primary=True)
    doc = _doc()

    class Meta:
        db_table = "portal_access_plans"


class AccountClass(models.Model):
    """An account class (``account_classes``)."""

    id = _key(primary=True)
    doc = _doc()

    class Meta:
        db_table = "portal_access_account_classes"
        verbose_name_plural = "account classes"


class Account(models.Model):
    """A customer account (``accounts``)."""

    id = _key(primary=True)
    class_id = _key()
    doc = _doc()

    class Meta:
        db_table = "portal_access_accounts"
        indexes = [models.Index(fields=["class_id", "id"], name="pa_ix_accounts_class")]


class Site(models.Model):
    """A site of an account (``sites``)."""

    id = _key(primary=True)
    account_id = _key()
    doc = _doc()

    class Meta:
        db_table = "portal_access_sites"
        indexes = [models.Index(fields=["account_id", "id"], name="pa_ix_sites_account")]


class Contact(models.Model):
    """A contact (``contacts``), optionally linked to the host's user it logs in as."""

    id = _key(primary=True)
    account_id = _key()
    email_key = _key(null=True)
    doc = _doc()
    user: models.OneToOneField[Any, Any] = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="portal_contact",
        help_text="The host's user this contact logs in as.",
    )

    class Meta:
        db_table = "portal_access_contacts"
        indexes = [
            models.Index(fields=["account_id", "id"], name="pa_ix_contacts_account"),
            models.Index(fields=["email_key", "id"], name="pa_ix_contacts_email"),
        ]


class Login(models.Model):
    """A contact's portal login (``logins``)."""

    contact_id = _key(primary=True)
    email_key = _key()
    version: models.IntegerField[int, int] = models.IntegerField()
    doc = _doc()

    class Meta:
        db_table = "portal_access_logins"
        constraints = [models.UniqueConstraint(fields=["email_key"], name="pa_uq_logins_email_key")]


class Invoice(models.Model):
    """An invoice (``invoices``)."""

    id = _key(primary=True)
    number_key = _key()
    account_id = _key()
    issued_on: models.DateField[date, date] = models.DateField()
    status = _key(null=True)
    currency = _key(null=True)
    balance: models.IntegerField[int | None, int | None] = models.IntegerField(null=True)
    due_on: models.DateField[date | None, date | None] = models.DateField(null=True)
    contact_id = _key(null=True)
    site_id = _key(null=True)
    doc = _doc()

    class Meta:
        db_table = "portal_access_invoices"
        constraints = [
            models.UniqueConstraint(fields=["number_key"], name="pa_uq_invoices_number_key")
        ]
        indexes = [
            models.Index(fields=["account_id", "issued_on", "id"], name="pa_ix_invoices_account"),
            models.Index(
                fields=[
                    "account_id",
                    "status",
                    "contact_id",
                    "site_id",
                    "currency",
                    "due_on",
                    "balance",
                    "id",
                ],
                name="pa_ix_invoices_status",
            ),
        ]


class Payment(models.Model):
    """A payment at a gateway (``payments``, keyed by gateway and payment id)."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    gateway = _key()
    payment_id = _key()
    account_id = _key()
    invoice_id = _key(null=True)
    status = _key(null=True)
    amount: models.IntegerField[int | None, int | None] = models.IntegerField(null=True)
    currency = _key(null=True)
    recorded_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    contact_id = _key(null=True)
    site_id = _key(null=True)
    doc = _doc()

    class Meta:
        db_table = "portal_access_payments"
        constraints = [
            models.UniqueConstraint(fields=["gateway", "payment_id"], name="pa_pk_payments")
        ]
        indexes = [
            models.Index(
                fields=["account_id", "gateway", "payment_id"], name="pa_ix_payments_account"
            ),
            models.Index(
                fields=[
                    "account_id",
                    "status",
                    "invoice_id",
                    "contact_id",
                    "site_id",
                    "amount",
                    "gateway",
                    "payment_id",
                ],
                name="pa_ix_payments_status",
            ),
            models.Index(
                fields=["account_id", "recorded_at", "gateway", "payment_id"],
                name="pa_ix_payments_recorded",
            ),
        ]


class Subscription(models.Model):
    """A subscription at a gateway (``subscriptions``)."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    gateway = _key()
    subscription_id = _key()
    contact_id = _key()
    doc = _doc()

    class Meta:
        db_table = "portal_access_subscriptions"
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "subscription_id"], name="pa_pk_subscriptions"
            )
        ]
        indexes = [
            models.Index(
                fields=["contact_id", "gateway", "subscription_id"],
                name="pa_ix_subscriptions_contact",
            )
        ]


class AccessState(models.Model):
    """A contact's access state (``access_states``): what ``check_access`` reads."""

    contact_id = _key(primary=True)
    account_id = _key()
    version: models.IntegerField[int, int] = models.IntegerField()
    doc = _doc()

    class Meta:
        db_table = "portal_access_access_states"
        indexes = [
            models.Index(fields=["account_id", "contact_id"], name="pa_ix_access_states_account")
        ]


class Token(models.Model):
    """A single-use link's token, by its digest (``tokens``)."""

    digest = _key(primary=True)
    used_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True
    )
    doc = _doc()

    class Meta:
        db_table = "portal_access_tokens"


class GatewayEvent(models.Model):
    """A processed gateway event (``gateway_events``)."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    gateway = _key()
    event_id = _key()
    outcome: models.TextField[str, str] = models.TextField()
    processed_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()

    class Meta:
        db_table = "portal_access_gateway_events"
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="pa_pk_gateway_events")
        ]
        indexes = [
            models.Index(
                fields=["processed_at", "gateway", "event_id"],
                name="pa_ix_gateway_events_processed",
            )
        ]


class Checkout(models.Model):
    """A hosted checkout page opened at a gateway (``checkouts``)."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    gateway = _key()
    session_id = _key()
    idempotency_key = _key()
    invoice_id = _key(null=True)
    doc = _doc()

    class Meta:
        db_table = "portal_access_checkouts"
        constraints = [
            models.UniqueConstraint(fields=["gateway", "session_id"], name="pa_pk_checkouts")
        ]
        indexes = [
            models.Index(
                fields=["idempotency_key", "gateway", "session_id"], name="pa_ix_checkouts_key"
            ),
            models.Index(
                fields=["invoice_id", "gateway", "session_id"], name="pa_ix_checkouts_invoice"
            ),
        ]


class OutboxMessage(models.Model):
    """An event or email waiting for, or done with, delivery (``outbox``)."""

    id = _key(primary=True)
    occurred_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    topic = _key()
    delivered: models.BooleanField[bool, bool] = models.BooleanField()
    attempts: models.IntegerField[int, int] = models.IntegerField()
    due_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        help_text="When a worker may next claim it (undelivered) or when it was delivered."
    )
    claimed_by = _key(null=True)
    doc = _doc()

    class Meta:
        db_table = "portal_access_outbox"
        verbose_name = "outbox message"
        indexes = [models.Index(fields=["delivered", "due_at", "id"], name="pa_ix_outbox_pending")]


class SavedMethod(models.Model):
    """A contact's saved payment method (``saved_methods``)."""

    contact_id = _key(primary=True)
    gateway = _key()
    method_id = _key()
    doc = _doc()

    class Meta:
        db_table = "portal_access_saved_methods"
        indexes = [
            models.Index(fields=["gateway", "contact_id"], name="pa_ix_saved_methods_gateway"),
            models.Index(
                fields=["gateway", "method_id", "contact_id"], name="pa_ix_saved_methods_method"
            ),
        ]


class AutopayAttempt(models.Model):
    """An autopay attempt for an invoice with a saved method (``autopay_attempts``)."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    invoice_id = _key()
    method_id = _key()
    doc = _doc()

    class Meta:
        db_table = "portal_access_autopay_attempts"
        constraints = [
            models.UniqueConstraint(
                fields=["invoice_id", "method_id"], name="pa_pk_autopay_attempts"
            )
        ]
        indexes = [
            models.Index(fields=["invoice_id", "method_id"], name="pa_ix_autopay_attempts_invoice")
        ]


class CatalogItem(models.Model):
    """One of the host's catalog items (``catalog_items``)."""

    id = _key(primary=True)
    for_sale: models.BooleanField[bool, bool] = models.BooleanField()
    name = _key()
    doc = _doc()

    class Meta:
        db_table = "portal_access_catalog_items"
        indexes = [models.Index(fields=["for_sale", "name", "id"], name="pa_ix_catalog_items_sale")]


class PurchaseOrder(models.Model):
    """A contact's purchase order (``purchase_orders``)."""

    id = _key(primary=True)
    contact_id = _key()
    placed_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    doc = _doc()

    class Meta:
        db_table = "portal_access_purchase_orders"
        indexes = [
            models.Index(
                fields=["contact_id", "placed_at", "id"], name="pa_ix_purchase_orders_contact"
            )
        ]


class LedgerAccount(models.Model):
    """Staff's bank or ledger account for a gateway and payment method (``ledger_accounts``)."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    gateway = _key()
    method = _key()
    doc = _doc()

    class Meta:
        db_table = "portal_access_ledger_accounts"
        constraints = [
            models.UniqueConstraint(fields=["gateway", "method"], name="pa_pk_ledger_accounts")
        ]
        indexes = [models.Index(fields=["gateway", "method"], name="pa_ix_ledger_accounts_gateway")]


class AccountingEntry(models.Model):
    """An accounting entry of a payment (``accounting_entries``)."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    gateway = _key()
    payment_id = _key()
    kind = _key()
    month = _key()
    occurred_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    unmapped: models.BooleanField[bool, bool] = models.BooleanField()
    doc = _doc()

    class Meta:
        db_table = "portal_access_accounting_entries"
        verbose_name_plural = "accounting entries"
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "payment_id", "kind"], name="pa_pk_accounting_entries"
            )
        ]
        indexes = [
            models.Index(
                fields=["month", "occurred_at", "gateway", "payment_id", "kind"],
                name=index_name("ix_accounting_entries_month"),
            ),
            models.Index(
                fields=["unmapped", "occurred_at", "gateway", "payment_id", "kind"],
                name=index_name("ix_accounting_entries_unmapped"),
            ),
        ]


_AUDIT_ORDER = ["occurred_at", "batch", "ordinal", "id"]


class AuditEntry(models.Model):
    """An entry of the audit trail (``audit_entries``): inserted, never changed."""

    id = _key(primary=True)
    occurred_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    batch = _key()
    ordinal: models.IntegerField[int, int] = models.IntegerField()
    contact_id = _key(null=True)
    account_id = _key(null=True)
    doc = _doc()

    class Meta:
        db_table = "portal_access_audit_entries"
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["contact_id", *_AUDIT_ORDER], name="pa_ix_audit_entries_contact"),
            models.Index(fields=["account_id", *_AUDIT_ORDER], name="pa_ix_audit_entries_account"),
            models.Index(fields=_AUDIT_ORDER, name="pa_ix_audit_entries_time"),
        ]


class RateLimit(models.Model):
    """The attempts counted for a rate-limit key in one window (``rate_limits``)."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    key = _key()
    slot: models.IntegerField[int, int] = models.IntegerField()
    attempts: models.IntegerField[int, int] = models.IntegerField()
    expires_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()

    class Meta:
        db_table = "portal_access_rate_limits"
        constraints = [models.UniqueConstraint(fields=["key", "slot"], name="pa_pk_rate_limits")]
        indexes = [
            models.Index(fields=["expires_at", "key", "slot"], name="pa_ix_rate_limits_expiry")
        ]


class DocumentComment(models.Model):
    """A comment posted on an invoice or another document (``document_comments``)."""

    id = _key(primary=True)
    document_key = _key()
    number: models.IntegerField[int, int] = models.IntegerField()
    doc = _doc()

    class Meta:
        db_table = "portal_access_document_comments"
        indexes = [
            models.Index(
                fields=["document_key", "number", "id"],
                name=index_name("ix_document_comments_document"),
            )
        ]


class IdempotencyRecord(models.Model):
    """The remembered result of a request made with an idempotency key (``idempotency``)."""

    key = _key(primary=True)
    result: models.TextField[str, str] = models.TextField()

    class Meta:
        db_table = "portal_access_idempotency"


class Counter(models.Model):
    """A counter (invoice numbers): its last value handed out."""

    name = _key(primary=True)
    value: models.BigIntegerField[int, int] = models.BigIntegerField()

    class Meta:
        db_table = "portal_access_counters"


#: The model of each declared table, by table name (a test checks every table has one).
MODELS: dict[str, type[models.Model]] = {
    model._meta.db_table.removeprefix("portal_access_"): model
    for model in (
        Offer,
        Plan,
        AccountClass,
        Account,
        Site,
        Contact,
        Login,
        Invoice,
        Payment,
        Subscription,
        AccessState,
        Token,
        GatewayEvent,
        Checkout,
        OutboxMessage,
        IdempotencyRecord,
        SavedMethod,
        AutopayAttempt,
        CatalogItem,
        PurchaseOrder,
        LedgerAccount,
        AccountingEntry,
        AuditEntry,
        RateLimit,
        DocumentComment,
    )
}
