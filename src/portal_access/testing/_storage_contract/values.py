"""Small builders of valid domain values for the storage contract (and your own tests).

Each takes the keys a test varies as arguments and fills the rest with fixed values.

>>> contact("c-2", address="Bob@Example.com").email
EmailAddress('Bob@example.com')
>>> invoice("inv-2", number="1002").total
Money(amount=4900, currency='USD')
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from portal_access._domain.access import AccessState
from portal_access._domain.accounts import Account, AccountClass, Site
from portal_access._domain.audit import Actor, AuditAction, AuditRecord
from portal_access._domain.autopay import SavedPaymentMethod
from portal_access._domain.billing import Invoice, Plan, renewal_invoice_lines
from portal_access._domain.checkout import CheckoutSession
from portal_access._domain.contacts import Contact, ContactRole
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.events import OutboxMessage
from portal_access._domain.gateway_events import SubscriptionReport
from portal_access._domain.invitations import StaffMember
from portal_access._domain.logins import PortalLogin
from portal_access._domain.money import Money
from portal_access._domain.offers import Offer
from portal_access._domain.payments import PaymentMethodKind, PaymentSnapshot, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus
from portal_access._domain.tokens import TokenPurpose, TokenRecord, token_digest
from portal_access.repositories import CheckoutRecord, PaymentRecord

__all__ = [
    "NOW",
    "TODAY",
    "access_state",
    "account",
    "account_class",
    "checkout",
    "contact",
    "email",
    "invoice",
    "login",
    "message",
    "offer",
    "payment",
    "plan",
    "saved_method",
    "site",
    "subscription",
    "token",
]

#: A fixed, timezone-aware instant the values use.
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
#: NOW's day.
TODAY = NOW.date()


def email(text: str = "ann@example.com") -> EmailAddress:
    """An email address (``ann@example.com`` unless told)."""
    return EmailAddress.parse(text)


def account_class(class_id: str = "k-1", *, name: str = "Commercial") -> AccountClass:
    """An account class."""
    return AccountClass(id=class_id, name=name)


def account(account_id: str = "a-1", *, class_id: str = "k-1") -> Account:
    """An active account of class ``class_id``."""
    return Account(
        id=account_id,
        number=f"N{account_id}",
        name="Renovation Gym",
        account_class=account_class(class_id),
    )


def site(site_id: str = "s-1", *, account_id: str = "a-1", active: bool = True) -> Site:
    """A site of ``account_id``."""
    return Site(id=site_id, account_id=account_id, name=f"Site {site_id}", active=active)


def contact(
    contact_id: str = "c-1", *, account_id: str = "a-1", address: str | None = "ann@example.com"
) -> Contact:
    """A client contact of ``account_id`` with email ``address`` (``None``: no email)."""
    return Contact(
        id=contact_id,
        account_id=account_id,
        first_name="Ann",
        email=None if address is None else email(address),
    )


def login(contact_id: str = "c-1", *, address: str = "ann@example.com") -> PortalLogin:
    """A login (no password yet) for ``contact_id`` with username ``address``."""
    return PortalLogin(contact_id=contact_id, email=email(address))


def offer(offer_id: str = "o-1", *, name: str = "Client onboarding") -> Offer:
    """An offer without paid access."""
    return Offer(id=offer_id, name=name)


def plan(plan_id: str = "p-1", *, name: str = "Portal monthly") -> Plan:
    """A monthly plan of 49.00 USD."""
    return Plan(id=plan_id, name=name, amount=Money(4900, "USD"))


def invoice(
    invoice_id: str = "inv-1",
    *,
    number: str = "1001",
    account_id: str = "a-1",
    issued_on: date = TODAY,
) -> Invoice:
    """An open invoice of ``account_id`` for one month of :func:`plan`."""
    return Invoice(
        id=invoice_id,
        number=number,
        account_id=account_id,
        title="Portal access",
        currency="USD",
        lines=renewal_invoice_lines(plan()),
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=30),
    )


def payment(
    payment_id: str = "pi_1",
    *,
    gateway: str = "stripe",
    account_id: str = "a-1",
    status: PaymentStatus = PaymentStatus.PROCESSING,
    version: int = 1,
) -> PaymentRecord:
    """A card payment record of ``account_id`` against invoice ``inv-1``."""
    snapshot = PaymentSnapshot(
        payment_id=payment_id,
        invoice_id="inv-1",
        method=PaymentMethodKind.CARD,
        status=status,
        amount=Money(4900, "USD"),
        version=version,
        gateway=gateway,
    )
    return PaymentRecord(
        snapshot=snapshot, account_id=account_id, contact_id="c-1", recorded_at=NOW
    )


def subscription(
    subscription_id: str = "sub_1",
    *,
    gateway: str = "stripe",
    contact_id: str = "c-1",
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    version: int = 1,
) -> SubscriptionReport:
    """A subscription report of ``contact_id`` on :func:`plan`."""
    snapshot = SubscriptionSnapshot(
        subscription_id=subscription_id,
        plan_id="p-1",
        status=status,
        version=version,
        gateway=gateway,
    )
    return SubscriptionReport(contact_id=contact_id, snapshot=snapshot)


def saved_method(
    contact_id: str = "c-1", method_id: str = "pm_1", *, gateway: str = "stripe", version: int = 1
) -> SavedPaymentMethod:
    """A card ``contact_id`` saved at ``gateway``."""
    return SavedPaymentMethod(contact_id=contact_id, gateway=gateway, method_id=method_id,
                              kind=PaymentMethodKind.CARD, version=version, saved_at=NOW,
                              label="VISA ending 4242")  # fmt: skip


def access_state(
    contact_id: str = "c-1", *, account_id: str = "a-1", **changes: Any
) -> AccessState:
    """A registered client's access state with no payment requirement; ``changes`` override."""
    fields: dict[str, Any] = {
        "contact_id": contact_id,
        "account_id": account_id,
        "role": ContactRole.CLIENT,
        "registered": True,
        "account_class": account_class(),
        "sites": (site(account_id=account_id),),
    }
    return AccessState(**(fields | changes))


