"""The extension's set-up, settings, commands and signals."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

import portal_access
from portal_access import (
    Account,
    ConfigurationError,
    Contact,
    EmailAddress,
    PortalPolicy,
    Site,
    StaffMember,
    StaffPermission,
    SystemPortalOptions,
)
from portal_access.adapters import MemoryMailer
from portal_access.contrib.flask import PortalAccessExtension, current_portal, signals
from portal_access.contrib.flask._links import portal_links
from portal_access.contrib.flask._state import app_state
from portal_access.storage.memory import MemoryStore
from tests.integration.flask_portal import CLASS, START, build, registered

ADMIN = StaffMember(id="staff-1", name="Admin", permissions=frozenset(StaffPermission))


def _app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", PORTAL_ACCESS_URL="https://portal.example.com")
    app.config.update(config)
    return app


def _extend(app: Flask) -> PortalAccessExtension:
    return PortalAccessExtension(app, store=MemoryStore(), mailer=MemoryMailer())


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"PORTAL_ACCESS_URL": None}, "PORTAL_ACCESS_URL", "is required"),
        ({"PORTAL_ACCESS_URL": "/portal"}, "PORTAL_ACCESS_URL", "absolute http(s) URL"),
        (
            {"PORTAL_ACCESS_URL": "https://portal.example.com@evil.example"},
            "PORTAL_ACCESS_URL",
            "absolute http(s) URL",
        ),
        (
            {"PORTAL_ACCESS_RETURN_ORIGINS": ["https://pay.example.com/back"]},
            "PORTAL_ACCESS_RETURN_ORIGINS",
            "without a path",
        ),
        (
            {"PORTAL_ACCESS_RETURN_ORIGINS": "https://pay.example.com"},
            "PORTAL_ACCESS_RETURN_ORIGINS",
            "collection of origins",
        ),
        ({"PORTAL_ACCESS_URL_PREFIX": "portal"}, "PORTAL_ACCESS_URL_PREFIX", "starting with '/'"),
        ({"PORTAL_ACCESS_SANDBOX": "yes"}, "PORTAL_ACCESS_SANDBOX", "True or False"),
        (
            {"PORTAL_ACCESS_URLPREFIX": "/p"},
            "PORTAL_ACCESS_URLPREFIX",
            "did you mean PORTAL_ACCESS_URL_PREFIX",
        ),
        ({"SECRET_KEY": None}, "SECRET_KEY", "is required"),
        (
            {"PORTAL_ACCESS_SANDBOX": True},
            "PORTAL_ACCESS_SANDBOX",
            "lets anyone mark payments paid",
        ),
    ],
)
def test_a_wrong_setting_is_a_configuration_error_naming_it(config, field, words):
    """Safe by default: a missing, malformed, misspelt or unsafe setting fails at start-up, naming the setting."""
    app = _app()
    app.config.update(config)
    with pytest.raises(ConfigurationError, match=re.escape(words)) as caught:
        _extend(app)
    assert caught.value.field == field


def test_the_sandbox_runs_on_a_local_url_or_in_debug():
    """The sandbox's development page is allowed on this machine's URL, or in debug/testing."""
    _extend(_app(PORTAL_ACCESS_SANDBOX=True, PORTAL_ACCESS_URL="http://127.0.0.1:5000"))
    debug = _app(PORTAL_ACCESS_SANDBOX=True)
    debug.debug = True
    _extend(debug)


@pytest.mark.parametrize("missing", ["store", "mailer"])
def test_a_portal_needs_a_store_and_a_mailer(missing):
    """No store, or no mailer (invitations would be lost), is a configuration error."""
    parts = {"store": MemoryStore(), "mailer": MemoryMailer()}
    del parts[missing]
    with pytest.raises(ConfigurationError) as caught:
        PortalAccessExtension(_app(), **parts)
    assert caught.value.field == missing


def test_set_up_twice_is_refused():
    """init_app on an app that has the portal already is an error, not a second portal."""
    app = _app()
    _extend(app)
    with pytest.raises(RuntimeError, match="already set up"):
        _extend(app)


def test_app_factory_pattern_and_the_portal_in_an_app_context():
    """Flask's app-factory pattern: build bare, init_app later; the portal follows the current app."""
    extension = PortalAccessExtension(store=MemoryStore(), mailer=MemoryMailer())
    with pytest.raises(RuntimeError, match="app context"):
        _ = extension.portal
    app = _app()
    extension.init_app(app)
    with app.app_context():
        assert extension.portal is current_portal() is app_state().portal
    assert app.extensions["portal_access"].portal is not None


