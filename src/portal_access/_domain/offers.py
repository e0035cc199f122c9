"""Offers: seed 000's kickoff forms with their Paid Portal Access settings.

An offer is what a contact signs up through. With :class:`PaidAccess` it requires a
one-time payment, a subscription, or both before the portal opens; without it, a
registered contact gets access at once.

>>> monthly = Plan(id="p-1", name="Monthly", amount=Money(4900, "USD"))
>>> paid = PaidAccess(gateway="stripe", currency="USD",
...                   invoice_title='Welcome, {{ contact.first_name | default:"there" }}',
...                   one_time=Charge("Setup fee", Money(25000, "USD")), plan=monthly)
>>> offer = Offer(id="o-1", name="Client onboarding", paid_access=paid)
>>> offer.paid_access.first_invoice_total
Money(amount=29900, currency='USD')
>>> PaidAccess(gateway="stripe", currency="EUR", invoice_title="Hi", plan=monthly)
Traceback (most recent call last):
...
portal_access.ConfigurationError: plan.currency: plan is USD but the offer ...
"""

from __future__ import annotations

import enum

import attrs

from portal_access._domain.billing import (
    Charge,
    InvoiceLine,
    Plan,
    first_invoice_lines,
    renewal_invoice_lines,
)
from portal_access._domain.contacts import GATEWAY_NAMES, ContactRole
from portal_access._domain.errors import ConfigurationError, ValidationError
from portal_access._domain.money import Money, currency_code
from portal_access._domain.placeholders import PlaceholderTemplate, TemplateOutput
from portal_access._domain.validation import identifier, instance_of, non_blank, optional

__all__ = ["InviteTiming", "Offer", "PaidAccess"]


class InviteTiming(enum.Enum):
    """When the portal invitation goes out after a kickoff form (seed 000)."""

    IMMEDIATELY = "immediately"
    LATER = "later"


def _invite_timing(value: object) -> InviteTiming:
    """An :class:`InviteTiming`, or its value (``"immediately"``, ``"later"``)."""
    if isinstance(value, InviteTiming):
        return value
    for timing in InviteTiming:
        if value == timing.value:
            return timing
    raise ValidationError("must be 'immediately' or 'later'", field="invite", value=value)


def _gateway(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or value not in GATEWAY_NAMES:
        raise ConfigurationError(
            f"unknown gateway; known: {sorted(GATEWAY_NAMES)}", field=attribute.name, value=value
        )


def _title(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    non_blank(_instance, attribute, value)
    assert isinstance(value, str)
    PlaceholderTemplate.compile(value, output=TemplateOutput.SUBJECT, field="invoice_title")


@attrs.frozen
class PaidAccess:
    """The Paid Portal Access section of a kickoff form (seed 000).

    Args:
        gateway: the payment gateway the invoice is paid through (``"stripe"``...).
        currency: the invoice currency; the charge and the plan must be in it.
        invoice_title: a one-line placeholder template, validated now (unknown names and
            malformed tags fail here, when the admin saves, not later).
        one_time: the one-time item, or ``None``.
        plan: the subscription plan, or ``None``.

    Raises:
        ConfigurationError: neither a one-time charge nor a plan; a currency disagreement.
        TemplateError: the title does not compile.
        HeaderInjectionError: the title has a line break.
    """

    gateway: str = attrs.field(validator=_gateway)
    currency: str = attrs.field(converter=currency_code)
    invoice_title: str = attrs.field(validator=_title)
    one_time: Charge | None = attrs.field(default=None, validator=optional(instance_of(Charge)))
    plan: Plan | None = attrs.field(default=None, validator=optional(instance_of(Plan)))

    def __attrs_post_init__(self) -> None:
        if self.one_time is None and self.plan is None:
            raise ConfigurationError(
                "paid access needs a one-time payment, a subscription, or both", field="one_time"
            )
        if self.one_time is not None and self.one_time.amount.currency != self.currency:
            raise ConfigurationError(
                f"one-time charge is {self.one_time.amount.currency} "
                f"but the offer bills in {self.currency}",
                field="one_time.currency",
            )
        if self.plan is not None and self.plan.currency != self.currency:
            raise ConfigurationError(
                f"plan is {self.plan.currency} but the offer bills in {self.currency}",
                field="plan.currency",
            )

    @property
    def title_template(self) -> PlaceholderTemplate:
        """The compiled invoice title."""
        return PlaceholderTemplate.compile(self.invoice_title, output=TemplateOutput.SUBJECT)

    @property
    def first_invoice(self) -> tuple[InvoiceLine, ...]:
        """Lines of the first invoice: one-time charge and first period (seed 000)."""
        return first_invoice_lines(self.one_time, self.plan)

    @property
    def later_invoice(self) -> tuple[InvoiceLine, ...]:
        """Lines of every later invoice: the subscription only; none without a plan."""
        return renewal_invoice_lines(self.plan) if self.plan is not None else ()

    @property
    def first_invoice_total(self) -> Money:
        """What the contact pays before access opens."""
        return Money.total((line.amount for line in self.first_invoice), self.currency)


@attrs.frozen
class Offer:
    """A kickoff form a contact signs up through (seed 000).

    Args:
        id: the offer's id.
        name: staff-facing name; also ``{{ offer.name }}``.
        role: the role given to contacts who submit it; paid access requires CLIENT.
        paid_access: the payment requirement, or ``None`` (access on registration).
        invite: send the portal invitation immediately, or leave it to staff later.
        onboarding_flow: the host's onboarding flow key, started only once the required
            invoice is paid or waived; ``None`` for none.
        active: inactive offers accept no new submissions.
        account_class_id: the class of the account a submission creates when it names
            no existing account; ``None`` means every submission must name one.

    Raises:
        ConfigurationError: paid access on an offer whose role is not Client.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_blank)
    role: ContactRole = attrs.field(default=ContactRole.CLIENT, validator=instance_of(ContactRole))
    paid_access: PaidAccess | None = attrs.field(
        default=None, validator=optional(instance_of(PaidAccess))
    )
    invite: InviteTiming = attrs.field(default=InviteTiming.IMMEDIATELY, converter=_invite_timing)
    onboarding_flow: str | None = attrs.field(default=None, validator=optional(non_blank))
    active: bool = attrs.field(default=True, validator=instance_of(bool))
    account_class_id: str | None = attrs.field(default=None, validator=optional(identifier))

    def __attrs_post_init__(self) -> None:
        if self.paid_access is not None and self.role is not ContactRole.CLIENT:
            raise ConfigurationError(
                "paid portal access requires the Client role", field="role", value=self.role
            )
