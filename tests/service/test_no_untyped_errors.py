"""No input to any public entry point raises anything but a ``PortalAccessError``
(docs/rules.md "bad input gets a typed error"): every ``PortalAccess`` method, on every
store, and every public function and value constructor, fed hostile text (lone
surrogates, control characters, look-alikes), huge numbers and wrong types.

Background jobs run inline here, and any exception they log must be typed too.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portal_access as pa
from portal_access import PortalAccessError
from portal_access._domain.serialization import from_json, to_json
from portal_access._portal import PortalAccess
from portal_access._service.signup import KickoffForm
from portal_access.adapters import FpdfDocumentRenderer, MemoryRateLimiter
from portal_access.testing import strategies as pst
from tests.service.harness import (
    ADMIN,
    CANCEL,
    CLASS,
    CLERK,
    CLIENT,
    MONTHLY,
    SUCCESS,
    Harness,
    build,
    paid_offer,
    register,
    sign_up,
)
from tests.service.stores import store
from tests.unit.test_bad_input import _valid_examples

__all__ = ["store"]

EXAMPLES_PER_STORE = 600
EXAMPLES_PER_VALUE = 800

text = pst.hostile_text
anything = pst.hostile_values


def plausible(*values: str) -> st.SearchStrategy[str]:
    """Mostly hostile text, sometimes a value that leads somewhere."""
    return st.one_of(st.sampled_from(values), text())


IDS = ("c_000001", "a_000001", "inv_000001", "offer-1", "1001", "acc-1", "plan-monthly")
EMAILS = ("ann@example.com", "ANN@EXAMPLE.COM", "bo@example.com", "ann@\uff45xample.com")
URLS = (SUCCESS, CANCEL, "https://evil.example/", "https://portal.example@evil.example/")


def evolved(example: object) -> st.SearchStrategy[Callable[[], object]]:
    """A builder of ``example`` with one field replaced by a hostile value."""
    names = [field.name for field in attrs.fields(type(example)) if field.init]
    return st.builds(
        lambda name, value: lambda: attrs.evolve(example, **{name: value}),
        st.sampled_from(names),
        anything(),
    )


def values_of(example: object, valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values, hostile variants of ``example`` (built at call time), or garbage."""
    return st.one_of(
        valid.map(lambda v: lambda: v), evolved(example), anything().map(lambda v: lambda: v)
    )


VALID = _valid_examples()

