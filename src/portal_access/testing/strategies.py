"""Hypothesis strategies for every public domain value, for property-testing host rules.

>>> from hypothesis import given
>>> @given(money())
... def test_money_is_never_negative(amount):
...     assert amount.amount >= 0
>>> test_money_is_never_negative()

Each strategy builds *valid* values (they pass the constructors' validation); the
arguments narrow them (``money(currency="JPY")``, ``contacts(account=...)``).
``gateway_reports`` builds what matters most for webhooks: the reports a gateway
sends about one required payment, with duplicates and in any order.

``hostile_text`` and ``hostile_values`` are the opposite: what an attacker types (lone
surrogates, control characters, look-alike letters, huge numbers, huge text), for the
property every public entry point keeps: bad input raises a ``PortalAccessError``,
never anything else.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        'portal_access.testing needs hypothesis: pip install "portal-access[testing]"'
    ) from exc

from portal_access._domain.access import AccessState, PortalPolicy
from portal_access._domain.accounts import (
    Account,
    AccountClass,
    InactiveSiteVisibility,
    Site,
    SystemPortalOptions,
)
from portal_access._domain.billing import BillingInterval, Charge, IntervalUnit, Plan
from portal_access._domain.contacts import (
    GATEWAY_NAMES,
    Contact,
    ContactPortalSettings,
    ContactRole,
    SiteScope,
)
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.money import CURRENCY_EXPONENTS, Money
from portal_access._domain.offers import InviteTiming, Offer, PaidAccess
from portal_access._domain.payments import (
    AchPolicy,
    PaymentMethodKind,
    PaymentSnapshot,
    PaymentStatus,
)
from portal_access._domain.requirement import RequiredPayment
from portal_access._domain.subscriptions import SubscriptionSnapshot, SubscriptionStatus

__all__ = [
    "HOSTILE_SAMPLES",
    "access_states",
    "account_classes",
    "accounts",
    "aware_datetimes",
    "contacts",
    "currencies",
    "email_addresses",
    "gateway_reports",
    "hostile_text",
    "hostile_values",
    "identifiers",
    "money",
    "offers",
    "plans",
    "policies",
    "required_payments",
    "sites",
]

_ALNUM = string.ascii_lowercase + string.digits

#: Hand-picked attacks every text input meets besides random text: a lone surrogate, NUL,
#: header injection, invisible and look-alike characters, an exponent and an underscore
#: in a number, other scripts' digits, a URL with user info, and sheer size.
HOSTILE_SAMPLES: tuple[str, ...] = (
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "\x00",
    "ann\x00@example.com",
    "x\r\nBcc: victim@example.com",
    "ann\u200b@example.com",
    "ann@exam\u00adple.com",
    "ann@\uff45xample.com",
    "9e999998",
    "1_000",
    "\u0661\u0662",
    "-1",
    "NaN",
    "https://portal.example@evil.example/",
    "../../etc/passwd",
    "{{ contact.first_name }}",
    "\U0010ffff",
    "x" * 5_000,
    "9" * 5_000,
)


def hostile_text() -> st.SearchStrategy[str]:
    """Text an attacker sends: any code point (lone surrogates and controls included),
    the :data:`HOSTILE_SAMPLES`, and long runs."""
    anything = st.characters(codec=None, exclude_categories=())
    return st.one_of(
        st.sampled_from(HOSTILE_SAMPLES),
        st.text(anything, max_size=40),
        st.text(st.sampled_from("\x00\ud800\r\n\u200b\u00ad\uff41@.9e_-"), max_size=20),
        st.builds(lambda c, n: c * n, st.characters(codec=None), st.integers(256, 6_000)),
    )


def hostile_values() -> st.SearchStrategy[object]:
    """Anything at all where a value is expected: hostile text, huge and negative
    numbers, floats, bytes, ``None``, containers."""
    huge = st.sampled_from([10**4301, -(10**4301), 2**63, -(2**63) - 1, 10**18])
    scalars = st.one_of(
        hostile_text(),
        huge,
        st.integers(),
        st.floats(),
        st.binary(max_size=20),
        st.none(),
        st.booleans(),
    )
    return st.one_of(
        scalars, st.lists(scalars, max_size=3), st.dictionaries(hostile_text(), scalars, max_size=3)
    )


def identifiers(prefix: str = "") -> st.SearchStrategy[str]:
    """Ids such as ``"c-3f9a"``."""
    return st.text(_ALNUM, min_size=1, max_size=8).map(lambda tail: f"{prefix}{tail}")


def currencies() -> st.SearchStrategy[str]:
    """Any ISO 4217 code we know, with a bias towards the interesting exponents."""
    return st.one_of(
        st.sampled_from(["USD", "JPY", "KWD", "CLF"]), st.sampled_from(sorted(CURRENCY_EXPONENTS))
    )


def money(
    currency: str | None = None, *, min_amount: int = 0, max_amount: int = 10**12
) -> st.SearchStrategy[Money]:
    """Amounts in ``currency`` (any currency when ``None``)."""
    codes = st.just(currency) if currency is not None else currencies()
    return st.builds(Money, st.integers(min_amount, max_amount), codes)


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """UTC datetimes between 2000 and 2100."""
    return st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    )


def email_addresses() -> st.SearchStrategy[EmailAddress]:
    """Plain valid addresses, in mixed case."""
    local = st.text(string.ascii_letters + string.digits + "._+-", min_size=1, max_size=12).filter(
        lambda text: not text.startswith(".") and not text.endswith(".") and ".." not in text
    )
    host = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
    tld = st.sampled_from(["com", "org", "net", "io", "example"])
    return st.builds(lambda a, b, c: EmailAddress.parse(f"{a}@{b}.{c}"), local, host, tld)


def account_classes() -> st.SearchStrategy[AccountClass]:
    """Account classes with every portal option drawn at random."""
    return st.builds(
        AccountClass,
        id=identifiers("k-"),
        name=st.just("Class"),
        portal_enabled=st.booleans(),
        auto_invite_on_contact_creation=st.booleans(),
        invoice_verified_self_registration=st.booleans(),
        add_sites=st.booleans(),
        on_call_orders=st.booleans(),
        reports=st.booleans(),
        inactive_sites=st.sampled_from(InactiveSiteVisibility),
        work_order_photos=st.booleans(),
        work_order_attachments=st.booleans(),
    )


def accounts(account_class: AccountClass | None = None) -> st.SearchStrategy[Account]:
    """Accounts, active or not."""
    classes = st.just(account_class) if account_class is not None else account_classes()
    return st.builds(
        Account,
        id=identifiers("a-"),
        number=st.text(string.digits, min_size=3, max_size=8),
        name=st.just("Account"),
        account_class=classes,
        active=st.booleans(),
    )


def sites(account_id: str, *, max_size: int = 8) -> st.SearchStrategy[tuple[Site, ...]]:
    """A tuple of distinct sites of ``account_id``, some inactive."""
    return st.lists(
        st.tuples(identifiers("s-"), st.booleans()),
        max_size=max_size,
        unique_by=lambda pair: pair[0],
    ).map(
        lambda pairs: tuple(
            Site(id=site_id, account_id=account_id, name=site_id, active=active)
            for site_id, active in pairs
        )
    )


def _scopes(site_list: Sequence[Site]) -> st.SearchStrategy[SiteScope]:
    ids = [site.id for site in site_list]
    listed = st.lists(st.sampled_from(ids), unique=True) if ids else st.just([])
    foreign = st.lists(identifiers("x-"), max_size=2)  # sites of other accounts sneak in
    return st.one_of(
        st.just(SiteScope.all_sites()),
        st.builds(lambda own, other: SiteScope.only(*own, *other), listed, foreign),
    )


def contacts(
    account: Account | None = None, site_list: Sequence[Site] = ()
) -> st.SearchStrategy[Contact]:
    """Contacts of ``account`` (a drawn one when ``None``), scoped over ``site_list``."""
    account_ids = st.just(account.id) if account is not None else identifiers("a-")
    return st.builds(
        Contact,
        id=identifiers("c-"),
        account_id=account_ids,
        first_name=st.sampled_from(["Ann", "Bo", "Chen", "Dara", "Émile"]),
        last_name=st.sampled_from(["", "Lee", "O'Neil", "Nakamura"]),
        email=st.one_of(st.none(), email_addresses()),
        role=st.sampled_from(ContactRole),
        scope=_scopes(site_list),
        portal=st.builds(
            ContactPortalSettings,
            enabled=st.booleans(),
            allowed_gateways=st.one_of(
                st.none(), st.frozensets(st.sampled_from(sorted(GATEWAY_NAMES)))
            ),
            can_save_payment_method=st.booleans(),
            catalog_access=st.booleans(),
        ),
    )


def plans(currency: str | None = None) -> st.SearchStrategy[Plan]:
    """Subscription plans with a positive amount."""
    return st.builds(
        Plan,
        id=identifiers("p-"),
        name=st.just("Plan"),
        amount=money(currency, min_amount=1, max_amount=10**7),
        interval=st.builds(BillingInterval, st.sampled_from(IntervalUnit), st.integers(1, 12)),
    )


@st.composite
def offers(draw: st.DrawFn, *, paid: bool | None = None) -> Offer:
    """Offers with or without paid access; currencies always agree."""
    with_payment = draw(st.booleans()) if paid is None else paid
    if not with_payment:
        return Offer(
            id=draw(identifiers("o-")), name="Offer", role=draw(st.sampled_from(ContactRole))
        )
    currency = draw(currencies())
    one_time = draw(
        st.one_of(st.none(), st.builds(Charge, st.just("Setup"), money(currency, min_amount=1)))
    )
    plan = draw(plans(currency) if one_time is None else st.one_of(st.none(), plans(currency)))
    access = PaidAccess(
        gateway=draw(st.sampled_from(sorted(GATEWAY_NAMES))),
        currency=currency,
        invoice_title='Welcome, {{ contact.first_name | default:"there" }}',
        one_time=one_time,
        plan=plan,
    )
    return Offer(
        id=draw(identifiers("o-")),
        name="Offer",
        paid_access=access,
        invite=draw(st.sampled_from(InviteTiming)),
        onboarding_flow=draw(st.one_of(st.none(), st.just("welcome-flow"))),
    )


def required_payments(currency: str = "USD") -> st.SearchStrategy[RequiredPayment]:
    """Fresh (nothing reported yet) requirements, with or without a tied plan."""
    return st.builds(
        RequiredPayment,
        invoice_id=identifiers("inv-"),
        amount_due=money(currency, min_amount=1, max_amount=10**6),
        gateway=st.sampled_from(sorted(GATEWAY_NAMES)),
        plan_id=st.one_of(st.none(), st.just("p-1")),
    )


_PAYMENT_STORIES: tuple[tuple[PaymentMethodKind, tuple[PaymentStatus, ...]], ...] = (
    (PaymentMethodKind.CARD, (PaymentStatus.SUCCEEDED,)),
    (PaymentMethodKind.CARD, (PaymentStatus.FAILED,)),
    (PaymentMethodKind.CARD, (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)),
    (PaymentMethodKind.CARD, (PaymentStatus.SUCCEEDED, PaymentStatus.DISPUTED)),
    (PaymentMethodKind.BANK_ACCOUNT, (PaymentStatus.PROCESSING,)),
    (PaymentMethodKind.BANK_ACCOUNT, (PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED)),
    (PaymentMethodKind.BANK_ACCOUNT, (PaymentStatus.PROCESSING, PaymentStatus.FAILED)),
    (
        PaymentMethodKind.BANK_ACCOUNT,
        (PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED),
    ),
)

_SUBSCRIPTION_STORIES: tuple[tuple[SubscriptionStatus, ...], ...] = (
    (SubscriptionStatus.ACTIVE,),
    (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE),
    (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.ACTIVE),
    (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.CANCELED),
    (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID),
)


@st.composite
def gateway_reports(
    draw: st.DrawFn, requirement: RequiredPayment, *, shuffled: bool = True
) -> list[PaymentSnapshot | SubscriptionSnapshot]:
    """Reports a gateway could send about ``requirement``: payment and subscription
    stories with rising versions, then (``shuffled``) duplicated and put in any order.

    Applying them in version order and in the drawn order must give the same state.
    """
    version = 0
    reports: list[PaymentSnapshot | SubscriptionSnapshot] = []
    for index in range(draw(st.integers(0, 3))):
        method, story = draw(st.sampled_from(_PAYMENT_STORIES))
        amount = draw(
            st.sampled_from([requirement.amount_due, Money(1, requirement.amount_due.currency)])
        )
        for status in story:
            version += draw(st.integers(0, 2))  # 0: two reports in the same second
            reports.append(
                PaymentSnapshot(
                    payment_id=f"pay-{index}",
                    invoice_id=requirement.invoice_id,
                    method=method,
                    status=status,
                    amount=amount,
                    version=version,
                    gateway=requirement.gateway,
                )
            )
    if requirement.plan_id is not None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for index in range(draw(st.integers(0, 2))):
            for sub_status in draw(st.sampled_from(_SUBSCRIPTION_STORIES)):
                version += draw(st.integers(1, 2))
                arrears = sub_status is not SubscriptionStatus.ACTIVE
                failed = start + timedelta(days=30 * (index + 1)) if arrears else None
                reports.append(
                    SubscriptionSnapshot(
                        subscription_id=f"sub-{index}",
                        plan_id=requirement.plan_id,
                        status=sub_status,
                        version=version,
                        created=index,
                        renewal_failed_at=failed,
                        gateway=requirement.gateway,
                    )
                )
    if shuffled and reports:
        reports.extend(draw(st.lists(st.sampled_from(reports), max_size=len(reports))))
        reports = draw(st.permutations(reports))
    return reports


def policies() -> st.SearchStrategy[PortalPolicy]:
    """Host policies: either ACH rule, a grace period or none, refund/dispute rules."""
    return st.builds(
        PortalPolicy,
        ach=st.sampled_from(AchPolicy),
        renewal_grace=st.sampled_from([timedelta(0), timedelta(days=3)]),
        revoke_on_refund=st.booleans(),
        revoke_on_dispute=st.booleans(),
        gateways=st.one_of(st.none(), st.frozensets(st.sampled_from(sorted(GATEWAY_NAMES)))),
        system=st.builds(
            SystemPortalOptions,
            display_service_history=st.booleans(),
            display_aging_buckets=st.booleans(),
            pay_as_guest=st.booleans(),
        ),
    )


@st.composite
def access_states(draw: st.DrawFn) -> AccessState:
    """Whole per-contact access states: an account with sites, a contact, a requirement
    with a random history of gateway reports applied."""
    account = draw(accounts())
    site_list = draw(sites(account.id))
    contact = draw(contacts(account, site_list))
    requirement = draw(st.one_of(st.none(), required_payments(draw(currencies()))))
    if requirement is not None:
        for report in draw(gateway_reports(requirement)):
            if isinstance(report, PaymentSnapshot):
                requirement = requirement.observe_payment(report)
            else:
                requirement = requirement.observe_subscription(report)
        if draw(st.integers(0, 9)) == 0:
            requirement = requirement.waive()
    return AccessState(
        contact_id=contact.id,
        account_id=account.id,
        role=contact.role,
        registered=draw(st.booleans()),
        account_class=account.account_class,
        sites=site_list,
        scope=contact.scope,
        portal=contact.portal,
        requirement=requirement,
        onboarding_flow=draw(st.one_of(st.none(), st.just("welcome-flow"))),
        onboarding_started=draw(st.booleans()),
    )
