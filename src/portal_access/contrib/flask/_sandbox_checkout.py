"""The development checkout page and console of the in-process sandbox gateway.

With ``PORTAL_ACCESS_SANDBOX = True`` the extension adds the sandbox gateway, and the
sandbox's hosted page is this app's own ``<prefix>/sandbox/checkout/<session>``: pay by
card, have the card declined, or start an ACH bank payment. Its console,
``<prefix>/sandbox/contacts/<contact>``, plays the bank and the vendor afterwards: clear
or fail a processing ACH payment, renew a subscription or fail its renewal. Every action
delivers the signed webhooks the vendor emitted to this app's own webhook endpoint,
through the whole request stack, exactly as a vendor would.

Every call to the sandbox vendor's side (building it, ``pay``, ``settle_ach``,
``renew``, ``deliver``) is in this module and nowhere else.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask.typing import ResponseReturnValue

from portal_access import PaymentMethodKind
from portal_access.contrib.flask import _reads
from portal_access.contrib.flask._pages import page, see_other
from portal_access.contrib.flask._settings import FlaskSettings
from portal_access.contrib.flask._state import app_state
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.ports import Clock
from portal_access.testing.sandbox import SandboxError, SandboxVendor

__all__ = ["SandboxDesk", "register_routes"]

_PAYMENTS = {
    "card": (PaymentMethodKind.CARD, True),
    "card_declined": (PaymentMethodKind.CARD, False),
    "ach": (PaymentMethodKind.BANK_ACCOUNT, True),
}


class SandboxDesk:
    """The sandbox gateway the portal uses, and the vendor side the pages drive."""

    def __init__(self, settings: FlaskSettings, clock: Clock) -> None:
        secret = settings.sandbox_webhook_secret or secrets.token_urlsafe(24)
        self._vendor = SandboxVendor(webhook_secret=secret, clock=clock)
        self.gateway = SandboxGateway(vendor=self._vendor, webhook_secret=secret, clock=clock)

    @property
    def name(self) -> str:
        """The gateway's name."""
        return self.gateway.name

    def pay(self, session_id: str, *, method: PaymentMethodKind, succeed: bool) -> str:
        """The payer pays on the page; the payment id."""
        return self._vendor.pay(session_id, method=method, succeed=succeed)

    def settle_ach(self, payment_id: str, *, cleared: bool) -> None:
        """The bank clears or returns a processing payment."""
        self._vendor.settle_ach(payment_id, cleared=cleared)

    def renew(self, subscription_id: str, *, succeed: bool) -> None:
        """The vendor renews a subscription, charging it or failing."""
        self._vendor.renew(subscription_id, succeed=succeed)

    def deliver(self, post: Callable[[Mapping[str, str], bytes], int]) -> list[int]:
        """Deliver every queued webhook through ``post``; the HTTP statuses."""
        return [status for status in self._vendor.deliver(post) if isinstance(status, int)]


def _desk() -> SandboxDesk:
    desk = app_state().sandbox
    if desk is None:
        abort(404)
    return desk


def _deliver(desk: SandboxDesk) -> None:
    """POST the queued webhooks to this app's own endpoint and say how it answered."""
    state = app_state()
    client = current_app.test_client()
    path = state.settings.webhook_prefix + "/" + desk.name

    def post(headers: Mapping[str, str], body: bytes) -> int:
        return client.post(path, headers=dict(headers), data=body).status_code

    statuses = desk.deliver(post)
    if statuses:
        answers = ", ".join(str(status) for status in statuses)
        flash(f"Sandbox: {len(statuses)} webhook(s) delivered to this app (HTTP {answers}).", "dev")


def _back(back: str) -> ResponseReturnValue:
    """Where the gateway returns the payer: the portal, or a guest's thank-you page."""
    if back == "guest":
        return see_other("portal_access.quick_pay_done")
    return see_other(app_state().settings.home_endpoint)


def checkout(session_id: str) -> ResponseReturnValue:
    """The sandbox's hosted page: what is being paid and how to pay it."""
    desk = _desk()
    state = app_state()
    back = request.values.get("back", "portal")
    invoice_id = request.values.get("invoice", "")
    invoice = _reads.invoice(state.portal, invoice_id) if invoice_id else None
    if request.method == "GET":
        return page("sandbox_checkout.html", session_id=session_id, invoice=invoice, back=back)
    method, succeed = _PAYMENTS.get(request.form.get("method", ""), (None, False))
    if method is None:
        abort(400)
    try:
        desk.pay(session_id, method=method, succeed=succeed)
    except SandboxError as exc:
        context = {"session_id": session_id, "invoice": invoice, "back": back}
        return page("sandbox_checkout.html", 409, error=f"The sandbox refused: {exc}", **context)
    _deliver(desk)
    if not succeed:
        flash("The card was declined. Try another way to pay.", "error")
        return see_other(
            "portal_access_sandbox.checkout", session_id=session_id, invoice=invoice_id, back=back
        )
    return _back(back)


def console(contact_id: str) -> ResponseReturnValue:
    """The bank's and vendor's side for one contact: processing payments, subscriptions."""
    _desk()
    portal = app_state().portal
    if _reads.contact(portal, contact_id) is None:
        abort(404)
    return page(
        "sandbox_console.html",
        contact_id=contact_id,
        processing=_reads.pending_payments(portal, contact_id),
        subscriptions=_reads.subscriptions_of(portal, contact_id),
    )


def _act(contact_id: str, action: Callable[[SandboxDesk], None]) -> ResponseReturnValue:
    desk = _desk()
    try:
        action(desk)
    except SandboxError as exc:
        flash(f"The sandbox refused: {exc}", "error")
    else:
        _deliver(desk)
    return see_other("portal_access_sandbox.console", contact_id=contact_id)


def settle(contact_id: str, payment_id: str) -> ResponseReturnValue:
    """The bank clears (``outcome=clear``) or returns (``outcome=fail``) an ACH payment."""
    cleared = request.form.get("outcome") == "clear"
    return _act(contact_id, lambda desk: desk.settle_ach(payment_id, cleared=cleared))


def renew(contact_id: str, subscription_id: str) -> ResponseReturnValue:
    """The vendor renews a subscription (``outcome=pay``) or the renewal fails."""
    succeed = request.form.get("outcome") == "pay"
    return _act(contact_id, lambda desk: desk.renew(subscription_id, succeed=succeed))


def console_url(contact_id: str) -> str | None:
    """The console's URL for the contact, when the sandbox is on (for the portal pages)."""
    if app_state().sandbox is None:
        return None
    return url_for("portal_access_sandbox.console", contact_id=contact_id)


def register_routes(blueprint: Blueprint) -> None:
    """Add the sandbox pages to their blueprint."""
    contact = "/contacts/<contact_id>"
    blueprint.add_url_rule("/checkout/<session_id>", view_func=checkout, methods=["GET", "POST"])
    blueprint.add_url_rule(contact, view_func=console)
    blueprint.add_url_rule(f"{contact}/payments/<payment_id>", view_func=settle, methods=["POST"])
    blueprint.add_url_rule(
        f"{contact}/subscriptions/<subscription_id>", view_func=renew, methods=["POST"]
    )
