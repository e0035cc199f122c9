"""PayPal webhooks: the offline signature check, then parsing.

PayPal signs ``f"{transmission_id}|{transmission_time}|{webhook_id}|{crc32(body)}"``
(the CRC-32 of the raw body as an unsigned decimal) with SHA256withRSA, and sends the
signature (base64) in ``PAYPAL-TRANSMISSION-SIG`` with the URL of its certificate in
``PAYPAL-CERT-URL``. :func:`verify`:

1. finds the five ``PAYPAL-*`` headers (any case) and reads them: the algorithm must be
   ``SHA256withRSA``, the time RFC 3339, the signature base64, the certificate URL
   https on a PayPal host (:func:`certificate_url_allowed`): else reason ``"header"``;
2. gets the certificate through the injected fetcher (cached by URL), which must be
   current and issued to a ``paypal.com`` name; a fetch that fails is a
   :class:`~portal_access.GatewayUnavailableError` (answer 5xx: PayPal retries), or,
   when the gateway allows it, the verify-webhook-signature API is asked instead;
3. checks the signature over the message built from the *raw* body with each of our
   webhook ids (several while moving endpoints): else ``"signature"``. Nothing of the
   body is parsed before this;
4. checks the transmission time against *our* clock, both ways: else ``"timestamp"``.

Trust in the certificate comes from where it is fetched: https, with the TLS
certificate checked, from a PayPal host. The chain is not re-validated here (that
check, done with pyOpenSSL, is what broke ``paypalrestsdk``).
"""

from __future__ import annotations

import base64
import binascii
import threading
import urllib.request
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import urlsplit

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from portal_access._domain.errors import GatewayUnavailableError, WebhookVerificationError
from portal_access._domain.gateway_events import GatewayEvent
from portal_access.gateways._kit import Fields as _Fields
from portal_access.gateways._kit import (
    ForeignMoney,
    WebhookSettings,
    check_tolerance,
    decode_json,
    find_header,
)
from portal_access.gateways.paypal._mapping import Lookups, event_from_document

__all__ = [
    "ALGORITHM",
    "HEADERS",
    "Certificates",
    "Confirm",
    "Transmission",
    "certificate_url_allowed",
    "fetch_certificate",
    "parse_event",
    "read_transmission",
    "signed_message",
    "verify",
]

ALGORITHM = "SHA256withRSA"
HEADERS = (
    "PAYPAL-TRANSMISSION-ID",
    "PAYPAL-TRANSMISSION-TIME",
    "PAYPAL-TRANSMISSION-SIG",
    "PAYPAL-CERT-URL",
    "PAYPAL-AUTH-ALGO",
)
_MAX_CERTIFICATE = 64 * 1024

#: Fetches a certificate's PEM bytes from a URL already checked to be PayPal's.
CertificateFetcher = Callable[[str], bytes]


