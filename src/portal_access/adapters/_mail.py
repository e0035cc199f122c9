"""Mailers: keep messages in memory (tests, the demo), print them, or send over SMTP.

>>> from portal_access._domain.email_address import EmailAddress
>>> mailer = MemoryMailer()
>>> mailer.send(message_id="m1", to=[EmailAddress.parse("ann@example.com")],
...             subject="Hi", text="Hello", html="<p>Hello</p>")
>>> mailer.sent[0].subject
'Hi'
"""

from __future__ import annotations

import smtplib
import sys
from collections.abc import Sequence
from email.message import EmailMessage
from typing import TextIO

import attrs

from portal_access._domain.email_address import EmailAddress

__all__ = ["ConsoleMailer", "MemoryMailer", "SentEmail", "SmtpMailer"]


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


class SmtpMailer:
    """Sends over SMTP with :mod:`smtplib` (STARTTLS when ``starttls``).

    Args:
        host: SMTP server.
        port: SMTP port.
        sender: the From address.
        username: login, if the server wants one.
        password: its password.
        starttls: upgrade the connection with STARTTLS.
        timeout: seconds before giving up (the outbox retries later).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int = 587,
        sender: EmailAddress,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self._username, self._password = username, password
        self.starttls, self.timeout = starttls, timeout

    def send(
        self, *, message_id: str, to: Sequence[EmailAddress], subject: str, text: str, html: str
    ) -> None:
        """Send one multipart (text + HTML) message; any failure propagates (retried)."""
        message = EmailMessage()
        message["From"] = str(self.sender)
        message["To"] = ", ".join(str(address) for address in to)
        message["Subject"] = subject
        message["Message-ID"] = f"<{message_id}@{self.sender.domain}>"
        message.set_content(text)
        if html:
            message.add_alternative(html, subtype="html")
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self._username is not None:
                smtp.login(self._username, self._password or "")
            smtp.send_message(message)
