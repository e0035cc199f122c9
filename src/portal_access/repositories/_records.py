"""What the repositories keep besides the domain values: payments and checkout pages."""

from __future__ import annotations

from datetime import datetime

import attrs

from portal_access._domain.checkout import CheckoutSession
from portal_access._domain.payments import PaymentSnapshot
from portal_access._domain.validation import aware_datetime, identifier, instance_of, optional

__all__ = ["CheckoutRecord", "PaymentRecord"]


@attrs.frozen
class PaymentRecord:
    """A payment as the store keeps it: the newest snapshot and whose it is.

    Unique by ``(snapshot.gateway, snapshot.payment_id)``: the create call and every
    webhook upsert the same row, so a create call racing its webhook makes one payment.
    ``contact_id`` and ``site_id`` are its invoice's: who sees the payment.
    """

    snapshot: PaymentSnapshot = attrs.field(validator=instance_of(PaymentSnapshot))
    account_id: str = attrs.field(validator=identifier)
    contact_id: str | None = attrs.field(default=None, validator=optional(identifier))
    recorded_at: datetime | None = attrs.field(default=None, validator=optional(aware_datetime))
    site_id: str | None = attrs.field(default=None, validator=optional(identifier))


@attrs.frozen
class CheckoutRecord:
    """A hosted checkout page we opened, and what it was for."""

    session: CheckoutSession = attrs.field(validator=instance_of(CheckoutSession))
    purpose: str = attrs.field(validator=identifier)
    invoice_id: str | None = attrs.field(default=None, validator=optional(identifier))
    contact_id: str | None = attrs.field(default=None, validator=optional(identifier))
    idempotency_key: str = attrs.field(default="", validator=instance_of(str))
