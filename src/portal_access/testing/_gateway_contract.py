"""The gateway contract suite: what every :class:`~portal_access.ports.PaymentGateway`
must do, runnable against your own gateway.

Inherit :class:`GatewayContract` in a test class and provide two fixtures: ``gateway``
(the gateway under test) and ``webhooks`` (a :class:`WebhookFactory` that builds
vendor-shaped, correctly signed deliveries for it)::

    import pytest
    from portal_access.gateways.sandbox import SandboxGateway
    from portal_access.testing import GatewayContract
    from portal_access.testing.sandbox import SandboxVendor, SandboxWebhooks

    class TestSandboxGateway(GatewayContract):
        @pytest.fixture
        def gateway(self, clock):
            vendor = SandboxVendor(webhook_secret="whsec_test", clock=clock)
            return SandboxGateway(vendor=vendor, webhook_secret="whsec_test", clock=clock)

        @pytest.fixture
        def webhooks(self, clock):
            return SandboxWebhooks(secret="whsec_test", clock=clock)

Class attributes fit it to a vendor: ``payment_methods`` (the kinds the vendor reports;
others are skipped), ``subscription_statuses`` (the statuses it can report; others are
skipped), ``checkout_purposes`` (the purposes it has a hosted page for; any other must be
refused with a :class:`~portal_access.GatewayRejectedError`), ``malformed_header_reason``
(a scheme without a timestamp may only see a bad signature), ``currency``; override
:meth:`GatewayContract.checkout_request` to change the pages it opens. A ``stale`` that
cannot exist (no timestamp in the scheme) may call ``pytest.skip``. It needs pytest;
nothing imports it unless you do. See ``docs/gateways/adding-a-gateway.md``.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import ClassVar, Protocol

import attrs
import pytest

from portal_access._domain.billing import InvoiceLine, LineKind, Plan
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import GatewayRejectedError, WebhookVerificationError
from portal_access._domain.gateway_events import GatewayEvent
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentSnapshot, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.ports import PaymentGateway

__all__ = ["GatewayContract", "WebhookFactory"]

Delivery = tuple[dict[str, str], bytes]
CONTACT, INVOICE, PLAN = "c-contract-1", "inv-contract-1", "p-contract"
_ARREARS = {SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID, SubscriptionStatus.CANCELED}


class WebhookFactory(Protocol):
    """Builds the deliveries a gateway's vendor would send, signed as the vendor signs.

    Each scenario method returns ``(headers, body)`` for one event; ``version`` and
    ``created`` are the vendor's ordering, in whatever unit the vendor uses.
    """

    def payment(
        self,
        *,
        event_id: str,
        payment_id: str,
        invoice_id: str,
        contact_id: str,
        status: PaymentStatus,
        method: PaymentMethodKind,
        amount: Money,
        version: int,
    ) -> Delivery:
        """An event about a payment against our ``invoice_id`` (vendor metadata)."""

    def subscription(
        self,
        *,
        event_id: str,
        subscription_id: str,
        contact_id: str,
        plan_id: str,
        status: SubscriptionStatus,
        version: int,
        created: int,
        renewal_failed_at: datetime | None,
    ) -> Delivery:
        """An event about a subscription of ``contact_id`` (vendor metadata)."""

    def unknown(self, *, event_id: str) -> Delivery:
        """An event of a type the gateway does not act on."""

    def sign(self, body: bytes) -> dict[str, str]:
        """Valid signature headers for any ``body``, signed now."""

    def sign_with(self, body: bytes, secret: str) -> dict[str, str]:
        """Signature headers for ``body`` made with ``secret`` instead."""

    def stale(self, body: bytes) -> dict[str, str]:
        """Correct signature headers whose timestamp is beyond the tolerance."""


def _missing(name: str, what: str) -> str:
    return (
        f"GatewayContract needs a `{name}` fixture: override it in your test class to "
        f"return {what} (see portal_access.testing._gateway_contract)."
    )


def _ids(value: object) -> str:
    return str(getattr(value, "value", value))


class GatewayContract:
    """The contract tests; inherit and provide the ``gateway`` and ``webhooks`` fixtures."""

    payment_methods: ClassVar[frozenset[PaymentMethodKind]] = frozenset(
        {PaymentMethodKind.CARD, PaymentMethodKind.BANK_ACCOUNT}
    )
    subscription_statuses: ClassVar[frozenset[SubscriptionStatus]] = frozenset(SubscriptionStatus)
    checkout_purposes: ClassVar[frozenset[CheckoutPurpose]] = frozenset(CheckoutPurpose)
    malformed_header_reason: ClassVar[str] = "header"
    currency: ClassVar[str] = "USD"
    payment_id: ClassVar[str] = "py_contract_1"

    @pytest.fixture
    def gateway(self) -> PaymentGateway:
        """The gateway under test (abstract: override it)."""
        pytest.fail(_missing("gateway", "your PaymentGateway"), pytrace=False)

    @pytest.fixture
    def webhooks(self) -> WebhookFactory:
        """Signed deliveries for the gateway under test (abstract: override it)."""
        pytest.fail(_missing("webhooks", "a WebhookFactory for your gateway"), pytrace=False)

    def checkout_request(
        self, purpose: CheckoutPurpose, *, idempotency_key: str
    ) -> CheckoutRequest:
        """A valid request for ``purpose`` (override to suit your gateway)."""
        plan = Plan(id=PLAN, name="Portal monthly", amount=Money(4900, self.currency))
        quick_pay = CheckoutRequest(
            purpose=CheckoutPurpose.QUICK_PAY,
            currency=self.currency,
            success_url="https://portal.example/paid",
            cancel_url="https://portal.example/cancel",
            idempotency_key=idempotency_key,
            customer_email=EmailAddress.parse("ann@example.com"),
            customer_name="Ann Lee",
            invoice_id=INVOICE,
            invoice_number="1001",
            lines=(InvoiceLine("Setup fee", Money(25000, self.currency), LineKind.ONE_TIME),),
        )
        if purpose is CheckoutPurpose.QUICK_PAY:
            return quick_pay
        if purpose is CheckoutPurpose.REQUIRED_PAYMENT:
            methods = frozenset({PaymentMethodKind.CARD, PaymentMethodKind.BANK_ACCOUNT})
            return attrs.evolve(
                quick_pay, purpose=purpose, contact_id=CONTACT, plan=plan, payment_methods=methods
            )
        if purpose is CheckoutPurpose.RESUBSCRIBE:
            return attrs.evolve(
                quick_pay,
                purpose=purpose,
                contact_id=CONTACT,
                invoice_id="inv-contract-2",
                invoice_number="1002",
                lines=(),
                plan=plan,
                replaces_subscription_id="sub_contract_old",
            )
        return attrs.evolve(
            quick_pay,
            purpose=purpose,
            contact_id=CONTACT,
            invoice_id=None,
            invoice_number=None,
            lines=(),
            save_payment_method=True,
        )

    # -- helpers -------------------------------------------------------------------------

    def _payment(
        self,
        gateway: PaymentGateway,
        webhooks: WebhookFactory,
        status: PaymentStatus,
        *,
        method: PaymentMethodKind = PaymentMethodKind.CARD,
        version: int = 7,
    ) -> PaymentSnapshot:
        event = gateway.parse_webhook(*self._payment_delivery(webhooks, status, method, version))
        assert len(event.payments) == 1, event
        return event.payments[0]

    def _payment_delivery(
        self,
        webhooks: WebhookFactory,
        status: PaymentStatus = PaymentStatus.SUCCEEDED,
        method: PaymentMethodKind = PaymentMethodKind.CARD,
        version: int = 7,
    ) -> Delivery:
        return webhooks.payment(
            event_id=f"evt_contract_{version}",
            payment_id=self.payment_id,
            invoice_id=INVOICE,
            contact_id=CONTACT,
            status=status,
            method=method,
            amount=Money(29900, self.currency),
            version=version,
        )

    def _refused(self, gateway: PaymentGateway, headers: dict[str, str], body: bytes) -> str:
        with pytest.raises(WebhookVerificationError) as info:
            gateway.parse_webhook(headers, body)
        return info.value.reason

    # -- reports -------------------------------------------------------------------------

    def test_the_gateway_implements_the_protocol(self, gateway: PaymentGateway) -> None:
        """The gateway is a PaymentGateway with a non-blank name."""
        assert isinstance(gateway, PaymentGateway)
        assert gateway.name.strip()

    @pytest.mark.parametrize("method", list(PaymentMethodKind), ids=_ids)
    @pytest.mark.parametrize("status", list(PaymentStatus), ids=_ids)
    def test_payment_reports_map_to_snapshots(
        self,
        gateway: PaymentGateway,
        webhooks: WebhookFactory,
        status: PaymentStatus,
        method: PaymentMethodKind,
    ) -> None:
        """Each payment status and method maps to a snapshot of our invoice and amount."""
        if method not in self.payment_methods:
            pytest.skip(f"{method.value} is not in {type(self).__name__}.payment_methods")
        headers, body = self._payment_delivery(webhooks, status, method)
        event = gateway.parse_webhook(headers, body)
        assert (event.gateway, event.event_id, event.actionable) == (
            gateway.name,
            "evt_contract_7",
            True,
        )
        [snapshot] = event.payments
        assert snapshot.payment_id == self.payment_id
        assert snapshot.invoice_id == INVOICE
        assert (snapshot.status, snapshot.method) == (status, method)
        assert snapshot.amount == Money(29900, self.currency)
        assert snapshot.gateway == gateway.name

    def test_a_later_payment_version_supersedes_an_earlier_one(
        self, gateway: PaymentGateway, webhooks: WebhookFactory
    ) -> None:
        """The vendor's version order survives mapping, even against the lifecycle stage."""
        history = [
            PaymentStatus.PROCESSING,
            PaymentStatus.SUCCEEDED,
            PaymentStatus.DISPUTED,
            PaymentStatus.SUCCEEDED,  # dispute won: a later stage gives way to a later version
            PaymentStatus.REFUNDED,
        ]
        snapshots = [
            self._payment(gateway, webhooks, status, version=version)
            for version, status in enumerate(history, start=1)
        ]
        for earlier, later in itertools.pairwise(snapshots):
            assert later.supersedes(earlier), (earlier, later)
            assert not earlier.supersedes(later), (earlier, later)

    @pytest.mark.parametrize("status", list(SubscriptionStatus), ids=_ids)
    def test_subscription_reports_map_with_the_contact(
        self, gateway: PaymentGateway, webhooks: WebhookFactory, status: SubscriptionStatus
    ) -> None:
        """Each subscription status maps to a report for the contact in the metadata."""
        if status not in self.subscription_statuses:
            pytest.skip(f"{status.value} is not in {type(self).__name__}.subscription_statuses")
        failed_at = datetime(2026, 2, 1, tzinfo=UTC) if status in _ARREARS else None
        event = gateway.parse_webhook(
            *webhooks.subscription(
                event_id="evt_contract_sub",
                subscription_id="sub_contract_1",
                contact_id=CONTACT,
                plan_id=PLAN,
                status=status,
                version=5,
                created=1_770_000_000,
                renewal_failed_at=failed_at,
            )
        )
        assert (event.gateway, event.event_id, event.actionable) == (
            gateway.name,
            "evt_contract_sub",
            True,
        )
        [report] = event.subscriptions
        assert report.contact_id == CONTACT
        snapshot = report.snapshot
        assert (snapshot.subscription_id, snapshot.plan_id) == ("sub_contract_1", PLAN)
        assert (snapshot.status, snapshot.gateway) == (status, gateway.name)
        assert snapshot.renewal_failed_at == failed_at

    def test_later_subscriptions_and_versions_supersede_earlier_ones(
        self, gateway: PaymentGateway, webhooks: WebhookFactory
    ) -> None:
        """A later version of one subscription, and a later-created subscription, win."""

        def report(
            sub_id: str, status: SubscriptionStatus, version: int, created: int
        ) -> GatewayEvent:
            return gateway.parse_webhook(
                *webhooks.subscription(
                    event_id=f"evt_contract_{sub_id}_{version}",
                    subscription_id=sub_id,
                    contact_id=CONTACT,
                    plan_id=PLAN,
                    status=status,
                    version=version,
                    created=created,
                    renewal_failed_at=None,
                )
            )

        active = report("sub_contract_1", SubscriptionStatus.ACTIVE, 1, 1_770_000_000)
        canceled = report("sub_contract_1", SubscriptionStatus.CANCELED, 9, 1_770_000_000)
        renewed = report("sub_contract_2", SubscriptionStatus.ACTIVE, 1, 1_780_000_000)
        first, second, third = (e.subscriptions[0].snapshot for e in (active, canceled, renewed))
        assert second.supersedes(first)
        assert not first.supersedes(second)
        assert third.supersedes(second)
        assert not second.supersedes(third)

    def test_unknown_event_types_are_acknowledged_not_errors(
        self, gateway: PaymentGateway, webhooks: WebhookFactory
    ) -> None:
        """An event type the gateway does not map parses to an empty, non-actionable event."""
        event = gateway.parse_webhook(*webhooks.unknown(event_id="evt_contract_unknown"))
        assert (event.gateway, event.event_id) == (gateway.name, "evt_contract_unknown")
        assert not event.actionable

    # -- verification --------------------------------------------------------------------

    def test_a_tampered_body_fails_the_signature(
        self, gateway: PaymentGateway, webhooks: WebhookFactory
    ) -> None:
        """A body changed after signing is refused with reason "signature"."""
        headers, body = self._payment_delivery(webhooks)
        assert self._refused(gateway, headers, body + b" ") == "signature"

    def test_the_signature_is_checked_before_the_body_is_parsed(
        self, gateway: PaymentGateway, webhooks: WebhookFactory
    ) -> None:
        """A forged non-JSON body is a signature failure, never a parse failure."""
        assert self._refused(gateway, webhooks.sign(b"{}"), b"not json") == "signature"

    def test_a_wrong_secret_fails_the_signature(
        self, gateway: PaymentGateway, webhooks: WebhookFactory
    ) -> None:
        """A delivery signed with another secret is refused with reason "signature"."""
        _, body = self._payment_delivery(webhooks)
        headers = webhooks.sign_with(body, "whsec_contract_not_the_secret")
        assert self._refused(gateway, headers, body) == "signature"

    def test_a_missing_signature_header_is_refused(
        self, gateway: PaymentGateway, webhooks: WebhookFactory
    ) -> None:
        """A delivery without the signature header is refused with reason "header"."""
        _, body = self._payment_delivery(webhooks)
        assert self._refused(gateway, {}, body) == "header"
        assert self._refused(gateway, {"Content-Type": "application/json"}, body) == "header"

    def test_a_malformed_signature_header_is_refused(
        self, gateway: PaymentGateway, webhooks: WebhookFactory
    ) -> None:
        """Signature headers holding garbage are refused (reason ``malformed_header_reason``)."""
        headers, body = self._payment_delivery(webhooks)
        garbage = dict.fromkeys(headers, "garbage")
        assert self._refused(gateway, garbage, body) == self.malformed_header_reason

    def test_a_stale_timestamp_is_refused(
        self, gateway: PaymentGateway, webhooks: WebhookFactory
    ) -> None:
        """A correct signature made beyond the tolerance is refused with reason "timestamp"."""
        _, body = self._payment_delivery(webhooks)
        assert self._refused(gateway, webhooks.stale(body), body) == "timestamp"

    @pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b"[]", b'{"unexpected": true}'])
    def test_a_signed_body_that_is_not_the_vendors_json_is_refused(
        self, gateway: PaymentGateway, webhooks: WebhookFactory, body: bytes
    ) -> None:
        """A correctly signed body that is not the vendor's JSON is refused with reason "body"."""
        assert self._refused(gateway, webhooks.sign(body), body) == "body"

    def test_header_names_are_case_insensitive(
        self, gateway: PaymentGateway, webhooks: WebhookFactory
    ) -> None:
        """Signature headers are found whatever the case of their names."""
        headers, body = self._payment_delivery(webhooks)
        for spell in (str.lower, str.upper):
            event = gateway.parse_webhook({spell(k): v for k, v in headers.items()}, body)
            assert event.event_id == "evt_contract_7"

    # -- checkout ------------------------------------------------------------------------

    @pytest.mark.parametrize("purpose", list(CheckoutPurpose), ids=_ids)
    def test_start_checkout_opens_an_https_page(
        self, gateway: PaymentGateway, purpose: CheckoutPurpose
    ) -> None:
        """Every purpose opens a hosted https page named after the gateway (one the vendor
        has no page for is refused as rejected)."""
        request = self.checkout_request(purpose, idempotency_key=f"contract-{purpose.value}")
        if purpose not in self.checkout_purposes:
            with pytest.raises(GatewayRejectedError):
                gateway.start_checkout(request)
            return
        session = gateway.start_checkout(request)
        assert session.url.startswith("https://")
        assert session.gateway == gateway.name
        assert session.session_id

    def test_start_checkout_is_idempotent_on_the_key(self, gateway: PaymentGateway) -> None:
        """The same idempotency key returns the same page; another key opens another."""
        purpose = CheckoutPurpose.REQUIRED_PAYMENT
        request = self.checkout_request(purpose, idempotency_key="contract-same")
        first, again = gateway.start_checkout(request), gateway.start_checkout(request)
        assert (again.session_id, again.url) == (first.session_id, first.url)
        other = self.checkout_request(purpose, idempotency_key="contract-other")
        assert gateway.start_checkout(other).session_id != first.session_id

    def test_expire_checkout_is_idempotent(self, gateway: PaymentGateway) -> None:
        """Expiring a page twice is not an error."""
        request = self.checkout_request(CheckoutPurpose.QUICK_PAY, idempotency_key="contract-exp")
        session = gateway.start_checkout(request)
        gateway.expire_checkout(session.session_id)
        gateway.expire_checkout(session.session_id)
