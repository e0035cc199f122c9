"""Invoice-verified self-registration (seed 001_345994b3bb014aeb.txt).

"This optional setup allows customers to self-register for a Customer Portal account
using information from a recent invoice": the system option "Enable Request Login
Button" shows the entry on the sign-in page, and the account class must "Allow
Invoice-Verified Self Registration". The visitor enters the invoice number, the "Quick
Pay Code / Account #", their contact name and email address.

The visitor is anonymous, so :func:`matches_invoice` answers only yes or no, never which
part failed, and compares the code in constant time.

>>> request = SelfRegistrationRequest.from_form("1001", "QP-7K2", "Ann Lee", "ann@example.com")
>>> request.email
EmailAddress('ann@example.com')
"""

from __future__ import annotations

import hmac
from datetime import date, datetime, timedelta

import attrs

from portal_access._domain.accounts import Account, AccountClass, SystemPortalOptions
from portal_access._domain.billing import Invoice, InvoiceStatus
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ValidationError
from portal_access._domain.validation import instance_of
from portal_access._domain.visitor_input import MAX_CODE_LENGTH, MAX_NAME_LENGTH, visitor_text

__all__ = ["SelfRegistrationRequest", "matches_invoice", "self_registration_allowed"]


@attrs.frozen
class SelfRegistrationRequest:
    """What a visitor typed into the self-registration form (seed 001).

    Args:
        invoice_number: "Invoice #".
        code: "Quick Pay Code / Account #" (kept out of ``repr``).
        contact_name: "Contact Name".
        email: "Email Address".

    Raises:
        ValidationError: a blank field, control characters, or one too long (the invoice
            number and code at most 64 characters, the name 255; see
            :mod:`~portal_access._domain.visitor_input`).
    """

    invoice_number: str = attrs.field(validator=visitor_text(MAX_CODE_LENGTH))
    code: str = attrs.field(validator=visitor_text(MAX_CODE_LENGTH), repr=False)
    contact_name: str = attrs.field(validator=visitor_text(MAX_NAME_LENGTH))
    email: EmailAddress = attrs.field(validator=instance_of(EmailAddress))

    @classmethod
    def from_form(
        cls, invoice_number: str, code: str, contact_name: str, email: str
    ) -> SelfRegistrationRequest:
        """Build from the form's text fields, parsing the email address.

        Raises:
            InvalidEmailError: ``email`` is not an email address (``field="email"``).
            ValidationError: another field is blank or too long.

        >>> SelfRegistrationRequest.from_form("1001", " ", "Ann", "ann@example.com")
        Traceback (most recent call last):
        ...
        portal_access.ValidationError: code: must not be blank
        """
        return cls(
            invoice_number=invoice_number,
            code=code,
            contact_name=contact_name,
            email=EmailAddress.parse(email, field="email"),
        )


def self_registration_allowed(system: SystemPortalOptions, account_class: AccountClass) -> bool:
    """Whether contacts of ``account_class`` may self-register (seed 001).

    Needs the system option "Enable Request Login Button", the class's "Allow
    Invoice-Verified Self Registration" and the class's "Enable Portal Access".

    >>> self_registration_allowed(SystemPortalOptions(request_login_button=True),
    ...     AccountClass(id="k", name="K", invoice_verified_self_registration=True))
    True
    """
    return (
        system.request_login_button
        and account_class.invoice_verified_self_registration
        and account_class.portal_enabled
    )


def _code_key(text: str | None) -> bytes:
    """A code as compared: trimmed, case-folded, without whitespace or dashes."""
    if text is None:
        return b""
    return "".join(text.casefold().replace("-", "").split()).encode("utf-8")


def _name_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def matches_invoice(
    request: SelfRegistrationRequest,
    *,
    invoice: Invoice,
    account: Account,
    contact: Contact,
    today: date,
    recent_within: timedelta = timedelta(days=365),
) -> bool:
    """Whether ``request`` proves the visitor is ``contact``, by a recent ``invoice`` (seed 001).

    Every one of these must hold: the invoice number matches (trimmed, case-insensitive);
    the invoice and the contact are on ``account``; the code equals the invoice's quick
    pay code or the account number (ignoring case, spaces and dashes, compared in
    constant time, both always compared); the name equals the contact's full name
    (case and runs of whitespace ignored); the email is the contact's; the invoice is
    not void and was issued at most ``recent_within`` before ``today`` (not after it).

    The answer is a bare ``bool`` on purpose: an anonymous visitor must not learn which
    part was wrong. Every check runs whatever the earlier ones found.

    Raises:
        ValidationError: ``today`` is not a ``date`` (a ``datetime`` is refused), or
            ``recent_within`` is negative.

    >>> from portal_access._domain.accounts import AccountClass
    >>> from portal_access._domain.billing import InvoiceLine
    >>> from portal_access._domain.money import Money
    >>> account = Account(id="a-1", number="49418", name="Gym",
    ...                   account_class=AccountClass(id="k", name="K"))
    >>> invoice = Invoice(id="i-1", number="1001", account_id="a-1", title="May",
    ...                   currency="USD", lines=(InvoiceLine("Service", Money(100, "USD")),),
    ...                   issued_on=date(2026, 5, 1), due_on=date(2026, 5, 31))
    >>> ann = Contact(id="c-1", account_id="a-1", first_name="Ann", last_name="Lee",
    ...               email=EmailAddress.parse("ann@example.com"))
    >>> request = SelfRegistrationRequest.from_form("1001", "494-18", "ann  lee",
    ...                                             "Ann@Example.com")
    >>> matches_invoice(request, invoice=invoice, account=account, contact=ann,
    ...                 today=date(2026, 6, 1))
    True
    """
    if isinstance(today, datetime) or not isinstance(today, date):
        raise ValidationError("must be a date, not a datetime", field="today", value=today)
    if not isinstance(recent_within, timedelta):
        raise ValidationError("must be a timedelta", field="recent_within", value=recent_within)
    if recent_within < timedelta(0):
        raise ValidationError("must not be negative", field="recent_within", value=recent_within)
    presented = _code_key(request.code)
    quick_pay = _code_key(invoice.quick_pay_code)
    account_number = _code_key(account.number)
    # Both comparisons always run, so the time taken does not say which one matched.
    quick_pay_matches = hmac.compare_digest(presented, quick_pay)
    account_number_matches = hmac.compare_digest(presented, account_number)
    code_matches = bool(presented) and (
        (quick_pay_matches and bool(quick_pay)) or (account_number_matches and bool(account_number))
    )
    checks = (
        request.invoice_number.strip().casefold() == invoice.number.strip().casefold(),
        invoice.account_id == account.id,
        contact.account_id == account.id,
        code_matches,
        _name_key(request.contact_name) == _name_key(contact.full_name),
        contact.email is not None and contact.email == request.email,
        invoice.status is not InvoiceStatus.VOID,
        today - recent_within <= invoice.issued_on <= today,
    )
    return all(checks)
