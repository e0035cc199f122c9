"""Documents: invoices and statements as a contact sees, downloads, prints and pays them.

Seed 004_67d5e53a019b49ae.txt: "in each generated document there is a link to access
the portal"; "clicking on any of the documents will open a new view where you can
preview them, download them in PDF, print them, add comments and even pay".

This module is pure: it builds the :class:`Document` a renderer draws (amounts already
written in their currency's minor units: ``0 JPY`` has no decimals, ``1.250 KWD`` three),
the escaped HTML preview, and the signed portal link each document carries.

The portal link is HMAC-signed, not stored. It names the document, the contact it was
made for and when it expires, under a key only the host holds; it is checked in
constant time and opens nothing for anyone else. A signed link suits a document where a
stored single-use token does not: a PDF is opened, printed and forwarded many times, so
its link must work more than once; rendering a document is a read and writes no row;
and the link grants nothing on its own (the contact still logs in, and the document is
shown only while the contact may see it), so revoking one link alone is never needed —
rotating the key retires them all.

>>> from datetime import datetime, timezone
>>> key = bytes(range(32))
>>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> ref = DocumentRef(DocumentKind.INVOICE, "inv-1")
>>> token = sign_document_link(key, contact_id="c-1", ref=ref, expires_at=now.replace(month=2))
>>> open_document_link(key, token, contact_id="c-1", now=now)
DocumentRef(kind=<DocumentKind.INVOICE: 'invoice'>, id='inv-1')
>>> open_document_link(key, token, contact_id="c-2", now=now)
Traceback (most recent call last):
...
portal_access.InvalidTokenError: unknown link
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import html
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import attrs

from portal_access._domain.accounts import Account
from portal_access._domain.billing import Invoice, InvoiceStatus
from portal_access._domain.contacts import Contact
from portal_access._domain.errors import (
    ConfigurationError,
    InvalidTokenError,
    TokenExpiredError,
    ValidationError,
)
from portal_access._domain.money import Money
from portal_access._domain.validation import (
    calendar_date,
    ensure_aware,
    ensure_text,
    identifier,
    instance_of,
    non_blank,
    optional,
    text,
    tuple_of,
)

__all__ = [
    "DOCUMENT_LINK_LIFETIME",
    "MAX_DOCUMENT_LINK_LENGTH",
    "MIN_DOCUMENT_LINK_KEY_BYTES",
    "Document",
    "DocumentKind",
    "DocumentFile",
    "DocumentLine",
    "DocumentRef",
    "amount_text",
    "check_document_link_key",
    "invoice_document",
    "open_document_link",
    "preview_html",
    "sign_document_link",
    "statement_document",
]

#: How long a document's portal link works when the portal is given no other lifetime.
DOCUMENT_LINK_LIFETIME = timedelta(days=90)
#: The shortest key a portal signs document links with (256 bits).
MIN_DOCUMENT_LINK_KEY_BYTES = 32
#: The longest link text read: longer text is refused unread.
MAX_DOCUMENT_LINK_LENGTH = 2048
_VERSION = 1


class DocumentKind(enum.Enum):
    """What a document is: one invoice, or an account's statement."""

    INVOICE = "invoice"
    STATEMENT = "statement"


@attrs.frozen
class DocumentRef:
    """Which document: an invoice by its id, a statement by its account's id."""

    kind: DocumentKind = attrs.field(validator=instance_of(DocumentKind))
    id: str = attrs.field(validator=identifier)


@attrs.frozen
class DocumentLine:
    """One line of a document: what it is, its amount, and an optional detail (dates)."""

    description: str = attrs.field(validator=text)
    amount: Money = attrs.field(validator=instance_of(Money))
    detail: str = attrs.field(default="", validator=text)


def _totals(_instance: object, attribute: attrs.Attribute[object], value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(item, tuple)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], Money)
        for item in value
    ):
        raise ValidationError("must be (label, Money) pairs", field=attribute.name)
    for label, _amount in value:
        ensure_text(label, field=attribute.name)


