"""Charging a saved method off-session (``ports.SavedMethodCharging``, autopay): one
contract, run against the sandbox, Stripe, Square and PayPal, each the real SDK against
its local vendor-shaped API (seeds 001 and 003).

Each gateway saves a method the way its vendor does (a setup page paid, a Web Payments
SDK nonce stored, a vault setup token approved), then the same tests charge it. Each
vendor also removes it the way it does (the sandbox's payer deleting it, Stripe's
``detach``, Square's ``DisableCard`` and a GDPR forget, PayPal's ``DELETE`` of the
payment token): its signed webhook must parse to a removal of that very method, and the
method must never be charged again (seed 003: what the contact stored is what autopay
may charge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
import square
import stripe

from portal_access import (
    EmailAddress,
    GatewayRejectedError,
    Money,
    PaymentDeclinedError,
    PaymentStatus,
)
from portal_access._domain.autopay import SavedMethodCharge, SavedMethodSetup, autopay_key
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
from portal_access._domain.payments import PaymentMethodKind
from portal_access.adapters import ManualClock
from portal_access.gateways.paypal import PayPalGateway
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.gateways.square import SquareGateway
from portal_access.gateways.stripe import StripeGateway
from portal_access.ports import SavedMethodCharging
from portal_access.testing.paypal import LocalPayPalApi, PayPalWebhooks
from portal_access.testing.sandbox import SandboxVendor
from portal_access.testing.square import FakeSquareApi, SquareWebhooks
from portal_access.testing.stripe import FakeStripeApi
from tests.paypal_shapes import assert_paypal_shaped
from tests.paypal_world import make_gateway as make_paypal_gateway
from tests.square_shapes import assert_square_shaped
from tests.square_world import KEY, URL, make_gateway
from tests.stripe_shapes import assert_stripe_shaped

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "whsec_saved_methods"
ANN, BOB = "c-ann", "c-bob"

#: Saves a method for a contact at the vendor; returns its id.
Save = Callable[[str], str]
#: Makes the vendor decline every later charge of a method.
Decline = Callable[[str], None]
#: Removes a method at the vendor; returns the signed webhook deliveries that report it.
Remove = Callable[[str], list[tuple[dict[str, str], bytes]]]


def drained(deliver: Callable[[Callable[[dict[str, str], bytes], object]], object]) -> list[Any]:
    """The deliveries a vendor's ``deliver`` hands over now (none are applied)."""
    taken: list[Any] = []
    deliver(lambda headers, body: taken.append((headers, body)))
    return taken


def setup_request(contact_id: str) -> CheckoutRequest:
    """A setup page's request, as ``start_payment_method_setup`` makes it."""
    return CheckoutRequest(
        purpose=CheckoutPurpose.SAVE_PAYMENT_METHOD,
        currency="USD",
        success_url="https://portal.example/saved",
        cancel_url="https://portal.example/pay",
        idempotency_key=f"setup:{contact_id}",
        contact_id=contact_id,
        customer_email=EmailAddress.parse(f"{contact_id}@example.com"),
        customer_name="Ann Lee",
        payment_methods=frozenset({PaymentMethodKind.CARD}),
        save_payment_method=True,
    )


def charge_of(method_id: str, *, contact_id: str = ANN, amount: int = 4200) -> SavedMethodCharge:
    return SavedMethodCharge(
        contact_id=contact_id,
        method_id=method_id,
        invoice_id="inv-7",
        amount=Money(amount, "USD"),
        idempotency_key=autopay_key("inv-7", method_id),
    )


