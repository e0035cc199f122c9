"""The portal in Django's admin: what the library keeps, to read, and the staff actions.

Contacts, accounts and sites, account classes, offers and plans, invoices, payments,
invitations (the single-use links: purpose, contact, expiry, use, never the token), the
audit trail (who did what, why and to whom, newest first) and the events the outbox
holds (a topic is kept only while something receives it, see :mod:`.signals`; emails
are left out, their bodies carry links) are listed read-only: the rows are the
library's, written through :class:`~portal_access.PortalAccess` only, so nothing here
edits, adds or deletes them.

On contacts, three actions, each a call to :class:`~portal_access.PortalAccess` as the
logged-in staff member (``request.user``):

- "Send portal instructions" (seed 003): the username and a set-password link;
- "Send invitation" (seed 001): the invitation email;
- "Cancel required payment" (seed 000): void the required invoice and grant access,
  recorded in the audit trail with the staff member.

Who may do what follows the admin's model permissions: a superuser may do everything;
other staff get :class:`~portal_access.StaffPermission` s from permissions they can be
granted in the admin (:data:`STAFF_PERMISSIONS`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from portal_access import Money, PortalAccess, PortalAccessError, StaffMember, StaffPermission
from portal_access.contrib.django import models
from portal_access.contrib.django._settings import portal

__all__ = [
    "STAFF_PERMISSIONS",
    "AccountAdmin",
    "AccountClassAdmin",
    "AuditTrailAdmin",
    "ContactAdmin",
    "DocumentAdmin",
    "InvitationAdmin",
    "InvoiceAdmin",
    "OfferAdmin",
    "OutboxEventAdmin",
    "PaymentAdmin",
    "PlanAdmin",
    "SiteAdmin",
    "staff_member",
]

#: The Django permission that grants each staff permission (superusers have them all).
STAFF_PERMISSIONS: dict[StaffPermission, str] = {
    StaffPermission.INVITE_CONTACTS: "portal_access.change_contact",
    StaffPermission.SET_TEMPORARY_PASSWORD: "portal_access.change_contact",
    StaffPermission.CANCEL_REQUIRED_PAYMENT: "portal_access.change_invoice",
    StaffPermission.REFUND_PAYMENTS: "portal_access.change_payment",
    StaffPermission.MANAGE_OFFERS: "portal_access.change_offer",
    StaffPermission.MANAGE_PORTAL_SETTINGS: "portal_access.change_accountclass",
}


def staff_member(request: HttpRequest) -> StaffMember:
    """The logged-in admin user as the portal's staff member (id, name, permissions)."""
    user: Any = request.user
    granted = {
        permission
        for permission, django_permission in STAFF_PERMISSIONS.items()
        if user.is_superuser or user.has_perm(django_permission)
    }
    name = (user.get_full_name() if hasattr(user, "get_full_name") else "") or str(user)
    return StaffMember(id=str(user.pk), name=name, permissions=granted)


def _doc(row: Model) -> dict[str, Any]:
    loaded = json.loads(getattr(row, "doc", "") or "{}")
    return loaded if isinstance(loaded, dict) else {}


def _value(row: Model, path: str) -> object:
    value: object = _doc(row)
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        money = Money(int(value["amount"]), str(value["currency"]))
        return f"{money.major:,.{money.exponent}f} {money.currency}"
    return "" if value is None else value


def column(path: str, label: str) -> Callable[[Model], object]:
    """A list column showing ``path`` (dotted) of the row's JSON document."""

    def show(row: Model) -> object:
        return _value(row, path)

    show.short_description = label  # type: ignore[attr-defined]
    return show


class DocumentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A read-only list of one of the library's tables, columns from its documents."""

    #: ``(dotted path in the document, column label)`` shown in the list.
    columns: tuple[tuple[str, str], ...] = ()
    list_per_page = 50

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        """The key, then :attr:`columns`."""
        key = self.model._meta.pk.name if self.model._meta.pk else "pk"
        return [key, *(column(path, label) for path, label in self.columns)]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        """Every field: the rows are the library's."""
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Rows are made through :class:`~portal_access.PortalAccess` only."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """Rows are removed through :class:`~portal_access.PortalAccess` only."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """No row is edited here; the list's actions need the model's change permission."""
        return obj is None and super().has_change_permission(request, obj)


def _act(
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    contacts: Iterable[str],
    call: Callable[[PortalAccess, StaffMember, str], object],
    done: str,
) -> None:
    """Run ``call`` for each contact as the staff member; say what happened."""
    staff = staff_member(request)
    succeeded = 0
    for contact_id in contacts:
        try:
            call(portal(), staff, contact_id)
        except PortalAccessError as exc:
            model_admin.message_user(request, f"{contact_id}: {exc}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        model_admin.message_user(request, done.format(count=succeeded), messages.SUCCESS)


@admin.register(models.Contact)
class ContactAdmin(DocumentAdmin):
    """Contacts, with the staff actions."""

    columns = (
        ("first_name", "first name"),
        ("last_name", "last name"),
        ("email", "email"),
        ("account_id", "account"),
        ("role", "role"),
        ("portal.enabled", "portal enabled"),
    )
    search_fields = ("id", "email_key", "account_id")
    actions = ("send_portal_instructions", "send_invitation", "cancel_required_payment")

    @admin.action(description="Send portal instructions", permissions=["change"])
    def send_portal_instructions(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Seed 003: mail each contact its username and a set-password link."""
        ids = queryset.values_list("id", flat=True)
        _act(
            self,
            request,
            ids,
            lambda portal, staff, contact: portal.send_portal_instructions(contact, staff=staff),
            "Sent portal instructions to {count} contact(s).",
        )

    @admin.action(description="Send invitation", permissions=["change"])
    def send_invitation(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Seed 001: invite each contact (a saved contact with an email)."""
        ids = queryset.values_list("id", flat=True)
        _act(
            self,
            request,
            ids,
            lambda portal, staff, contact: portal.invite_contact(contact, staff=staff),
            "Invited {count} contact(s).",
        )

    @admin.action(description="Cancel required payment", permissions=["change"])
    def cancel_required_payment(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Seed 000: void each contact's required invoice and grant access."""
        ids = queryset.values_list("id", flat=True)
        reason = "cancelled in the admin"
        _act(
            self,
            request,
            ids,
            lambda portal, staff, contact: portal.cancel_required_payment(
                contact, staff=staff, reason=reason
            ),
            "Cancelled the required payment of {count} contact(s).",
        )


@admin.register(models.Account)
class AccountAdmin(DocumentAdmin):
    """Customer accounts."""

    columns = (("name", "name"), ("number", "number"), ("active", "active"))
    search_fields = ("id",)
    list_filter = ("class_id",)


@admin.register(models.Site)
class SiteAdmin(DocumentAdmin):
    """Sites of accounts."""

    columns = (("name", "name"), ("account_id", "account"), ("active", "active"))
    search_fields = ("id", "account_id")


@admin.register(models.AccountClass)
class AccountClassAdmin(DocumentAdmin):
    """Account classes and their portal options (seed 001)."""

    columns = (
        ("name", "name"),
        ("portal_enabled", "portal enabled"),
        ("auto_invite_on_contact_creation", "auto-invite"),
        ("invoice_verified_self_registration", "self-registration"),
    )


@admin.register(models.Offer)
class OfferAdmin(DocumentAdmin):
    """Offers (kickoff forms) and their paid access (seed 000)."""

    columns = (
        ("name", "name"),
        ("active", "active"),
        ("paid_access.gateway", "gateway"),
        ("paid_access.one_time.amount", "one-time"),
        ("paid_access.plan.name", "plan"),
        ("invite", "invite"),
    )


@admin.register(models.Plan)
class PlanAdmin(DocumentAdmin):
    """Subscription plans."""

    columns = (("name", "name"), ("amount", "amount"), ("interval.unit", "every"))


@admin.register(models.Invoice)
class InvoiceAdmin(DocumentAdmin):
    """Invoices."""

    columns = (
        ("number", "number"),
        ("title", "title"),
        ("status", "status"),
        ("purpose", "purpose"),
        ("amount_paid", "paid"),
        ("due_on", "due"),
        ("contact_id", "contact"),
    )
    search_fields = ("id", "number_key", "account_id")
    date_hierarchy = "issued_on"


@admin.register(models.Payment)
class PaymentAdmin(DocumentAdmin):
    """Payments at the gateways."""

    columns = (
        ("snapshot.amount", "amount"),
        ("snapshot.status", "status"),
        ("snapshot.method", "method"),
        ("snapshot.invoice_id", "invoice"),
        ("recorded_at", "recorded"),
    )
    search_fields = ("payment_id", "account_id")
    list_filter = ("gateway",)


@admin.register(models.Token)
class InvitationAdmin(DocumentAdmin):
    """Invitations and the other single-use links: whom, what for, until when, used."""

    columns = (
        ("purpose", "purpose"),
        ("contact_id", "contact"),
        ("issued_at", "issued"),
        ("expires_at", "expires"),
        ("used_at", "used"),
    )

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        """The columns, not the digest."""
        return [column(path, label) for path, label in self.columns]


@admin.register(models.AuditEntry)
class AuditTrailAdmin(DocumentAdmin):
    """The audit trail, newest first: who did what, why, to whom (read-only; entries
    are inserted with the change they record and never changed)."""

    columns = (
        ("action", "action"),
        ("actor.kind", "by"),
        ("actor.name", "name"),
        ("actor.id", "actor id"),
        ("reason", "reason"),
        ("invoice_id", "invoice"),
        ("payment_id", "payment"),
    )
    search_fields = ("contact_id", "account_id")
    ordering = ("-occurred_at", "-batch", "-ordinal")

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        """When, the contact and account, then :attr:`columns`."""
        return [
            "occurred_at",
            "contact_id",
            "account_id",
            *super().get_list_display(request)[1:],
        ]


@admin.register(models.OutboxMessage)
class OutboxEventAdmin(DocumentAdmin):
    """The events the outbox holds (emails left out), newest first."""

    columns = (("topic", "event"), ("payload", "what"))
    list_filter = ("topic", "delivered")
    ordering = ("-occurred_at",)

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        """When, the event and its payload."""
        return ["occurred_at", *super().get_list_display(request)[1:]]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        """The events, without email requests (their bodies carry single-use links)."""
        return super().get_queryset(request).exclude(topic__startswith="email.")