#: For each parameter name: what to pass (a strategy of zero-argument builders).
PARAMETERS: dict[str, st.SearchStrategy[Callable[[], object]]] = {
    name: strategy.map(lambda v: lambda: v)
    for name, strategy in {
        "contact_id": plausible(*IDS),
        "account_id": plausible(*IDS),
        "offer_id": plausible(*IDS),
        "invoice_id": plausible(*IDS),
        "invoice_number": plausible("1001", "1002", " 1001 "),
        "number": plausible("1001", "1002", " 1001 "),
        "payment_id": plausible("pay_vendor0001", "pi_1"),
        "amount": st.one_of(
            st.none(), st.builds(pa.Money, st.integers(0, 10**6), st.just("USD")), anything()
        ),
        "reason": st.one_of(st.just(""), text(), anything()),
        "matter_email": st.one_of(st.none(), plausible(*EMAILS), anything()),
        "invite_recipients": st.one_of(st.booleans(), anything()),
        "code": plausible("WRONGCODE", "49418"),
        "contact_name": plausible("Ann Lee"),
        "token": plausible("A" * 43),
        "password": plausible("correct horse battery staple"),
        "current": plausible("correct horse battery staple"),
        "new": plausible("a brand new passphrase"),
        "client_key": plausible(CLIENT),
        "success_url": plausible(*URLS),
        "cancel_url": plausible(*URLS),
        "gateway": plausible("sandbox", "stripe"),
        "idempotency_key": st.one_of(st.none(), text()),
        "name": plausible("Offer"),
        "currency": st.one_of(st.none(), plausible("USD", "JPY")),
        "invoice_title": plausible("{{ offer.name }}", "{{ nope }}"),
        "invite": plausible("immediately", "later"),
        "onboarding_flow": st.one_of(st.none(), text()),
        "account_class_id": st.one_of(st.none(), plausible("residential")),
        "staff": st.one_of(st.sampled_from([ADMIN, CLERK, None]), anything()),
        "headers": st.one_of(
            st.dictionaries(text(), st.one_of(text(), st.binary(max_size=10)), max_size=3),
            anything(),
        ),
        "body": st.one_of(st.binary(max_size=200), text(), anything()),
        "since": st.one_of(pst.aware_datetimes(), anything()),
        "until": st.one_of(st.none(), pst.aware_datetimes(), anything()),
        "limit": st.one_of(st.none(), st.integers(-3, 10**20), anything()),
        "newest_first": st.one_of(st.booleans(), anything()),
        "format": st.one_of(st.sampled_from(["csv", "jsonl", *pa.AuditExportFormat]), anything()),
        "retention": st.one_of(
            st.just(pa.Retention(timedelta(days=1), timedelta(days=30))), anything()
        ),
        "to": st.one_of(st.lists(pst.email_addresses(), max_size=2), anything()),
        "topic": st.one_of(st.none(), text()),
        "callback": st.just(lambda _message: None),
        "progress": st.one_of(st.none(), st.just(lambda *_args: None)),
        "role": st.one_of(st.sampled_from(pa.ContactRole), anything()),
        "today": st.one_of(st.dates(), anything()),
        "start": st.one_of(st.dates(), anything()),
        "end": st.one_of(st.dates(), anything()),
        "quantities": st.one_of(
            st.dictionaries(
                plausible("it", "bolts"),
                st.one_of(st.integers(-5, 10**13), anything()),
                max_size=3,
            ),
            anything(),
        ),
    }.items()
} | {
    "email": st.one_of(plausible(*EMAILS), anything()).map(lambda v: lambda: v),
    "out": st.one_of(st.just(io.StringIO), anything().map(lambda v: lambda: v)),
    "form": st.builds(
        lambda first, email, last: (
            lambda: KickoffForm(first_name=first, email=email, last_name=last)
        ),
        plausible("Ann"),
        plausible(*EMAILS),
        st.one_of(st.just(""), text()),
    ),
    "one_time": values_of(VALID[pa.Charge], st.none()),
    "plan": values_of(VALID[pa.Plan], st.sampled_from([None, MONTHLY])),
    "account_class": values_of(VALID[pa.AccountClass], pst.account_classes()),
    "account": values_of(VALID[pa.Account], pst.accounts()),
    "site": values_of(
        VALID[pa.Site], pst.sites("acc-1", max_size=1).map(lambda s: s[0] if s else None)
    ),
    "contact": values_of(VALID[pa.Contact], pst.accounts().flatmap(pst.contacts)),
    "offer": values_of(VALID[pa.Offer], pst.offers()),
    "item": values_of(VALID[pa.CatalogItem], st.just(VALID[pa.CatalogItem])),
    "document": values_of(
        VALID[pa.DocumentRef],
        st.sampled_from(
            [
                pa.DocumentRef(pa.DocumentKind.INVOICE, "inv_000001"),
                pa.DocumentRef(pa.DocumentKind.STATEMENT, "a_000001"),
            ]
        ),
    ),
    "documents": st.one_of(
        st.lists(
            st.sampled_from(
                [
                    pa.DocumentRef(pa.DocumentKind.INVOICE, "inv_000001"),
                    pa.DocumentRef(pa.DocumentKind.STATEMENT, "a_000001"),
                ]
            ),
            max_size=3,
        ),
        st.lists(anything(), max_size=2),
        anything(),
    ).map(lambda v: lambda: v),
}

#: Per method, parameters whose meaning differs from the shared name.
OVERRIDES: dict[str, dict[str, st.SearchStrategy[Callable[[], object]]]] = {
    "send_invoice_email": {
        "email": st.builds(
            lambda to, cc: lambda: pa.InvoiceEmail.compose(to, cc=cc, invite_recipients=True),
            plausible(*EMAILS),
            st.one_of(st.just(""), text()),
        )
    },
    "save_invoice": {"invoice": st.deferred(lambda: INVOICES)},
    "map_ledger_account": {
        "account": values_of(VALID[pa.LedgerAccount], st.just(VALID[pa.LedgerAccount]))
    },
}


def _invoice(title: object, amount: object, number: object) -> Callable[[], object]:
    """A builder of one of the host's invoices with hostile title, amount and number."""

    def make() -> object:
        line = pa.InvoiceLine("Service", pa.Money(amount, "USD"))  # type: ignore[arg-type]
        return pa.Invoice(
            id="inv-h",
            number=number,  # type: ignore[arg-type]
            account_id="acc-1",
            title=title,  # type: ignore[arg-type]
            currency="USD",
            lines=(line,),
            issued_on=date(2026, 3, 1),
            due_on=date(2026, 3, 31),
            quick_pay_code="QPCODE01",
        )

    return make


INVOICES = st.builds(
    _invoice,
    plausible("Invoice"),
    st.one_of(st.integers(0, 10**6), st.sampled_from([10**4301, 10**19, -5]), anything()),
    plausible("1001", "2002"),
)

