"""Re-subscribing after a failed renewal (seed 000_07c53b15302458c1.txt).

"From the login page they should click 'Having Trouble?' and then enter their email
address. If they have an Inactive Subscription that was associated with Paid Portal
Access they will see a Re-Subscribe option which will take them to a process to enter
new payment information." The re-subscribe link is single-use, mailed to the matched
address, and consumed on POST.

A re-subscribe charges the subscription, not the required invoice: its page names the
required invoice marked (:func:`~portal_access._domain.gateway_events.resubscribe_invoice_id`),
which gateways echo like any invoice id, and its payment is recorded on the contact's
account without ever counting as a second payment of the required invoice. The page is
recorded for the required invoice, whose row the recording reads first, so two links
opened at once give one live page. While a subscription of the plan is active or
starting, no page opens (``PaymentInProgressError``, reason ``subscription_live``).
"""

from __future__ import annotations

from portal_access._domain.access import AccessLevel, decide
from portal_access._domain.checkout import (
    CheckoutPurpose,
    CheckoutRequest,
    CheckoutSession,
    payer_fields,
)
from portal_access._domain.duplicate_payments import live_subscription_refusal
from portal_access._domain.errors import ConflictError
from portal_access._domain.gateway_events import resubscribe_invoice_id
from portal_access._domain.payment_gateways import ensure_payable
from portal_access._domain.payments import PaymentMethodKind
from portal_access._domain.requirement import RequiredPayment
from portal_access._domain.return_urls import check_return_urls
from portal_access._domain.tokens import TokenPurpose, token_digest
from portal_access._service.access_states import require_access_state
from portal_access._service.checkout import Target, open_checkout
from portal_access._service.context import ServiceContext, Work, run
from portal_access._service.invitations import consume_token, look_up_token
from portal_access._service.lookups import (
    require_account,
    require_contact,
    require_invoice,
    require_plan,
)
from portal_access._service.mailings import mail_link

__all__ = [
    "resubscribe",
    "ensure_no_live_subscription",
    "finish_resubscribe",
    "prepare_resubscribe",
    "resubscribe_target",
    "send_resubscribe_link_if_due",
]


def _resubscribe_due(work: Work, contact_id: str) -> bool:
    state = require_access_state(work, contact_id)
    decision = decide(state, work.context.policy, work.context.clock.now())
    return decision.level is AccessLevel.RESUBSCRIBE_ONLY


def send_resubscribe_link_if_due(work: Work, contact_id: str) -> bool:
    """Mail a re-subscribe link when the contact is restricted to re-subscribing."""
    if not _resubscribe_due(work, contact_id):
        return False
    contact = require_contact(work, contact_id)
    account = require_account(work, contact.account_id)
    if contact.email is None:
        return False
    mail_link(
        work,
        contact,
        account,
        to=contact.email,
        purpose=TokenPurpose.RESUBSCRIBE,
        path=work.context.links.resubscribe,
        template=work.context.templates.resubscribe,
    )
    return True


