"""Which parts of a verified gateway event its gateway may speak for.

A webhook is verified with *its* gateway's secret, so it proves only what that gateway
says about that gateway's objects. A report naming an invoice, a subscription or a
contact of another gateway is dropped (and the reason recorded as the event's outcome):
otherwise every invoice would be only as safe as the weakest configured secret (a
sandbox-signed event paying a Stripe invoice).

- a payment applies only to an invoice whose ``gateway`` is the reporting gateway (an
  invoice with no gateway is paid through none of ours); a re-subscribe page's payment
  names the required invoice marked, and is judged by that invoice;
- a subscription or a renewal applies only to a contact whose paid-access requirement
  is with the reporting gateway, and a renewal invoice we hold only if that gateway
  raised it;
- every snapshot must name the gateway the event came from.
"""

from __future__ import annotations

import attrs

from portal_access._domain.gateway_events import GatewayEvent, resubscribed_invoice_id
from portal_access._service.context import Work

__all__ = ["trusted_part"]


def trusted_part(work: Work, event: GatewayEvent) -> tuple[GatewayEvent, list[str]]:
    """``event`` without the reports its gateway may not make, and why each was dropped.

    An invoice or contact we do not know is left in: applying it records "unknown ..."
    as before (or defers a renewal payment whose invoice is on its way).
    """
    gateway = event.gateway
    dropped: list[str] = []

    def invoice_ours(invoice_id: str, what: str) -> bool:
        invoice = work.uow.invoices.get(resubscribed_invoice_id(invoice_id) or invoice_id)
        if invoice is None or invoice.gateway == gateway:
            return True
        dropped.append(f"{what} names invoice {invoice_id} of another gateway")
        return False

    def contact_ours(contact_id: str, what: str) -> bool:
        state = work.uow.access.get(contact_id)
        requirement = state.requirement if state is not None else None
        if state is None or (requirement is not None and requirement.gateway == gateway):
            return True
        dropped.append(f"{what} names contact {contact_id}, who does not pay through {gateway}")
        return False

    def named_ours(named: str, what: str) -> bool:
        if named == gateway:
            return True
        dropped.append(f"{what} claims to be from {named}, not {gateway}")
        return False

    payments = tuple(
        snapshot
        for snapshot in event.payments
        if named_ours(snapshot.gateway, f"payment {snapshot.payment_id}")
        and invoice_ours(snapshot.invoice_id, f"payment {snapshot.payment_id}")
    )
    subscriptions = tuple(
        report
        for report in event.subscriptions
        if named_ours(report.snapshot.gateway, f"subscription {report.snapshot.subscription_id}")
        and contact_ours(report.contact_id, f"subscription {report.snapshot.subscription_id}")
    )
    renewals = tuple(
        report
        for report in event.renewals
        if named_ours(report.gateway, f"renewal {report.vendor_invoice_id}")
        and invoice_ours(report.invoice_id, f"renewal {report.vendor_invoice_id}")
        and contact_ours(report.contact_id, f"renewal {report.vendor_invoice_id}")
    )
    saved_methods = tuple(
        method
        for method in event.saved_methods
        if named_ours(method.gateway, f"saved method {method.method_id}")
    )
    removed_methods = tuple(
        gone
        for gone in event.removed_methods
        if named_ours(gone.gateway, f"removed method {gone.method_id}")
    )
    if not dropped:  # the usual case: the event as it came
        return event, dropped
    trusted = attrs.evolve(
        event,
        payments=payments,
        subscriptions=subscriptions,
        renewals=renewals,
        saved_methods=saved_methods,
        removed_methods=removed_methods,
    )
    return trusted, dropped
