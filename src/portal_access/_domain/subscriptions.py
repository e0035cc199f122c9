"""Subscriptions tied to paid portal access, as snapshots of the vendor object.

Seed 000_07c53b15302458c1.txt: "If you choose to tie a Subscription Plan to the Paid
Portal Access then the Contact's access to the portal will be restricted if their
payment fails" and a successful re-subscribe makes it active again.

>>> s1 = SubscriptionSnapshot(subscription_id="sub_1", plan_id="p-1",
...     status=SubscriptionStatus.ACTIVE, version=10, created=5)
>>> s1.in_arrears
False
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from portal_access._domain.validation import (
    aware_datetime,
    identifier,
    instance_of,
    int64,
    optional,
)

__all__ = ["SubscriptionSnapshot", "SubscriptionStatus"]


class SubscriptionStatus(enum.Enum):
    """A subscription's state, in the vocabulary shared by Stripe, Square and PayPal."""

    INCOMPLETE = "incomplete"  # first payment not made yet
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a renewal failed; the vendor is retrying
    UNPAID = "unpaid"  # retries exhausted, subscription kept
    CANCELED = "canceled"  # ended, by request or after failed renewals


_STAGE = {
    SubscriptionStatus.INCOMPLETE: 0,
    SubscriptionStatus.ACTIVE: 1,
    SubscriptionStatus.PAST_DUE: 2,
    SubscriptionStatus.UNPAID: 3,
    SubscriptionStatus.CANCELED: 4,
}


@attrs.frozen
class SubscriptionSnapshot:
    """One gateway report of a subscription.

    Args:
        subscription_id: the vendor's id.
        plan_id: our plan.
        status: see :class:`SubscriptionStatus`.
        version: the vendor's ordering for this object; higher is newer.
        created: when the vendor created it (any monotonic unit); a re-subscribe that
            makes a new subscription replaces the old one because it was created later.
        renewal_failed_at: when the renewal that put it in arrears was due, as the vendor
            reports it (the start of the unpaid period). Every report of one arrears run
            carries the same time, so a grace period never moves with report order.
        gateway: the gateway that reported it.
    """

    subscription_id: str = attrs.field(validator=identifier)
    plan_id: str = attrs.field(validator=identifier)
    status: SubscriptionStatus = attrs.field(validator=instance_of(SubscriptionStatus))
    version: int = attrs.field(validator=int64)
    created: int = attrs.field(default=0, validator=int64)
    renewal_failed_at: datetime | None = attrs.field(
        default=None, validator=optional(aware_datetime)
    )
    gateway: str = attrs.field(default="sandbox", validator=identifier)

    @property
    def in_arrears(self) -> bool:
        """A renewal failed and has not been paid (past due, unpaid)."""
        return self.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)

    @property
    def ended(self) -> bool:
        """No longer billing: canceled."""
        return self.status is SubscriptionStatus.CANCELED

    @property
    def order_key(self) -> tuple[int, str, int, int]:
        """The total order snapshots are merged by: newest subscription, then newest state."""
        return (self.created, self.subscription_id, self.version, _STAGE[self.status])

    def supersedes(self, other: SubscriptionSnapshot) -> bool:
        """Whether this snapshot should replace ``other`` as the contact's subscription."""
        return self.order_key > other.order_key
