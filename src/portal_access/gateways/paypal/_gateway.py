"""The PayPal gateway: :class:`~portal_access.ports.PaymentGateway` on ``paypal-server-sdk``.

PayPal's approval page pays the required invoice: an order for one-time lines, a
subscription (product -> plan -> subscription, the first invoice as its setup fee) for
a plan (see :mod:`._checkout`). PayPal takes an order's money only when the merchant
captures it: the ``CHECKOUT.ORDER.APPROVED`` webhook (or reconcile) captures it here,
under a ``PayPal-Request-Id`` derived from the order, so a retry never captures twice.

A saved method is a Vault v3 payment token: the payer approves a setup token (the
setup page), then :meth:`PayPalGateway.save_method` turns it into a payment token
(``VAULT.PAYMENT-TOKEN.CREATED`` reports it too); autopay charges it with an Orders v2
order whose ``payment_source.paypal.vault_id`` is the token, completed by PayPal at once.

Re-subscribing never leaves two live subscriptions: an active one is refused; a
suspended (failed renewal) one is cancelled before its replacement is opened.

The SDK is configured here, never from the environment
(``Configuration.from_environment()`` loads a ``.env`` file into ``os.environ``), with
the base URI overridden for a local test server, the timeout set, and the OAuth token
fetched through a provider so a failing token call surfaces as PayPal's own error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from portal_access._domain.autopay import SavedMethodCharge, SavedMethodSetup, SavedPaymentMethod
from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest, CheckoutSession
from portal_access._domain.errors import (
    ConfigurationError,
    GatewayError,
    GatewayRejectedError,
    ValidationError,
)
from portal_access._domain.gateway_events import GatewayEvent
from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentSnapshot
from portal_access.gateways._kit import Fields, ForeignMoney, WebhookSettings, positive_seconds
from portal_access.gateways._kit.settings import DEFAULT_TOLERANCE
from portal_access.gateways.paypal import _checkout as checkout
from portal_access.gateways.paypal import _webhooks as webhooks
from portal_access.gateways.paypal._errors import SDK_ERRORS, translate
from portal_access.gateways.paypal._mapping import event_from_document, occurred, order_payments
from portal_access.gateways.paypal._objects import (
    CLOSED_PREFIX,
    link,
    saved_wallet,
    token_owner,
    version_of,
)
from portal_access.gateways.paypal._rest import PayPalRest
from portal_access.ports import Clock

__all__ = ["PayPalGateway"]

log = logging.getLogger("portal_access.gateways.paypal")
_T = TypeVar("_T")
_LIVE, _SANDBOX = "https://api-m.paypal.com", "https://api-m.sandbox.paypal.com"
_OPEN_ORDER = ("CREATED", "SAVED", "APPROVED", "PAYER_ACTION_REQUIRED")
_CANCELLABLE = ("ACTIVE", "SUSPENDED")


class _Configuration(Configuration):  # type: ignore[misc]
    """The SDK's configuration with its base URI overridden (the SDK has no option)."""

    def __init__(self, *, base_uri: str, **options: Any) -> None:
        self.base_uri = base_uri.rstrip("/")
        super().__init__(**options)

    def get_base_uri(self, server: Server = Server.DEFAULT) -> str:
        """Every server of this configuration is ``base_uri``."""
        return self.base_uri


def _decoded(response: Any) -> dict[str, Any]:
    """An SDK answer's JSON text as a ``dict`` (empty for an empty answer)."""
    found = json.loads(getattr(response, "text", None) or "{}")
    return found if isinstance(found, dict) else {}