def test_secure_cookie_defaults_on_an_https_portal():
    """An https portal gets Secure and SameSite=Lax session cookies (HttpOnly is Flask's default)."""
    app = _app()
    _extend(app)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_payment_pages_return_to_this_app_and_the_origins_configured():
    """Return URLs are limited to the portal's origins: this app's, the policy's portal URL's and PORTAL_ACCESS_RETURN_ORIGINS."""
    app = _app(PORTAL_ACCESS_RETURN_ORIGINS=["https://pay.example.com"])
    system = SystemPortalOptions(portal_url="https://www.example.com/clients/")
    PortalAccessExtension(
        app, store=MemoryStore(), mailer=MemoryMailer(), policy=PortalPolicy(system=system)
    )
    assert app_state(app).portal.policy.system.portal_origins == {
        "https://portal.example.com",
        "https://www.example.com",
        "https://pay.example.com",
    }


@pytest.mark.parametrize("prefix", ["/portal", "/clients/area"])
def test_every_emailed_link_opens_a_page_of_the_blueprint(prefix):
    """The single-use links' paths are the blueprint's own routes: a dead link is impossible."""
    app = _app(PORTAL_ACCESS_URL_PREFIX=prefix)
    _extend(app)
    links = portal_links(app_state(app).settings)
    adapter = app.url_map.bind("portal.example.com")
    for path in (links.invitation, links.set_password, links.reset_password, links.resubscribe):
        endpoint, _args = adapter.match(path, method="POST")
        assert endpoint.startswith("portal_access."), path
    assert app_state(app).portal.policy.system.portal_url == f"https://portal.example.com{prefix}/"


