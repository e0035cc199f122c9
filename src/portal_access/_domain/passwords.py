"""What a new portal password must be (staff-set temporary ones and the contact's own).

Seed 003_11ad6fb0c789d951.txt: customers "log in using their email address as their
username and a password set by staff during initial setup". docs/rules.md adds that no
password is ever emailed (staff "send portal instructions" sends a set-password link)
and that a staff-set password must be changed at first login. This module only judges a
proposed password; hashing is the password-hasher port's job.

Errors never keep the password: ``value`` is always ``None``.

>>> check_new_password("correct horse battery staple")
>>> check_new_password("short")
Traceback (most recent call last):
...
portal_access.ValidationError: password: must be at least 10 characters
"""

from __future__ import annotations

import re

from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ValidationError

__all__ = ["MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH", "check_new_password"]

#: Fewest characters (not bytes) in a password.
MIN_PASSWORD_LENGTH = 10
#: Most characters in a password: a bound on the hashing work an attacker can ask for.
MAX_PASSWORD_LENGTH = 1024
#: A lone surrogate: no keyboard types one, and no encoding (so no hash) takes it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, field="password", value=None)


def check_new_password(password: str, *, email: EmailAddress | None = None) -> None:
    """Return if ``password`` is acceptable as a new password, else raise.

    Args:
        password: the proposed password.
        email: the contact's email (the username, seed 003); the password may equal
            neither it nor its local part, ignoring case and surrounding whitespace.

    Raises:
        ValidationError: ``field="password"`` and ``value=None``: not a ``str``, fewer
            than :data:`MIN_PASSWORD_LENGTH` or more than :data:`MAX_PASSWORD_LENGTH`
            characters, only whitespace, holding a lone surrogate, or the email address
            or its local part.
            ``field="email"`` when ``email`` is neither ``None`` nor an EmailAddress.

    >>> check_new_password("Ann.Lee.Smith", email=EmailAddress.parse("ann.lee.smith@example.com"))
    Traceback (most recent call last):
    ...
    portal_access.ValidationError: password: must not be the email address
    """
    if email is not None and not isinstance(email, EmailAddress):
        raise ValidationError("must be an EmailAddress or None", field="email", value=email)
    if not isinstance(password, str):
        raise _refuse("must be a string")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise _refuse(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise _refuse(f"must be at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise _refuse("must not be only whitespace")
    if _LONE_SURROGATE.search(password) is not None:
        raise _refuse("must not contain lone surrogates")
    if email is not None:
        folded = password.strip().casefold()
        local_part = email.value.rsplit("@", 1)[0]
        if folded in (email.key, local_part.casefold()):
            raise _refuse("must not be the email address")
