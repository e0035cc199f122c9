"""PayPal-shaped, PayPal-signed webhooks for tests, and a local PayPal API.

:class:`PayPalWebhooks` signs deliveries the way PayPal does (SHA256withRSA over
``transmission_id|transmission_time|webhook_id|crc32(body)``) with a locally generated
RSA key, whose self-signed certificate (issued to a ``paypal.com`` name) it serves
through :meth:`PayPalWebhooks.fetch_certificate`: give that to the gateway as its
``certificate_fetcher``. :class:`LocalPayPalApi` is a PayPal API on 127.0.0.1 that the
real SDK talks to (pass its ``url`` as the gateway's ``base_uri``). Needs the
``paypal`` extra (``cryptography``).

>>> from datetime import UTC, datetime
>>> class Clock:
...     def now(self): return datetime(2026, 3, 1, tzinfo=UTC)
>>> webhooks = PayPalWebhooks(webhook_id="WH1TEST", clock=Clock())
>>> headers, body = webhooks.unknown(event_id="WH-1")
>>> headers["PAYPAL-AUTH-ALGO"], headers["PAYPAL-CERT-URL"] == CERTIFICATE_URL
('SHA256withRSA', True)
"""

from __future__ import annotations

import base64
import itertools
import json
import zlib
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from portal_access._domain.money import Money
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.ports import Clock
from portal_access.testing._paypal_api import (
    DISPUTE_FEE,
    LocalPayPalApi,
    PayPalExchange,
    receivable,
    stamp,
)

if TYPE_CHECKING:  # the contract module imports pytest; this one does not need it
    from portal_access.testing._gateway_contract import WebhookFactory

__all__ = [
    "CERTIFICATE_URL",
    "DISPUTE_FEE",
    "LocalPayPalApi",
    "PayPalExchange",
    "PayPalWebhooks",
    "capture_object",
    "receivable",
    "subscription_object",
]

Delivery = tuple[dict[str, str], bytes]
#: Where the test certificate is "published" (https, on a PayPal host, as PayPal's are).
CERTIFICATE_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-portal-access-test"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CAPTURE_EVENT = {
    PaymentStatus.PROCESSING: ("PAYMENT.CAPTURE.PENDING", "PENDING"),
    PaymentStatus.SUCCEEDED: ("PAYMENT.CAPTURE.COMPLETED", "COMPLETED"),
    PaymentStatus.FAILED: ("PAYMENT.CAPTURE.DENIED", "DECLINED"),
    PaymentStatus.REFUNDED: ("PAYMENT.CAPTURE.REFUNDED", "REFUNDED"),
    PaymentStatus.DISPUTED: ("CUSTOMER.DISPUTE.CREATED", "COMPLETED"),
}
_SUBSCRIPTION_EVENT = {
    SubscriptionStatus.INCOMPLETE: ("BILLING.SUBSCRIPTION.CREATED", "APPROVAL_PENDING"),
    SubscriptionStatus.ACTIVE: ("BILLING.SUBSCRIPTION.ACTIVATED", "ACTIVE"),
    SubscriptionStatus.PAST_DUE: ("BILLING.SUBSCRIPTION.PAYMENT.FAILED", "ACTIVE"),
    SubscriptionStatus.UNPAID: ("BILLING.SUBSCRIPTION.SUSPENDED", "SUSPENDED"),
    SubscriptionStatus.CANCELED: ("BILLING.SUBSCRIPTION.CANCELLED", "CANCELLED"),
}


