"""How many access decisions per second ``decide()`` makes for a contact with 50 sites.

Run: ``.venv/bin/python benchmarks/decide.py``. Prints decisions per second for a
contact whose required invoice is open (PAY_INVOICE_ONLY) and, for comparison, for the
same contact once paid (FULL: the 50 sites are resolved and capabilities computed).
No timings live in the tests; this script is where speed is measured.
"""

from __future__ import annotations

import timeit
from datetime import UTC, datetime

from portal_access import (
    AccessState,
    AccountClass,
    ContactRole,
    InactiveSiteVisibility,
    Money,
    PaymentMethodKind,
    PaymentSnapshot,
    PaymentStatus,
    PortalPolicy,
    RequiredPayment,
    Site,
    SiteScope,
    decide,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def contact_with_50_sites(paid: bool) -> AccessState:
    sites = tuple(
        Site(id=f"s-{n}", account_id="a-1", name=f"Site {n}", active=n % 10 != 0) for n in range(50)
    )
    requirement = RequiredPayment(
        invoice_id="inv-1", amount_due=Money(29900, "USD"), gateway="stripe"
    )
    if paid:
        requirement = requirement.observe_payment(
            PaymentSnapshot(
                payment_id="pi_1",
                invoice_id="inv-1",
                method=PaymentMethodKind.CARD,
                status=PaymentStatus.SUCCEEDED,
                amount=Money(29900, "USD"),
                version=1,
            )
        )
    return AccessState(
        contact_id="c-1",
        account_id="a-1",
        role=ContactRole.CLIENT,
        registered=True,
        account_class=AccountClass(
            id="k", name="K", inactive_sites=InactiveSiteVisibility.SERVICE_HISTORY_ONLY
        ),
        sites=sites,
        scope=SiteScope.only(*(f"s-{n}" for n in range(0, 50, 2))),
        requirement=requirement,
    )


def per_second(state: AccessState, policy: PortalPolicy) -> float:
    timer = timeit.Timer(lambda: decide(state, policy, NOW))
    number, _ = timer.autorange()
    best = min(timer.repeat(repeat=5, number=number))
    return number / best


def main() -> None:
    policy = PortalPolicy()
    open_invoice = per_second(contact_with_50_sites(paid=False), policy)
    paid = per_second(contact_with_50_sites(paid=True), policy)
    print(
        f"decide(), 50 sites, open invoice (PAY_INVOICE_ONLY): {open_invoice:>10,.0f} decisions/s"
    )
    print(f"decide(), 50 sites, paid (FULL, sites resolved):      {paid:>10,.0f} decisions/s")


if __name__ == "__main__":
    main()
