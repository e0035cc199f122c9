"""Which gateways a contact may pay through, and where that clashes with what they owe.

Seed 004_67d5e53a019b49ae.txt: "for each contact you can ... enable the forms of payment
integrated" — staff switch PayPal, Stripe and Square on or off per contact. Every
payment a contact makes (the required invoice, quick pay of their invoice, saving a
payment method, re-subscribing) goes only through a gateway that is both allowed for the
contact and configured by the host. An offer's gateway is fixed when the contact signs
up, so staff can later switch it off for the contact: that is a *conflict*, shown to
staff (:func:`gateway_conflicts`), in the access decision and by a refused checkout.

>>> allowed = payable_gateways(frozenset({"paypal"}), frozenset({"paypal", "stripe"}))
>>> sorted(allowed)
['paypal']
>>> try:
...     ensure_payable("stripe", frozenset({"paypal"}), frozenset({"stripe"}))
... except GatewayNotAllowedError as refused:
...     refused.gateway, refused.allowed
('stripe', ('paypal',))
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from portal_access._domain.errors import GatewayNotAllowedError
from portal_access._domain.validation import identifier, instance_of

__all__ = [
    "GatewayConflict",
    "gateway_conflicts",
    "ensure_payable",
    "may_pay_through",
    "payable_gateways",
]


def payable_gateways(
    allowed: frozenset[str] | None, configured: frozenset[str] | None
) -> frozenset[str]:
    """The gateways a contact may pay through: ``allowed`` (the contact's selectors;
    ``None``: every gateway) within ``configured`` (the host's; ``None``: no limit).

    >>> sorted(payable_gateways(None, frozenset({"stripe"})))
    ['stripe']
    >>> payable_gateways(frozenset({"square"}), frozenset({"stripe"}))
    frozenset()
    """
    if allowed is None:
        return configured if configured is not None else frozenset()
    return allowed if configured is None else allowed & configured


def may_pay_through(
    gateway: str, allowed: frozenset[str] | None, configured: frozenset[str] | None
) -> bool:
    """Whether a payment may go through ``gateway``: allowed for the contact (``None``:
    every gateway) and configured by the host (``None``: no limit).

    >>> may_pay_through("stripe", None, None), may_pay_through("stripe", frozenset(), None)
    (True, False)
    """
    return (allowed is None or gateway in allowed) and (configured is None or gateway in configured)


def _named(allowed: frozenset[str] | None, configured: frozenset[str] | None) -> tuple[str, ...]:
    """The contact's gateways as staff set them (every configured one when unset)."""
    return tuple(sorted(allowed if allowed is not None else configured or ()))


def ensure_payable(
    gateway: str, allowed: frozenset[str] | None, configured: frozenset[str] | None
) -> None:
    """Do nothing when a payment may go through ``gateway`` (see :func:`may_pay_through`).

    Raises:
        GatewayNotAllowedError: it may not; the error names ``gateway`` and the
            contact's gateways.

    >>> ensure_payable("stripe", frozenset({"paypal"}), frozenset({"stripe"}))
    Traceback (most recent call last):
    ...
    portal_access.GatewayNotAllowedError: this payment goes through stripe; ... may use paypal
    """
    if may_pay_through(gateway, allowed, configured):
        return
    named = _named(allowed, configured)
    raise GatewayNotAllowedError(
        f"this payment goes through {gateway}; the contact may use {', '.join(named) or 'none'}",
        gateway=gateway,
        allowed=named,
    )


@attrs.frozen
class GatewayConflict:
    """Something a contact owes through a gateway they may not use (seed 004).

    Args:
        contact_id: the contact.
        gateway: the gateway the payment needs (the offer's or the invoice's).
        allowed: the contact's gateways as staff set them, sorted.
        invoice_id: the invoice that cannot be paid.
        purpose: ``"required_payment"`` (the paid-access invoice and its re-subscribe
            path) or ``"invoice"`` (an open invoice of theirs, for quick pay).
    """

    contact_id: str = attrs.field(validator=identifier)
    gateway: str = attrs.field(validator=identifier)
    allowed: tuple[str, ...] = attrs.field(validator=instance_of(tuple))
    invoice_id: str = attrs.field(validator=identifier)
    purpose: str = attrs.field(validator=identifier)


def gateway_conflicts(
    contact_id: str,
    allowed: frozenset[str] | None,
    configured: frozenset[str] | None,
    owed: Iterable[tuple[str, str, str]],
) -> tuple[GatewayConflict, ...]:
    """The conflicts of one contact: each ``(invoice_id, gateway, purpose)`` it owes
    through whose gateway it may not pay, in the order given.

    >>> [c.invoice_id for c in gateway_conflicts("c-1", frozenset({"paypal"}), None,
    ...     [("inv-1", "stripe", "required_payment"), ("inv-2", "paypal", "invoice")])]
    ['inv-1']
    """
    named = _named(allowed, configured)
    return tuple(
        GatewayConflict(contact_id, gateway, named, invoice_id, purpose)
        for invoice_id, gateway, purpose in owed
        if not may_pay_through(gateway, allowed, configured)
    )
