"""portal-access: sell and police access to a customer portal.

The top level holds the values a host works with and the access decision; the rules
behind them live in :mod:`portal_access.domain`. Importing this package loads no vendor
SDK, database driver or web framework: adapters load those when they are imported.

>>> import portal_access as pa
>>> pa.Money.parse("250.00", "USD")
Money(amount=25000, currency='USD')
"""

from __future__ import annotations

from portal_access.domain.access import (
    AccessDecision,
    AccessLevel,
    AccessReason,
    AccessState,
    PortalPolicy,
    decide,
    onboarding_due,
)
from portal_access.domain.accounts import (
    Account,
    AccountClass,
    InactiveSiteVisibility,
    Site,
    SystemPortalOptions,
)
from portal_access.domain.aging import AgingBucket, AgingBuckets, age_invoices
from portal_access.domain.billing import (
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
from portal_access.domain.capabilities import Capability
from portal_access.domain.contacts import Contact, ContactPortalSettings, ContactRole, SiteScope
from portal_access.domain.email_address import EmailAddress
from portal_access.domain.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    CurrencyMismatchError,
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    HeaderInjectionError,
    InvalidEmailError,
    InvalidMoneyError,
    InvalidTokenError,
    NotFoundError,
    PasswordChangeRequiredError,
    PaymentDeclinedError,
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
from portal_access.domain.invitations import (
    InvitationSource,
    InvoiceEmail,
    StaffMember,
    StaffPermission,
)
from portal_access.domain.money import Money
from portal_access.domain.offers import InviteTiming, Offer, PaidAccess
from portal_access.domain.payments import (
    AchPolicy,
    PaymentMethodKind,
    PaymentSnapshot,
    PaymentStatus,
)
from portal_access.domain.placeholders import (
    STANDARD_PLACEHOLDERS,
    PlaceholderTemplate,
    TemplateOutput,
)
from portal_access.domain.recipients import parse_recipients
from portal_access.domain.requirement import RequiredPayment, Settlement
from portal_access.domain.self_registration import SelfRegistrationRequest
from portal_access.domain.site_access import SiteAccess
from portal_access.domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus
from portal_access.domain.tokens import TokenPurpose

__version__ = "0.1.0.dev0"

__all__ = [
    "STANDARD_PLACEHOLDERS",
    "AccessDecision",
    "AccessDeniedError",
    "AccessLevel",
    "AccessReason",
    "AccessState",
    "Account",
    "AccountClass",
    "AchPolicy",
    "AgingBucket",
    "AgingBuckets",
    "AuthenticationError",
    "BillingInterval",
    "Capability",
    "Charge",
    "ConfigurationError",
    "ConflictError",
    "Contact",
    "ContactPortalSettings",
    "ContactRole",
    "CurrencyMismatchError",
    "EmailAddress",
    "GatewayError",
    "GatewayRejectedError",
    "GatewayUnavailableError",
    "HeaderInjectionError",
    "InactiveSiteVisibility",
    "IntervalUnit",
    "InvalidEmailError",
    "InvalidMoneyError",
    "InvalidTokenError",
    "InvitationSource",
    "InviteTiming",
    "Invoice",
    "InvoiceEmail",
    "InvoiceLine",
    "InvoicePurpose",
    "InvoiceStatus",
    "LineKind",
    "Money",
    "NotFoundError",
    "Offer",
    "PaidAccess",
    "PasswordChangeRequiredError",
    "PaymentDeclinedError",
    "PaymentMethodKind",
    "PaymentSnapshot",
    "PaymentStatus",
    "PlaceholderTemplate",
    "Plan",
    "PortalAccessError",
    "PortalPolicy",
    "RateLimitedError",
    "RequiredPayment",
    "SchemaVersionError",
    "SelfRegistrationRequest",
    "Settlement",
    "Site",
    "SiteAccess",
    "SiteScope",
    "StaffMember",
    "StaffPermission",
    "StaleStateError",
    "StorageError",
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
    "WebhookVerificationError",
    "age_invoices",
    "decide",
    "onboarding_due",
    "parse_recipients",
]