@attrs.frozen
class Document:
    """A document as drawn: every text and amount it shows, and its portal link.

    Args:
        ref: which document.
        title: "Invoice 1001", "Statement".
        business_name: who issued it.
        recipient: the contact's full name.
        account_name: the account's name.
        account_number: the account's number.
        issued_on: its date (a statement: the day it was made).
        due_on: when an invoice is due (``None`` for a statement).
        lines: the invoice's lines, or the statement's open invoices.
        totals: labelled amounts under the lines (total, paid, balance per currency).
        portal_link: the signed link to this document in the portal.
        expires_on: the day the link stops working.
    """

    ref: DocumentRef = attrs.field(validator=instance_of(DocumentRef))
    title: str = attrs.field(validator=text)
    business_name: str = attrs.field(validator=text)
    recipient: str = attrs.field(validator=text)
    account_name: str = attrs.field(validator=text)
    account_number: str = attrs.field(validator=text)
    issued_on: date = attrs.field(validator=calendar_date)
    due_on: date | None = attrs.field(validator=optional(calendar_date))
    lines: tuple[DocumentLine, ...] = attrs.field(validator=tuple_of(DocumentLine))
    totals: tuple[tuple[str, Money], ...] = attrs.field(validator=_totals)
    portal_link: str = attrs.field(validator=non_blank)
    expires_on: date = attrs.field(validator=calendar_date)


@attrs.frozen
class DocumentFile:
    """A document drawn as a file to download: the :class:`Document` it shows (its
    ``title`` names the file) and what the portal's renderer made of it.

    Args:
        document: the document as drawn.
        content: the file (a PDF with the default renderer).
        media_type: the file's media type (``"application/pdf"``).
    """

    document: Document = attrs.field(validator=instance_of(Document))
    content: bytes = attrs.field(validator=instance_of(bytes), repr=False)
    media_type: str = attrs.field(validator=non_blank)


def amount_text(money: Money) -> str:
    """``money`` written with its currency's minor units: ``1.250 KWD``, ``500 JPY``."""
    return str(money)


def invoice_document(
    invoice: Invoice,
    contact: Contact,
    account: Account,
    *,
    business_name: str,
    portal_link: str,
    expires_at: datetime,
) -> Document:
    """The document of ``invoice`` as ``contact`` receives it."""
    paid = invoice.amount_paid or Money.zero(invoice.currency)
    totals: list[tuple[str, Money]] = [("Total", invoice.total)]
    if invoice.status is InvoiceStatus.VOID:
        totals.append(("Void", Money.zero(invoice.currency)))
    else:
        totals += [("Paid", paid), ("Balance due", invoice.balance)]
    return Document(
        ref=DocumentRef(DocumentKind.INVOICE, invoice.id),
        title=f"Invoice {invoice.number}",
        business_name=business_name,
        recipient=contact.full_name,
        account_name=account.name,
        account_number=account.number,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        lines=tuple(DocumentLine(line.description, line.amount) for line in invoice.lines),
        totals=tuple(totals),
        portal_link=portal_link,
        expires_on=expires_at.date(),
    )


def statement_document(
    account: Account,
    contact: Contact,
    invoices: Iterable[Invoice],
    *,
    as_of: date,
    business_name: str,
    portal_link: str,
    expires_at: datetime,
) -> Document:
    """The statement of ``account`` for ``contact``: every open invoice it may see, oldest
    first, and the balance due per currency."""
    open_invoices = sorted(
        (i for i in invoices if i.status is InvoiceStatus.OPEN and i.balance),
        key=lambda i: (i.issued_on, i.number, i.id),
    )
    lines = tuple(
        DocumentLine(
            f"Invoice {i.number} - {i.title}",
            i.balance,
            f"issued {i.issued_on.isoformat()}, due {i.due_on.isoformat()}",
        )
        for i in open_invoices
    )
    currencies = sorted({i.currency for i in open_invoices})
    totals = tuple(
        (
            f"Balance due ({currency})",
            Money.total((i.balance for i in open_invoices if i.currency == currency), currency),
        )
        for currency in currencies
    )
    return Document(
        ref=DocumentRef(DocumentKind.STATEMENT, account.id),
        title="Statement",
        business_name=business_name,
        recipient=contact.full_name,
        account_name=account.name,
        account_number=account.number,
        issued_on=as_of,
        due_on=None,
        lines=lines,
        totals=totals,
        portal_link=portal_link,
        expires_on=expires_at.date(),
    )


