"""Site scope: which of an account's sites a contact sees, and how (seed 001).

"To grant a contact access to all sites that belong to the account, select the Account
(All Sites) checkbox"; a site-level contact sees only the sites checked for them.
Inactive sites follow the account class: hidden, or service history only.

>>> from portal_access._domain.accounts import AccountClass, InactiveSiteVisibility, Site
>>> from portal_access._domain.contacts import SiteScope
>>> sites = (Site(id="s-1", account_id="a", name="Main"),
...          Site(id="s-2", account_id="a", name="Old", active=False))
>>> history = AccountClass(id="k", name="K",
...                        inactive_sites=InactiveSiteVisibility.SERVICE_HISTORY_ONLY)
>>> access = resolve_sites(SiteScope.all_sites(), sites, history, "a")
>>> sorted(access.full), sorted(access.history_only)
(['s-1'], ['s-2'])
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from portal_access._domain.accounts import AccountClass, InactiveSiteVisibility, Site
from portal_access._domain.contacts import SiteScope

__all__ = ["SiteAccess", "resolve_sites"]


@attrs.frozen
class SiteAccess:
    """The sites a contact may open: fully, or for service history only.

    Args:
        account_level: the contact sees every site of the account (sites added later too).
        full: ids of the sites the contact sees in full.
        history_only: ids of inactive sites shown as service history only.
    """

    account_level: bool = False
    full: frozenset[str] = frozenset()
    history_only: frozenset[str] = frozenset()

    @classmethod
    def none(cls) -> SiteAccess:
        """No site at all."""
        return _NONE

    @property
    def visible(self) -> frozenset[str]:
        """Every site the contact may open in any way."""
        return self.full | self.history_only

    def allows(self, site_id: str) -> bool:
        """Whether the contact may open ``site_id`` at all."""
        return site_id in self.full or site_id in self.history_only


_NONE = SiteAccess()


def resolve_sites(
    scope: SiteScope, sites: Iterable[Site], account_class: AccountClass, account_id: str
) -> SiteAccess:
    """Resolve ``scope`` against the account's ``sites`` under its class's rules.

    Sites of other accounts are never included, whatever the scope lists.
    """
    show_inactive = account_class.inactive_sites is InactiveSiteVisibility.SERVICE_HISTORY_ONLY
    full: set[str] = set()
    history: set[str] = set()
    for site in sites:
        if site.account_id != account_id:
            continue
        if not scope.account_level and site.id not in scope.site_ids:
            continue
        if site.active:
            full.add(site.id)
        elif show_inactive:
            history.add(site.id)
    return SiteAccess(
        account_level=scope.account_level, full=frozenset(full), history_only=frozenset(history)
    )
