"""The directory and catalog reads a host's pages need, through ``PortalAccess``: the
kickoff form's offer, the contact, the account and its sites, the contact's
subscriptions. Seed 000_07c53b15302458c1.txt (kickoff form, subscription), seed
001_345994b3bb014aeb.txt (accounts and their sites). On the sandbox and on Stripe, on
the memory store and on SQLite.
"""

from __future__ import annotations

import attrs
import pytest

from portal_access import NotFoundError, Site, ValidationError
from tests.service.money_world import world


def test_offer_contact_account_and_sites(kind, tmp_path):
    """The reads answer what was saved, and a missing or malformed id is a typed error."""
    with world(*kind, tmp_path) as w:
        contact = w.portal.contact(w.contact_id)
        assert (contact.id, str(contact.email)) == (w.contact_id, "ann@example.com")
        account = w.portal.account(contact.account_id)
        assert account.id == contact.account_id
        assert w.portal.account_sites(account.id) == ()
        site = Site(id="site-2", account_id=account.id, name="Second floor")
        w.portal.save_site(Site(id="site-1", account_id=account.id, name="Main hall"))
        w.portal.save_site(attrs.evolve(site, active=False))
        assert [s.name for s in w.portal.account_sites(account.id)] == [
            "Main hall",
            "Second floor",
        ]
        assert w.portal.offer("offer-1").name == "Client onboarding"
        for read in (w.portal.offer, w.portal.contact, w.portal.account, w.portal.account_sites,
                     w.portal.contact_subscriptions):  # fmt: skip
            with pytest.raises(NotFoundError):
                read("missing-1")
            with pytest.raises(ValidationError):
                read("bad\x00id")


def test_a_contacts_subscriptions(kind, tmp_path):
    """Seed 000_07c53b15302458c1.txt: paying the required invoice starts the plan's
    subscription; the read lists it, then shows its failed renewal."""
    with world(*kind, tmp_path) as w:
        assert w.portal.contact_subscriptions(w.contact_id) == ()
        w.pay(w.open_page())
        w.deliver()
        (started,) = w.portal.contact_subscriptions(w.contact_id)
        assert (started.contact_id, started.snapshot.gateway) == (w.contact_id, w.gateway)
        assert started.snapshot.plan_id == "plan-monthly"
        w.fail_renewal()
        w.deliver()
        (renewed,) = w.portal.contact_subscriptions(w.contact_id)
        assert renewed.snapshot.subscription_id == started.snapshot.subscription_id
        assert renewed.snapshot.status != started.snapshot.status
