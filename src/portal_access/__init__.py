"""portal-access: sell and police access to a customer portal.

The top level holds the values a host works with and the access decision; the rules
behind them live in :mod:`portal_access._domain`. Importing this package loads no vendor
SDK, database driver or web framework: adapters load those when they are imported.

>>> import portal_access as pa
>>> pa.Money.parse("250.00", "USD")
Money(amount=25000, currency='USD')
"""

from __future__ import annotations

from portal_access._domain.access import (
    AccessDecision,
    AccessLevel,
    AccessReason,
    AccessState,
    PortalPolicy,
    decide,
    onboarding_due,
)
from portal_access._domain.accounting import AccountingEntry, EntryKind, LedgerAccount
from portal_access._domain.accounts import (
    Account,
    AccountClass,
    InactiveSiteVisibility,
    Site,
    SystemPortalOptions,
)
from portal_access._domain.aging import AgingBucket, AgingBuckets, age_invoices
from portal_access._domain.audit import (
    AUDIT_CSV_COLUMNS,
    Actor,
    ActorKind,
    AuditAction,
    AuditExportFormat,
    AuditRecord,
)
from portal_access._domain.autopay import (
    AutopayAttempt,
    AutopayOutcome,
    SavedMethodCharge,
    SavedPaymentMethod,
    autopay_maximum,
)
from portal_access._domain.billing import (
    BillingInterval,
    Charge,
    IntervalUnit,
    Invoice,
    InvoiceLine,
    InvoicePurpose,
    InvoiceStatus,
    LineKind,
    Plan,
)
from portal_access._domain.capabilities import Capability
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest, CheckoutSession
from portal_access._domain.comments import (
    MAX_COMMENT_LENGTH,
    AuthorKind,
    CommentAuthor,
    DocumentComment,
)
from portal_access._domain.contacts import Contact, ContactPortalSettings, ContactRole, SiteScope
from portal_access._domain.documents import (
    Document,
    DocumentFile,
    DocumentKind,
    DocumentLine,
    DocumentRef,
)
from portal_access._domain.duplicate_payments import DuplicatePayment
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    CurrencyMismatchError,
    GatewayError,
    GatewayNotAllowedError,
    GatewayRejectedError,
    GatewayUnavailableError,
    HeaderInjectionError,
    InvalidEmailError,
    InvalidMoneyError,
    InvalidTokenError,
    NotFoundError,
    PasswordChangeRequiredError,
    PaymentDeclinedError,
    PaymentInProgressError,
    PortalAccessError,
    RateLimitedError,
    SchemaVersionError,
    StaleStateError,
    StorageError,
    TemplateError,
    TokenAlreadyUsedError,
    TokenExpiredError,
    UnknownCurrencyError,
    ValidationError,
    WebhookVerificationError,
)
from portal_access._domain.events import (
    AccessChanged,
    AuditRecorded,
    ContactCreated,
    ContactRegistered,
    DomainEvent,
    EmailRequested,
    InvitationSent,
    InvoiceCreated,
    InvoicePaid,
    InvoiceVoided,
    OnboardingDue,
    OutboxMessage,
    PaymentDuplicated,
    PaymentRecorded,
    PurchaseOrderPlaced,
    SavedPaymentMethodRemoved,
    SubscriptionChanged,
    SubscriptionDuplicated,
    WebhookProcessed,
)
from portal_access._domain.gateway_events import (
    GatewayEvent,
    RenewalInvoiceReport,
    SavedMethodRemoval,
    SubscriptionReport,
)
from portal_access._domain.invitations import (
    InvitationSource,
    InvoiceEmail,
    StaffMember,
    StaffPermission,
)
from portal_access._domain.logins import PortalLogin
from portal_access._domain.money import Money
from portal_access._domain.offers import InviteTiming, Offer, PaidAccess
from portal_access._domain.outbox import MIN_EVENT_RETENTION, OutboxSettings, Retention
from portal_access._domain.payment_gateways import GatewayConflict
from portal_access._domain.payments import (
    AchPolicy,
    DisputeOutcome,
    PaymentDispute,
    PaymentMethodKind,
    PaymentRefund,
    PaymentSnapshot,
    PaymentStatus,
)
from portal_access._domain.placeholders import (
    STANDARD_PLACEHOLDERS,
    PlaceholderTemplate,
    TemplateOutput,
)
from portal_access._domain.purchase_orders import CatalogItem, OrderLine, PurchaseOrder
from portal_access._domain.recipients import invoice_email_addresses, parse_recipients
from portal_access._domain.requirement import RequiredPayment, Settlement
from portal_access._domain.self_registration import SelfRegistrationRequest
from portal_access._domain.site_access import SiteAccess
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus
from portal_access._domain.tokens import TokenPurpose
from portal_access._portal import PortalAccess
from portal_access._service.autopay import AutopayReport
from portal_access._service.context import PortalLinks
from portal_access._service.emails import EmailTemplate, EmailTemplates
from portal_access._service.invitations import InvitationView
from portal_access._service.logins import LoginResult
from portal_access._service.payment_history import PaymentHistory
from portal_access._service.quick_pay import QuickPayResult
from portal_access._service.reconcile import ReconcileReport
from portal_access._service.signup import KickoffForm, Signup
from portal_access._service.summary import AccountSummary
from portal_access._service.webhooks import HeaderItems, WebhookHeaders, WebhookResult