class SavedMethodContract:
    """What every gateway that charges saved methods does. Subclasses give the
    ``gateway``, ``save`` and ``decline`` fixtures, and ``vendor_payments`` (how many
    payments the vendor made, to prove one charge per key)."""

    def vendor_payments(self, vendor: Any) -> int:
        raise NotImplementedError

    def test_it_is_a_saved_method_charger(self, gateway: Any) -> None:
        assert isinstance(gateway, SavedMethodCharging)

    def test_a_saved_method_is_charged_for_our_invoice(self, gateway: Any, save: Save) -> None:
        method = save(ANN)
        paid = gateway.charge_saved_method(charge_of(method))
        assert (paid.invoice_id, paid.amount, paid.gateway) == ("inv-7", Money(4200, "USD"),
                                                                gateway.name)  # fmt: skip
        assert paid.status is PaymentStatus.SUCCEEDED

    def test_the_same_key_charges_once(self, gateway: Any, save: Save, vendor: Any) -> None:
        method = save(ANN)
        before = self.vendor_payments(vendor)
        first = gateway.charge_saved_method(charge_of(method))
        again = gateway.charge_saved_method(charge_of(method))
        assert first.payment_id == again.payment_id
        assert self.vendor_payments(vendor) == before + 1

    def test_another_contacts_method_is_refused(self, gateway: Any, save: Save) -> None:
        bobs = save(BOB)
        with pytest.raises(GatewayRejectedError) as caught:
            gateway.charge_saved_method(charge_of(bobs, contact_id=ANN))
        assert caught.value.code == "method_owner"

    def test_an_unknown_method_is_refused(self, gateway: Any, save: Save) -> None:
        save(ANN)
        with pytest.raises(GatewayRejectedError):
            gateway.charge_saved_method(charge_of(self.unknown_method))

    def test_a_decline_is_a_declined_payment_not_a_failure_to_ask(
        self, gateway: Any, save: Save, decline: Decline
    ) -> None:
        method = save(ANN)
        decline(method)
        declined: list[PaymentDeclinedError] = []
        try:
            answer = gateway.charge_saved_method(charge_of(method))
        except PaymentDeclinedError as exc:  # Stripe, Square, PayPal: typed, with the code
            declined.append(exc)
        else:  # the sandbox: a failed payment
            assert answer.status is PaymentStatus.FAILED
        assert all(not exc.retry_safe and exc.code for exc in declined)

    def test_a_removed_method_is_reported_removed(
        self, gateway: Any, save: Save, remove: Remove
    ) -> None:
        """Seed 003_11ad6fb0c789d951.txt: the vendor's signed removal report is a removal
        of that very method, naming the contact where the vendor's payload says whose."""
        method = save(ANN)
        deliveries = remove(method)
        removals = [
            gone
            for headers, body in deliveries
            for gone in gateway.parse_webhook(headers, body).removed_methods
        ]
        assert [(gone.gateway, gone.method_id) for gone in removals] == [(gateway.name, method)]
        assert removals[0].contact_id == (ANN if self.names_the_contact else None)

    def test_a_removed_method_is_never_charged_again(
        self, gateway: Any, save: Save, remove: Remove, vendor: Any
    ) -> None:
        """Seed 003_11ad6fb0c789d951.txt: the vendor refuses a removed method (typed, not
        retry-safe), and takes no money."""
        method = save(ANN)
        remove(method)
        before = self.vendor_payments(vendor)
        with pytest.raises(GatewayRejectedError) as caught:
            gateway.charge_saved_method(charge_of(method))
        assert not caught.value.retry_safe
        assert self.vendor_payments(vendor) - before <= self.failed_payments_kept

    def test_another_methods_removal_is_not_this_ones(
        self, gateway: Any, save: Save, remove: Remove
    ) -> None:
        """Seed 003_11ad6fb0c789d951.txt: removing Bob's method reports Bob's, and Ann's is
        charged still."""
        anns, bobs = save(ANN), save(BOB)
        deliveries = remove(bobs)
        removed = {
            gone.method_id
            for headers, body in deliveries
            for gone in gateway.parse_webhook(headers, body).removed_methods
        }
        assert removed == {bobs}
        assert gateway.charge_saved_method(charge_of(anns)).status is PaymentStatus.SUCCEEDED

    unknown_method = "pm_unknown"
    #: Whether the vendor's removal payload names (or leads to) our contact.
    names_the_contact = True
    #: Payments a refused charge of a removed method may leave at the vendor (none).
    failed_payments_kept = 0


