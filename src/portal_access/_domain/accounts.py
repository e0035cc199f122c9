"""Accounts, their sites, account classes and the system-wide portal options.

All of it comes from seed 001_345994b3bb014aeb.txt ("Setting Up Portal Access for
Contacts"): an account belongs to an account class whose Customer Portal tab switches
portal features on and off, and the system options hold what is the same for everyone.

>>> cls = AccountClass(id="commercial", name="Commercial", reports=True,
...                    inactive_sites=InactiveSiteVisibility.SERVICE_HISTORY_ONLY)
>>> account = Account(id="acc-1", number="49418", name="Renovation Gym", account_class=cls)
>>> account.active, account.account_class.auto_invite_on_contact_creation
(True, False)
"""

from __future__ import annotations

import enum

import attrs

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ConfigurationError, ValidationError
from portal_access._domain.money import Money
from portal_access._domain.return_urls import origin, url_origin
from portal_access._domain.validation import identifier, instance_of, non_blank, optional, text

__all__ = [
    "Account",
    "AccountClass",
    "InactiveSiteVisibility",
    "Site",
    "SystemPortalOptions",
]


def _origins(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, frozenset | set | list | tuple):
        raise ConfigurationError(
            "must be a collection of origins", field="return_origins", value=value
        )
    return frozenset(origin(item, field="return_origins") for item in value)


class InactiveSiteVisibility(enum.Enum):
    """What contacts see of an inactive site ("Enable viewing inactive site", seed 001)."""

    HIDDEN = "hidden"
    SERVICE_HISTORY_ONLY = "service_history_only"


