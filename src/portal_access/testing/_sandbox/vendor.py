"""What the payer and the vendor do in the sandbox: pay, clear ACH, renew, dispute...

Each action changes the vendor's objects and emits, in order, the events a real vendor
would (Stripe's test helpers play the same role), then hands them to an attached
endpoint. An action on a missing object, or on one in the wrong state, raises
:class:`~portal_access.testing.sandbox.SandboxError`, as the vendor's API would refuse.
"""

from __future__ import annotations

import attrs

from portal_access._domain.billing import InvoiceStatus
from portal_access._domain.payments import PaymentMethodKind, PaymentStatus
from portal_access._domain.subscriptions import SubscriptionStatus
from portal_access.testing._sandbox.books import SandboxBooks, refused
from portal_access.testing._sandbox.objects import Checkout, Invoice, Payment, Subscription

__all__ = ["SandboxVendor"]

_ACTIVE, _PAST_DUE = SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE


class SandboxVendor(SandboxBooks):
    """An in-process payment vendor: its books, its API (what
    :class:`~portal_access.gateways.sandbox.SandboxGateway` calls), its signed webhooks,
    and what the payer and the vendor do.

    Args:
        webhook_secret: the signing secret, or several while rotating (one ``v1`` each).
        clock: the vendor's time (event ``created``, periods, signatures).
        ids: where ids come from; default random, so a vendor started again (a dev
            server reloaded on the same database) never repeats an event id. Pass
            :class:`~portal_access.adapters.SequentialIds` for readable ids in a test.
        base_url: the hosted pages' base URL.

    Raises:
        ConfigurationError: no secret, or a blank one.

    >>> from datetime import UTC, datetime
    >>> from portal_access import InvoiceLine, Money
    >>> from portal_access._domain.checkout import CheckoutPurpose, CheckoutRequest
    >>> from portal_access.adapters import ManualClock, SequentialIds
    >>> from portal_access.gateways.sandbox import SandboxGateway
    >>> clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    >>> vendor = SandboxVendor(webhook_secret="whsec_test", clock=clock, ids=SequentialIds())
    >>> gateway = SandboxGateway(vendor=vendor, webhook_secret="whsec_test", clock=clock)
    >>> session = gateway.start_checkout(CheckoutRequest(
    ...     purpose=CheckoutPurpose.REQUIRED_PAYMENT, currency="USD", contact_id="c-1",
    ...     success_url="https://portal.example/paid", cancel_url="https://portal.example",
    ...     idempotency_key="checkout-inv-1", invoice_id="inv-1",
    ...     lines=(InvoiceLine("Setup fee", Money(25000, "USD")),)))
    >>> session.url
    'https://sandbox.portal-access.invalid/checkout/cs_sbx_000002'
    >>> vendor.pay(session.session_id)
    'py_sbx_000003'
    >>> headers, body = vendor.pending_deliveries()[0]
    >>> payment = gateway.parse_webhook(headers, body).payments[0]
    >>> payment.invoice_id, payment.status, payment.amount
    ('inv-1', <PaymentStatus.SUCCEEDED: 'succeeded'>, Money(amount=25000, currency='USD'))
    """

    def pay(
        self,
        session_id: str,
        *,
        method: PaymentMethodKind = PaymentMethodKind.CARD,
        succeed: bool = True,
    ) -> str:
        """The payer pays on the hosted page; returns the payment id.

        A card (or wallet) payment succeeds or fails at once; a bank account (ACH)
        payment starts ``processing`` (see :meth:`settle_ach`), or fails at once when
        ``succeed`` is false. A failed payment leaves the page open for another try.
        The amount is the page's lines plus the plan's first period; the payment
        carries the page's ``invoice_id`` and ``contact_id``. With a plan, the
        subscription starts (``incomplete`` while ACH processes, ``active`` once paid)
        or, when the page replaces this contact's past-due or unpaid subscription, that
        one is reactivated. Saving a method charges nothing: it emits
        ``setup.succeeded`` and returns the setup id.

        Raises:
            SandboxError: no such page, or it expired or was already paid, or the page
                does not offer ``method``.
        """
        checkout = self._payable(session_id)
        if method not in checkout.methods:
            raise refused("method", f"{method.value} is not offered on this page")
        if checkout.amount is None:
            return self._setup(checkout, method, succeed=succeed)
        if not succeed:
            status = PaymentStatus.FAILED
        elif method is PaymentMethodKind.BANK_ACCOUNT:
            status = PaymentStatus.PROCESSING
        else:
            status = PaymentStatus.SUCCEEDED
        payment = Payment(
            self._ids.new_id("py_sbx_"),
            contact_id=checkout.contact_id,
            invoice_id=checkout.invoice_id,
            method=method,
            status=status,
            amount=checkout.amount,
            version=0,
            session_id=session_id,
        )
        payment = self._put_payment(payment)
        if status is not PaymentStatus.FAILED:
            self._checkouts[session_id] = attrs.evolve(checkout, status="complete")
            if checkout.plan is not None:
                subscription_id = self._subscribe(checkout, payment)
                self._payments[payment.id] = attrs.evolve(payment, activates=subscription_id)
        self._queue.flush()
        return payment.id

    def settle_ach(self, payment_id: str, *, cleared: bool) -> None:
        """The bank clears (``succeeded``) or returns (``failed``) a processing payment;
        a subscription it pays for becomes active when it clears.

        Raises:
            SandboxError: no such payment, or it is not processing.
        """
        payment = self._payment(payment_id, PaymentStatus.PROCESSING)
        status = PaymentStatus.SUCCEEDED if cleared else PaymentStatus.FAILED
        self._put_payment(payment, status=status)
        if cleared and payment.activates is not None:
            self._activate(payment.activates)
        self._queue.flush()

    def renew(self, subscription_id: str, *, succeed: bool) -> str:
        """The vendor renews a subscription; returns the renewal payment id.

        An active subscription moves to its next period and gets a renewal invoice
        (``invoice.updated``, open) for the plan alone, charged with the subscription's
        method. Paid: the invoice is paid and the subscription stays active. Failed: the
        invoice stays open and the subscription goes ``past_due`` with
        ``renewal_failed_at`` = the period's start. A past-due subscription instead
        retries its open invoice (a failed retry changes nothing else). Renewal charges
        settle at once, even ACH.

        Raises:
            SandboxError: no such subscription, or not active or past due.
        """
        subscription = self._subscription(subscription_id)
        today = self._now().date()
        if subscription.status is _ACTIVE:
            start = subscription.period_end
            end = subscription.plan.interval.advance(start)
            subscription = attrs.evolve(subscription, period_start=start, period_end=end)
            plan = subscription.plan
            invoice = Invoice(
                self._ids.new_id("in_sbx_"),
                subscription_id=subscription.id,
                contact_id=subscription.contact_id,
                plan_id=plan.id,
                amount=plan.amount,
                status=InvoiceStatus.OPEN,
                version=0,
                issued_on=today,
                due_on=today,
            )
            invoice = self._put_invoice(invoice)
        elif subscription.status is _PAST_DUE and self._open_invoices(subscription_id):
            invoice = self._open_invoices(subscription_id)[-1]
        else:
            raise refused("renew", f"subscription is {subscription.status.value}")
        payment = Payment(
            self._ids.new_id("py_sbx_"),
            contact_id=subscription.contact_id,
            invoice_id=None,
            method=subscription.method,
            status=PaymentStatus.SUCCEEDED if succeed else PaymentStatus.FAILED,
            amount=invoice.amount,
            version=0,
            vendor_invoice_id=invoice.id,
        )
        payment = self._put_payment(payment)
        if succeed:
            self._put_invoice(invoice, status=InvoiceStatus.PAID)
            self._put_subscription(subscription, status=_ACTIVE, renewal_failed_at=None)
        elif subscription.status is _ACTIVE:
            failed_at = subscription.period_start
            self._put_subscription(subscription, status=_PAST_DUE, renewal_failed_at=failed_at)
        self._queue.flush()
        return payment.id

    def exhaust_retries(self, subscription_id: str, *, unpaid: bool = False) -> None:
        """The vendor gives up retrying a past-due subscription: ``canceled`` (its open
        invoice voided) or, with ``unpaid=True``, ``unpaid`` (kept, invoice open). The
        ``renewal_failed_at`` stays the same.

        Raises:
            SandboxError: no such subscription, or it is not past due.
        """
        subscription = self._subscription(subscription_id)
        if subscription.status is not _PAST_DUE:
            raise refused("not_past_due", f"subscription is {subscription.status.value}")
        if unpaid:
            self._put_subscription(subscription, status=SubscriptionStatus.UNPAID)
        else:
            self._put_subscription(subscription, status=SubscriptionStatus.CANCELED)
            self._void_open_invoices(subscription_id)
        self._queue.flush()

    def dispute(self, payment_id: str) -> None:
        """The payer's bank disputes a succeeded payment: ``disputed``.

        Raises:
            SandboxError: no such payment, or it has not succeeded.
        """
        payment = self._payment(payment_id, PaymentStatus.SUCCEEDED)
        dispute = (self._ids.new_id("dp_sbx_"), "open")
        self._put_payment(payment, status=PaymentStatus.DISPUTED, dispute_open=True,
                          dispute=dispute)  # fmt: skip
        self._queue.flush()

    def close_dispute(self, payment_id: str, *, won: bool) -> None:
        """The dispute ends: won, the payment is ``succeeded`` again; lost, it stays
        ``disputed``. Either way a ``payment.disputed`` event reports it.

        Raises:
            SandboxError: no such payment, or no open dispute.
        """
        payment = self._payment(payment_id, PaymentStatus.DISPUTED)
        if not payment.dispute_open:
            raise refused("dispute_closed", f"the dispute of {payment_id} is closed")
        status = PaymentStatus.SUCCEEDED if won else PaymentStatus.DISPUTED
        assert payment.dispute is not None
        closed = (payment.dispute[0], "won" if won else "lost")
        self._put_payment(payment, "payment.disputed", status=status, dispute_open=False,
                          dispute=closed)  # fmt: skip
        self._queue.flush()

    def decline_saved_method(self, method_id: str) -> None:
        """The bank declines every later charge of this saved method (an expired card).

        Raises:
            SandboxError: no such saved method.
        """
        if method_id not in self._saved:
            raise refused("no_such_method", f"no saved payment method {method_id!r}")
        self._declining.add(method_id)

    def remove_saved_method(self, method_id: str) -> None:
        """The payer deletes a saved method at the vendor: it is never charged again, and
        a ``setup.removed`` event reports it (the setup, ``status`` ``removed``).

        Raises:
            SandboxError: no such saved method (or removed already).
        """
        if method_id not in self._saved:
            raise refused("no_such_method", f"no saved payment method {method_id!r}")
        owner, method = self._saved.pop(method_id)
        self._emit(
            "setup.removed",
            {"object": "setup", "id": method_id, "contact_id": owner, "method": method.value,
             "status": "removed", "version": self._next_version()},
        )  # fmt: skip
        self._queue.flush()

    # -- what the actions share ------------------------------------------------------------

    def _payable(self, session_id: str) -> Checkout:
        checkout = self._checkout_of(session_id)
        if checkout.status == "expired" or self._now() >= checkout.expires_at:
            raise refused("session_expired", f"checkout session {session_id} expired")
        if checkout.status == "complete":
            raise refused("session_complete", f"checkout session {session_id} is paid")
        return checkout

    def _setup(self, checkout: Checkout, method: PaymentMethodKind, *, succeed: bool) -> str:
        setup_id = self._ids.new_id("seti_sbx_")
        status = "succeeded" if succeed else "failed"
        if succeed:
            self._checkouts[checkout.id] = attrs.evolve(checkout, status="complete")
            self._saved[setup_id] = (checkout.contact_id, method)
        self._emit(
            f"setup.{status}",
            {"object": "setup", "id": setup_id, "contact_id": checkout.contact_id,
             "checkout_session_id": checkout.id, "method": method.value, "status": status,
             "version": self._next_version()},
        )  # fmt: skip
        self._queue.flush()
        return setup_id

    def _subscribe(self, checkout: Checkout, payment: Payment) -> str:
        """The subscription ``payment`` starts or restores (``checkout.plan`` is set)."""
        assert checkout.plan is not None
        contact_id = checkout.contact_id or ""
        old = self._subscriptions.get(checkout.replaces or "")
        if old is not None and old.in_arrears and old.contact_id == contact_id:
            self._subscriptions[old.id] = attrs.evolve(old, method=payment.method)
            if payment.status is PaymentStatus.SUCCEEDED:
                self._activate(old.id)
            return old.id
        now = self._now()
        version = self._next_version()
        paid = payment.status is PaymentStatus.SUCCEEDED
        subscription = Subscription(
            self._ids.new_id("sub_sbx_"),
            contact_id=contact_id,
            plan=checkout.plan,
            method=payment.method,
            status=_ACTIVE if paid else SubscriptionStatus.INCOMPLETE,
            version=version,
            created=version,
            period_start=now,
            period_end=checkout.plan.interval.advance(now),
        )
        self._subscriptions[subscription.id] = subscription
        self._emit("subscription.updated", subscription.to_json())
        return subscription.id

    def _activate(self, subscription_id: str) -> None:
        """Make a subscription active; one in arrears restarts its period now and its
        open renewal invoice is voided (the re-subscribe payment replaces it)."""
        subscription = self._subscriptions[subscription_id]
        if subscription.status is _ACTIVE:
            return
        changes: dict[str, object] = {"status": _ACTIVE, "renewal_failed_at": None}
        if subscription.in_arrears:
            now = self._now()
            changes.update(period_start=now, period_end=subscription.plan.interval.advance(now))
        self._put_subscription(subscription, **changes)
        self._void_open_invoices(subscription_id)
