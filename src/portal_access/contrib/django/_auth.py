"""Contacts' logins as the host's users: ``django.contrib.auth`` sessions.

A contact's password is the portal's (checked by :meth:`PortalAccess.log_in
<portal_access.PortalAccess.log_in>`, hashed by Django's hashers); once it is right, the
contact is logged in to Django as the host's user it is linked to (``Contact.user``;
``get_user_model()``, a custom ``AUTH_USER_MODEL`` included): on first login the user
whose ``USERNAME_FIELD`` is the contact's email, or a new one with an unusable password.
The session remembers the contact id.

- :func:`log_in` logs a contact in through ``django.contrib.auth.login`` (a new session
  key: a session planted before login is worth nothing after it); :func:`log_out`
  through ``django.contrib.auth.logout``.
- :func:`contact_id` is the logged-in contact of a request, or ``None``.
- :class:`ContactBackend` lets the host's own login view ``authenticate(request,
  email=..., password=...)`` a contact.

A staff account (``is_staff`` or ``is_superuser``) is never a contact's user: a contact
whose email is a staff member's cannot log in through the portal, so a portal password
never opens the admin.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.contrib import auth
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from portal_access import ConfigurationError, NotFoundError, PortalAccessError, ValidationError
from portal_access.contrib.django._settings import current_settings, portal

__all__ = [
    "CONTACT_KEY",
    "ContactBackend",
    "client_key",
    "contact_id",
    "log_in",
    "log_out",
    "session_backend",
    "user_for_contact",
]

#: The session key holding the logged-in contact's id.
CONTACT_KEY = "portal_access.contact"
#: The key every request without an address shares (a unix socket): one limit, never none.
NO_ADDRESS = "no-address"
_BACKEND = "portal_access.contrib.django._auth.ContactBackend"


def client_key(request: HttpRequest) -> str:
    """The visitor's address, the key anonymous flows are limited by:
    ``REMOTE_ADDR``. Behind a proxy, set it from the proxy's header in a middleware of
    your own (else every visitor shares one limit)."""
    return str(request.META.get("REMOTE_ADDR") or NO_ADDRESS)


def user_for_contact(contact: str) -> Any:
    """The host's user the contact logs in as: the one linked to it (``Contact.user``),
    else the one whose ``USERNAME_FIELD`` is the contact's email, else a new one (with an
    unusable password: the password is the portal's); linked from then on when the users
    live in the portal's database (``PORTAL_ACCESS["DATABASE"]``), else found by email
    at each login.

    Raises:
        NotFoundError: no such contact, or it has neither a linked user nor an email.
        PermissionDenied: that user is staff, or inactive.
        ConfigurationError: the user model cannot be made from an email alone.
    """
    from portal_access.contrib.django.models import Contact  # noqa: PLC0415 - app registry

    database = current_settings().database
    model: Any = auth.get_user_model()
    manager = model._default_manager
    # The link is a foreign key: kept only when users live in the portal's database.
    linkable = manager.db == database
    rows = Contact.objects.using(database).filter(id=contact)
    user_id = rows.values_list("user_id", flat=True).first() if linkable else None
    user = None if user_id is None else manager.filter(pk=user_id).first()
    if user is None:
        user = _user_by_email(contact, model)
        if linkable:
            rows.update(user=user)
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        raise PermissionDenied("a staff account is not a portal contact's")
    if not getattr(user, "is_active", True):
        raise PermissionDenied("the contact's user is inactive")
    return user


def _user_by_email(contact: str, model: Any) -> Any:
    try:
        found = portal().contact(contact)
    except (NotFoundError, ValidationError):
        found = None
    if found is None or not found.email:
        raise NotFoundError("contact with an email", contact)
    email = str(found.email).lower()
    manager = model._default_manager
    user: Any = manager.filter(**{model.USERNAME_FIELD: email}).first()
    if user is not None:
        return user
    fields = {model.USERNAME_FIELD: email}
    email_field = model.get_email_field_name()
    if email_field != model.USERNAME_FIELD and hasattr(model, email_field):
        fields[email_field] = email
    user = model(**fields)
    user.set_unusable_password()
    try:
        user.full_clean(exclude=["password", "last_login"], validate_unique=False)
    except DjangoValidationError as exc:  # a required field an email cannot fill
        raise ConfigurationError(
            f"cannot make a {model.__name__} from an email alone: {exc}", field="AUTH_USER_MODEL"
        ) from None
    try:
        with transaction.atomic(using=manager.db):
            user.save(using=manager.db)
    except IntegrityError:  # another worker made it first
        user = manager.get(**{model.USERNAME_FIELD: email})
    return user


def session_backend() -> str:
    """The backend the session remembers: ours when listed, else the first listed
    (Django's ``ModelBackend`` by default, which loads the same user)."""
    listed = list(django_settings.AUTHENTICATION_BACKENDS)
    return _BACKEND if _BACKEND in listed or not listed else listed[0]


def log_in(request: HttpRequest, contact: str) -> Any:
    """Log the contact in: ``django.contrib.auth.login`` as its user, and the contact id
    in the (new) session; the user.

    Raises:
        NotFoundError, PermissionDenied, ConfigurationError: see :func:`user_for_contact`.
    """
    user = user_for_contact(contact)
    user.portal_contact_id = contact  # read by _remember
    auth.login(request, user, backend=session_backend())
    return user


def log_out(request: HttpRequest) -> None:
    """End the session (``django.contrib.auth.logout``)."""
    auth.logout(request)


def contact_id(request: HttpRequest) -> str | None:
    """The contact logged in on ``request``, or ``None``: the session's contact, while its
    Django user is still logged in."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        return None
    value = session.get(CONTACT_KEY)
    return value if isinstance(value, str) else None


def _remember(sender: object, request: HttpRequest, user: AbstractBaseUser, **_: object) -> None:
    """After any login of a contact's user (ours, or the host's view with our backend),
    keep the contact id in the session."""
    contact = getattr(user, "portal_contact_id", None)
    if isinstance(contact, str) and hasattr(request, "session"):
        request.session[CONTACT_KEY] = contact


user_logged_in.connect(_remember, dispatch_uid="portal_access.contact_login")


class ContactBackend:
    """An authentication backend for contacts: ``authenticate(request, email=...,
    password=...)`` checks the portal password and returns the contact's user.

    Add ``"portal_access.contrib.django._auth.ContactBackend"`` to
    ``AUTHENTICATION_BACKENDS`` to log contacts in from your own login view; the
    portal's own login page does not need it.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        email: str | None = None,
        password: str | None = None,
        **_: object,
    ) -> Any:
        """The contact's user, or ``None`` (wrong email or password, rate limited...)."""
        if email is None or password is None:
            return None
        key = client_key(request) if request is not None else NO_ADDRESS
        try:
            result = portal().log_in(email, password, client_key=key)
            user = user_for_contact(result.contact_id)
        except (PortalAccessError, PermissionDenied):
            return None
        user.portal_contact_id = result.contact_id
        return user

    def get_user(self, user_id: Any) -> Any:
        """The active user with that primary key, as Django's ``ModelBackend`` loads it."""
        model: Any = auth.get_user_model()
        user = model._default_manager.filter(pk=user_id).first()
        return user if user is not None and getattr(user, "is_active", True) else None