class TestSandbox(SavedMethodContract):
    unknown_method = "set_unknown"

    @pytest.fixture
    def vendor(self) -> SandboxVendor:
        return SandboxVendor(webhook_secret=SECRET, clock=ManualClock(NOW))

    @pytest.fixture
    def gateway(self, vendor: SandboxVendor) -> SandboxGateway:
        return SandboxGateway(vendor=vendor, webhook_secret=SECRET, clock=ManualClock(NOW))

    @pytest.fixture
    def save(self, gateway: SandboxGateway, vendor: SandboxVendor) -> Save:
        return lambda contact: vendor.pay(gateway.start_checkout(setup_request(contact)).session_id)

    @pytest.fixture
    def decline(self, vendor: SandboxVendor) -> Decline:
        return vendor.decline_saved_method

    @pytest.fixture
    def remove(self, vendor: SandboxVendor) -> Remove:
        def remove(method: str) -> list[tuple[dict[str, str], bytes]]:
            drained(vendor.deliver)
            vendor.remove_saved_method(method)
            return drained(vendor.deliver)

        return remove

    def vendor_payments(self, vendor: Any) -> int:
        return len(vendor._payments)


class TestStripe(SavedMethodContract):
    @pytest.fixture
    def vendor(self) -> Iterator[FakeStripeApi]:
        with FakeStripeApi(clock=ManualClock(NOW), webhook_secret=SECRET) as api:
            yield api
        assert_stripe_shaped(api)

    @pytest.fixture
    def gateway(self, vendor: FakeStripeApi) -> StripeGateway:
        return StripeGateway(api_key="sk_test_saved", webhook_secret=SECRET,
                             clock=ManualClock(NOW), api_base=vendor.url, max_network_retries=0)  # fmt: skip

    @pytest.fixture
    def save(self, gateway: StripeGateway, vendor: FakeStripeApi) -> Save:
        def save(contact: str) -> str:
            vendor.pay(gateway.start_checkout(setup_request(contact)).session_id)
            methods = [o for o in vendor.objects.values() if o.get("object") == "payment_method"]
            return str(methods[-1]["id"])

        return save

    @pytest.fixture
    def decline(self, vendor: FakeStripeApi) -> Decline:
        return vendor.decline_payment_method

    @pytest.fixture
    def remove(self, vendor: FakeStripeApi) -> Remove:
        """The payer removes the card (Stripe's customer portal detaches it, as the SDK
        does here); ``payment_method.detached`` no longer names the customer."""
        client = stripe.StripeClient("sk_test_saved", base_addresses={"api": vendor.url},
                                     max_network_retries=0)  # fmt: skip

        def remove(method: str) -> list[tuple[dict[str, str], bytes]]:
            drained(vendor.deliver)
            client.v1.payment_methods.detach(method)
            return drained(vendor.deliver)

        return remove

    names_the_contact = False

    def vendor_payments(self, vendor: Any) -> int:
        return sum(o.get("object") == "payment_intent" for o in vendor.objects.values())


