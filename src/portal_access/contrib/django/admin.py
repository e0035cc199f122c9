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

Seed 004's staff side: accounting entries (read-only, by month, exported as CSV through
the facade), purchase orders (read-only), and forms whose values go through the facade
as the staff member (:class:`FacadeAdmin`): the account-to-bank mapping
(``map_ledger_account``), catalog items (``save_catalog_item``) and staff comments on
documents (``staff_comment_on_document``, which mails the contacts).

Who may do what follows the admin's model permissions: a superuser may do everything;
other staff get :class:`~portal_access.StaffPermission` s from permissions they can be
granted in the admin (:data:`STAFF_PERMISSIONS`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from datetime import UTC
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

from portal_access import (
    CatalogItem,
    DocumentKind,
    DocumentRef,
    LedgerAccount,
    Money,
    PaymentMethodKind,
    PortalAccess,
    PortalAccessError,
    StaffMember,
    StaffPermission,
)
from portal_access.contrib.django import models
from portal_access.contrib.django._settings import current_settings, portal

__all__ = [
    "STAFF_PERMISSIONS",
    "AccountAdmin",
    "AccountClassAdmin",
    "AccountingEntryAdmin",
    "AuditTrailAdmin",
    "CatalogItemAdmin",
    "CatalogItemFields",
    "ContactAdmin",
    "DocumentAdmin",
    "DocumentCommentAdmin",
    "DocumentCommentFields",
    "FacadeAdmin",
    "FacadeForm",
    "LedgerAccountAdmin",
    "LedgerAccountFields",
    "PurchaseOrderAdmin",
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


# -- forms whose values go to PortalAccess (never saved as a row) ------------------------------


class FacadeForm(forms.ModelForm):  # type: ignore[type-arg]
    """An admin form whose values go through :class:`~portal_access.PortalAccess` as the
    logged-in staff member, when the form is checked: a refusal is the form's error and
    changes nothing; the model row is the one the library wrote (``saved``: its key)."""

    #: Set by :meth:`FacadeAdmin.get_form`: the request, and the row being changed.
    request: HttpRequest
    editing: Model | None = None
    saved: object = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.editing is not None:
            for name, value in self.initial_from(self.editing).items():
                self.initial.setdefault(name, value)
                if name in self.keys:
                    self.fields[name].disabled = True

    #: Fields naming the row, fixed once it exists.
    keys: tuple[str, ...] = ()

    def initial_from(self, row: Model) -> dict[str, Any]:
        """The fields' values for an existing ``row``."""
        return {}

    def submit(self, data: dict[str, Any]) -> object:
        """Send ``data`` through the facade; the key of the row written."""
        raise NotImplementedError

    def validate_unique(self) -> None:
        """Nothing to check: the library keeps its keys (the row it just wrote is no
        duplicate)."""

    def clean(self) -> dict[str, Any]:
        """The values, sent through the facade once every field is valid."""
        data = super().clean() or {}
        if not self.errors:
            try:
                self.saved = self.submit(data)
            except PortalAccessError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data


class FacadeAdmin(DocumentAdmin):
    """A list of the library's rows with an add (and, with :attr:`editable`, a change)
    form whose values go through :class:`~portal_access.PortalAccess`."""

    #: Whether an existing row can be sent again through the form (add or replace).
    editable = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        """The model's add permission (the row is still written by the library)."""
        return admin.ModelAdmin.has_add_permission(self, request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """Changing goes through the form again, when :attr:`editable`."""
        if self.editable:
            return admin.ModelAdmin.has_change_permission(self, request, obj)
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        """None on the form: its fields are the facade's arguments."""
        if obj is not None and not self.has_change_permission(request, obj):
            return super().get_readonly_fields(request, obj)
        return []

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        """The form's own fields (a read-only row shows its columns)."""
        if obj is not None and not self.has_change_permission(request, obj):
            return [field.name for field in self.model._meta.fields]
        return list(self.form.base_fields)

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        """The form, knowing the request (the staff member) and the row changed."""
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"request": request, "editing": obj})

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        """Nothing to save: the facade wrote the row when the form was checked."""
        obj.pk = form.saved

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """No related rows."""


# -- accounting (seed 004) ---------------------------------------------------------------------


def _unescaped(cell: str, value: str) -> bool:
    """Whether a cell of the facade's CSV holds ``value`` (escaped with ``'`` or not)."""
    return cell in (value, f"'{value}")


@admin.register(models.AccountingEntry)
class AccountingEntryAdmin(DocumentAdmin):
    """The accounting entries (seed 004): one per settled payment, refund, dispute and
    gateway fee, newest first, filtered by month; exported as CSV."""

    columns = (
        ("kind", "kind"),
        ("gateway", "gateway"),
        ("payment_id", "payment"),
        ("invoice_id", "invoice"),
        ("account_id", "account"),
        ("method", "method"),
        ("ledger_account", "ledger account"),
        ("amount", "amount"),
    )
    list_filter = ("month", "kind", "gateway", "unmapped")
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at", "gateway", "payment_id", "kind")
    search_fields = ("payment_id",)
    actions = ("export_csv",)

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        """When, then :attr:`columns`."""
        return ["occurred_at", *super().get_list_display(request)[1:]]

    @admin.action(description="Export the selected entries as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        """The facade's CSV (escaped against CSV injection) of the days the selection
        spans, keeping the selected entries only."""
        rows = list(queryset.values_list("gateway", "payment_id", "kind", "occurred_at"))
        days = [at.astimezone(UTC).date() for *_key, at in rows]
        try:
            text = portal().accounting_csv(min(days), max(days))
        except PortalAccessError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        wanted = [(gateway, payment, kind) for gateway, payment, kind, _at in rows]
        reader = csv.reader(io.StringIO(text))
        header = next(reader)
        at = [header.index(name) for name in ("gateway", "payment_id", "kind")]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for row in reader:
            cells = [row[i] for i in at]
            if any(all(map(_unescaped, cells, key)) for key in wanted):
                writer.writerow(row)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        name = f"accounting-{min(days).isoformat()}-{max(days).isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class LedgerAccountFields(FacadeForm):
    """Map a gateway's payment method to an account of the books."""

    # named unlike the model's columns: the row is the library's, never this form's
    paid_through = forms.ChoiceField(label="Gateway", choices=())
    payment_method = forms.ChoiceField(
        label="Payment method", choices=[(kind.value, kind.value) for kind in PaymentMethodKind]
    )
    account_code = forms.CharField(label="Account code", max_length=255)
    account_name = forms.CharField(label="Account name", max_length=255, required=False)
    keys = ("paid_through", "payment_method")

    class Meta:
        model = models.LedgerAccount
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [gateway.name for gateway in current_settings().gateways]
        self.fields["paid_through"].choices = [(name, name) for name in names]  # type: ignore[attr-defined]

    def initial_from(self, row: Model) -> dict[str, Any]:
        """The mapping's gateway, method, code and name."""
        doc = _doc(row)
        return {
            "paid_through": doc.get("gateway", ""),
            "payment_method": doc.get("method", ""),
            "account_code": doc.get("code", ""),
            "account_name": doc.get("name", ""),
        }

    def submit(self, data: dict[str, Any]) -> object:
        """:meth:`~portal_access.PortalAccess.map_ledger_account` as the staff member."""
        mapped = portal().map_ledger_account(
            LedgerAccount(
                gateway=data["paid_through"],
                method=PaymentMethodKind(data["payment_method"]),
                code=data["account_code"],
                name=data.get("account_name") or "",
            ),
            staff=staff_member(self.request),
        )
        rows = models.LedgerAccount.objects.filter(
            gateway=mapped.gateway, method=mapped.method.value
        )
        return rows.values_list("pk", flat=True).first()


@admin.register(models.LedgerAccount)
class LedgerAccountAdmin(FacadeAdmin):
    """Which account of the books each gateway's payment method is paid into (seed 004):
    added or changed through :meth:`~portal_access.PortalAccess.map_ledger_account`, on
    the audit trail as the staff member."""

    form = LedgerAccountFields
    editable = True
    columns = (("gateway", "gateway"), ("method", "method"), ("code", "code"), ("name", "name"))
    list_filter = ("gateway",)

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        """The mapping's columns."""
        return super().get_list_display(request)[1:]


# -- the catalog and purchase orders (seed 004) ------------------------------------------------


class CatalogItemFields(FacadeForm):
    """An item of the catalog: its id, name, unit price and whether it is for sale."""

    # named unlike the model's columns: the row is the library's, never this form's
    item_id = forms.CharField(label="Item id", max_length=255)
    item_name = forms.CharField(label="Name", max_length=255)
    unit_price = forms.CharField(label="Unit price", help_text="e.g. 12.50")
    currency = forms.CharField(max_length=3, help_text="ISO 4217, e.g. USD")
    offered = forms.BooleanField(required=False, initial=True, label="For sale")
    keys = ("item_id",)

    class Meta:
        model = models.CatalogItem
        fields: tuple[str, ...] = ()

    def initial_from(self, row: Model) -> dict[str, Any]:
        """The item's values."""
        doc = _doc(row)
        price = doc.get("unit_price") or {}
        money = Money(int(price.get("amount", 0)), str(price.get("currency", "USD")))
        return {
            "item_id": doc.get("id", ""),
            "item_name": doc.get("name", ""),
            "unit_price": str(money.major),
            "currency": money.currency,
            "offered": bool(doc.get("for_sale", True)),
        }

    def submit(self, data: dict[str, Any]) -> object:
        """:meth:`~portal_access.PortalAccess.save_catalog_item`."""
        item = CatalogItem(
            id=data["item_id"],
            name=data["item_name"],
            unit_price=Money.parse(data["unit_price"].strip(), data["currency"].strip().upper()),
            for_sale=bool(data.get("offered")),
        )
        return portal().save_catalog_item(item).id


@admin.register(models.CatalogItem)
class CatalogItemAdmin(FacadeAdmin):
    """The catalog contacts with catalog access order from (seed 004); an item is added
    or changed through :meth:`~portal_access.PortalAccess.save_catalog_item` (untick
    "for sale" to withdraw it)."""

    form = CatalogItemFields
    editable = True
    columns = (("name", "name"), ("unit_price", "unit price"), ("for_sale", "for sale"))
    list_filter = ("for_sale",)
    search_fields = ("id", "name")
    ordering = ("name", "id")


def _order_lines(row: Model) -> str:
    lines = _doc(row).get("lines") or []
    return ", ".join(f"{line.get('quantity')} x {line.get('name')}" for line in lines)


_order_lines.short_description = "lines"  # type: ignore[attr-defined]


@admin.register(models.PurchaseOrder)
class PurchaseOrderAdmin(DocumentAdmin):
    """Contacts' purchase orders, newest first (each became an open invoice)."""

    columns = (
        ("contact_id", "contact"),
        ("account_id", "account"),
        ("placed_at", "placed"),
        ("invoice_id", "invoice"),
    )
    search_fields = ("id", "contact_id")
    ordering = ("-placed_at", "id")

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        """The order, its columns and its lines."""
        return [*super().get_list_display(request), _order_lines]


# -- comments on documents (seed 004) ----------------------------------------------------------


class DocumentCommentFields(FacadeForm):
    """A staff comment on an invoice or a statement; every contact who may see the
    document is mailed."""

    kind = forms.ChoiceField(
        label="Document", choices=[(kind.value, kind.value.capitalize()) for kind in DocumentKind]
    )
    document_id = forms.CharField(
        label="Invoice or account id", max_length=255, help_text="a statement: the account's id"
    )
    body = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 4}))

    class Meta:
        model = models.DocumentComment
        fields: tuple[str, ...] = ()

    def submit(self, data: dict[str, Any]) -> object:
        """:meth:`~portal_access.PortalAccess.staff_comment_on_document` as the staff
        member."""
        ref = DocumentRef(DocumentKind(data["kind"]), data["document_id"].strip())
        comment = portal().staff_comment_on_document(
            ref, data["body"], staff=staff_member(self.request)
        )
        return comment.id


@admin.register(models.DocumentComment)
class DocumentCommentAdmin(FacadeAdmin):
    """Comments on documents, a document's in the order they were posted (seed 004);
    staff add theirs through
    :meth:`~portal_access.PortalAccess.staff_comment_on_document`, which mails the
    contacts who may see the document."""

    form = DocumentCommentFields
    columns = (
        ("document.kind", "document"),
        ("document.id", "invoice or account"),
        ("author.kind", "by"),
        ("author.name", "name"),
        ("body", "comment"),
        ("posted_at", "posted"),
    )
    search_fields = ("document_key",)
    ordering = ("document_key", "number")