def token(text: str = "token-1", *, contact_id: str = "c-1") -> TokenRecord:
    """An unused invitation token record whose digest is ``token_digest(text)``."""
    return TokenRecord(
        digest=token_digest(text),
        purpose=TokenPurpose.INVITATION,
        contact_id=contact_id,
        issued_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )


def checkout(
    session_id: str = "cs_1", *, gateway: str = "stripe", key: str = "checkout:inv-1:1"
) -> CheckoutRecord:
    """A hosted page for invoice ``inv-1`` opened under idempotency key ``key``."""
    session = CheckoutSession(
        gateway=gateway, session_id=session_id, url=f"https://pay.example/{session_id}"
    )
    return CheckoutRecord(
        session=session,
        purpose="required_payment",
        invoice_id="inv-1",
        contact_id="c-1",
        idempotency_key=key,
    )


def message(
    message_id: str = "m-1",
    *,
    occurred_at: datetime = NOW,
    topic: str = "contact.created",
    payload: dict[str, Any] | None = None,
) -> OutboxMessage:
    """An undelivered outbox message."""
    body = {"contact_id": "c-1", "account_id": "a-1"} if payload is None else payload
    return OutboxMessage(id=message_id, occurred_at=occurred_at, topic=topic, payload=body)


def audit_entry(
    entry_id: str = "au-1",
    *,
    occurred_at: datetime = NOW,
    contact_id: str | None = "c-1",
    account_id: str | None = "a-1",
    reason: str = "client is a partner",
) -> AuditRecord:
    """A staff member's cancel-required-payment entry of the audit trail."""
    return AuditRecord(
        id=entry_id,
        occurred_at=occurred_at,
        actor=Actor.staff(StaffMember(id="staff-1", name="Aliena")),
        action=AuditAction.CANCEL_REQUIRED_PAYMENT,
        reason=reason,
        contact_id=contact_id,
        account_id=account_id,
        invoice_id="inv-1",
        details={"note": "=1+2"},
    )
