"""A Flask app with the portal-access extension, driven through Flask's test client."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import attrs
from flask import Flask
from flask.testing import FlaskClient

from portal_access import (
    AccountClass,
    AchPolicy,
    PortalAccess,
    PortalPolicy,
    SystemPortalOptions,
)
from portal_access.adapters import (
    ManualClock,
    MemoryMailer,
    MemoryRateLimiter,
    ScryptPasswordHasher,
    SequentialIds,
)
from portal_access.contrib.flask import PortalAccessExtension
from portal_access.contrib.flask._csrf import SESSION_KEY
from portal_access.storage.memory import MemoryStore
from tests.service.harness import MONTHLY, PASSWORD, SETUP_FEE, START

__all__ = ["MONTHLY", "PASSWORD", "SETUP_FEE", "START", "FlaskPortal", "build", "registered"]

SANDBOX_SECRET = "whsec_flask_test"
CLASS = AccountClass(id="clients", name="Clients", invoice_verified_self_registration=True)
OFFER = "kickoff"
_LINK = re.compile(r"https?://[^/\s]+(/\S+\?token=[^\s.]+)")


@attrs.define
class FlaskPortal:
    """The app, its test client and the parts a test looks at."""

    app: Flask
    client: FlaskClient
    mailer: MemoryMailer
    clock: ManualClock
    store: MemoryStore
    extension: PortalAccessExtension

    @property
    def portal(self) -> PortalAccess:
        """The app's portal."""
        with self.app.app_context():
            return self.extension.portal

    def csrf(self) -> str:
        """This client's CSRF token (made by a page view if there is none yet)."""
        with self.client.session_transaction() as session:
            token = session.get(SESSION_KEY)
        if token is None:
            self.client.get("/portal/login")
            with self.client.session_transaction() as session:
                token = session[SESSION_KEY]
        return token

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any):
        """POST a form with this session's CSRF token."""
        return self.client.post(path, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)

    def link(self, email: str, path: str) -> str:
        """The path and query of the newest link to ``path`` mailed to ``email``."""
        for message in reversed(self.mailer.to(email)):
            for found in _LINK.findall(message.text):
                if found.startswith(f"/portal{path}"):
                    return found
        raise AssertionError(f"no {path} link mailed to {email}")

    def sign_up(self, email: str = "ann@example.com", first_name: str = "Ann") -> str:
        """Submit the kickoff form; the new contact's id."""
        response = self.post(
            f"/portal/join/{OFFER}",
            {"first_name": first_name, "last_name": "Lee", "email": email, "company": ""},
        )
        assert response.status_code == 200, response.text
        token = self.link(email, "/invitation").split("token=", 1)[1]
        return self.portal.view_invitation(token).contact_id

    def register(self, email: str = "ann@example.com") -> None:
        """Open the invitation and set the password (logs the client in)."""
        link = self.link(email, "/invitation")
        token = link.split("token=", 1)[1]
        response = self.post(link, {"token": token, "password": PASSWORD, "confirm": PASSWORD})
        assert response.status_code == 303, response.text

    def checkout(self, method: str = "card"):
        """Open the checkout of the required invoice and pay on the sandbox's page."""
        opened = self.post("/portal/pay/checkout")
        assert opened.status_code == 303, opened.text
        page = opened.location
        return self.post(page.split("?", 1)[0], {"method": method, "back": "portal"})

    def console(self, contact_id: str) -> str:
        """The sandbox console's path for the contact."""
        return f"/portal/sandbox/contacts/{contact_id}"

    def advance(self, **delta: float) -> None:
        """Move the clock."""
        self.clock.advance(timedelta(**delta))


def build(
    *,
    config: dict[str, object] | None = None,
    system: SystemPortalOptions | None = None,
    gateways: list | None = None,
    store: MemoryStore | None = None,
    ach: AchPolicy = AchPolicy.GRANT_ON_CLEARING,
    offer: bool = True,
    limit: int = 10,
    app: Flask | None = None,
    clock: ManualClock | None = None,
    mailer: MemoryMailer | None = None,
    parts: dict[str, Any] | None = None,
) -> FlaskPortal:
    """An app on the memory store with the sandbox and a paid offer (setup fee + plan);
    ``parts`` adds keywords of the extension (a renderer, say)."""
    app = app or Flask(__name__)
    app.config.update(
        TESTING=True,
        SECRET_KEY="test secret",
        PORTAL_ACCESS_URL="http://localhost",
        PORTAL_ACCESS_SANDBOX=True,
        PORTAL_ACCESS_SANDBOX_WEBHOOK_SECRET=SANDBOX_SECRET,
        PORTAL_ACCESS_BUSINESS_NAME="Acme Services",
    )
    app.config.update(config or {})
    clock = clock or ManualClock(START)
    mailer = mailer or MemoryMailer()
    store = store or MemoryStore()
    extension = PortalAccessExtension(
        app,
        store=store,
        mailer=mailer,
        clock=clock,
        gateways=gateways or [],
        ids=SequentialIds(),
        hasher=ScryptPasswordHasher(n=16),
        limiter=MemoryRateLimiter(limit=limit),
        policy=PortalPolicy(ach=ach, system=system or SystemPortalOptions()),
        background=lambda job: job(),  # anonymous flows' emails are there when the page answers
        **(parts or {}),
    )
    harness = FlaskPortal(app, app.test_client(), mailer, clock, store, extension)
    portal = harness.portal
    portal.save_account_class(CLASS)
    if offer:
        portal.create_offer(
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


def registered(**kwargs: Any) -> tuple[FlaskPortal, str]:
    """An app with Ann signed up and registered (pay-invoice only), logged in."""
    harness = build(**kwargs)
    contact_id = harness.sign_up()
    harness.register()
    return harness, contact_id
