"""``SmtpMailer`` against a real SMTP server on 127.0.0.1 (aiosmtpd) with a certificate
from a throwaway authority (trustme): the server is verified before the credentials or
any message (with its single-use link) leave; docs/security.md "TLS to the mail server".
"""

from __future__ import annotations

import email
import logging
import smtplib
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

pytest.importorskip("aiosmtpd", reason="the dev extra installs aiosmtpd")
trustme = pytest.importorskip("trustme", reason="the dev extra installs trustme")

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402

from portal_access import ConfigurationError, EmailAddress  # noqa: E402
from portal_access.adapters import SmtpMailer, SmtpTls  # noqa: E402

HOST = "127.0.0.1"
SENDER = EmailAddress.parse("portal@example.com")
LINK = "https://portal.example/portal/reset-password?token=secret-link"


@attrs.define
class Mailbox:
    """What the server saw: credentials offered and messages accepted."""

    logins: list[tuple[bytes, bytes]] = attrs.field(factory=list)
    messages: list[bytes] = attrs.field(factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"

    def authenticate(self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any):
        self.logins.append((data.login, data.password))
        return AuthResult(success=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def authority() -> Any:
    """A certificate authority nobody's system trusts."""
    return trustme.CA()


def server_context(authority: Any, *names: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert(*names).configure_cert(context)
    return context


def trusting(authority: Any) -> ssl.SSLContext:
    """A verifying client context that trusts ``authority`` (a host's own CA)."""
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


def serve(mailbox: Mailbox, **options: Any) -> Iterator[int]:
    controller = Controller(
        mailbox, hostname=HOST, port=free_port(), authenticator=mailbox.authenticate, **options
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


#: STARTTLS (port 587 style, required before AUTH), or TLS from the first byte (port 465
#: style; aiosmtpd offers AUTH only after its own STARTTLS, so it is told this is TLS).
SERVERS = {
    "starttls": lambda context: {"tls_context": context, "require_starttls": True},
    "implicit": lambda context: {"ssl_context": context, "auth_require_tls": False},
}


def tls_server(authority: Any, kind: str) -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    for port in serve(mailbox, **SERVERS[kind](server_context(authority, HOST))):
        yield mailbox, port


@pytest.fixture
def starttls_server(authority: Any) -> Iterator[tuple[Mailbox, int]]:
    """A submission server that requires STARTTLS before AUTH."""
    yield from tls_server(authority, "starttls")


@pytest.fixture
def implicit_server(authority: Any) -> Iterator[tuple[Mailbox, int]]:
    """An SMTPS server: TLS from the first byte."""
    yield from tls_server(authority, "implicit")


def send(mailer: SmtpMailer) -> None:
    mailer.send(
        message_id="m1",
        to=[EmailAddress.parse("ann@example.com")],
        subject="Help with your portal login",
        text=f"Choose a new password: {LINK}",
        html="",
    )


def test_an_unverified_server_gets_neither_credentials_nor_mail(starttls_server):
    """A man in the middle with a certificate the system does not trust is refused before AUTH."""
    mailbox, port = starttls_server
    mailer = SmtpMailer(
        host=HOST, port=port, sender=SENDER, username="portal", password="smtp-password"
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        send(mailer)
    assert mailbox.logins == []
    assert mailbox.messages == []


def test_a_verified_server_gets_the_mail_over_starttls(authority, starttls_server):
    """With the server's authority trusted, STARTTLS, then AUTH, then the message."""
    mailbox, port = starttls_server
    mailer = SmtpMailer(
        host=HOST,
        port=port,
        sender=SENDER,
        username="portal",
        password="smtp-password",
        ssl_context=trusting(authority),
    )
    send(mailer)
    assert mailbox.logins == [(b"portal", b"smtp-password")]
    (message,) = mailbox.messages
    assert LINK in email.message_from_bytes(message).get_payload(decode=True).decode()


def test_a_certificate_for_another_host_is_refused(authority):
    """The host name is verified as well as the certificate's authority."""
    mailbox = Mailbox()
    context = server_context(authority, "mail.other.example")
    for port in serve(mailbox, tls_context=context, require_starttls=True):
        mailer = SmtpMailer(host=HOST, port=port, sender=SENDER, ssl_context=trusting(authority))
        with pytest.raises(ssl.SSLCertVerificationError):
            send(mailer)
    assert mailbox.messages == []


def test_implicit_tls_is_verified_too(authority, implicit_server):
    """Port 465 style: TLS from the first byte, verified; an untrusted server is refused."""
    mailbox, port = implicit_server
    with pytest.raises(ssl.SSLCertVerificationError):
        send(SmtpMailer(host=HOST, port=port, sender=SENDER, tls=SmtpTls.IMPLICIT))
    assert mailbox.messages == []
    trusted = SmtpMailer(
        host=HOST,
        port=port,
        sender=SENDER,
        tls=SmtpTls.IMPLICIT,
        username="portal",
        password="smtp-password",
        ssl_context=trusting(authority),
    )
    send(trusted)
    assert len(mailbox.messages) == 1
    assert mailbox.logins == [(b"portal", b"smtp-password")]


def test_a_server_without_starttls_is_never_used_in_clear(authority):
    """A server (or a man in the middle) that strips STARTTLS gets no credentials and no mail."""
    mailbox = Mailbox()
    for port in serve(mailbox, auth_require_tls=False):
        mailer = SmtpMailer(
            host=HOST,
            port=port,
            sender=SENDER,
            username="portal",
            password="smtp-password",
            ssl_context=trusting(authority),
        )
        with pytest.raises(smtplib.SMTPNotSupportedError):
            send(mailer)
    assert mailbox.logins == []
    assert mailbox.messages == []


def test_the_local_development_opt_out_is_loud_and_takes_no_credentials(caplog):
    """Sending in clear is a named opt-out for a local mail catcher: warned, no credentials."""
    with pytest.raises(ConfigurationError):
        SmtpMailer(
            host=HOST,
            sender=SENDER,
            username="portal",
            password="smtp-password",
            tls=SmtpTls.NONE_LOCAL_DEVELOPMENT_ONLY,
        )
    mailbox = Mailbox()
    for port in serve(mailbox):
        with caplog.at_level(logging.WARNING, logger="portal_access"):
            mailer = SmtpMailer(
                host=HOST, port=port, sender=SENDER, tls=SmtpTls.NONE_LOCAL_DEVELOPMENT_ONLY
            )
        send(mailer)
    assert len(mailbox.messages) == 1
    assert "without TLS" in caplog.text


@pytest.mark.parametrize("change", ["no_hostname_check", "no_certificate_check"])
def test_a_context_that_does_not_verify_is_refused(change):
    """Verification cannot be switched off through the context either."""
    context = ssl.create_default_context()
    context.check_hostname = False
    if change == "no_certificate_check":
        context.verify_mode = ssl.CERT_NONE
    with pytest.raises(ConfigurationError) as caught:
        SmtpMailer(host=HOST, sender=SENDER, ssl_context=context)
    assert caught.value.field == "ssl_context"


def test_default_ports_follow_the_tls_mode():
    """STARTTLS submits on 587, implicit TLS on 465."""
    assert SmtpMailer(host=HOST, sender=SENDER).port == 587
    assert SmtpMailer(host=HOST, sender=SENDER, tls=SmtpTls.IMPLICIT).port == 465