def prepare_resubscribe(
    work: Work,
    token: str,
    *,
    success_url: str,
    cancel_url: str,
    contact_id: str | None = None,
) -> CheckoutRequest:
    """The checkout that re-subscribes with new payment details (the POST of the link).

    The token is checked here and consumed by :func:`finish_resubscribe`, in the unit
    of work that records the page: a gateway failure leaves the link usable, and the
    page's key derives from the token, so a retry or a double click opens one page.

    Raises:
        InvalidTokenError, TokenExpiredError, TokenAlreadyUsedError: a bad link.
        PaymentInProgressError: a subscription of the plan is active or starting.
        GatewayNotAllowedError: the contact may not use the offer's gateway (seed 004).
        ConflictError: the contact is not restricted to re-subscribing (any more).
        ValidationError, ConfigurationError: a return URL off the portal's origins.
    """
    check_return_urls(
        work.context.policy.system.portal_origins, success_url=success_url, cancel_url=cancel_url
    )
    record = look_up_token(work, token, (TokenPurpose.RESUBSCRIBE,), contact_id=contact_id)
    key = f"resubscribe:{token_digest(token)}"
    state = require_access_state(work, record.contact_id)
    requirement = _tied_requirement(work, record.contact_id)
    require_invoice(work, requirement.invoice_id)  # the row checkouts of it take turns on
    assert requirement.plan_id is not None
    _refuse_live_subscription(work, record.contact_id, requirement.plan_id)
    policy = work.context.policy
    ensure_payable(requirement.gateway, state.portal.allowed_gateways, policy.gateways)
    if not _resubscribe_due(work, record.contact_id):
        raise ConflictError("there is nothing to re-subscribe to")
    plan = require_plan(work, requirement.plan_id)
    contact = require_contact(work, record.contact_id)
    subscription = requirement.subscription
    return CheckoutRequest(
        purpose=CheckoutPurpose.RESUBSCRIBE,
        currency=plan.currency,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=key,
        **payer_fields(contact),
        invoice_id=resubscribe_invoice_id(requirement.invoice_id),
        plan=plan,
        payment_methods=frozenset({PaymentMethodKind.CARD}),
        replaces_subscription_id=subscription.subscription_id if subscription else None,
    )


def _tied_requirement(work: Work, contact_id: str) -> RequiredPayment:
    requirement = require_access_state(work, contact_id).effective_requirement
    if requirement is None or requirement.plan_id is None:
        raise ConflictError("there is nothing to re-subscribe to")
    return requirement


def _refuse_live_subscription(work: Work, contact_id: str, plan_id: str) -> None:
    reports = work.uow.subscriptions.for_contact(contact_id)
    refusal = live_subscription_refusal(plan_id, (r.snapshot for r in reports))
    if refusal is not None:
        raise refusal


def ensure_no_live_subscription(work: Work, request: CheckoutRequest) -> None:
    """The recording unit of work's check: no subscription of the plan became active or
    started while the page opened.

    Raises:
        PaymentInProgressError: one did (reason ``subscription_live``).
    """
    assert request.contact_id is not None
    assert request.plan is not None
    _refuse_live_subscription(work, request.contact_id, request.plan.id)


def resubscribe_target(work: Work, contact_id: str) -> tuple[str, str]:
    """The gateway a re-subscribe page opens at (the offer's) and the invoice it is
    recorded for (the required one)."""
    requirement = _tied_requirement(work, contact_id)
    return requirement.gateway, requirement.invoice_id


def finish_resubscribe(work: Work, request: CheckoutRequest, token: str) -> None:
    """Consume the link in the unit of work that records its page (a second click that
    finds the page recorded already consumes nothing)."""
    if work.uow.checkouts.with_key(request.idempotency_key) is not None:
        return
    record = look_up_token(work, token, (TokenPurpose.RESUBSCRIBE,))
    consume_token(work, record)


def resubscribe(
    context: ServiceContext,
    token: str,
    *,
    success_url: str,
    cancel_url: str,
    contact_id: str | None = None,
) -> CheckoutSession:
    """POST of a re-subscribe link: a page to enter new payment details; the link is
    consumed when the page is recorded.

    Raises:
        PaymentInProgressError: a subscription is already active or starting
            (``reason="subscription_live"``).
        GatewayNotAllowedError: the contact may not use the offer's gateway (seed 004).
    """

    def prepare(work: Work) -> CheckoutRequest:
        return prepare_resubscribe(
            work, token, success_url=success_url, cancel_url=cancel_url, contact_id=contact_id
        )

    def target(request: CheckoutRequest) -> Target:
        found_for = request.contact_id
        assert found_for is not None
        return run(context, lambda work: resubscribe_target(work, found_for))

    def finish(work: Work, request: CheckoutRequest, _session: CheckoutSession) -> None:
        finish_resubscribe(work, request, token)

    return open_checkout(
        context, prepare, target, recheck=ensure_no_live_subscription, finish=finish
    )
