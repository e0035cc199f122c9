"""Contacts: the people who log in to the portal, their role, site scope and settings.

- Seed 001_345994b3bb014aeb.txt: contacts sit on an account at account level (all
  sites) or site level (only the sites checked for them).
- Seed 000_07c53b15302458c1.txt: paid portal access applies to the Client role.
- Seed 003_11ad6fb0c789d951.txt: per-customer "can save payment method".
- Seed 004_67d5e53a019b49ae.txt: per-contact portal settings: which integrated gateways
  (PayPal, Stripe, Square) the contact may pay with, and catalog access.

>>> ann = Contact(id="c-1", account_id="acc-1", first_name="Ann", last_name="Lee",
...               email=EmailAddress.parse("ann@example.com"),
...               scope=SiteScope.only("site-2", "site-3"))
>>> ann.full_name, ann.scope.account_level, sorted(ann.scope.site_ids)
('Ann Lee', False, ['site-2', 'site-3'])
"""

from __future__ import annotations

import enum

import attrs

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ValidationError
from portal_access._domain.validation import identifier, instance_of, optional, text

__all__ = ["Contact", "ContactPortalSettings", "ContactRole", "GATEWAY_NAMES", "SiteScope"]

#: The gateways seed 004 names, plus the in-process sandbox used by tests and the demo.
GATEWAY_NAMES = frozenset({"paypal", "square", "stripe", "sandbox"})


class ContactRole(enum.Enum):
    """A contact's role; paid portal access needs ``CLIENT`` (seed 000)."""

    CLIENT = "client"
    PROSPECT = "prospect"
    SUPPLIER = "supplier"
    OTHER = "other"


def _site_ids(value: object) -> frozenset[str]:
    if isinstance(value, str):  # a lone id is a common slip; never iterate its letters
        return frozenset({value})
    if not isinstance(value, frozenset | set | list | tuple):
        raise ValidationError("must be a collection of site ids", field="site_ids", value=value)
    return frozenset(value)


@attrs.frozen
class SiteScope:
    """Which of the account's sites a contact may see (seed 001).

    Account-level contacts (``account_level=True``) see every site of the account;
    site-level contacts see only ``site_ids``. Use :meth:`all_sites` or :meth:`only`.

    Raises:
        ValidationError: an account-level scope that lists sites, or a blank site id.
    """

    account_level: bool = attrs.field(validator=instance_of(bool))
    site_ids: frozenset[str] = attrs.field(default=frozenset(), converter=_site_ids)

    def __attrs_post_init__(self) -> None:
        if self.account_level and self.site_ids:
            raise ValidationError(
                "an account-level contact sees every site; list none", field="site_ids"
            )
        given: frozenset[object] = frozenset(self.site_ids)  # the converter kept any items
        for site_id in given:
            if not isinstance(site_id, str) or not site_id.strip():
                raise ValidationError("site ids must be non-blank strings", field="site_ids")

    @classmethod
    def all_sites(cls) -> SiteScope:
        """Account level: every site of the account ("Account (All Sites)")."""
        return cls(account_level=True)

    @classmethod
    def only(cls, *site_ids: str) -> SiteScope:
        """Site level: only these sites (may be none: the contact then sees no site)."""
        return cls(account_level=False, site_ids=frozenset(site_ids))


def _gateways(value: object) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, frozenset | set | list | tuple):
        raise ValidationError(
            "must be a collection of gateway names", field="allowed_gateways", value=value
        )
    if not all(isinstance(name, str) for name in value):
        raise ValidationError("must be gateway names", field="allowed_gateways")
    names = frozenset(name.lower() for name in value)
    unknown = names - GATEWAY_NAMES
    if unknown:
        raise ValidationError(
            f"unknown gateway {sorted(unknown)[0]!r}; known: {sorted(GATEWAY_NAMES)}",
            field="allowed_gateways",
            value=value,
        )
    return names


@attrs.frozen
class ContactPortalSettings:
    """A contact's own portal switches (seeds 001, 003, 004).

    Args:
        enabled: "Portal user": staff turned the contact's portal access on.
        allowed_gateways: the gateways this contact may pay with; ``None`` means every
            gateway the host configured (seed 004's PayPal/Stripe/Square selectors).
        can_save_payment_method: "Can save payment method" (seed 003); off by default.
        catalog_access: may place orders from the catalog (seed 004); off by default.
    """

    enabled: bool = attrs.field(default=True, validator=instance_of(bool))
    allowed_gateways: frozenset[str] | None = attrs.field(default=None, converter=_gateways)
    can_save_payment_method: bool = attrs.field(default=False, validator=instance_of(bool))
    catalog_access: bool = attrs.field(default=False, validator=instance_of(bool))


@attrs.frozen
class Contact:
    """A person on an account who may be given portal access.

    Args:
        id: the contact's id (from the host or the id port).
        account_id: the account the contact belongs to.
        first_name: used by ``{{ contact.first_name }}``.
        last_name: used by ``{{ contact.last_name }}``.
        email: the portal username; ``None`` until staff enter one (no invitation then).
        role: paid portal access applies to ``ContactRole.CLIENT`` (seed 000).
        scope: account level or a set of sites (seed 001).
        portal: the contact's portal settings.
    """

    id: str = attrs.field(validator=identifier)
    account_id: str = attrs.field(validator=identifier)
    first_name: str = attrs.field(validator=text)
    last_name: str = attrs.field(default="", validator=text)
    email: EmailAddress | None = attrs.field(
        default=None, validator=optional(instance_of(EmailAddress))
    )
    role: ContactRole = attrs.field(default=ContactRole.CLIENT, validator=instance_of(ContactRole))
    scope: SiteScope = attrs.field(factory=SiteScope.all_sites, validator=instance_of(SiteScope))
    portal: ContactPortalSettings = attrs.field(
        factory=ContactPortalSettings, validator=instance_of(ContactPortalSettings)
    )

    @property
    def full_name(self) -> str:
        """First and last name joined by one space, as typed."""
        return " ".join(part for part in (self.first_name.strip(), self.last_name.strip()) if part)
