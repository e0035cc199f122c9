"""Recipient lists of invoice emails: split, validated and deduplicated.

Seed 002_50038a73eff95302.txt: "The system will allow for more than one email in this
field if emails are separated by a semi-colon(;)", and "If you have an Email contained in
both the Client level and at the Project/Matter level in the "Email" field, the
Project/Matter level will override the Client "Email"." Commas are accepted as separators
too, and ``Display Name <address>`` entries keep only the address.

>>> found = parse_recipients("Ann Lee <ann@example.com>; bob@example.com, ANN@example.com")
>>> found
(EmailAddress('ann@example.com'), EmailAddress('bob@example.com'))
>>> format_recipients(found)
'ann@example.com; bob@example.com'
>>> invoice_email_addresses("client@example.com", " matter@example.com ")
(EmailAddress('matter@example.com'),)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import InvalidEmailError, ValidationError

__all__ = ["format_recipients", "invoice_email_addresses", "parse_recipients"]

_SEPARATORS = frozenset(";,")


def _entries(text: str) -> Iterator[str]:
    """Split ``text`` on ``;`` and ``,`` outside double quotes and angle brackets.

    ``"Lee, Ann" <ann@example.com>`` stays one entry: the comma is inside the quotes.
    """
    start = 0
    quoted = False
    angled = False
    for index, char in enumerate(text):
        if char == '"' and not angled:
            quoted = not quoted
        elif char == "<" and not quoted:
            angled = True
        elif char == ">" and not quoted:
            angled = False
        elif char in _SEPARATORS and not quoted and not angled:
            yield text[start:index]
            start = index + 1
    yield text[start:]


def _address_text(entry: str) -> str:
    """The address of ``Display Name <address>``, or the entry itself."""
    if entry.endswith(">") and "<" in entry:
        return entry[entry.rindex("<") + 1 : -1]
    return entry


def _texts(text: str | Iterable[str], field: str) -> Iterator[str]:
    if isinstance(text, str):
        yield text
        return
    if not isinstance(text, Iterable):
        raise ValidationError("must be a string or an iterable of strings", field=field, value=text)
    for item in text:
        if not isinstance(item, str):
            raise InvalidEmailError(
                f"not an email address: a {type(item).__name__}", field=field, value=item
            )
        yield item


def parse_recipients(text: str | Iterable[str], *, field: str = "to") -> tuple[EmailAddress, ...]:
    """Parse a recipient field into distinct addresses, in first-occurrence order.

    Entries are separated by ``;`` or ``,`` (seed 002), trimmed, and empty ones skipped,
    so ``"a@x.com;; b@x.com;"`` is two addresses. ``Name <addr>`` keeps ``addr``.
    Duplicates are dropped case-insensitively (the first spelling is kept). The result
    is idempotent: ``parse_recipients(format_recipients(r)) == r`` for any result ``r``.

    Args:
        text: one field's text, or several texts (each is split the same way).
        field: the field named in errors (``"to"``, ``"cc"``, ``"bcc"``...).

    Raises:
        InvalidEmailError: an entry is not an email address; ``value`` is the entry.
        ValidationError: ``text`` is neither a string nor an iterable of strings.

    >>> parse_recipients(['"Lee, Ann" <ann@example.com>', "Bob@Example.com;ann@EXAMPLE.com"])
    (EmailAddress('ann@example.com'), EmailAddress('Bob@example.com'))
    >>> parse_recipients("ann@example.com; nobody", field="cc")
    Traceback (most recent call last):
    ...
    portal_access.InvalidEmailError: cc: not an email address: 'nobody'
    """
    found: dict[EmailAddress, None] = {}
    for item in _texts(text, field):
        for raw in _entries(item):
            entry = raw.strip()
            if not entry:
                continue
            try:
                address = EmailAddress.parse(_address_text(entry), field=field)
            except InvalidEmailError:
                raise InvalidEmailError(
                    f"not an email address: {entry!r}", field=field, value=entry
                ) from None
            found.setdefault(address, None)
    return tuple(found)


def format_recipients(addresses: Iterable[EmailAddress]) -> str:
    """Join addresses with ``"; "``, the form the recipient fields show (seed 002).

    Raises:
        ValidationError: an item is not an :class:`EmailAddress` (``field="addresses"``).

    >>> format_recipients([EmailAddress.parse("a@example.com"), EmailAddress.parse("b@x.io")])
    'a@example.com; b@x.io'
    """
    values: list[str] = []
    for address in addresses:
        if not isinstance(address, EmailAddress):
            raise ValidationError("must be an EmailAddress", field="addresses", value=address)
        values.append(address.value)
    return "; ".join(values)


def invoice_email_addresses(
    client_email: str | None, matter_email: str | None
) -> tuple[EmailAddress, ...]:
    """The default "To" of an invoice email (seed 002).

    The project/matter "Email" field overrides the client's when it holds any address;
    a blank (or separators-only) matter field falls back to the client field. Each field
    may list several addresses separated by semicolons.

    Args:
        client_email: the client's "Email" field, or ``None``.
        matter_email: the project/matter's "Email" field, or ``None``.

    Raises:
        InvalidEmailError: the field in use holds a bad entry (``field`` is
            ``"matter_email"`` or ``"client_email"``).

    >>> invoice_email_addresses("a@example.com; b@example.com", None)
    (EmailAddress('a@example.com'), EmailAddress('b@example.com'))
    >>> invoice_email_addresses(None, "  ")
    ()
    """
    if matter_email is not None:
        matter = parse_recipients(matter_email, field="matter_email")
        if matter:
            return matter
    if client_email is None:
        return ()
    return parse_recipients(client_email, field="client_email")