class TestSquare(SavedMethodContract):
    unknown_method = "ccof:UNKNOWN"

    @pytest.fixture
    def vendor(self) -> Iterator[FakeSquareApi]:
        with FakeSquareApi(clock=ManualClock(NOW)) as api:
            yield api
        assert_square_shaped(api)

    @pytest.fixture
    def gateway(self, vendor: FakeSquareApi) -> SquareGateway:
        return make_gateway(vendor, ManualClock(NOW))

    @pytest.fixture
    def save(self, gateway: SquareGateway, vendor: FakeSquareApi) -> Save:
        def save(contact: str) -> str:
            setup = SavedMethodSetup(contact_id=contact, token=vendor.card_nonce(),
                                     idempotency_key=f"save:{contact}", customer_name="Ann Lee")  # fmt: skip
            return gateway.save_method(setup).method_id

        return save

    @pytest.fixture
    def decline(self, vendor: FakeSquareApi) -> Decline:
        return vendor.decline_card

    @pytest.fixture
    def signed(self, vendor: FakeSquareApi) -> SquareWebhooks:
        return SquareWebhooks(secret=KEY, notification_url=URL, api=vendor)

    @pytest.fixture
    def remove(self, vendor: FakeSquareApi, signed: SquareWebhooks) -> Remove:
        """The seller disables the card (``DisableCard``, through the SDK):
        ``card.disabled``; the gateway asks whose customer profile it was on."""
        client = square.Square(token="EAAA-test", base_url=vendor.url)

        def remove(method: str) -> list[tuple[dict[str, str], bytes]]:
            signed.deliveries()
            client.cards.disable(card_id=method)
            return signed.deliveries()

        return remove

    def test_a_forgotten_card_is_reported_removed(
        self, gateway: SquareGateway, vendor: FakeSquareApi, signed: SquareWebhooks, save: Save
    ) -> None:
        """Seed 003_11ad6fb0c789d951.txt: a card Square forgets (GDPR) is removed:
        ``card.forgotten`` carries only what Square keeps of it, and the card is never
        charged again."""
        method = save(ANN)
        signed.deliveries()
        vendor.forget_card(method)
        (delivery,) = signed.deliveries()
        (gone,) = gateway.parse_webhook(*delivery).removed_methods
        assert (gone.gateway, gone.method_id, gone.contact_id) == ("square", method, ANN)
        with pytest.raises(GatewayRejectedError):
            gateway.charge_saved_method(charge_of(method))

    def test_a_disabled_card_reported_again_is_the_same_removal(
        self, gateway: SquareGateway, save: Save, remove: Remove
    ) -> None:
        """Seed 003_11ad6fb0c789d951.txt: ``DisableCard`` of a disabled card changes
        nothing and reports nothing more."""
        method = save(ANN)
        assert len(remove(method)) == 1
        assert remove(method) == []

    def vendor_payments(self, vendor: Any) -> int:
        return len(vendor.objects["payment"])

    def test_a_used_nonce_saves_nothing_more(self, gateway: SquareGateway, vendor: FakeSquareApi):
        """CreateCard under the same key answers the same card; a used nonce under a new
        key is refused (Square's CARD_TOKEN_USED)."""
        nonce = vendor.card_nonce()
        setup = SavedMethodSetup(contact_id=ANN, token=nonce, idempotency_key="save:ann:1")
        first, again = gateway.save_method(setup), gateway.save_method(setup)
        assert first.method_id == again.method_id
        assert (first.kind, first.label) == (PaymentMethodKind.CARD, "VISA ending 1111")
        assert len(vendor.objects["card"]) == 1
        with pytest.raises(GatewayRejectedError) as caught:
            gateway.save_method(attrs.evolve(setup, idempotency_key="save:ann:2"))
        assert caught.value.code == "CARD_TOKEN_USED"


WEBHOOK_ID = "WH1SAVED"