def certificate_url_allowed(url: str) -> bool:
    """Whether ``url`` may hold PayPal's certificate: https, port 443, no credentials,
    on ``paypal.com`` or one of its subdomains.

    >>> certificate_url_allowed("https://api.paypal.com/v1/notifications/certs/CERT-1")
    True
    >>> certificate_url_allowed("https://api.paypal.com.evil.example/certs/CERT-1")
    False
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return (
        parts.scheme == "https"
        and port in (None, 443)
        and not parts.username
        and not parts.password
        and (host == "paypal.com" or host.endswith(".paypal.com"))
    )


def fetch_certificate(url: str, *, timeout: float = 10.0) -> bytes:
    """The default fetcher: a GET over https with the TLS certificate checked.

    Raises:
        OSError: the network failed (the caller makes it a gateway error).
    """
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - https only
        data: bytes = answer.read(_MAX_CERTIFICATE + 1)
    return data


@attrs.frozen
class Transmission:
    """The ``PAYPAL-*`` headers of one delivery, read."""

    transmission_id: str
    time: str
    signed_at: datetime
    signature: bytes
    signature_text: str
    cert_url: str
    algorithm: str


def _bad_header(message: str) -> WebhookVerificationError:
    return WebhookVerificationError(message, reason="header")


def read_transmission(headers: Mapping[str, str]) -> Transmission:
    """The delivery's headers, checked for form.

    Raises:
        WebhookVerificationError: ``reason="header"``: a header missing or malformed,
            another algorithm, or a certificate URL off PayPal's hosts.
    """
    tid, time, sig, cert_url, algorithm = (find_header(headers, name) for name in HEADERS)
    if algorithm != ALGORITHM:
        raise _bad_header(f"PAYPAL-AUTH-ALGO is {algorithm[:40]!r}, not {ALGORITHM}")
    if not tid.strip() or "|" in tid or "|" in time:
        raise _bad_header("PAYPAL-TRANSMISSION-ID or -TIME is malformed")
    try:
        signed_at = _Fields({"t": time}, gateway="paypal").instant("t")
    except WebhookVerificationError:
        raise _bad_header("PAYPAL-TRANSMISSION-TIME is not an RFC 3339 time") from None
    try:
        signature = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        raise _bad_header("PAYPAL-TRANSMISSION-SIG is not base64") from None
    if not certificate_url_allowed(cert_url):
        raise _bad_header(f"PAYPAL-CERT-URL {cert_url[:80]!r} is not https on a PayPal host")
    return Transmission(tid, time, signed_at, signature, sig, cert_url, algorithm)


def signed_message(transmission: Transmission, webhook_id: str, body: bytes) -> bytes:
    """What PayPal signs for ``webhook_id``: ``id|time|webhook_id|crc32(body)``."""
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{transmission.transmission_id}|{transmission.time}|{webhook_id}|{crc}".encode()


class Certificates:
    """PayPal's signing certificates by URL: fetched once, checked on every use.

    Args:
        fetcher: gets the PEM bytes of a URL (default: :func:`fetch_certificate`).
        size: how many certificates to keep (PayPal rotates them rarely).
    """

    def __init__(self, fetcher: CertificateFetcher | None = None, *, size: int = 16) -> None:
        self._fetcher = fetcher or fetch_certificate
        self._size = size
        self._cache: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def public_key(self, url: str, *, now: datetime, gateway: str) -> rsa.RSAPublicKey:
        """The RSA key of the certificate at ``url`` (already checked to be PayPal's).

        Raises:
            GatewayUnavailableError: the certificate could not be fetched.
            WebhookVerificationError: ``reason="signature"``: not a PEM certificate, not
                current, not issued to a ``paypal.com`` name, or not an RSA key.
        """
        certificate = self._certificate(url, gateway)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise WebhookVerificationError(f"certificate {url} is not current", reason="signature")
        names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        name = str(names[0].value).lower() if names else ""
        if not (name == "paypal.com" or name.endswith(".paypal.com")):
            raise WebhookVerificationError(
                f"certificate {url} is issued to {name!r}, not PayPal", reason="signature"
            )
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookVerificationError(f"certificate {url} has no RSA key", reason="signature")
        return key

    def _certificate(self, url: str, gateway: str) -> x509.Certificate:
        with self._lock:
            if url in self._cache:
                self._cache.move_to_end(url)
                return self._cache[url]
        try:
            pem = self._fetcher(url)
        except OSError as exc:
            raise GatewayUnavailableError(
                f"could not fetch the webhook certificate {url}", gateway=gateway, code="cert_fetch"
            ) from exc
        if len(pem) > _MAX_CERTIFICATE:
            raise WebhookVerificationError(f"certificate {url} is too large", reason="signature")
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise WebhookVerificationError(
                f"{url} holds no PEM certificate", reason="signature"
            ) from None
        with self._lock:
            self._cache[url] = certificate
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return certificate


#: Asks PayPal's verify-webhook-signature API whether a delivery is genuine for a webhook id.
Confirm = Callable[[Transmission, str, bytes], bool]


def _matches(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    settings: WebhookSettings,
    certificates: Certificates,
    confirm: Confirm | None = None,
) -> None:
    """Check a delivery with PayPal's offline scheme (``settings.secrets`` are our
    webhook ids).

    Raises:
        WebhookVerificationError: ``reason`` is ``"header"``, ``"signature"`` or
            ``"timestamp"`` (see the module's steps).
        GatewayError: the certificate (or, as a fallback, the API) could not be reached.
    """
    transmission = read_transmission(headers)
    now = settings.clock.now()
    try:
        key = certificates.public_key(transmission.cert_url, now=now, gateway=settings.name)
    except GatewayUnavailableError:
        if confirm is None:
            raise
        genuine = any(confirm(transmission, webhook_id, body) for webhook_id in settings.secrets)
    else:
        genuine = any(
            _matches(key, transmission.signature, signed_message(transmission, webhook_id, body))
            for webhook_id in settings.secrets
        )
    if not genuine:
        raise WebhookVerificationError("the signature matches no webhook id", reason="signature")
    check_tolerance(transmission.signed_at, now=now, tolerance=settings.tolerance)


def parse_event(
    gateway: str, body: bytes, *, lookups: Lookups, foreign: ForeignMoney | None = None
) -> GatewayEvent:
    """Decode a *verified* body and normalise it (``foreign``: see
    :func:`~portal_access.gateways.paypal._mapping.event_from_document`).

    Raises:
        WebhookVerificationError: ``reason="body"``: not UTF-8 JSON, or not an event.
        GatewayError: a lookup could not ask PayPal.
    """
    document = decode_json(body, gateway="paypal")
    return event_from_document(gateway, document, lookups=lookups, foreign=foreign)
