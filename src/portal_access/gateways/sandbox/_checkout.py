"""A :class:`~portal_access.CheckoutRequest` in the sandbox vendor's terms, and its
hosted page back as a :class:`~portal_access.CheckoutSession`.

- ``SAVE_PAYMENT_METHOD``: ``mode=setup`` (nothing is charged);
- a plan: ``mode=subscription``, the one-time lines charged with the first period only
  (seed 000_07c53b15302458c1.txt: "the first generated Invoice will include both
  charges and each subsequent Invoice will only contain the Subscription charge");
- otherwise ``mode=payment``.

Our ``invoice_id`` and ``contact_id`` travel as metadata, so every webhook finds its
way back; ``customer`` is our contact (the vendor keeps one customer per contact).

>>> from portal_access import CheckoutPurpose, CheckoutRequest, Money, Plan
>>> request = CheckoutRequest(purpose=CheckoutPurpose.REQUIRED_PAYMENT, currency="USD",
...     success_url="https://p.example/ok", cancel_url="https://p.example",
...     idempotency_key="k-1", contact_id="c-1", invoice_id="inv-1",
...     plan=Plan(id="p-1", name="Monthly", amount=Money(5000, "USD")))
>>> params = checkout_params(request)
>>> params["mode"], params["plan"]["interval"], params["metadata"]
('subscription', 'month', {'invoice_id': 'inv-1', 'contact_id': 'c-1'})
"""

from __future__ import annotations

from typing import Any

from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest, CheckoutSession
from portal_access.gateways._kit import Fields
from portal_access.gateways.sandbox._mapping import METHOD

__all__ = ["checkout_params", "checkout_session"]

_METHOD_WORD = {kind: word for word, kind in METHOD.items()}


def checkout_params(request: CheckoutRequest) -> dict[str, Any]:
    """The vendor's ``create_checkout_session`` parameters for ``request``."""
    mode = "payment"
    if request.purpose is CheckoutPurpose.SAVE_PAYMENT_METHOD:
        mode = "setup"
    elif request.plan is not None:
        mode = "subscription"
    metadata = {"invoice_id": request.invoice_id, "contact_id": request.contact_id}
    params: dict[str, Any] = {
        "mode": mode,
        "currency": request.currency,
        "line_items": [{"description": line.description, "amount": line.amount.amount}
                       for line in request.lines],
        "payment_methods": sorted(_METHOD_WORD[kind] for kind in request.payment_methods),
        "customer": request.contact_id,
        "metadata": {key: value for key, value in metadata.items() if value is not None},
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
    }  # fmt: skip
    if request.plan is not None:
        plan, interval = request.plan, request.plan.interval
        params["plan"] = {"id": plan.id, "name": plan.name, "amount": plan.amount.amount,
                          "interval": interval.unit.value,
                          "interval_count": interval.count}  # fmt: skip
    if request.replaces_subscription_id is not None:
        params["replaces_subscription"] = request.replaces_subscription_id
    return params


def checkout_session(page: Fields) -> CheckoutSession:
    """The vendor's page (``{"id", "url", "expires_at"}``) as ours."""
    return CheckoutSession(
        page.gateway, page.text("id"), page.text("url"), page.optional_moment("expires_at")
    )