@attrs.frozen
class AccountClass:
    """An account class and its Customer Portal options (seed 001's Account Class Setup).

    Args:
        id: the host's id for the class.
        name: shown to staff.
        portal_enabled: "Enable portal access": contacts of this class may use the portal.
        auto_invite_on_contact_creation: "Auto send portal invitation on contact creation".
        invoice_verified_self_registration: "Allow invoice-verified self registration".
        add_sites: "Enable add sites".
        on_call_orders: "Enable on call orders".
        reports: "Enable report access".
        inactive_sites: "Enable viewing inactive site": hidden, or service history only.
        work_order_photos: "Default work order photo - display in customer portal".
        work_order_attachments: "Default work order attachment - display in customer portal".
        home_page: "Customer portal home page" (the host's page key; ``"standard"``).
        autopay_max_amount: the most autopay charges one invoice of this class's
            accounts; ``None`` uses the system's "auto pay max amount" (seed 001).
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_blank)
    portal_enabled: bool = attrs.field(default=True, validator=instance_of(bool))
    auto_invite_on_contact_creation: bool = attrs.field(default=False, validator=instance_of(bool))
    invoice_verified_self_registration: bool = attrs.field(
        default=False, validator=instance_of(bool)
    )
    add_sites: bool = attrs.field(default=False, validator=instance_of(bool))
    on_call_orders: bool = attrs.field(default=False, validator=instance_of(bool))
    reports: bool = attrs.field(default=False, validator=instance_of(bool))
    inactive_sites: InactiveSiteVisibility = attrs.field(
        default=InactiveSiteVisibility.HIDDEN, validator=instance_of(InactiveSiteVisibility)
    )
    work_order_photos: bool = attrs.field(default=False, validator=instance_of(bool))
    work_order_attachments: bool = attrs.field(default=False, validator=instance_of(bool))
    home_page: str = attrs.field(default="standard", validator=non_blank)
    autopay_max_amount: Money | None = attrs.field(
        default=None, validator=optional(instance_of(Money))
    )


@attrs.frozen
class Account:
    """A customer account (seed 001): a number, a name, a class, active or not.

    Args:
        id: the host's id.
        number: the account number printed on invoices (used by self-registration).
        name: the account's name.
        account_class: its :class:`AccountClass`.
        active: inactive accounts get no automatic invitations.
    """

    id: str = attrs.field(validator=identifier)
    number: str = attrs.field(validator=non_blank)
    name: str = attrs.field(validator=non_blank)
    account_class: AccountClass = attrs.field(validator=instance_of(AccountClass))
    active: bool = attrs.field(default=True, validator=instance_of(bool))


@attrs.frozen
class Site:
    """A service location of an account (seed 001); contacts may be limited to some sites."""

    id: str = attrs.field(validator=identifier)
    account_id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_blank)
    active: bool = attrs.field(default=True, validator=instance_of(bool))


@attrs.frozen
class SystemPortalOptions:
    """The system-wide Customer Portal options (seed 001's System Options Setup).

    Args:
        portal_url: "Customer portal URL", put on every document and email (seed 004).
        display_service_history: "Display service history".
        display_ar_history: "Display AR history".
        display_aging_buckets: "Display aging buckets".
        display_current_services: "Display current services".
        display_service_quantity: "Display service quantity".
        display_third_party_invoices: "Display third party invoices".
        display_login_terms: "Display login terms".
        pay_as_guest: "Enable payment as guest" (quick pay without logging in).
        autopay_max_amount: "Enable auto pay max amount": the cap, or ``None`` when off.
        request_login_button: "Enable request login button" (self-registration entry).
        login_message_html: "Login message (HTML)", trusted staff HTML.
        login_terms_html: "Login terms (HTML)", trusted staff HTML.
        make_payment_terms: "Make a payment terms".
        invite_from_email: "Account invite from email"; ``None`` uses the mailer's default.
        invite_template: "Invite email template", a key the host's mailer understands.
        return_origins: origins besides ``portal_url``'s a payer may be sent back to
            from a payment page (``"https://pay.example"``); see
            :mod:`~portal_access._domain.return_urls`.

    Raises:
        ConfigurationError: a ``return_origins`` entry that is not an origin.
    """

    portal_url: str = attrs.field(default="https://portal.invalid/", validator=non_blank)
    display_service_history: bool = attrs.field(default=True, validator=instance_of(bool))
    display_ar_history: bool = attrs.field(default=True, validator=instance_of(bool))
    display_aging_buckets: bool = attrs.field(default=True, validator=instance_of(bool))
    display_current_services: bool = attrs.field(default=True, validator=instance_of(bool))
    display_service_quantity: bool = attrs.field(default=True, validator=instance_of(bool))
    display_third_party_invoices: bool = attrs.field(default=False, validator=instance_of(bool))
    display_login_terms: bool = attrs.field(default=False, validator=instance_of(bool))
    pay_as_guest: bool = attrs.field(default=False, validator=instance_of(bool))
    autopay_max_amount: Money | None = attrs.field(
        default=None, validator=optional(instance_of(Money))
    )
    request_login_button: bool = attrs.field(default=False, validator=instance_of(bool))
    login_message_html: str = attrs.field(default="", validator=text)
    login_terms_html: str = attrs.field(default="", validator=text)
    make_payment_terms: str = attrs.field(default="", validator=text)
    invite_from_email: EmailAddress | None = attrs.field(
        default=None, validator=optional(instance_of(EmailAddress))
    )
    invite_template: str = attrs.field(default="portal-invite", validator=non_blank)
    return_origins: frozenset[str] = attrs.field(default=frozenset(), converter=_origins)

    @property
    def portal_origins(self) -> frozenset[str]:
        """Where payers may return: ``portal_url``'s origin (unless it is the
        unconfigured ``.invalid`` default) and ``return_origins``.

        Raises:
            ConfigurationError: ``portal_url`` is not an http(s) URL.

        >>> SystemPortalOptions(portal_url="https://portal.example/app").portal_origins
        frozenset({'https://portal.example'})
        >>> SystemPortalOptions().portal_origins
        frozenset()
        """
        try:
            own = url_origin(self.portal_url, field="portal_url")
        except ValidationError as exc:
            raise ConfigurationError(exc.message, field="portal_url") from None
        if own.rsplit(".", 1)[-1].split(":")[0] == "invalid":  # RFC 2606: never a real host
            return self.return_origins
        return self.return_origins | {own}
