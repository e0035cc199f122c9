"""The few PayPal REST calls ``paypal-server-sdk`` has no method for, in one place.

Catalog products (a plan needs one), the webhook events list (reconcile), a dispute (the
Disputes API: its fees), a sale (a subscription's payment, v1: a refund's) and the
verify-webhook-signature API (the optional fallback of the offline check). Each call
uses the SDK's own OAuth token and configured base URI, the gateway's timeout, a
``PayPal-Request-Id`` on every POST, and the same error translation as the SDK's calls.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from portal_access._domain.errors import GatewayRejectedError
from portal_access.gateways.paypal._errors import answer_error, translate

__all__ = ["PayPalRest"]

_PAGE = 100


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class PayPalRest:
    """REST calls beside the SDK.

    Args:
        base_uri: the SDK configuration's base URI (read on every call).
        token: a current OAuth access token from the SDK's auth manager.
        timeout: seconds per request.
        gateway: the gateway's name, for errors.
    """

    def __init__(
        self,
        *,
        base_uri: Callable[[], str],
        token: Callable[[], str],
        timeout: float,
        gateway: str,
    ) -> None:
        self._base_uri, self._token, self._timeout, self._gateway = (
            base_uri,
            token,
            timeout,
            gateway,
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: object = None,
        request_id: str | None = None,
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        """One call; the decoded JSON answer (``None`` for an empty one, and with
        ``missing_ok`` for HTTP 404: PayPal knows no such object).

        Raises:
            GatewayError: PayPal refused, failed or could not be reached.
        """
        url = self._base_uri().rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if request_id is not None:
            headers["PayPal-Request-Id"] = request_id
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                text = answer.read()
        except urllib.error.HTTPError as exc:
            if missing_ok and exc.code == 404:
                return None
            try:
                document = json.loads(exc.read() or b"{}")
            except ValueError:
                document = {}
            raise answer_error(exc.code, document, gateway=self._gateway) from exc
        except OSError as exc:  # URLError, timeouts
            raise translate(exc, gateway=self._gateway) from exc
        if not text:
            return None
        try:
            found = json.loads(text)
        except ValueError as exc:
            raise GatewayRejectedError(
                f"{method} {path} answered no JSON", gateway=self._gateway, code="bad_answer"
            ) from exc
        return found if isinstance(found, dict) else None

    def create_product(self, product_id: str, name: str) -> None:
        """Make the catalog product ``product_id`` (a service) unless it exists.

        Raises:
            GatewayError: PayPal refused (other than "exists") or was unreachable.
        """
        body = {"id": product_id, "name": name[:127], "type": "SERVICE"}
        try:
            self.call(
                "POST", "/v1/catalogs/products", body=body, request_id=f"product:{product_id}"
            )
        except GatewayRejectedError as exc:
            if exc.code != "DUPLICATE_RESOURCE_IDENTIFIER":
                raise

    def webhook_events(self, *, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every webhook event PayPal recorded in ``[since, until]``, page after page, in
        the order PayPal lists them (newest first).

        Raises:
            GatewayError: PayPal refused or could not be reached.
        """
        query: Mapping[str, str] | None = {
            "start_time": _stamp(since),
            "end_time": _stamp(until),
            "page_size": str(_PAGE),
        }
        path = "/v1/notifications/webhooks-events"
        while True:
            page = self.call("GET", path, query=query) or {}
            events = page.get("events")
            yield from (
                (e for e in events if isinstance(e, dict)) if isinstance(events, list) else ()
            )
            following = [
                link.get("href")
                for link in page.get("links") or []
                if isinstance(link, dict) and link.get("rel") == "next"
            ]
            if not following or not isinstance(following[0], str):
                return
            parts = urlsplit(following[0])  # the same API, wherever the SDK points
            path, query = parts.path, None
            if parts.query:
                path = f"{parts.path}?{parts.query}"

    def dispute(self, dispute_id: str) -> dict[str, Any] | None:
        """A dispute (``GET /v1/customer/disputes/{id}``: the SDK has no disputes
        controller), with its ``money_movements``; ``None`` when PayPal knows no such
        dispute. The id goes into the path percent-encoded as UTF-8, as the SDK does.

        Raises:
            GatewayError: PayPal refused or could not be reached.
        """
        path = f"/v1/customer/disputes/{quote(dispute_id, safe='')}"
        return self.call("GET", path, missing_ok=True)

    def sale(self, sale_id: str) -> dict[str, Any] | None:
        """A sale, a subscription's payment (``GET /v1/payments/sale/{id}``: the SDK has
        no v1 sales controller), as it is now (its ``state`` says whether it is refunded);
        ``None`` when PayPal knows no such sale. The id goes into the path
        percent-encoded, as :meth:`dispute`'s does.

        Raises:
            GatewayError: PayPal refused or could not be reached.
        """
        return self.call("GET", f"/v1/payments/sale/{quote(sale_id, safe='')}", missing_ok=True)

    def signature_verified(self, fields: Mapping[str, object]) -> bool:
        """Ask the verify-webhook-signature API; ``True`` when it says ``SUCCESS``.

        Raises:
            GatewayError: PayPal refused or could not be reached.
        """
        answer = self.call("POST", "/v1/notifications/verify-webhook-signature", body=fields)
        return (answer or {}).get("verification_status") == "SUCCESS"
