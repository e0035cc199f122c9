"""A Django project with the portal's pages, driven through Django's test client with
CSRF checks on (as a browser meets them)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import attrs
from django.core import mail
from django.test import Client

from portal_access import AccountClass, AchPolicy, PortalAccess, PortalPolicy, SystemPortalOptions
from portal_access.adapters import ManualClock
from portal_access.contrib.django import portal
from tests.service.harness import MONTHLY, PASSWORD, SETUP_FEE, START

__all__ = ["MONTHLY", "PASSWORD", "SETUP_FEE", "START", "WebPortal", "configure"]

SANDBOX_SECRET = "whsec_django_test"
SANDBOX = "portal_access.contrib.django.sandbox.SandboxCheckoutGateway"
CLASS = AccountClass(id="clients", name="Clients", invoice_verified_self_registration=True)
OFFER = "kickoff"
_LINK = re.compile(r"https?://[^/\s]+(/\S+\?token=[^\s.]+)")


def sandbox(clock: ManualClock) -> dict[str, object]:
    """The sandbox gateway with its development pages, on ``clock``."""
    return {"BACKEND": SANDBOX, "OPTIONS": {"webhook_secret": SANDBOX_SECRET, "clock": clock}}


def configure(
    settings: Any,
    *,
    ach: AchPolicy = AchPolicy.GRANT_ON_CLEARING,
    system: SystemPortalOptions | None = None,
    gateways: list[object] | None = None,
    **extra: object,
) -> ManualClock:
    """Point ``PORTAL_ACCESS`` at the test server with the sandbox gateway, a manual
    clock and anonymous flows run inline; the clock."""
    clock = ManualClock(START)
    settings.PORTAL_ACCESS = {
        "URL": "http://testserver/portal/",
        "BUSINESS_NAME": "Acme Services",
        "GATEWAYS": [sandbox(clock)] if gateways is None else gateways,
        "CLOCK": clock,
        "BACKGROUND": lambda job: job(),
        "POLICY": PortalPolicy(ach=ach, system=system or SystemPortalOptions()),
        **extra,
    }
    return clock


@attrs.define
class WebPortal:
    """The test client and the parts a test looks at."""

    client: Client
    clock: ManualClock
    with_middleware: bool = False

    @property
    def portal(self) -> PortalAccess:
        """The process's portal."""
        return portal()

    def csrf(self) -> str:
        """This client's CSRF token (a form page sets the cookie)."""
        if "csrftoken" not in self.client.cookies:
            self.client.get("/portal/login/")
        return self.client.cookies["csrftoken"].value

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """POST a form with this client's CSRF token."""
        form = {"csrfmiddlewaretoken": self.csrf(), **(data or {})}
        return self.client.post(path, data=form, **kwargs)

    def link(self, email: str, path: str) -> str:
        """The path and query of the newest link to ``path`` mailed to ``email``."""
        for message in reversed(mail.outbox):
            if email not in message.to:
                continue
            for found in _LINK.findall(message.body):
                if found.startswith(f"/portal{path}"):
                    return found
        raise AssertionError(f"no {path} link mailed to {email}")

    def sign_up(self, email: str = "ann@example.com", first_name: str = "Ann") -> str:
        """Submit the kickoff form; the new contact's id."""
        response = self.post(
            f"/portal/join/{OFFER}/",
            {"first_name": first_name, "last_name": "Lee", "email": email, "company": ""},
        )
        assert response.status_code == 200, response.content
        token = self.link(email, "/invitation/").split("token=", 1)[1]
        return self.portal.view_invitation(token).contact_id

    def register(self, email: str = "ann@example.com") -> None:
        """Open the invitation and set the password (logs the client in)."""
        link = self.link(email, "/invitation/")
        token = link.split("token=", 1)[1]
        response = self.post(link, {"token": token, "password": PASSWORD, "confirm": PASSWORD})
        assert response.status_code == 303, response.content

    def checkout(self, method: str = "card") -> Any:
        """Open the checkout of the required invoice and pay on the sandbox's page."""
        opened = self.post("/portal/pay/checkout/")
        assert opened.status_code == 303, opened.content
        return self.post(opened["Location"].split("?", 1)[0], {"method": method, "back": "portal"})

    def advance(self, **delta: float) -> None:
        """Move the clock."""
        self.clock.advance(timedelta(**delta))


def build(settings: Any, *, offer: bool = True, **options: Any) -> WebPortal:
    """A project with the sandbox and a paid offer (setup fee + plan)."""
    clock = configure(settings, **options)
    harness = WebPortal(Client(enforce_csrf_checks=True), clock)
    harness.portal.save_account_class(CLASS)
    if offer:
        harness.portal.create_offer(
            "Client onboarding",
            offer_id=OFFER,
            gateway="sandbox",
            currency="USD",
            invoice_title='Welcome, {{ contact.first_name | default:"there" }}',
            one_time=SETUP_FEE,
            plan=MONTHLY,
            account_class_id=CLASS.id,
        )
    return harness