@cache
def _signing_key() -> tuple[rsa.RSAPrivateKey, bytes]:
    """One RSA key and its certificate per process (made on first use, not at import)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.sandbox.paypal.com")]
    )
    start = datetime(2000, 1, 1, tzinfo=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


def _time(seconds: int) -> str:
    return stamp(_EPOCH + timedelta(seconds=seconds))


def capture_object(
    *,
    capture_id: str,
    amount: Money,
    status: str,
    method: PaymentMethodKind,
    invoice_id: str,
    updated: str,
) -> dict[str, Any]:
    """A captured payment as PayPal sends it: a card's has a processor response, a
    pending eCheck says why."""
    value = f"{amount.major:.{amount.exponent}f}"
    capture: dict[str, Any] = {
        "id": capture_id,
        "status": status,
        "custom_id": invoice_id,
        "final_capture": True,
        "amount": {"currency_code": amount.currency, "value": value},
        "seller_protection": {"status": "ELIGIBLE"},
        "seller_receivable_breakdown": receivable(
            {"currency_code": amount.currency, "value": value}
        ),
        "create_time": updated,
        "update_time": updated,
        "links": [
            {
                "href": f"https://api-m.sandbox.paypal.com/v2/payments/captures/{capture_id}",
                "rel": "self",
                "method": "GET",
            }
        ],
    }
    if method is PaymentMethodKind.CARD:
        capture["processor_response"] = {"avs_code": "Y", "cvv_code": "M", "response_code": "0000"}
    if status == "PENDING":
        reason = "ECHECK" if method is PaymentMethodKind.BANK_ACCOUNT else "PENDING_REVIEW"
        capture["status_details"] = {"reason": reason}
    return capture


def subscription_object(
    *,
    subscription_id: str,
    status: SubscriptionStatus,
    custom_id: str,
    created: int,
    version: int,
    failed_at: datetime | None,
) -> dict[str, Any]:
    """A subscription as PayPal sends it; in arrears it counts a failed payment."""
    failures = 1 if failed_at is not None else 0
    if status is SubscriptionStatus.PAST_DUE:
        failures = max(failures, 1)
    billing: dict[str, Any] = {
        "outstanding_balance": {"currency_code": "USD", "value": "0.00"},
        "cycle_executions": [
            {
                "tenure_type": "REGULAR",
                "sequence": 1,
                "cycles_completed": 1,
                "cycles_remaining": 0,
                "total_cycles": 0,
            }
        ],
        "failed_payments_count": failures,
    }
    if failed_at is not None:
        billing["last_failed_payment"] = {
            "amount": {"currency_code": "USD", "value": "49.00"},
            "time": stamp(failed_at),
        }
    return {
        "id": subscription_id,
        "plan_id": "P-TESTPLAN",
        "status": _SUBSCRIPTION_EVENT[status][1],
        "custom_id": custom_id,
        "start_time": _time(created),
        "create_time": _time(created),
        "update_time": _time(version),
        "billing_info": billing,
        "quantity": "1",
        "links": [
            {
                "href": f"https://api-m.sandbox.paypal.com/v1/billing/subscriptions/{subscription_id}",
                "rel": "self",
                "method": "GET",
            }
        ],
    }


class PayPalWebhooks:
    """Builds PayPal webhook deliveries, signed as PayPal signs them.

    Args:
        webhook_id: the webhook id the gateway is configured with.
        clock: the same clock as the gateway's (deliveries are signed at its now).
        tolerance: the gateway's tolerance (``stale`` signs beyond it).
        api: a local API that keeps every event built here (for the events list) and
            the objects the gateway looks up.
    """

    def __init__(
        self,
        *,
        webhook_id: str,
        clock: Clock,
        tolerance: timedelta = timedelta(minutes=5),
        api: LocalPayPalApi | None = None,
    ) -> None:
        self._webhook_id, self._clock, self._tolerance, self._api = (
            webhook_id,
            clock,
            tolerance,
            api,
        )
        self._ids = itertools.count(1)

    @staticmethod
    def fetch_certificate(url: str) -> bytes:
        """The gateway's ``certificate_fetcher``: the test certificate at
        :data:`CERTIFICATE_URL`; any other URL is unreachable (``OSError``)."""
        if url != CERTIFICATE_URL:
            raise OSError(f"no certificate at {url}")
        return _signing_key()[1]

    def event(
        self,
        event_type: str,
        resource: dict[str, Any],
        *,
        resource_type: str,
        event_id: str | None = None,
    ) -> Delivery:
        """One event about ``resource``, kept (when there is an API) and signed now."""
        document = {
            "id": event_id or f"WH-{next(self._ids):04d}-TEST",
            "event_version": "1.0",
            "create_time": stamp(self._clock.now()),
            "resource_type": resource_type,
            "event_type": event_type,
            "summary": f"{event_type} (test)",
            "resource": resource,
            "links": [],
        }
        if self._api is not None:
            self._api.record_event(document)
        body = json.dumps(document).encode()
        return self.sign(body), body

    def sign(self, body: bytes) -> dict[str, str]:
        """Valid headers for any ``body``, signed now."""
        return self.sign_with(body, self._webhook_id)

    def sign_with(
        self,
        body: bytes,
        secret: str,
        *,
        at: datetime | None = None,
        cert_url: str = CERTIFICATE_URL,
    ) -> dict[str, str]:
        """Headers for ``body`` signed for webhook id ``secret`` (at ``at``, with the
        certificate said to be at ``cert_url``)."""
        transmission_id = f"{next(self._ids):08d}-test-0000-0000-transmission"
        time = stamp(at or self._clock.now())
        message = f"{transmission_id}|{time}|{secret}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()
        signature = _signing_key()[0].sign(message, padding.PKCS1v15(), hashes.SHA256())
        encoded = base64.b64encode(signature).decode()
        if self._api is not None:
            self._api.transmissions[transmission_id] = (secret, encoded)
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": time,
            "PAYPAL-TRANSMISSION-SIG": encoded,
            "PAYPAL-CERT-URL": cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }

    def stale(self, body: bytes) -> dict[str, str]:
        """Headers correctly signed a minute beyond the tolerance ago."""
        return self.sign_with(
            body, self._webhook_id, at=self._clock.now() - self._tolerance - timedelta(minutes=1)
        )

    # -- the gateway contract's scenarios ------------------------------------------------

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
        """A capture's event at ``update_time=version`` seconds: ``PAYMENT.CAPTURE.*``; a
        refund event (the gateway looks the capture up); ``CUSTOMER.DISPUTE.CREATED``."""
        del contact_id  # an order's capture names only our invoice
        event_type, state = _CAPTURE_EVENT[status]
        capture = capture_object(
            capture_id=payment_id,
            amount=amount,
            status=state,
            method=method,
            invoice_id=invoice_id,
            updated=_time(version),
        )
        if self._api is not None:
            self._api.captures[payment_id] = capture
        if status is PaymentStatus.REFUNDED:
            refund = {
                "id": f"R{payment_id[1:]}",
                "status": "COMPLETED",
                "amount": capture["amount"],
                "create_time": _time(version),
                "update_time": _time(version),
                "links": [
                    {
                        "href": f"https://api-m.sandbox.paypal.com/v2/payments/captures/{payment_id}",
                        "rel": "up",
                        "method": "GET",
                    }
                ],
            }
            return self.event(event_type, refund, resource_type="refund", event_id=event_id)
        if status is PaymentStatus.DISPUTED:
            dispute = {
                "dispute_id": f"PP-D-{payment_id[-10:]}",
                "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
                "status": "OPEN",
                "dispute_amount": capture["amount"],
                "create_time": _time(version),
                "update_time": _time(version),
                "disputed_transactions": [
                    {"seller_transaction_id": payment_id, "gross_amount": capture["amount"]}
                ],
            }
            if self._api is not None:
                self._api.disputes[dispute["dispute_id"]] = dispute
            return self.event(event_type, dispute, resource_type="dispute", event_id=event_id)
        return self.event(event_type, capture, resource_type="capture", event_id=event_id)

    def dispute(
        self,
        dispute: dict[str, Any],
        *,
        event_type: str | None = None,
        money_movements: bool = False,
        event_id: str | None = None,
    ) -> Delivery:
        """A ``CUSTOMER.DISPUTE.*`` event about ``dispute`` (one the local API made with
        ``open_dispute``): ``CREATED`` while it is new, ``RESOLVED`` once resolved, else
        ``UPDATED``, unless ``event_type`` says. PayPal's dispute webhooks need not carry
        the dispute's ``money_movements`` (the Disputes API shows them): the resource
        leaves them out unless ``money_movements`` is true."""
        resource = {k: v for k, v in dispute.items() if money_movements or k != "money_movements"}
        if event_type is None:
            new = dispute["create_time"] == dispute["update_time"]
            resolved = dispute["status"] == "RESOLVED"
            event_type = "CUSTOMER.DISPUTE." + (
                "RESOLVED" if resolved else "CREATED" if new else "UPDATED"
            )
        return self.event(
            event_type, json.loads(json.dumps(resource)), resource_type="dispute", event_id=event_id
        )

    def refund_sale(
        self, sale_id: str, *, amount: Money | None = None, event_id: str | None = None
    ) -> Delivery:
        """The merchant refunds a sale of the local API (in full, or ``amount`` of it:
        :meth:`LocalPayPalApi.refund_sale`); the ``PAYMENT.SALE.REFUNDED`` event PayPal
        sends for it: its resource the v1 refund (``resource_type`` ``refund``), naming
        its sale by ``sale_id``, not carrying the sale's state or subscription."""
        if self._api is None:
            raise ValueError("refund_sale needs the local API the sale is in")
        refund = self._api.refund_sale(sale_id, amount=amount)
        return self.event("PAYMENT.SALE.REFUNDED", json.loads(json.dumps(refund)),
                          resource_type="refund", event_id=event_id)  # fmt: skip

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
        """A ``BILLING.SUBSCRIPTION.*`` event at ``update_time=version`` seconds."""
        custom = json.dumps({"c": contact_id, "p": plan_id, "i": None}, separators=(",", ":"))
        resource = subscription_object(
            subscription_id=subscription_id,
            status=status,
            custom_id=custom,
            created=created,
            version=version,
            failed_at=renewal_failed_at,
        )
        event_type = _SUBSCRIPTION_EVENT[status][0]
        return self.event(event_type, resource, resource_type="subscription", event_id=event_id)

    def unknown(self, *, event_id: str) -> Delivery:
        """A ``PAYMENT.PAYOUTSBATCH.SUCCESS`` event: acknowledged, not acted on."""
        resource = {"batch_header": {"payout_batch_id": "BATCHTEST", "batch_status": "SUCCESS"}}
        return self.event(
            "PAYMENT.PAYOUTSBATCH.SUCCESS", resource, resource_type="payouts", event_id=event_id
        )


def _conforms(factory: PayPalWebhooks) -> WebhookFactory:  # mypy checks the Protocol
    return factory