__version__ = "0.1.0.dev0"

__all__ = [
    "AUDIT_CSV_COLUMNS",
    "MAX_COMMENT_LENGTH",
    "AuthorKind",
    "CommentAuthor",
    "MIN_EVENT_RETENTION",
    "STANDARD_PLACEHOLDERS",
    "AccessChanged",
    "AccessDecision",
    "AccessDeniedError",
    "AccessLevel",
    "AccessReason",
    "AccessState",
    "Account",
    "AccountClass",
    "AccountSummary",
    "AccountingEntry",
    "AchPolicy",
    "Actor",
    "ActorKind",
    "AgingBucket",
    "AgingBuckets",
    "AuditAction",
    "AuditExportFormat",
    "AuditRecord",
    "AuditRecorded",
    "AuthenticationError",
    "AutopayAttempt",
    "AutopayOutcome",
    "AutopayReport",
    "BillingInterval",
    "Capability",
    "CatalogItem",
    "Charge",
    "CheckoutPurpose",
    "CheckoutRequest",
    "CheckoutSession",
    "ConfigurationError",
    "ConflictError",
    "Contact",
    "ContactCreated",
    "ContactPortalSettings",
    "ContactRegistered",
    "ContactRole",
    "CurrencyMismatchError",
    "DomainEvent",
    "Document",
    "DocumentComment",
    "DocumentFile",
    "DocumentKind",
    "DocumentLine",
    "DocumentRef",
    "DuplicatePayment",
    "EmailAddress",
    "EmailRequested",
    "EmailTemplate",
    "EmailTemplates",
    "DisputeOutcome",
    "EntryKind",
    "GatewayConflict",
    "GatewayError",
    "GatewayEvent",
    "HeaderItems",
    "GatewayNotAllowedError",
    "GatewayRejectedError",
    "GatewayUnavailableError",
    "HeaderInjectionError",
    "InactiveSiteVisibility",
    "IntervalUnit",
    "InvalidEmailError",
    "InvalidMoneyError",
    "InvalidTokenError",
    "InvitationSent",
    "InvitationSource",
    "InvitationView",
    "InviteTiming",
    "Invoice",
    "InvoiceCreated",
    "InvoiceEmail",
    "InvoiceLine",
    "InvoicePaid",
    "InvoicePurpose",
    "InvoiceStatus",
    "InvoiceVoided",
    "KickoffForm",
    "LedgerAccount",
    "LineKind",
    "LoginResult",
    "Money",
    "NotFoundError",
    "Offer",
    "OnboardingDue",
    "OrderLine",
    "OutboxMessage",
    "OutboxSettings",
    "PaidAccess",
    "PasswordChangeRequiredError",
    "PaymentDeclinedError",
    "PaymentDuplicated",
    "PaymentHistory",
    "PaymentInProgressError",
    "PaymentMethodKind",
    "PaymentRecorded",
    "PaymentDispute",
    "PaymentRefund",
    "PaymentSnapshot",
    "PaymentStatus",
    "PlaceholderTemplate",
    "Plan",
    "PortalAccess",
    "PortalAccessError",
    "PortalLinks",
    "PortalLogin",
    "PortalPolicy",
    "PurchaseOrder",
    "PurchaseOrderPlaced",
    "QuickPayResult",
    "RateLimitedError",
    "ReconcileReport",
    "RenewalInvoiceReport",
    "RequiredPayment",
    "SavedMethodCharge",
    "SavedPaymentMethod",
    "SavedPaymentMethodRemoved",
    "SavedMethodRemoval",
    "Retention",
    "SchemaVersionError",
    "SelfRegistrationRequest",
    "Settlement",
    "Signup",
    "Site",
    "SiteAccess",
    "SiteScope",
    "StaffMember",
    "StaffPermission",
    "StaleStateError",
    "StorageError",
    "SubscriptionChanged",
    "SubscriptionDuplicated",
    "SubscriptionReport",
    "SubscriptionSnapshot",
    "SubscriptionStatus",
    "SystemPortalOptions",
    "TemplateError",
    "TemplateOutput",
    "TokenAlreadyUsedError",
    "TokenExpiredError",
    "TokenPurpose",
    "UnknownCurrencyError",
    "ValidationError",
    "WebhookHeaders",
    "WebhookProcessed",
    "WebhookResult",
    "WebhookVerificationError",
    "age_invoices",
    "autopay_maximum",
    "decide",
    "invoice_email_addresses",
    "onboarding_due",
    "parse_recipients",
]
