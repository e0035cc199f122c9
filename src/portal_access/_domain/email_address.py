"""Email addresses: validated once, compared case-insensitively.

The email address is the portal username (seed 003_11ad6fb0c789d951.txt), so two
spellings that differ only in case are the same person. So are two spellings that print
the same: the text is NFKC-normalised (fullwidth letters become ASCII), the domain is
written in its one canonical IDNA form (invisible characters such as a zero-width
space or a soft hyphen, which IDNA maps to nothing, disappear from it; ``xn--`` labels
and ideographic full stops read as the same domain), and the local part must be plain
ASCII (an invisible character there is refused).

>>> EmailAddress.parse(" Ann@Example.COM ")
EmailAddress('Ann@example.com')
>>> EmailAddress.parse("Ann@example.com") == EmailAddress.parse("ann@EXAMPLE.com")
True
>>> EmailAddress.parse("ann@\uff45xample.com") == EmailAddress.parse("ann@exam\u00adple.com")
True
>>> EmailAddress.parse("ann@@example.com")
Traceback (most recent call last):
...
portal_access.InvalidEmailError: email: not an email address
"""

from __future__ import annotations

import re
import unicodedata

import attrs

from portal_access._domain.errors import InvalidEmailError

__all__ = ["EmailAddress"]

# Dot-atom local part (RFC 5322 atext) and a host of letter/digit/hyphen labels with a
# dot: what every mail provider a portal user has accepts. Quoted local parts, IP
# literals and comments are refused on purpose: they are phishing tools, not addresses.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9])"
_TLD = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
_ADDRESS = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})*\.{_TLD}")


def _split(text: str) -> tuple[str, str] | None:
    """``(local, canonical lower-cased host)`` of a valid address, else ``None``.

    A non-ASCII host is encoded to IDNA and decoded back, so every spelling of one
    domain (fullwidth, with invisible characters, ``xn--``) becomes the same text.
    """
    local, at, host = text.rpartition("@")
    if not at:
        return None
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
        if _ADDRESS.fullmatch(f"{local}@{ascii_host}") is None:
            return None
        canonical = ascii_host.encode("ascii").decode("idna")
    except UnicodeError:
        return None
    return local, canonical.lower()


def _normalised(text: object, field: str) -> str:
    """``text`` trimmed with its domain lower-cased, or :class:`InvalidEmailError`."""
    if not isinstance(text, str) or len(text) > 256:
        raise InvalidEmailError("not an email address", field=field, value=None)
    parts = _split(unicodedata.normalize("NFKC", text.strip()))
    if parts is None:
        raise InvalidEmailError("not an email address", field=field, value=text)
    local, host = parts
    if len(local) > 64 or len(local) + len(host) + 1 > 254:
        raise InvalidEmailError("longer than an address may be", field=field, value=text)
    return f"{local}@{host}"


def _normalised_email(text: object) -> str:
    return _normalised(text, "email")


@attrs.frozen(repr=False, eq=False)
class EmailAddress:
    """A syntactically valid email address.

    ``value`` keeps the local part as typed and lower-cases the domain; equality and
    hashing use ``key``, the case-folded address.

    :meth:`parse` and the constructor validate and normalise alike; ``parse`` lets the
    error name a field other than ``email``.

    Raises:
        InvalidEmailError: not ``local@domain.tld``, longer than 254 characters, or
            containing whitespace or control characters.
    """

    value: str = attrs.field(converter=_normalised_email)

    @classmethod
    def parse(cls, text: str, *, field: str = "email") -> EmailAddress:
        """Validate ``text`` (surrounding whitespace is ignored) and normalise the domain.

        Raises:
            InvalidEmailError: ``text`` is not an email address; ``field`` is named in it.
        """
        return cls(_normalised(text, field))

    @property
    def key(self) -> str:
        """The case-folded address used for equality, lookups and deduplication."""
        return self.value.casefold()

    @property
    def domain(self) -> str:
        """The part after the ``@``."""
        return self.value.rsplit("@", 1)[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EmailAddress):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"EmailAddress({self.value!r})"
