"""Untyped exceptions found by attacking the public API, each now a PortalAccessError
naming its field; on every store (a NUL byte reached PostgreSQL as "the database
failed"). The property over every entry point is in ``test_no_untyped_errors.py``."""

from __future__ import annotations

import attrs
import pytest

from portal_access import (
    Contact,
    InvalidMoneyError,
    Money,
    SystemPortalOptions,
    ValidationError,
    WebhookVerificationError,
)
from portal_access._service.signup import KickoffForm
from portal_access.testing.sandbox import SandboxWebhooks
from tests.service.harness import (
    CANCEL,
    CLASS,
    CLIENT,
    SECRET,
    SUCCESS,
    account,
    build,
    paid_offer,
    sign_up,
)
from tests.service.stores import store

__all__ = ["store"]

SURROGATE = "\ud800"
OPTIONS = SystemPortalOptions(request_login_button=True, pay_as_guest=True)


def portal_for(store):
    harness = build(store=store, system=OPTIONS)
    harness.portal.save_account_class(attrs.evolve(CLASS, invoice_verified_self_registration=True))
    harness.portal.save_account(account())
    paid_offer(harness)
    sign_up(harness)
    return harness


@pytest.mark.parametrize("field", ["invoice_number", "code"])
def test_a_lone_surrogate_in_quick_pay_names_its_field(store, field):
    """Seed 001_345994b3bb014aeb.txt quick pay: a surrogate was a UnicodeEncodeError."""
    harness = portal_for(store)
    form = {"invoice_number": "1001", "code": "CODE"} | {field: f"A{SURROGATE}"}
    with pytest.raises(ValidationError) as caught:
        harness.portal.quick_pay(**form, success_url=SUCCESS, cancel_url=CANCEL, client_key=CLIENT)
    assert caught.value.field == field


@pytest.mark.parametrize("field", ["invoice_number", "code", "contact_name", "email"])
def test_a_lone_surrogate_in_self_registration_names_its_field(store, field):
    """Seed 001_345994b3bb014aeb.txt self-registration: every field refuses surrogates."""
    harness = portal_for(store)
    form = {
        "invoice_number": "1001",
        "code": "CODE",
        "contact_name": "Ann Lee",
        "email": "ann@example.com",
    } | {field: f"a{SURROGATE}"}
    with pytest.raises(ValidationError) as caught:
        harness.portal.self_register(**form, client_key=CLIENT)
    assert caught.value.field == field


@pytest.mark.parametrize("call", ["check_access", "account_summary"])
def test_a_lone_surrogate_in_a_contact_id_names_the_field(store, call):
    """The hot path and the summary refuse an id no store can encode."""
    harness = portal_for(store)
    with pytest.raises(ValidationError) as caught:
        getattr(harness.portal, call)(f"c{SURROGATE}")
    assert caught.value.field == "contact_id"


def test_a_str_body_or_bytes_header_values_fail_verification(store):
    """The webhook endpoint takes the raw bytes and str headers; anything else is refused."""
    harness = portal_for(store)
    headers, body = SandboxWebhooks(secret=SECRET, clock=harness.clock).unknown(event_id="evt_1")
    assert harness.portal.handle_webhook("sandbox", headers, body).outcome.startswith("ignored")
    with pytest.raises(WebhookVerificationError) as caught:
        harness.portal.handle_webhook("sandbox", headers, body.decode())  # type: ignore[arg-type]
    assert caught.value.reason == "body"
    as_bytes = {name.encode(): value.encode() for name, value in headers.items()}
    with pytest.raises(WebhookVerificationError) as caught:
        harness.portal.handle_webhook("sandbox", as_bytes, body)  # type: ignore[arg-type]
    assert caught.value.reason == "header"


def test_a_frameworks_multi_dict_of_headers_is_read_by_its_items(store):
    """Werkzeug's ``request.headers`` (no ``Mapping``) verifies; a repeated header's values are comma-joined, never half-read."""
    werkzeug = pytest.importorskip("werkzeug.datastructures")
    harness = portal_for(store)
    headers, body = SandboxWebhooks(secret=SECRET, clock=harness.clock).unknown(event_id="evt_1")
    received = werkzeug.Headers(list(headers.items()))
    assert harness.portal.handle_webhook("sandbox", received, body).outcome.startswith("ignored")
    received.add("Sandbox-Signature", headers["Sandbox-Signature"])  # twice: "v, v" is none
    with pytest.raises(WebhookVerificationError):
        harness.portal.handle_webhook("sandbox", received, body)
    for garbage in ([("a", "b")], 5, {"a": None}):
        with pytest.raises(WebhookVerificationError) as caught:
            harness.portal.handle_webhook("sandbox", garbage, body)  # type: ignore[arg-type]
        assert caught.value.reason == "header"


def test_an_amount_past_64_bits_is_refused_before_it_is_saved(store):
    """An amount over 4,300 digits was a bare ValueError in save_invoice."""
    with pytest.raises(InvalidMoneyError) as caught:
        Money(10**4301, "USD")
    assert caught.value.field == "amount"


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_a_nul_byte_in_a_name_is_refused_before_any_store(store, field):
    """A NUL reached PostgreSQL as "the database failed"; now the field is named, everywhere."""
    harness = portal_for(store)
    with pytest.raises(ValidationError) as caught:
        harness.portal.submit_kickoff_form(
            "offer-1",
            KickoffForm(**{"first_name": "Ann", "email": "nul@example.com", field: "A\x00n"}),
        )
    assert caught.value.field == field
    with pytest.raises(ValidationError) as caught:
        harness.portal.create_contact(
            Contact(id="c-nul", account_id="acc-1", **{"first_name": "Ann", field: "A\x00n"})
        )
    assert caught.value.field == field