class TestPayPal(SavedMethodContract):
    unknown_method = "8UNKNOWN"

    @pytest.fixture
    def vendor(self) -> Iterator[LocalPayPalApi]:
        with LocalPayPalApi(now=ManualClock(NOW).now) as api:
            yield api
        assert_paypal_shaped(api)

    @pytest.fixture
    def gateway(self, vendor: LocalPayPalApi) -> PayPalGateway:
        return make_paypal_gateway(vendor, ManualClock(NOW), webhook_id=WEBHOOK_ID)

    @pytest.fixture
    def save(self, gateway: PayPalGateway, vendor: LocalPayPalApi) -> Save:
        def save(contact: str) -> str:
            page = gateway.start_checkout(setup_request(contact))
            vendor.approve_setup_token(page.session_id)
            setup = SavedMethodSetup(contact_id=contact, token=page.session_id,
                                     idempotency_key=f"save:{contact}")  # fmt: skip
            return gateway.save_method(setup).method_id

        return save

    @pytest.fixture
    def decline(self, vendor: LocalPayPalApi) -> Decline:
        return vendor.decline_payment_token

    @pytest.fixture
    def remove(self, gateway: PayPalGateway, vendor: LocalPayPalApi) -> Remove:
        """The payer (or the merchant) deletes the payment token through the SDK; PayPal
        reports ``VAULT.PAYMENT-TOKEN.DELETED`` with the token's id, its customer and
        links (signed with SHA256withRSA, verified against the local certificate)."""
        webhooks = PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=ManualClock(NOW), api=vendor)

        def remove(method: str) -> list[tuple[dict[str, str], bytes]]:
            gateway.client.vault.delete_payment_token(method)
            token = vendor.deleted_tokens[method]
            resource = {key: token[key] for key in ("id", "customer", "links")}
            _headers, body = webhooks.event("VAULT.PAYMENT-TOKEN.DELETED", resource,
                                            resource_type="payment_token")  # fmt: skip
            return [(webhooks.sign(body), body)]

        return remove

    def test_a_deletion_report_of_the_bare_token_names_no_contact(
        self, gateway: PayPalGateway, vendor: LocalPayPalApi, save: Save
    ) -> None:
        """Seed 003_11ad6fb0c789d951.txt: PayPal may report a deleted token by its id and
        links only: a removal of that token, whose contact the service finds."""
        method = save(ANN)
        gateway.client.vault.delete_payment_token(method)
        webhooks = PayPalWebhooks(webhook_id=WEBHOOK_ID, clock=ManualClock(NOW), api=vendor)
        token = vendor.deleted_tokens[method]
        _headers, body = webhooks.event("VAULT.PAYMENT-TOKEN.DELETED",
                                        {"id": method, "links": token["links"]},
                                        resource_type="payment_token")  # fmt: skip
        (gone,) = gateway.parse_webhook(webhooks.sign(body), body).removed_methods
        assert (gone.method_id, gone.contact_id) == (method, None)

    def vendor_payments(self, vendor: Any) -> int:
        return len(vendor.captures)

    def test_a_setup_token_is_saved_only_once_approved_and_only_for_its_contact(
        self, gateway: PayPalGateway, vendor: LocalPayPalApi
    ):
        """The payment token is made from the approved setup token; a setup token made
        for Bob is not saved as Ann's."""
        page = gateway.start_checkout(setup_request(BOB))
        setup = SavedMethodSetup(contact_id=BOB, token=page.session_id, idempotency_key="s:1")
        with pytest.raises(GatewayRejectedError) as caught:
            gateway.save_method(setup)
        assert caught.value.code == "SETUP_TOKEN_NOT_APPROVED"
        vendor.approve_setup_token(page.session_id)
        setup = attrs.evolve(setup, idempotency_key="s:approved")  # the refusal is replayed
        saved = gateway.save_method(setup)
        assert (saved.contact_id, saved.kind, saved.label) == (
            BOB,
            PaymentMethodKind.WALLET,
            "PayPal payer@example.com",
        )
        assert gateway.save_method(setup) == saved  # the same key: PayPal replays it
        other = gateway.start_checkout(attrs.evolve(setup_request(BOB), idempotency_key="k2"))
        vendor.approve_setup_token(other.session_id)
        with pytest.raises(GatewayRejectedError) as stolen:
            gateway.save_method(
                SavedMethodSetup(contact_id=ANN, token=other.session_id, idempotency_key="s:2")
            )
        assert stolen.value.code == "method_owner"