def _text_setting(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError("must not be blank", field=field)
    return value


class PayPalGateway:
    """PayPal, through ``paypal-server-sdk``.

    Args:
        client_id: the REST app's client id.
        client_secret: its secret.
        webhook_id: the id PayPal gave the webhook endpoint (it is part of what PayPal
            signs), or several while moving endpoints.
        live: PayPal's live API; the default is the sandbox (no real money).
        base_uri: another API address (a local test server); overrides ``live``.
        name: the gateway's name as offers use it.
        tolerance: how far a delivery's transmission time may be from now, either way.
        clock: the time for that check and for subscription start times.
        timeout: seconds per request to PayPal.
        max_retries: retries of idempotent requests (GET) by the SDK.
        certificate_fetcher: gets a signing certificate's PEM bytes from its (already
            checked) URL; default: https with TLS checked, then cached.
        verify_with_api: when the certificate cannot be fetched, ask PayPal's
            verify-webhook-signature API instead of failing the delivery.
        brand_name: the business name PayPal shows on its pages.

    Raises:
        ConfigurationError: a blank credential or webhook id, a negative tolerance, a
            non-positive timeout, a negative retry count, a base URI that is not http(s).

    No network call happens here:

    >>> gateway = PayPalGateway(client_id="id", client_secret="secret", webhook_id="WH1",
    ...                         base_uri="http://127.0.0.1:9")
    >>> gateway.name
    'paypal'
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        webhook_id: str | Sequence[str],
        live: bool = False,
        base_uri: str | None = None,
        name: str = "paypal",
        tolerance: timedelta = DEFAULT_TOLERANCE,
        clock: Clock | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        certificate_fetcher: Callable[[str], bytes] | None = None,
        verify_with_api: bool = False,
        brand_name: str | None = None,
    ) -> None:
        self._settings = WebhookSettings.build(
            name=name,
            webhook_secret=webhook_id,
            tolerance=tolerance,
            clock=clock,
            secret_field="webhook_id",  # noqa: S106 - a field's name, not a secret
        )
        _text_setting(client_id, "client_id")
        _text_setting(client_secret, "client_secret")
        seconds = positive_seconds(timeout, field="timeout")
        if type(max_retries) is not int or max_retries < 0:
            raise ConfigurationError("must be a whole number, not negative", field="max_retries")
        uri = base_uri if base_uri is not None else _LIVE if live else _SANDBOX
        if not str(uri).startswith(("https://", "http://")):
            raise ConfigurationError("must be an http(s) URL", field="base_uri", value=base_uri)
        self._token: Any = None
        credentials = ClientCredentialsAuthCredentials(
            o_auth_client_id=client_id,
            o_auth_client_secret=client_secret,
            o_auth_token_provider=self._fetch_token,
        )
        config = _Configuration(
            base_uri=uri,
            timeout=seconds,
            max_retries=max_retries,
            environment=Environment.PRODUCTION if live else Environment.SANDBOX,
            client_credentials_auth_credentials=credentials,
        )
        self._client = PaypalServersdkClient(config=config)
        self._rest = PayPalRest(
            base_uri=config.get_base_uri, token=self._access_token, timeout=seconds, gateway=name
        )
        self._certificates = webhooks.Certificates(certificate_fetcher)
        #: fees in another currency than their payment's, warned about once each
        self._foreign = ForeignMoney("paypal", log)
        self._verify_with_api = verify_with_api
        self._brand = brand_name
        self._plans: dict[str, str] = {}

    @property
    def name(self) -> str:
        """The gateway's name (``"paypal"`` unless told otherwise)."""
        return self._settings.name

    @property
    def client(self) -> PaypalServersdkClient:
        """The SDK client calls go through."""
        return self._client

    # -- calls ---------------------------------------------------------------------------

    def _fetch_token(self, _last: object, auth: Any) -> Any:
        """The SDK's token provider: fetch, keep, and let a failure raise PayPal's error."""
        self._token = auth.fetch_token()
        return self._token

    def _access_token(self) -> str:
        self._call(self._client.oauth_2.is_valid)
        token = getattr(self._token, "access_token", None)
        if not isinstance(token, str):
            raise GatewayRejectedError(
                "PayPal gave no access token", gateway=self.name, code="no_token"
            )
        return token

    def _call(self, call: Callable[[], _T]) -> _T:
        try:
            return call()
        except SDK_ERRORS as exc:
            raise translate(exc, gateway=self.name) from exc

    def _json(self, call: Callable[[], Any]) -> dict[str, Any]:
        """Call the SDK and decode the answer's own text (not the SDK's model)."""
        return _decoded(self._call(call))

    def _found(self, call: Callable[[], Any]) -> dict[str, Any] | None:
        """Like :meth:`_json`, ``None`` when PayPal knows no such object (HTTP 404)."""
        try:
            response = call()
        except ApiException as exc:
            if exc.response_code == 404:
                return None
            raise translate(exc, gateway=self.name) from exc
        except SDK_ERRORS as exc:
            raise translate(exc, gateway=self.name) from exc
        return _decoded(response)

    def _fields(self, document: Mapping[str, Any], path: str) -> Fields:
        return Fields(document, gateway="paypal", path=path)

    # -- checkout ------------------------------------------------------------------------

    def start_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Open PayPal's approval page; the same ``idempotency_key`` returns the same page
        (PayPal replays a POST repeated with its ``PayPal-Request-Id``).

        Raises:
            GatewayError: PayPal refused or could not be reached; re-subscribing to a
                subscription that is active (``code="subscription_active"``).
        """
        if request.purpose is CheckoutPurpose.SAVE_PAYMENT_METHOD:
            body = checkout.setup_token_body(request, brand_name=self._brand)
            options = {
                "body": body,
                "paypal_request_id": checkout.request_id("setup", request.idempotency_key),
            }
            token = self._json(lambda: self._client.vault.create_setup_token(options))
            return self._session(token, "approve")
        if request.plan is not None:
            return self._subscribe(request)
        body = checkout.order_body(request, brand_name=self._brand)
        options = {
            "body": body,
            "paypal_request_id": checkout.request_id("order", request.idempotency_key),
            "prefer": "return=representation",
        }
        order = self._json(lambda: self._client.orders.create_order(options))
        return self._session(order, "payer-action")

    def _session(self, obj: Mapping[str, Any], rel: str) -> CheckoutSession:
        fields = self._fields(obj, "answer")
        url = link(fields, rel) or link(fields, "approve")
        if url is None:
            raise GatewayRejectedError(
                f"PayPal gave no {rel} link", gateway=self.name, code="no_approval_link"
            )
        return CheckoutSession(self.name, fields.text("id"), url)

    def _subscribe(self, request: CheckoutRequest) -> CheckoutSession:
        plan = request.plan
        assert plan is not None
        old = request.replaces_subscription_id
        if request.purpose is CheckoutPurpose.RESUBSCRIBE and old is not None:
            self._retire(old)
        paypal_plan = self._paypal_plan(plan)
        try:
            body = checkout.subscription_body(
                request, paypal_plan, now=self._settings.clock.now(), brand_name=self._brand
            )
        except ValidationError as exc:
            raise GatewayRejectedError(str(exc), gateway=self.name, code="custom_id") from exc
        options = {
            "body": body,
            "paypal_request_id": checkout.request_id("subscription", request.idempotency_key),
            "prefer": "return=representation",
        }
        created = self._json(lambda: self._client.subscriptions.create_subscription(options))
        return self._session(created, "approve")

    def _retire(self, subscription_id: str) -> None:
        """Make way for a re-subscribe: refuse an active subscription, cancel a suspended
        or failing one, leave an ended or unknown one."""
        found = self._found(
            lambda: self._client.subscriptions.get_subscription({"id": subscription_id})
        )
        if found is None:
            return
        subscription = self._fields(found, "subscription")
        status = subscription.optional_text("status")
        billing = subscription.optional_object("billing_info")
        failing = bool(billing and billing.optional_integer("failed_payments_count"))
        if status == "ACTIVE" and not failing:
            raise GatewayRejectedError(
                f"subscription {subscription_id} is active",
                gateway=self.name,
                code="subscription_active",
            )
        if status in _CANCELLABLE:
            self._cancel(subscription_id, "Replaced by a new subscription after a failed renewal")

    def _paypal_plan(self, plan: Any) -> str:
        """PayPal's plan for ours: cached, else found by its description under our
        product, else made (with the product, when that is missing)."""
        fingerprint = checkout.plan_fingerprint(plan)
        if fingerprint in self._plans:
            return self._plans[fingerprint]
        product = checkout.product_id(plan)
        self._rest.create_product(product, plan.name)
        query = {"product_id": product, "page_size": 20, "total_required": False}
        listed = self._json(lambda: self._client.subscriptions.list_billing_plans(query))
        for item in listed.get("plans") or []:
            if (
                isinstance(item, dict)
                and item.get("description") == fingerprint
                and item.get("status") == "ACTIVE"
                and isinstance(item.get("id"), str)
            ):
                self._plans[fingerprint] = item["id"]
                return self._plans[fingerprint]
        options = {
            "body": checkout.plan_body(plan, product),
            "paypal_request_id": checkout.request_id("plan", fingerprint),
            "prefer": "return=representation",
        }
        made = self._json(lambda: self._client.subscriptions.create_billing_plan(options))
        self._plans[fingerprint] = self._fields(made, "plan").text("id")
        return self._plans[fingerprint]

    def expire_checkout(self, session_id: str) -> None:
        """Close a page: an order is marked closed (PayPal has no void for an order; an
        approved one marked so is never captured and lapses at PayPal); an active or
        suspended subscription is cancelled. One completed, cancelled or already closed
        is left as it is.

        Raises:
            GatewayRejectedError: PayPal knows no such page, or a subscription awaits the
                payer's approval (PayPal cancels only active or suspended ones;
                ``code="approval_pending"``; a late approval is reported like any payment).
            GatewayError: PayPal could not be reached.
        """
        if session_id.startswith("I-"):
            found = self._json(
                lambda: self._client.subscriptions.get_subscription({"id": session_id})
            )
            status = found.get("status")
            if status in _CANCELLABLE:
                self._cancel(session_id, "The required payment was cancelled")
            elif status in ("APPROVAL_PENDING", "APPROVED"):
                raise GatewayRejectedError(
                    f"subscription {session_id} awaits approval and cannot be cancelled",
                    gateway=self.name,
                    code="approval_pending",
                )
            return
        order = self._fields(
            self._json(lambda: self._client.orders.get_order({"id": session_id})), "order"
        )
        if order.optional_text("status") not in _OPEN_ORDER:
            return
        units = list(order.objects("purchase_units"))
        custom = units[0].optional_text("custom_id") if units else None
        if custom is not None and custom.startswith(CLOSED_PREFIX):
            return
        patch = [
            {
                "op": "replace" if custom else "add",
                "path": "/purchase_units/@reference_id=='default'/custom_id",
                "value": f"{CLOSED_PREFIX}{custom or ''}"[:127],
            }
        ]
        self._call(lambda: self._client.orders.patch_order({"id": session_id, "body": patch}))

    # -- webhooks and events -------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        """Verify the delivery with PayPal's offline scheme (see :mod:`._webhooks`), then
        normalise the event; an approved order is captured first.

        Raises:
            WebhookVerificationError: reason ``header``, ``signature``, ``timestamp`` or
                ``body``; nothing was parsed before the signature matched.
            GatewayError: the certificate could not be fetched, or PayPal could not be
                asked about the event's objects (PayPal will retry the delivery).
        """
        webhooks.verify(
            headers,
            body,
            settings=self._settings,
            certificates=self._certificates,
            confirm=self._confirm if self._verify_with_api else None,
        )
        return webhooks.parse_event(self.name, body, lookups=self, foreign=self._foreign)

    def _confirm(self, transmission: webhooks.Transmission, webhook_id: str, body: bytes) -> bool:
        try:
            event = json.loads(body)
        except ValueError:
            return False
        return self._rest.signature_verified(
            {
                "auth_algo": transmission.algorithm,
                "cert_url": transmission.cert_url,
                "transmission_id": transmission.transmission_id,
                "transmission_sig": transmission.signature_text,
                "transmission_time": transmission.time,
                "webhook_id": webhook_id,
                "webhook_event": event,
            }
        )

    def settled_order(self, order_id: str) -> Mapping[str, Any] | None:
        """The order now; an approved one (not closed) is captured first."""
        found = self._found(lambda: self._client.orders.get_order({"id": order_id}))
        if found is None or found.get("status") != "APPROVED":
            return found
        units = list(self._fields(found, "order").objects("purchase_units"))
        custom = units[0].optional_text("custom_id") if units else None
        if custom is not None and custom.startswith(CLOSED_PREFIX):
            log.info("order %s was closed; its approval is not captured", order_id)
            return found
        options = {
            "id": order_id,
            "paypal_request_id": checkout.request_id("capture", order_id),
            "prefer": "return=representation",
        }
        try:
            return self._json(lambda: self._client.orders.capture_order(options))
        except GatewayRejectedError as exc:
            if exc.code != "ORDER_ALREADY_CAPTURED":
                log.warning("order %s could not be captured: %s", order_id, exc)
                return found
        return self._found(lambda: self._client.orders.get_order({"id": order_id}))

    def capture(self, capture_id: str) -> Mapping[str, Any] | None:
        """A captured payment, or ``None``."""
        payments = self._client.payments
        return self._found(lambda: payments.get_captured_payment({"capture_id": capture_id}))

    def subscription(self, subscription_id: str) -> Mapping[str, Any] | None:
        """A subscription, or ``None``."""
        subscriptions = self._client.subscriptions
        return self._found(lambda: subscriptions.get_subscription({"id": subscription_id}))

    def sale(self, sale_id: str) -> Mapping[str, Any] | None:
        """A sale (a subscription's payment) as it is now, or ``None``."""
        return self._rest.sale(sale_id)

    def dispute(self, dispute_id: str) -> Mapping[str, Any] | None:
        """A dispute as PayPal shows it now (its ``money_movements`` carry its fees), or
        ``None``: PayPal knows no such dispute, or refuses to show it (a REST app without
        access to disputes: logged, and the dispute is booked as its webhook says,
        without its fees).

        Raises:
            GatewayUnavailableError: PayPal could not be reached (it retries the delivery).
        """
        try:
            return self._rest.dispute(dispute_id)
        except GatewayRejectedError as exc:
            log.warning("PayPal refused to show dispute %s (%s): its fees are not booked",
                        dispute_id, exc)  # fmt: skip
            return None

    def list_events(self, *, since: datetime) -> Iterator[GatewayEvent]:
        """Webhook events PayPal recorded since ``since`` (its events list), oldest first:
        every page is read, then replayed in the order the events happened.

        Raises:
            GatewayError: PayPal refused or could not be reached.
        """
        until = self._settings.clock.now()
        listed = list(self._rest.webhook_events(since=since, until=until))
        ordered = sorted(
            enumerate(reversed(listed)), key=lambda item: (occurred(item[1]) or since, item[0])
        )
        for _index, document in ordered:
            yield event_from_document(self.name, document, lookups=self, foreign=self._foreign)

    # -- saved methods (autopay) ---------------------------------------------------------

    def save_method(self, setup: SavedMethodSetup) -> SavedPaymentMethod:
        """Turn the vault setup token the payer approved (``setup.token``, the id of the
        setup page :meth:`start_checkout` opened) into a payment token, under a
        ``PayPal-Request-Id`` derived from ``setup.idempotency_key``. PayPal reports it
        again as ``VAULT.PAYMENT-TOKEN.CREATED`` (the same method, kept once).

        Raises:
            GatewayRejectedError: PayPal refused the setup token (not approved, used,
                unknown), or it was made for another contact (``code="method_owner"``).
            GatewayError: PayPal could not be reached.
        """
        options = {
            "body": checkout.payment_token_body(setup),
            "paypal_request_id": checkout.request_id("vault", setup.idempotency_key),
        }
        made = self._fields(
            self._json(lambda: self._client.vault.create_payment_token(options)), "payment_token"
        )
        if token_owner(made) != setup.contact_id:
            raise GatewayRejectedError("the setup token was made for another contact",
                                       gateway=self.name, code="method_owner")  # fmt: skip
        return saved_wallet(made, setup.contact_id, version=version_of(self._settings.clock.now()))

    def charge_saved_method(self, charge: SavedMethodCharge) -> PaymentSnapshot:
        """Charge a vaulted payment token without the payer (autopay): an Orders v2
        order with ``payment_source.paypal.vault_id``, our invoice in ``custom_id``, under
        a ``PayPal-Request-Id`` derived from the attempt, so a retry never charges twice.

        A decline is :class:`~portal_access.PaymentDeclinedError` (PayPal's 422 with
        ``INSTRUMENT_DECLINED``, ``PAYER_CANNOT_PAY``...), as Stripe's adapter gives; a
        capture PayPal declined inside a completed order is a ``FAILED`` payment.

        Raises:
            GatewayRejectedError: no such payment token (``code="no_such_method"``), or
                another contact's (``code="method_owner"``).
            PaymentDeclinedError: the payer's funding source declined.
            GatewayUnavailableError: PayPal could not be reached (retry with the same key).
        """
        vault = self._client.vault
        found = self._found(lambda: vault.get_payment_token(charge.method_id))
        if found is None:
            raise GatewayRejectedError(f"no payment token {charge.method_id}",
                                       gateway=self.name, code="no_such_method")  # fmt: skip
        if token_owner(self._fields(found, "payment_token")) != charge.contact_id:
            raise GatewayRejectedError("the saved method is not this contact's",
                                       gateway=self.name, code="method_owner")  # fmt: skip
        options = {
            "body": checkout.autopay_order_body(charge),
            "paypal_request_id": checkout.request_id("autopay", charge.idempotency_key),
            "prefer": "return=representation",
        }
        order = self._fields(self._json(lambda: self._client.orders.create_order(options)), "order")
        payments = [
            p
            for p in order_payments(self.name, order, foreign=self._foreign)
            if p.invoice_id == charge.invoice_id
        ]
        if not payments:
            raise GatewayRejectedError(
                f"PayPal answered no capture for the order ({order.optional_text('status')})",
                gateway=self.name,
                code="no_capture",
            )
        return payments[0]

    # -- money back and endings ----------------------------------------------------------

    def refund(self, payment_id: str, *, amount: Money | None, idempotency_key: str) -> None:
        """Refund a captured payment, in full when ``amount`` is ``None``. (A subscription
        payment is a sale, which Payments v2 cannot refund: refund it on PayPal.)

        Raises:
            GatewayError: PayPal refused (unknown capture, too much) or was unreachable.
        """
        body: dict[str, Any] = {}
        if amount is not None:
            body["amount"] = checkout.paypal_money(amount)
        options = {
            "capture_id": payment_id,
            "body": body,
            "paypal_request_id": checkout.request_id("refund", idempotency_key),
            "prefer": "return=minimal",
        }
        self._call(lambda: self._client.payments.refund_captured_payment(options))

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> None:
        """Cancel now; one already cancelled or expired is left as it is.

        Raises:
            GatewayError: PayPal refused (no such subscription) or was unreachable.
        """
        del idempotency_key  # cancelling twice is harmless: the state is checked first
        self._cancel(subscription_id, "Cancelled by the customer portal")

    def _cancel(self, subscription_id: str, reason: str) -> None:
        subscriptions = self._client.subscriptions
        options = {"id": subscription_id, "body": {"reason": reason}}
        try:
            self._call(lambda: subscriptions.cancel_subscription(options))
        except GatewayError as exc:
            if exc.code != "SUBSCRIPTION_STATUS_INVALID":
                raise
            found = self._json(lambda: subscriptions.get_subscription({"id": subscription_id}))
            if found.get("status") not in ("CANCELLED", "EXPIRED"):
                raise
