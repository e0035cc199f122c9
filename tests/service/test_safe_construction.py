"""A portal that would drop mail or mail dead links refuses to be built (issue #13,
item 2), unless the host says it is a test or a demo (``development=True``)."""

from __future__ import annotations

import pytest

from portal_access import (
    ConfigurationError,
    PortalAccess,
    PortalLinks,
    PortalPolicy,
    SystemPortalOptions,
)
from portal_access.adapters import MemoryMailer
from portal_access.storage.memory import MemoryStore

URL = "https://portal.example.com"


def test_no_mailer_is_refused_saying_what_to_pass():
    """Without a mailer, invitations would go nowhere: the error names the fix."""
    policy = PortalPolicy(system=SystemPortalOptions(portal_url=URL))
    with pytest.raises(ConfigurationError) as raised:
        PortalAccess(store=MemoryStore(), gateways=[], policy=policy)
    assert raised.value.field == "mailer"
    assert "mailer=SmtpMailer(" in str(raised.value)
    assert "development=True" in str(raised.value)


def test_no_portal_url_is_refused_saying_what_to_pass():
    """Without a portal URL (nor links), every emailed link would be dead."""
    with pytest.raises(ConfigurationError) as raised:
        PortalAccess(store=MemoryStore(), gateways=[], mailer=MemoryMailer())
    assert raised.value.field == "links"
    assert "portal_url=" in str(raised.value)
    assert "links=PortalLinks(" in str(raised.value)


@pytest.mark.parametrize(
    "where",
    [
        {"links": PortalLinks(base_url=URL)},
        {"policy": PortalPolicy(system=SystemPortalOptions(portal_url=URL))},
    ],
)
def test_a_mailer_and_a_portal_url_build_a_portal(where):
    """Explicit parts build as before; links then point at the URL given."""
    mailer = MemoryMailer()
    portal = PortalAccess(store=MemoryStore(), gateways=[], mailer=mailer, **where)
    assert portal.mailer is mailer


def test_development_keeps_mail_in_memory_and_links_on_portal_invalid():
    """development=True is the explicit spelling for tests and demos."""
    portal = PortalAccess(store=MemoryStore(), gateways=[], development=True)
    assert isinstance(portal.mailer, MemoryMailer)
    assert portal._context.links.base_url.startswith("https://portal.invalid")


def test_development_must_be_said_in_so_many_words():
    """A truthy value that is not True (a string from an environment variable) does
    not switch the checks off."""
    with pytest.raises(ConfigurationError):
        PortalAccess(store=MemoryStore(), gateways=[], development="yes")  # type: ignore[arg-type]
