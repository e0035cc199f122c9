"""Northwind Facility Services' customer portal: a small, real host of portal-access.

Run it: ``python -m portal_access demo --serve`` (a fresh database, the sandbox), or
``flask --app examples/flask_portal/app.py run`` with the settings below.

Settings, from the environment:

- ``PORTAL_URL``: where the app is served (default ``http://127.0.0.1:5000``).
- ``PORTAL_DATABASE``: the SQLite file (default ``portal.db``) or a PostgreSQL URL.
- ``SECRET_KEY``: signs sessions (default: random per start; set it in production).
- ``STAFF_PASSWORD``: the staff pages' password (required).
- ``STRIPE_API_KEY`` and ``STRIPE_WEBHOOK_SECRET``: take payments with Stripe instead
  of the sandbox (point Stripe's webhook at ``/portal-access/webhooks/stripe``).
- ``SMTP_HOST`` (and ``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD``, ``MAIL_FROM``):
  send email for real; otherwise it is kept for the staff outbox page.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta

from flask import Flask, redirect, url_for
from werkzeug.wrappers import Response

from portal_access import (
    AccountClass,
    AchPolicy,
    Charge,
    EmailAddress,
    Invoice,
    InvoiceLine,
    Money,
    OutboxMessage,
    Plan,
    PortalAccess,
    PortalPolicy,
    Site,
    SystemPortalOptions,
)
from portal_access.adapters import MemoryMailer, SmtpMailer
from portal_access.contrib.flask import PortalAccessExtension, signals
from portal_access.ports import Mailer, PaymentGateway
from portal_access.storage.sql import SqlStore

from .staff import Activity, staff_blueprint

BUSINESS = "Northwind Facility Services"
CLIENTS = AccountClass(id="clients", name="Clients", reports=True)
STARTER_OFFER = "client-onboarding"


def create_app(env: Mapping[str, str] | None = None) -> Flask:
    """The portal app, configured from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    if not env.get("STAFF_PASSWORD"):
        raise RuntimeError("set STAFF_PASSWORD: the password of the staff pages")
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=env.get("SECRET_KEY") or secrets.token_hex(32),
        STAFF_PASSWORD=env["STAFF_PASSWORD"],
        PORTAL_ACCESS_URL=env.get("PORTAL_URL", "http://127.0.0.1:5000"),
        PORTAL_ACCESS_BUSINESS_NAME=BUSINESS,
        PORTAL_ACCESS_SANDBOX="STRIPE_API_KEY" not in env,
        # signs each document's portal link (seed 004); keep one stable key in production,
        # or the links already emailed stop working at the next restart
        PORTAL_ACCESS_DOCUMENT_LINK_KEY=env.get("DOCUMENT_LINK_KEY") or secrets.token_hex(32),
    )
    mailer = _mailer(env)
    extension = PortalAccessExtension(
        app,
        store=SqlStore(env.get("PORTAL_DATABASE", "portal.db"), create=True),
        mailer=mailer,
        gateways=_gateways(env),
        policy=PortalPolicy(
            ach=AchPolicy.GRANT_ON_CLEARING,
            system=SystemPortalOptions(
                pay_as_guest=True,
                request_login_button=True,
                login_message_html="Welcome to the <strong>Northwind</strong> customer portal.",
            ),
        ),
    )
    portal = extension.portal
    gateway = "sandbox" if app.config["PORTAL_ACCESS_SANDBOX"] else "stripe"
    portal.save_account_class(CLIENTS)
    starter = portal.create_offer(
        "Facility care plan",
        offer_id=STARTER_OFFER,
        gateway=gateway,
        currency="USD",
        invoice_title='Welcome to Northwind, {{ contact.first_name | default:"friend" }}',
        one_time=Charge("Site survey and setup", Money(25000, "USD")),
        plan=Plan(id="care-monthly", name="Facility care, monthly", amount=Money(4900, "USD")),
        onboarding_flow="site-visit",
        account_class_id=CLIENTS.id,
    )
    activity = Activity(offers={starter.id: starter.name}, mailer=mailer)
    _on_events(app, portal, activity, gateway)
    app.register_blueprint(staff_blueprint(portal, activity, gateway), url_prefix="/staff")

    @app.get("/")
    def home() -> Response:
        return redirect(url_for("portal_access.dashboard"))

    return app


def _mailer(env: Mapping[str, str]) -> Mailer:
    if "SMTP_HOST" not in env:
        return MemoryMailer()  # shown on the staff outbox page
    return SmtpMailer(
        host=env["SMTP_HOST"],
        port=int(env.get("SMTP_PORT", "587")),
        sender=EmailAddress.parse(env.get("MAIL_FROM", "portal@example.com")),
        username=env.get("SMTP_USER"),
        password=env.get("SMTP_PASSWORD"),
    )


def _gateways(env: Mapping[str, str]) -> list[PaymentGateway]:
    if "STRIPE_API_KEY" not in env:
        return []  # PORTAL_ACCESS_SANDBOX adds the sandbox
    from portal_access.gateways.stripe import StripeGateway  # noqa: PLC0415 - only with Stripe

    return [
        StripeGateway(api_key=env["STRIPE_API_KEY"], webhook_secret=env["STRIPE_WEBHOOK_SECRET"])
    ]


def _on_events(app: Flask, portal: PortalAccess, activity: Activity, gateway: str) -> None:
    """What Northwind does when the portal's events happen (blinker signals)."""

    @signals.contact_created.connect_via(app)
    def first_site(_app: Flask, message: OutboxMessage) -> None:
        account_id = message.payload["account_id"]
        portal.save_site(Site(id=f"{account_id}-main", account_id=account_id, name="Main office"))

    @signals.onboarding_due.connect_via(app)
    def book_site_visit(_app: Flask, message: OutboxMessage) -> None:
        contact_id = message.payload["contact_id"]
        summary = portal.account_summary(contact_id)
        if any(invoice.id == f"svc-{contact_id}" for invoice in summary.invoices):
            return  # delivered before (delivery is at least once)
        activity.note(f"Onboarding {contact_id}: site visit booked, first service invoice sent")
        today = summary.as_of
        portal.save_invoice(
            Invoice(
                id=f"svc-{contact_id}",
                number=f"SVC-{contact_id[-6:].upper()}",
                account_id=summary.account_id,
                contact_id=contact_id,
                title="First month of facility care",
                currency="USD",
                lines=(InvoiceLine("Cleaning and maintenance visits", Money(18000, "USD")),),
                issued_on=today,
                due_on=today + timedelta(days=30),
                gateway=gateway,
                quick_pay_code=secrets.token_hex(4).upper(),
            )
        )

    @signals.access_changed.connect_via(app)
    def log_access(_app: Flask, message: OutboxMessage) -> None:
        payload = message.payload
        activity.note(
            f"Access of {payload['contact_id']}: {payload['level']} ({payload['reason']})"
        )
