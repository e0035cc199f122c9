"""What an anonymous visitor may type: every free-text field has a length limit.

A visitor's text reaches a store, an email and a log, so each field is bounded before
any work is done on it, and control characters other than tab (which no name or code
contains, and which break headers and databases) are refused. The limits, in characters:

===============================================  =========================
field                                            limit
===============================================  =========================
names (first, last, contact, account name)       :data:`MAX_NAME_LENGTH`
form codes (invoice number, quick-pay code)      :data:`MAX_CODE_LENGTH`
client keys (the visitor's address)              :data:`MAX_CLIENT_KEY_LENGTH`
email addresses                                  254 (``EmailAddress``)
passwords                                        1024 (``MAX_PASSWORD_LENGTH``)
===============================================  =========================

>>> ensure_visitor_text(" Ann ", field="first_name", max_length=MAX_NAME_LENGTH)
' Ann '
>>> ensure_visitor_text("Ann\\r\\nBcc: x", field="first_name", max_length=MAX_NAME_LENGTH)
Traceback (most recent call last):
...
portal_access.ValidationError: first_name: must not contain control characters
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

from portal_access._domain.errors import ValidationError
from portal_access._domain.validation import ensure_identifier, ensure_text

__all__ = [
    "MAX_CLIENT_KEY_LENGTH",
    "MAX_CODE_LENGTH",
    "MAX_NAME_LENGTH",
    "ensure_client_key",
    "ensure_visitor_text",
    "visitor_text",
]

#: Longest name a visitor may type (first, last, contact or account name).
MAX_NAME_LENGTH = 255
#: Longest invoice number or quick-pay code / account number a visitor may type.
MAX_CODE_LENGTH = 64
#: Longest client key (the host passes the visitor's address; an IPv6 one is 45).
MAX_CLIENT_KEY_LENGTH = 255

# Control characters other than tab (a tab pasted into a name is harmless).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def ensure_visitor_text(value: object, *, field: str, max_length: int, blank: bool = False) -> str:
    """``value`` if it is text a visitor may submit in ``field``, else raise.

    Args:
        value: what the visitor typed.
        field: the field's name, for the error.
        max_length: the most characters it may have.
        blank: whether it may be empty or whitespace.

    Raises:
        ValidationError: not a ``str``, too long (checked before anything else), blank
            where it may not be, or holding control characters, NUL or lone surrogates.
            The error never keeps a too long value.
    """
    if not isinstance(value, str):
        raise ValidationError("must be a string", field=field, value=value)
    if len(value) > max_length:
        raise ValidationError(f"must be at most {max_length} characters", field=field)
    ensure_text(value, field=field)
    if _CONTROL.search(value) is not None:
        raise ValidationError("must not contain control characters", field=field)
    if not blank and not value.strip():
        raise ValidationError("must not be blank", field=field, value=value)
    return value


def visitor_text(max_length: int, *, blank: bool = False) -> Callable[..., None]:
    """An attrs validator running :func:`ensure_visitor_text` on the field."""

    def check(_instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        ensure_visitor_text(value, field=attribute.name, max_length=max_length, blank=blank)

    return check


def ensure_client_key(value: object) -> str:
    """The host's key for the visitor's client (its IP address, say) if usable, else raise.

    Anonymous flows are rate-limited per client as well as per email or invoice, so
    the key must name something: blank is refused, not treated as "no client".

    Raises:
        ValidationError: ``field="client_key"``: not a printable, non-blank ``str`` of
            at most :data:`MAX_CLIENT_KEY_LENGTH` characters.

    >>> ensure_client_key("2001:db8::7")
    '2001:db8::7'
    """
    return ensure_identifier(value, field="client_key")
