"""Seed 000's ACH story end to end: PortalAccess, StripeGateway, the real SDK, a fake
Stripe API on 127.0.0.1, and Stripe-signed webhooks."""

from __future__ import annotations

import random
from collections.abc import Iterator

import attrs
import pytest

from portal_access import AccessLevel, AccessReason, AchPolicy, InvoiceStatus, PaymentMethodKind
from portal_access._commands.reconcile import main as reconcile_main
from portal_access._portal import PortalAccess
from portal_access.adapters._clock import ManualClock
from portal_access.gateways.stripe import StripeGateway
from portal_access.repositories import unit_of_work
from portal_access.testing.stripe import FakeStripeApi, StripeWebhooks
from tests.service.harness import (
    CANCEL,
    START,
    SUCCESS,
    WHILE_PROCESSING,
    Harness,
    portal_with,
    register,
    sign_up,
)
from tests.stripe_shapes import assert_stripe_shaped

SECRET = "whsec_e2e"
Delivery = tuple[dict[str, str], bytes]
CURRENT: dict[str, PortalAccess] = {}  # what the reconcile command's --app finds


def current_portal() -> PortalAccess:
    """The --app target of the command test."""
    return CURRENT["portal"]


@attrs.define
class Story:
    """A portal on Stripe (the local API), and the deliveries of seed 000's payer's actions."""

    harness: Harness
    api: FakeStripeApi
    webhooks: StripeWebhooks
    contact_id: str = ""

    @property
    def portal(self) -> PortalAccess:
        return self.harness.portal

    def deliver(self, deliveries: list[Delivery]) -> list[str]:
        """Hand each delivery to the host's endpoint, signed anew (Stripe signs each attempt)."""
        return [
            self.portal.handle_webhook("stripe", self.webhooks.sign(body), body).outcome
            for _headers, body in deliveries
        ]

    def level(self) -> tuple[AccessLevel, AccessReason]:
        decision = self.portal.check_access(self.contact_id)
        return decision.level, decision.reason

    def pay_by_bank(self) -> tuple[str, list[Delivery]]:
        """The payer completes the hosted page with ACH: the first invoice starts processing."""
        page = self.portal.start_checkout(self.contact_id, success_url=SUCCESS, cancel_url=CANCEL)
        intent = self.api.pay(page.session_id, method=PaymentMethodKind.BANK_ACCOUNT)
        return intent, self.sent()

    def bank_settles(self, intent: str, *, cleared: bool) -> list[Delivery]:
        """Days later the bank clears (or returns) the debit."""
        self.harness.advance(days=4)
        self.api.settle_ach(intent, cleared=cleared)
        return self.sent()

    def sent(self) -> list[Delivery]:
        """What Stripe sent since the last call (taken off its queue)."""
        deliveries = list(self.api.pending_deliveries())
        self.api.deliver(lambda headers, body: None)
        return deliveries


@pytest.fixture
def api() -> Iterator[FakeStripeApi]:
    clock = ManualClock(START)
    with FakeStripeApi(clock=clock) as fake:
        yield fake
    assert_stripe_shaped(fake)


def story(api: FakeStripeApi, ach: AchPolicy) -> Story:
    clock = api.clock
    assert isinstance(clock, ManualClock)
    gateway = StripeGateway(api_key="sk_test_e2e", webhook_secret=SECRET, clock=clock,
                            api_base=api.url, max_network_retries=0)  # fmt: skip
    harness = portal_with([gateway], clock=clock, offer_gateway="stripe", ach=ach)
    sign_up(harness)
    result = Story(harness, api, StripeWebhooks(secret=SECRET, clock=clock, api=api))
    result.contact_id = register(harness)
    return result


