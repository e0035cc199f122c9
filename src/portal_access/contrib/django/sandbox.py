"""The in-process sandbox gateway with its development checkout page, for development.

Put it in ``PORTAL_ACCESS["GATEWAYS"]``::

    {"BACKEND": "portal_access.contrib.django.sandbox.SandboxCheckoutGateway"}

and the sandbox's hosted page is this site's own ``sandbox/checkout/<session>/`` under
the portal's URLs: pay by card, have the card declined, or start an ACH bank payment.
Its console, ``sandbox/contacts/<contact>/``, plays the bank and the vendor afterwards:
clear or fail a processing ACH payment, renew a subscription or fail its renewal. Every
action delivers the signed webhooks the vendor emitted to this site's own webhook view,
through the whole request stack, exactly as a vendor would. Without this gateway those
pages answer 404.

The page lets anyone mark payments paid, so the gateway refuses to be built
(:class:`~portal_access.ConfigurationError`) unless ``DEBUG`` is on or the portal's
``URL`` is on this machine (``localhost``, ``127.0.0.1``, ``::1``) or Django's test
client's (``testserver``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from django.conf import settings as django_settings

from portal_access import ConfigurationError, PaymentMethodKind
from portal_access.adapters import SystemClock
from portal_access.contrib.django._settings import raw_settings
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.ports import Clock
from portal_access.testing.sandbox import SandboxVendor

__all__ = ["LOCAL_HOSTS", "SandboxCheckoutGateway"]

#: The hosts the sandbox runs on outside ``DEBUG``.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "testserver"})


def _allowed() -> bool:
    url = raw_settings().get("URL")
    host = urlsplit(url).hostname if isinstance(url, str) else None
    return bool(django_settings.DEBUG) or host in LOCAL_HOSTS


class SandboxCheckoutGateway(SandboxGateway):
    """The sandbox gateway and the vendor side its development pages drive.

    Args:
        webhook_secret: the signing secret (default: random per process).
        name: the gateway's name.
        clock: the vendor's and the gateway's time (default: the system clock).

    Raises:
        ConfigurationError: neither ``DEBUG`` nor a portal ``URL`` on this machine.
    """

    def __init__(
        self,
        *,
        webhook_secret: str | None = None,
        name: str = "sandbox",
        clock: Clock | None = None,
    ) -> None:
        if not _allowed():
            raise ConfigurationError(
                "the sandbox's development page lets anyone mark payments paid; it runs "
                "only with DEBUG or a PORTAL_ACCESS['URL'] on this machine",
                field="PORTAL_ACCESS['GATEWAYS']",
                value=name,
            )
        secret = webhook_secret or secrets.token_urlsafe(24)
        clock = clock or SystemClock()
        self._desk_vendor = SandboxVendor(webhook_secret=secret, clock=clock)
        super().__init__(vendor=self._desk_vendor, webhook_secret=secret, name=name, clock=clock)

    @property
    def vendor(self) -> SandboxVendor:
        """The vendor's side (its books and queued webhooks), for tests and demos."""
        return self._desk_vendor

    def pay(self, session_id: str, *, method: PaymentMethodKind, succeed: bool) -> str:
        """The payer pays on the page; the payment id.

        Raises:
            SandboxError: no such session, or it is paid already.
        """
        return self._desk_vendor.pay(session_id, method=method, succeed=succeed)

    def settle_ach(self, payment_id: str, *, cleared: bool) -> None:
        """The bank clears or returns a processing payment.

        Raises:
            SandboxError: no such payment, or it is not processing.
        """
        self._desk_vendor.settle_ach(payment_id, cleared=cleared)

    def renew(self, subscription_id: str, *, succeed: bool) -> None:
        """The vendor renews a subscription, charging it or failing.

        Raises:
            SandboxError: no such subscription, or it cannot renew.
        """
        self._desk_vendor.renew(subscription_id, succeed=succeed)

    def deliver(self, post: Callable[[Mapping[str, str], bytes], int]) -> list[int]:
        """Deliver every queued webhook through ``post``; the HTTP statuses."""
        return [status for status in self._desk_vendor.deliver(post) if isinstance(status, int)]