METHODS = sorted(
    name
    for name, member in inspect.getmembers(PortalAccess, inspect.isfunction)
    if not name.startswith("_")
)


def test_every_method_has_a_strategy_for_every_parameter():
    """The property below covers every public method: a new parameter needs a strategy."""
    missing = {
        f"{name}({parameter})"
        for name in METHODS
        for parameter in list(inspect.signature(getattr(PortalAccess, name)).parameters)[1:]
        if parameter not in OVERRIDES.get(name, {}) and parameter not in PARAMETERS
    }
    assert missing == set()


class UntypedLog(logging.Handler):
    """Keeps every exception a background job or a delivery logged."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.found.append(record.exc_info[1])


def lived_in(store) -> Harness:
    """A portal with a class that self-registers, an offer, a registered contact."""
    harness = build(
        store=store,
        system=pa.SystemPortalOptions(request_login_button=True, pay_as_guest=True),
        limit=10**9,
    )
    harness.portal.save_account_class(attrs.evolve(CLASS, invoice_verified_self_registration=True))
    paid_offer(harness)
    sign_up(harness)
    register(harness)
    harness.portal._context.document_link_key = bytes(range(32))
    harness.portal._context.renderer = FpdfDocumentRenderer()
    return harness


@settings(
    max_examples=EXAMPLES_PER_STORE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_to_any_portal_method_raises_an_untyped_error(store, data):
    """Every PortalAccess method, hostile arguments, any store: only PortalAccessError."""
    harness = _portals.get(id(store)) or _portals.setdefault(id(store), lived_in(store))
    method = data.draw(st.sampled_from(METHODS), label="method")
    strategies = PARAMETERS | OVERRIDES.get(method, {})
    parameters = list(inspect.signature(getattr(PortalAccess, method)).parameters)[1:]
    builders = {name: data.draw(strategies[name], label=name) for name in parameters}
    untyped = UntypedLog()
    logger = logging.getLogger("portal_access")
    logger.addHandler(untyped)
    try:
        arguments = {name: build() for name, build in builders.items()}
        getattr(harness.portal, method)(**arguments)
    except PortalAccessError:
        pass
    finally:
        logger.removeHandler(untyped)
    assert [error for error in untyped.found if not isinstance(error, PortalAccessError)] == []


_portals: dict[int, Harness] = {}


@pytest.fixture(autouse=True)
def _forget_portals():
    yield
    _portals.clear()


FUNCTIONS: dict[str, Callable[..., object]] = {
    "Money.parse": pa.Money.parse,
    "Money": pa.Money,
    "EmailAddress.parse": pa.EmailAddress.parse,
    "parse_recipients": pa.parse_recipients,
    "InvoiceEmail.compose": pa.InvoiceEmail.compose,
    "PlaceholderTemplate.compile": pa.PlaceholderTemplate.compile,
    "SelfRegistrationRequest.from_form": pa.SelfRegistrationRequest.from_form,
    "KickoffForm": KickoffForm,
    "decide": pa.decide,
    "onboarding_due": pa.onboarding_due,
    "age_invoices": lambda invoices, as_of, currency: pa.age_invoices(
        invoices, as_of=as_of, currency=currency
    ),
    "MemoryRateLimiter": lambda limit, window, keys: MemoryRateLimiter(
        limit=limit, window=window, max_keys=keys
    ),
    "Offer": lambda name, invite, gateway: pa.Offer(id="o-h", name=name, invite=invite),
}


@settings(max_examples=EXAMPLES_PER_VALUE, deadline=None)
@given(
    name=st.sampled_from(sorted(FUNCTIONS)),
    arguments=st.lists(st.one_of(anything(), st.sampled_from(EMAILS)), min_size=1, max_size=4),
)
def test_no_input_to_a_public_function_raises_an_untyped_error(name, arguments):
    """Public functions and parsers, hostile positional arguments: only PortalAccessError."""
    function = FUNCTIONS[name]
    parameters = inspect.signature(function).parameters
    needed = [
        p
        for p in parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    given_arguments = (arguments * 4)[: len(needed)]
    with contextlib.suppress(PortalAccessError):
        function(*given_arguments)


@settings(max_examples=EXAMPLES_PER_VALUE, deadline=None)
@given(
    kind=st.sampled_from(sorted(VALID, key=lambda cls: cls.__name__)),
    data=st.data(),
)
def test_no_value_built_from_hostile_fields_breaks_its_json(kind, data):
    """Every public value with one hostile field: refused with a PortalAccessError, or
    stored and read back as JSON without any other error."""
    example = VALID[kind]
    try:
        value = data.draw(evolved(example), label="build")()
    except PortalAccessError:
        return
    assert from_json(to_json(value), kind) == value
