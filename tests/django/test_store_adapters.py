"""What the Django app builds the portal from: the settings read lazily and rebuilt on
change, the ORM store inside the host's atomic blocks, Django's hashers, mail and cache
as the ports, and imports that stay light."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import transaction

from portal_access import (
    AccessState,
    AccountClass,
    ConfigurationError,
    ContactRole,
    EmailAddress,
    RateLimitedError,
)
from portal_access.contrib.django import DjangoSettings, portal
from portal_access.contrib.django._adapters import (
    CacheRateLimiter,
    DjangoMailer,
    DjangoPasswordHasher,
)
from portal_access.contrib.django._store import DjangoStore
from portal_access.repositories import read_access_state, unit_of_work

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_importing_portal_access_loads_no_django():
    """``import portal_access`` stays framework-free; the app's package imports Django
    but reads no setting and touches no database."""
    code = (
        "import sys, portal_access\n"
        "assert 'django' not in sys.modules\n"
        "import portal_access.contrib.django\n"
        "from django.conf import settings\n"
        "assert not settings.configured\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_portal_is_rebuilt_when_the_settings_change(settings):
    """override_settings (here pytest-django's ``settings``) gives a new portal built
    from the new values; unchanged settings keep the same one."""
    first = portal()
    assert portal() is first
    settings.PORTAL_ACCESS = {**settings.PORTAL_ACCESS, "BUSINESS_NAME": "Other name"}
    second = portal()
    assert second is not first
    assert second.policy.system.portal_url == "https://portal.example.com/portal/"


def test_links_and_origins_come_from_the_url():
    found = DjangoSettings.read({"URL": "https://www.example.com/portal", "RETURN_ORIGINS": []})
    assert found.url == "https://www.example.com/portal/"
    assert found.links.link(found.links.reset_password, "t") == (
        "https://www.example.com/portal/reset-password/?token=t"
    )
    assert "https://www.example.com" in found.policy.system.return_origins


def test_two_gateways_with_one_name_are_refused(sandbox_portal, settings):
    gateway = settings.PORTAL_ACCESS["GATEWAYS"][0]
    with pytest.raises(ConfigurationError, match="two gateways share a name"):
        DjangoSettings.read({**settings.PORTAL_ACCESS, "GATEWAYS": [gateway, gateway]})


def test_passwords_go_through_djangos_hashers(settings):
    """The first of PASSWORD_HASHERS hashes; any configured one verifies."""
    hasher = DjangoPasswordHasher()
    encoded = hasher.hash("correct horse")
    assert encoded.startswith("md5$")  # the test settings' first hasher
    assert hasher.verify("correct horse", encoded)
    assert not hasher.verify("wrong horse", encoded)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert hasher.verify("correct horse", encoded)
    assert hasher.hash("x").startswith("pbkdf2_sha256$")


def test_mail_goes_through_djangos_backend(settings):
    """One multipart message per call, From the configured address, the outbox id as
    its Message-ID."""
    DjangoMailer(from_email="portal@example.com").send(
        message_id="ev_1",
        to=[EmailAddress.parse("ann@example.com")],
        subject="Your portal",
        text="Hello",
        html="<p>Hello</p>",
    )
    (message,) = mail.outbox
    assert message.from_email == "portal@example.com"
    assert message.to == ["ann@example.com"]
    assert message.alternatives[0][1] == "text/html"
    assert message.extra_headers["Message-ID"] == "<ev_1@example.com>"


def test_the_cache_limiter_is_shared_by_every_worker(settings):
    """Two limiters on one cache (two workers) share the count; a refused attempt is
    not counted, and a new window starts afresh."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    one, two = CacheRateLimiter(limit=3), CacheRateLimiter(limit=3)
    one.hit("login:1.2.3.4", now=NOW)
    two.hit("login:1.2.3.4", now=NOW)
    one.hit("login:1.2.3.4", now=NOW)
    with pytest.raises(RateLimitedError) as refused:
        two.hit("login:1.2.3.4", now=NOW + timedelta(minutes=5))
    assert 0 < refused.value.retry_after <= 600
    two.hit("login:5.6.7.8", now=NOW)  # another key has its own count
    with pytest.raises(ConfigurationError):
        CacheRateLimiter(limit=0)


def _state(name: str) -> AccessState:
    return AccessState(
        contact_id="c-1",
        account_id="a-1",
        role=ContactRole.CLIENT,
        registered=True,
        account_class=AccountClass(id="k-1", name=name),
    )


@pytest.mark.django_db
def test_rolled_back_rows_never_answer_for_later_ones():
    """Inside the host's atomic blocks (as in a TestCase), a row rolled back and another
    saved later with the same version each read as themselves, cache or not."""
    store = DjangoStore()
    seen = []
    for name in ("Gym", "Office"):
        with transaction.atomic():
            with unit_of_work(store) as uow:
                saved = uow.access.save(_state(name), expected_version=None)
            assert saved.version == 1
            seen.append(read_access_state(store, "c-1"))
            transaction.set_rollback(True)
    assert [state.account_class.name for state in seen] == ["Gym", "Office"]
    assert read_access_state(store, "c-1") is None


@pytest.mark.django_db(transaction=True)
def test_outside_a_hosts_block_the_version_is_the_rows():
    store = DjangoStore()
    with unit_of_work(store) as uow:
        uow.access.save(_state("Gym"), expected_version=None)
    from portal_access.repositories import ACCESS_STATES  # noqa: PLC0415

    found = store.read_committed(ACCESS_STATES, ("c-1",))
    assert found is not None
    assert found[1] == 1