@pytest.mark.parametrize("policy", list(AchPolicy))
def test_ach_processing_then_cleared(api, policy):
    """Seed 000_07c53b15302458c1.txt: ACH grants on initiation or on clearing, per the setting."""
    s = story(api, policy)
    intent, started = s.pay_by_bank()
    outcomes = s.deliver(started)  # the subscription and the session count; the rest is noted
    assert [o for o in outcomes if not o.startswith("ignored")] == ["applied", "applied"]
    assert s.level() == WHILE_PROCESSING[policy]
    assert s.harness.topics("onboarding.due") == []  # onboarding waits for the money
    s.deliver(s.bank_settles(intent, cleared=True))
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    assert len(s.harness.topics("onboarding.due")) == 1
    assert len(s.harness.topics("invoice.paid")) == 1


@pytest.mark.parametrize("policy", list(AchPolicy))
def test_ach_processing_then_failed(api, policy):
    """Seed 000_07c53b15302458c1.txt: a failed ACH payment leaves pay-invoice-only and the invoice open."""
    s = story(api, policy)
    intent, started = s.pay_by_bank()
    s.deliver(started)
    s.deliver(s.bank_settles(intent, cleared=False))
    assert s.level() == (AccessLevel.PAY_INVOICE_ONLY, AccessReason.PAYMENT_FAILED)
    invoice_id = s.portal.check_access(s.contact_id).required_invoice_id
    with unit_of_work(s.harness.store) as uow:
        assert uow.invoices.get(invoice_id).status is InvoiceStatus.OPEN  # type: ignore[union-attr]
    assert s.harness.topics("onboarding.due") == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duplicated_and_reordered_deliveries_onboard_once(api, seed):
    """docs/rules.md: every delivery twice, shuffled: the same end state, one onboarding event."""
    s = story(api, AchPolicy.GRANT_ON_CLEARING)
    intent, started = s.pay_by_bank()
    deliveries = (started + s.bank_settles(intent, cleared=True)) * 2
    random.Random(seed).shuffle(deliveries)
    outcomes = s.deliver(deliveries)
    assert outcomes.count("duplicate") == len(deliveries) // 2
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    assert len(s.harness.topics("onboarding.due")) == 1


def test_reconcile_repairs_missed_webhooks(api, capsys):
    """Missed settlement webhooks are repaired from /v1/events by the reconcile command."""
    s = story(api, AchPolicy.GRANT_ON_CLEARING)
    intent, started = s.pay_by_bank()
    s.deliver(started)
    s.bank_settles(intent, cleared=True)  # Stripe sent them; the host never got them
    assert s.level()[0] is AccessLevel.PAY_INVOICE_ONLY
    CURRENT["portal"] = s.portal
    since = START.isoformat().replace("+00:00", "Z")
    argv = ["--gateway", "stripe", "--since", since, "--app", f"{__name__}:current_portal"]
    assert reconcile_main(argv) == 0
    out, err = capsys.readouterr()
    assert "10 events done 2 repaired" in err  # piped: plain lines, no bar
    assert "seen:       10" in out
    assert "repaired:   2" in out  # invoice.paid, customer.subscription.updated
    assert "duplicates: 5" in out  # what the host was sent at the start
    assert "1 x payment_intent.succeeded is not acted on" in out  # an invoice's: no metadata
    assert "1 x stale snapshot of payment in_test_0001" in out  # the session said it too
    assert s.level() == (AccessLevel.FULL, AccessReason.PAID)
    assert len(s.harness.topics("onboarding.due")) == 1
    assert reconcile_main(argv) == 0  # a second run repairs nothing
    assert "repaired:   0" in capsys.readouterr().out


def test_reconcile_command_refuses_bad_arguments(capsys):
    """A naive --since or a wrong --app is exit status 2 with the reason."""
    assert (
        reconcile_main(["--gateway", "stripe", "--since", "2026-01-01T00:00:00", "--app", "x:y"])
        == 2
    )
    assert "no UTC offset" in capsys.readouterr().err
    assert (
        reconcile_main(
            ["--gateway", "stripe", "--since", "2026-01-01Z", "--app", "portal_access:__name__"]
        )
        == 2
    )