def preview_html(document: Document) -> str:
    """The document as an HTML fragment for the portal's preview; every text from the
    host or a contact (names, titles, descriptions, the link) is escaped."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(line.description)}<br><small>{e(line.detail)}</small></td>"
        f'<td class="amount">{e(amount_text(line.amount))}</td></tr>'
        for line in document.lines
    )
    totals = "".join(
        f'<tr class="total"><th>{e(label)}</th>'
        f'<td class="amount">{e(amount_text(amount))}</td></tr>'
        for label, amount in document.totals
    )
    due = f"<p>Due {e(document.due_on.isoformat())}</p>" if document.due_on else ""
    return (
        f'<article class="portal-document" data-kind="{e(document.ref.kind.value)}">'
        f"<header><h1>{e(document.title)}</h1><p>{e(document.business_name)}</p>"
        f"<p>To {e(document.recipient)}, {e(document.account_name)} "
        f"(account {e(document.account_number)})</p>"
        f"<p>Date {e(document.issued_on.isoformat())}</p>{due}</header>"
        f"<table><tbody>{rows}</tbody><tfoot>{totals}</tfoot></table>"
        f'<footer><a href="{e(document.portal_link)}">Open in the portal</a></footer>'
        "</article>"
    )


# -- the signed portal link --------------------------------------------------------------


def check_document_link_key(key: object) -> bytes:
    """``key`` if it can sign document links.

    Raises:
        ConfigurationError: not bytes, or shorter than 32 bytes.
    """
    if not isinstance(key, bytes) or len(key) < MIN_DOCUMENT_LINK_KEY_BYTES:
        raise ConfigurationError(
            f"must be at least {MIN_DOCUMENT_LINK_KEY_BYTES} random bytes",
            field="document_link_key",
        )
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, b"portal-access document link\0" + payload, hashlib.sha256).digest()


def sign_document_link(
    key: bytes, *, contact_id: str, ref: DocumentRef, expires_at: datetime
) -> str:
    """The link text that opens ``ref`` for ``contact_id`` until ``expires_at``.

    Raises:
        ConfigurationError: ``key`` is too short.
        ValidationError: ``expires_at`` is naive.
    """
    check_document_link_key(key)
    ensure_aware(expires_at, field="expires_at")
    payload = json.dumps(
        [_VERSION, ref.kind.value, ref.id, contact_id, int(expires_at.timestamp())],
        separators=(",", ":"),
    ).encode("utf-8")
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def open_document_link(key: bytes, token: object, *, contact_id: str, now: datetime) -> DocumentRef:
    """The document ``token`` opens for the logged-in ``contact_id``.

    Raises:
        InvalidTokenError: not a link this key signed (tampered, truncated, another
            key), or one made for another contact: all answer "unknown link".
        TokenExpiredError: the contact's own link, past its expiry.
        ValidationError: ``now`` is naive.
    """
    check_document_link_key(key)
    ensure_aware(now, field="now")
    unknown = InvalidTokenError("unknown link")
    if not isinstance(token, str) or len(token) > MAX_DOCUMENT_LINK_LENGTH or not token.isascii():
        raise unknown
    payload_text, _, mac_text = token.partition(".")
    try:
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except (binascii.Error, ValueError):
        raise unknown from None
    if _b64(payload) != payload_text or _b64(mac) != mac_text:
        raise unknown  # only the one spelling sign_document_link makes
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise unknown
    fields = _fields(payload)
    if fields is None:
        raise unknown
    kind, document_id, owner, expires = fields
    given: object = contact_id  # a host may pass anything
    if not isinstance(given, str) or not hmac.compare_digest(
        owner.encode("utf-8", "surrogatepass"), contact_id.encode("utf-8", "surrogatepass")
    ):
        raise unknown
    if now >= datetime.fromtimestamp(expires, UTC):
        raise TokenExpiredError("this document link has expired; open the document in the portal")
    return DocumentRef(kind, document_id)


def _fields(payload: bytes) -> tuple[DocumentKind, str, str, int] | None:
    try:
        version, kind, document_id, owner, expires = json.loads(payload)
        if version != _VERSION or type(expires) is not int:
            return None
        if not isinstance(document_id, str) or not isinstance(owner, str):
            return None
        return DocumentKind(kind), document_id, owner, expires
    except (ValueError, TypeError):
        return None