def test_importing_the_integration_without_flask_says_what_to_install():
    """Optional dependencies: without Flask, the import fails with the exact pip command."""
    code = (
        "import sys; sys.modules['flask'] = None\n"
        "try:\n    import portal_access.contrib.flask\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert 'pip install "portal-access[flask]"' in result.stdout


# -- commands ------------------------------------------------------------------------------


class FlakyMailer(MemoryMailer):
    """Fails to send while ``down``."""

    down = False

    def send(self, **message):
        if self.down:
            raise ConnectionError("SMTP server unreachable")
        super().send(**message)


def test_deliver_outbox_sends_what_failed_before():
    """`flask portal-access deliver-outbox --once` delivers mail whose first delivery failed."""
    mailer = FlakyMailer()
    harness = build(mailer=mailer)
    mailer.down = True
    form = {"first_name": "Ann", "email": "ann@example.com", "last_name": "", "company": ""}
    assert harness.post("/portal/join/kickoff", form).status_code == 200
    assert mailer.sent == []
    mailer.down = False
    harness.advance(seconds=30)  # the retry is due (OutboxSettings.first_retry)
    result = harness.app.test_cli_runner().invoke(
        args=["portal-access", "deliver-outbox", "--once"]
    )
    assert result.exit_code == 0, result.output
    assert "delivered 1 message(s)" in result.stdout
    assert harness.link("ann@example.com", "/invitation")


def test_reconcile_replays_the_gateway_events_with_progress():
    """`flask portal-access reconcile` replays events through the webhook path and says what it repaired."""
    harness, _contact = registered()
    harness.checkout("card")
    result = harness.app.test_cli_runner().invoke(
        args=["portal-access", "reconcile", "--gateway", "sandbox", "--since", START.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "0 repaired" in result.stdout
    assert "already processed" in result.stdout
    assert "events, 0 repaired" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--gateway", "stripe", "--since", "2026-01-01T00:00:00Z"], 1, "no gateway 'stripe'"),
        (["--gateway", "sandbox", "--since", "2026-01-01"], 2, "no UTC offset"),
        (["--gateway", "sandbox", "--since", "yesterday"], 2, "ISO 8601"),
    ],
)
def test_reconcile_refuses_a_bad_gateway_or_moment(args, code, words):
    """Unknown gateway: exit 1 with why; a naive or unreadable moment: usage error."""
    result = build().app.test_cli_runner().invoke(args=["portal-access", "reconcile", *args])
    assert result.exit_code == code
    assert words in result.output


def test_void_cancels_the_required_payment_and_grants_access():
    """Seed 000_07c53b15302458c1.txt: `flask portal-access void` is staff "cancel required payment"."""
    harness, contact_id = registered()
    runner = harness.app.test_cli_runner()
    result = runner.invoke(args=["portal-access", "void", contact_id, "--staff", "Aliena"])
    assert result.exit_code == 0, result.output
    assert "voided invoice" in result.stdout
    assert harness.portal.check_access(contact_id).full
    again = runner.invoke(args=["portal-access", "void", "c-nobody", "--staff", "Aliena"])
    assert again.exit_code == 1


def test_invite_mails_a_saved_contact():
    """Seed 001_345994b3bb014aeb.txt: staff invite a saved contact with an email."""
    harness = build(offer=False)
    portal = harness.portal
    portal.save_account(Account(id="acc-1", number="1", name="Gym", account_class=CLASS))
    contact = Contact(
        id="c-di", account_id="acc-1", first_name="Di", email=EmailAddress.parse("di@example.com")
    )
    portal.create_contact(contact)
    assert harness.mailer.sent == []
    result = harness.app.test_cli_runner().invoke(
        args=["portal-access", "invite", contact.id, "--staff", "Aliena"]
    )
    assert result.exit_code == 0, result.output
    assert harness.link("di@example.com", "/invitation")


# -- signals -------------------------------------------------------------------------------


def test_signals_carry_the_events_after_commit_with_the_app_as_sender():
    """Domain events reach blinker receivers connected after the extension, sender = the app."""
    harness, _contact = registered()
    received = []

    def paid(sender, message):
        received.append((sender, message.topic, message.payload["contact_id"]))

    signals.invoice_paid.connect(paid)
    try:
        harness.checkout("card")
    finally:
        signals.invoice_paid.disconnect(paid)
    assert received == [(harness.app, "invoice.paid", _contact)]


def test_receivers_connected_before_set_up_are_subscribed_too():
    """A receiver connected before init_app gets the events of the app set up after it."""
    registrations = []

    def registered_receiver(_sender, message):
        registrations.append(message.payload["contact_id"])

    signals.contact_registered.connect(registered_receiver)
    try:
        _harness, contact_id = registered()
    finally:
        signals.contact_registered.disconnect(registered_receiver)
    assert registrations == [contact_id]


def test_a_receiver_that_calls_the_portal_runs_once_per_event():
    """A receiver calling a use case (which delivers the outbox again) is not re-entered for the same event."""
    harness = build()
    calls = []

    def first_site(_sender, message):
        calls.append(message.id)
        account_id = message.payload["account_id"]
        harness.portal.save_site(Site(id=f"{account_id}-main", account_id=account_id, name="Main"))

    signals.contact_created.connect(first_site)
    try:
        harness.sign_up()
    finally:
        signals.contact_created.disconnect(first_site)
    assert len(calls) == 1


def test_nothing_is_subscribed_for_a_signal_without_receivers():
    """A signal nobody listens to costs nothing: its topic is not subscribed (no outbox row)."""
    harness = build()
    harness.sign_up()
    assert "webhook.processed" not in app_state(harness.app).topics

    def processed(_sender, message):
        return message

    signals.webhook_processed.connect(processed)
    try:
        assert "webhook.processed" in app_state(harness.app).topics
    finally:
        signals.webhook_processed.disconnect(processed)


def test_the_integration_uses_only_the_public_api_of_the_rest_of_the_package():
    """Architecture: contrib.flask imports no private module (a leading underscore) outside itself."""
    package = Path(portal_access.__file__).parent / "contrib" / "flask"
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                name = node.module
                if not name.startswith("portal_access") or name.startswith(
                    "portal_access.contrib.flask"
                ):
                    continue
                assert not any(part.startswith("_") for part in name.split(".")), (
                    f"{path.name}: {name}"
                )
