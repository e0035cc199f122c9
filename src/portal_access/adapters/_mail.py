"""Mailers: keep messages in memory (tests, the demo), print them, or send over SMTP.

>>> from portal_access._domain.email_address import EmailAddress
>>> mailer = MemoryMailer()
>>> mailer.send(message_id="m1", to=[EmailAddress.parse("ann@example.com")],
...             subject="Hi", text="Hello", html="<p>Hello</p>")
>>> mailer.sent[0].subject
'Hi'
"""

from __future__ import annotations

import enum
import logging
import smtplib
import ssl
import sys
from collections.abc import Sequence
from email.message import EmailMessage
from typing import TextIO

import attrs

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ConfigurationError

__all__ = ["ConsoleMailer", "MemoryMailer", "SentEmail", "SmtpMailer", "SmtpTls"]

log = logging.getLogger("portal_access")


@attrs.frozen
class SentEmail:
    """A message a :class:`MemoryMailer` accepted."""

    message_id: str
    to: tuple[EmailAddress, ...]
    subject: str
    text: str
    html: str


class MemoryMailer:
    """Keeps every message it is given, once per ``message_id`` (outbox retries are
    deduplicated, as a real mailer should)."""

    def __init__(self) -> None:
        self.sent: list[SentEmail] = []
        self._ids: set[str] = set()

    def send(
        self, *, message_id: str, to: Sequence[EmailAddress], subject: str, text: str, html: str
    ) -> None:
        """Record the message."""
        if message_id in self._ids:
            return
        self._ids.add(message_id)
        self.sent.append(SentEmail(message_id, tuple(to), subject, text, html))

    def to(self, address: str) -> list[SentEmail]:
        """Messages sent to ``address`` (any case), oldest first."""
        wanted = EmailAddress.parse(address)
        return [message for message in self.sent if wanted in message.to]


class ConsoleMailer:
    """Prints the text part of each message (development)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(
        self, *, message_id: str, to: Sequence[EmailAddress], subject: str, text: str, html: str
    ) -> None:
        """Print the message."""
        stream = self._stream or sys.stdout
        recipients = ", ".join(str(address) for address in to)
        stream.write(f"--- email {message_id} to {recipients}\nSubject: {subject}\n\n{text}\n")


class SmtpTls(enum.Enum):
    """How :class:`SmtpMailer` protects the connection to the SMTP server."""

    #: Connect in clear, upgrade with STARTTLS before anything else is said (port 587).
    #: A server that does not offer STARTTLS is refused, never used in clear.
    STARTTLS = "starttls"
    #: TLS from the first byte (port 465, "SMTPS").
    IMPLICIT = "implicit"
    #: No TLS at all, for a local mail catcher in development (Mailpit, MailHog) only:
    #: anyone on the path reads every message and its single-use links. Credentials are
    #: refused in this mode.
    NONE_LOCAL_DEVELOPMENT_ONLY = "none_local_development_only"


_DEFAULT_PORTS = {
    SmtpTls.STARTTLS: 587,
    SmtpTls.IMPLICIT: 465,
    SmtpTls.NONE_LOCAL_DEVELOPMENT_ONLY: 25,
}


class SmtpMailer:
    """Sends over SMTP with :mod:`smtplib`, over TLS that verifies the server.

    The server's certificate and host name are verified (by default against the
    system's trusted certificates, :func:`ssl.create_default_context`) before the
    credentials or any message leave: a man in the middle gets neither. A server with a
    certificate from your own authority is reached by passing an ``ssl_context`` that
    trusts it; a context that does not verify is refused, so verification cannot be
    switched off by accident. The only way to send in clear is the loudly named
    :attr:`SmtpTls.NONE_LOCAL_DEVELOPMENT_ONLY`, which logs a warning and takes no
    credentials.

    Args:
        host: SMTP server (the name its certificate is checked against).
        port: SMTP port; default 587 for STARTTLS, 465 for implicit TLS.
        sender: the From address.
        username: login, if the server wants one.
        password: its password.
        tls: :class:`SmtpTls`; default STARTTLS.
        ssl_context: the TLS settings; default :func:`ssl.create_default_context`.
        timeout: seconds before giving up (the outbox retries later).

    Raises:
        ConfigurationError: a context that does not verify certificates and host names,
            or credentials without TLS.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int | None = None,
        sender: EmailAddress,
        username: str | None = None,
        password: str | None = None,
        tls: SmtpTls = SmtpTls.STARTTLS,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not isinstance(tls, SmtpTls):
            raise ConfigurationError("must be an SmtpTls", field="tls", value=tls)
        if tls is SmtpTls.NONE_LOCAL_DEVELOPMENT_ONLY:
            if username is not None or password is not None:
                raise ConfigurationError(
                    "credentials never cross a connection without TLS", field="username"
                )
            log.warning(
                "portal_access: SmtpMailer sends to %s without TLS; local development only",
                host,
            )
        context = ssl_context if ssl_context is not None else ssl.create_default_context()
        if context.verify_mode is not ssl.CERT_REQUIRED or not context.check_hostname:
            raise ConfigurationError(
                "the TLS context must verify the certificate and the host name "
                "(trust your own authority instead of turning verification off)",
                field="ssl_context",
            )
        self.host, self.sender, self.tls, self.timeout = host, sender, tls, timeout
        self.port = port if port is not None else _DEFAULT_PORTS[tls]
        self._username, self._password = username, password
        self._context = context

    def send(
        self, *, message_id: str, to: Sequence[EmailAddress], subject: str, text: str, html: str
    ) -> None:
        """Send one multipart (text + HTML) message; any failure propagates (retried),
        a server that fails verification included."""
        message = EmailMessage()
        message["From"] = str(self.sender)
        message["To"] = ", ".join(str(address) for address in to)
        message["Subject"] = subject
        message["Message-ID"] = f"<{message_id}@{self.sender.domain}>"
        message.set_content(text)
        if html:
            message.add_alternative(html, subtype="html")
        with self._connect() as smtp:
            if self._username is not None:
                smtp.login(self._username, self._password or "")
            smtp.send_message(message)

    def _connect(self) -> smtplib.SMTP:
        """A connection whose TLS (if any) is up and verified."""
        if self.tls is SmtpTls.IMPLICIT:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls is SmtpTls.STARTTLS:
            try:
                smtp.starttls(context=self._context)  # no STARTTLS offered: raises
            except BaseException:
                smtp.close()
                raise
        return smtp
