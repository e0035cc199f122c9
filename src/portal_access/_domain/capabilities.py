"""Capabilities: what a contact may do inside the portal, and where each switch lives.

- Seed 001_345994b3bb014aeb.txt: the account class switches reports, on-call orders, add
  sites and work-order photos/attachments; the system options switch service history, AR
  history, aging buckets, current services, service quantity, third-party invoices.
- Seed 003_11ad6fb0c789d951.txt: "Can save payment method" per customer.
- Seed 004_67d5e53a019b49ae.txt: comments, document downloads, catalog per contact.
"""

from __future__ import annotations

import enum

from portal_access._domain.accounts import AccountClass, SystemPortalOptions
from portal_access._domain.contacts import ContactPortalSettings

__all__ = [
    "PAY_INVOICE_CAPABILITIES",
    "RESUBSCRIBE_CAPABILITIES",
    "Capability",
    "full_capabilities",
]


class Capability(enum.Enum):
    """What a contact may do inside the portal (seeds 001, 002, 003, 004)."""

    VIEW_INVOICES = "view_invoices"
    VIEW_PAYMENT_HISTORY = "view_payment_history"
    PAY_INVOICES = "pay_invoices"
    PAY_REQUIRED_INVOICE = "pay_required_invoice"
    RESUBSCRIBE = "resubscribe"
    SAVE_PAYMENT_METHOD = "save_payment_method"
    SERVICE_HISTORY = "service_history"
    AR_HISTORY = "ar_history"
    AGING_BUCKETS = "aging_buckets"
    CURRENT_SERVICES = "current_services"
    SERVICE_QUANTITY = "service_quantity"
    THIRD_PARTY_INVOICES = "third_party_invoices"
    REPORTS = "reports"
    ON_CALL_ORDERS = "on_call_orders"
    ADD_SITES = "add_sites"
    WORK_ORDER_PHOTOS = "work_order_photos"
    WORK_ORDER_ATTACHMENTS = "work_order_attachments"
    CATALOG = "catalog"
    COMMENTS = "comments"
    DOWNLOAD_DOCUMENTS = "download_documents"
    AUTOPAY = "autopay"


#: All a contact may do while the required invoice is open (seed 000: the Pay Invoice view).
PAY_INVOICE_CAPABILITIES = frozenset({Capability.PAY_REQUIRED_INVOICE})
#: All a contact may do after a failed renewal (seed 000: the Re-Subscribe path).
RESUBSCRIBE_CAPABILITIES = frozenset({Capability.RESUBSCRIBE})


def full_capabilities(
    klass: AccountClass, portal: ContactPortalSettings, system: SystemPortalOptions
) -> frozenset[Capability]:
    """What a contact with full access may do, from its class, its settings and the system.

    >>> from portal_access._domain.accounts import AccountClass, SystemPortalOptions
    >>> from portal_access._domain.contacts import ContactPortalSettings
    >>> caps = full_capabilities(AccountClass(id="k", name="K", reports=True),
    ...                          ContactPortalSettings(), SystemPortalOptions())
    >>> Capability.REPORTS in caps, Capability.SAVE_PAYMENT_METHOD in caps
    (True, False)
    """
    flags = {
        Capability.VIEW_INVOICES: True,
        Capability.VIEW_PAYMENT_HISTORY: True,
        Capability.PAY_INVOICES: True,
        Capability.COMMENTS: True,
        Capability.DOWNLOAD_DOCUMENTS: True,
        Capability.SAVE_PAYMENT_METHOD: portal.can_save_payment_method,
        Capability.AUTOPAY: portal.can_save_payment_method,
        Capability.CATALOG: portal.catalog_access,
        Capability.SERVICE_HISTORY: system.display_service_history,
        Capability.AR_HISTORY: system.display_ar_history,
        Capability.AGING_BUCKETS: system.display_aging_buckets,
        Capability.CURRENT_SERVICES: system.display_current_services,
        Capability.SERVICE_QUANTITY: system.display_service_quantity,
        Capability.THIRD_PARTY_INVOICES: system.display_third_party_invoices,
        Capability.REPORTS: klass.reports,
        Capability.ON_CALL_ORDERS: klass.on_call_orders,
        Capability.ADD_SITES: klass.add_sites,
        Capability.WORK_ORDER_PHOTOS: klass.work_order_photos,
        Capability.WORK_ORDER_ATTACHMENTS: klass.work_order_attachments,
    }
    return frozenset(capability for capability, on in flags.items() if on)
