"""``PortalAccess``: the one object a host builds, with one method per use case.

Each method runs in one unit of work (see :func:`~portal_access._service.context.run`):
it either commits everything it did, events included, or leaves the store as it was.
The code of each use case lives in the module named after its family; this class only
wires them to the ports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import partial

import attrs

from portal_access._domain.access import AccessDecision, PortalPolicy
from portal_access._domain.accounting import AccountingEntry, LedgerAccount
from portal_access._domain.accounts import Account, AccountClass, Site, SystemPortalOptions
from portal_access._domain.audit import AuditExportFormat, AuditRecord
from portal_access._domain.autopay import SavedPaymentMethod
from portal_access._domain.billing import Charge, Invoice, Plan
from portal_access._domain.capabilities import Capability
from portal_access._domain.checkout import CheckoutSession
from portal_access._domain.comments import DocumentComment
from portal_access._domain.contacts import Contact, ContactRole
from portal_access._domain.documents import (
    DOCUMENT_LINK_LIFETIME,
    Document,
    DocumentFile,
    DocumentKind,
    DocumentRef,
    check_document_link_key,
    preview_html,
)
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ConfigurationError
from portal_access._domain.events import (
    TOPICS,
    OutboxMessage,
    PaymentDuplicated,
    SubscriptionDuplicated,
)
from portal_access._domain.gateway_events import SubscriptionReport
from portal_access._domain.invitations import InvoiceEmail, StaffMember
from portal_access._domain.money import Money
from portal_access._domain.offers import InviteTiming, Offer
from portal_access._domain.outbox import OutboxSettings, Retention
from portal_access._domain.payment_gateways import GatewayConflict
from portal_access._domain.purchase_orders import CatalogItem, PurchaseOrder
from portal_access._domain.self_registration import SelfRegistrationRequest
from portal_access._domain.tokens import TokenPurpose
from portal_access._domain.validation import ensure_instance, ensure_text
from portal_access._service import (
    access_checks,
    accounting,
    audit_trail,
    autopay,
    checkout,
    contact_gateways,
    directory,
    document_comments,
    document_links,
    documents,
    duplicates,
    history,
    host_reads,
    invitations,
    invoice_emails,
    logins,
    offers,
    purchase_orders,
    quick_pay,
    refunds,
    resubscribe,
    self_registration,
    signup,
    staff_invitations,
    summary,
    waivers,
    webhooks,
)
from portal_access._service import reconcile as reconciling
from portal_access._service import retention as retention_of_records
from portal_access._service.audit_trail import TextSink
from portal_access._service.context import (
    PortalLinks,
    ServiceContext,
    deliver_outbox,
    run,
)
from portal_access._service.emails import EmailTemplates
from portal_access._service.payment_history import PaymentHistory
from portal_access.adapters import (
    BackgroundThread,
    MemoryMailer,
    MemoryRateLimiter,
    ScryptPasswordHasher,
    SecretsTokenSource,
    SystemClock,
)
from portal_access.ports import (
    BackgroundRunner,
    Clock,
    DocumentRenderer,
    Mailer,
    PasswordHasher,
    PaymentGateway,
    RateLimiter,
    Store,
    TokenSource,
)
from portal_access.repositories import Pruned

__all__ = ["PortalAccess"]

log = logging.getLogger("portal_access")

_PASSWORD_LINKS = (TokenPurpose.SET_PASSWORD, TokenPurpose.RESET_PASSWORD)


_NO_PORTAL_URL = SystemPortalOptions().portal_url


def _require_mail_and_links(
    mailer: Mailer | None, links: PortalLinks | None, policy: PortalPolicy
) -> None:
    """Refuse a production portal that would drop mail or mail dead links."""
    if mailer is None:
        raise ConfigurationError(
            "no mailer: pass mailer=SmtpMailer(...) (portal_access.adapters) or your own "
            "Mailer; invitations and password links go by email. Only in a test or a demo, "
            "pass development=True to keep mail in memory",
            field="mailer",
        )
    if links is None and policy.system.portal_url == _NO_PORTAL_URL:
        raise ConfigurationError(
            "no portal URL: emailed links would point at https://portal.invalid; pass "
            'policy=PortalPolicy(system=SystemPortalOptions(portal_url="https://...")) or '
            'links=PortalLinks(base_url="https://..."). Only in a test or a demo, pass '
            "development=True",
            field="links",
        )


def _known_topics(topics: Iterable[str]) -> frozenset[str]:
    if isinstance(topics, str):  # "onboarding.due" would be its letters
        topics = (topics,)
    try:
        kept = frozenset(topics)
    except TypeError:
        raise ConfigurationError("must be topic names", field="topics") from None
    given: frozenset[object] = kept
    unknown = sorted(repr(t)[:60] for t in given if not isinstance(t, str) or t not in TOPICS)
    if unknown:
        raise ConfigurationError(
            f"unknown topics {', '.join(unknown)}; known: {', '.join(sorted(TOPICS))}",
            field="topics",
        )
    return kept


class PortalAccess:
    """Sell and police access to a customer portal.

    Args:
        store: where state lives (``MemoryStore``, ``SqlStore``, the Django store).
        gateways: the payment gateways offers may use, by their ``name``.
        mailer: sends the outbox's emails (``SmtpMailer``, your own ``Mailer``).
            Required, unless ``development=True`` (then kept in memory).
        clock: the time (default: the system clock).
        ids: token bytes and ids (default: :mod:`secrets`).
        hasher: password hashing (default: scrypt).
        limiter: rate limits for anonymous flows (default: 10 per 15 minutes, in memory).
        policy: ACH rule, grace period, refund/dispute rules, system portal options.
        templates: the emails.
        links: where single-use links point (default: under the policy's portal URL,
            ``PortalPolicy(system=SystemPortalOptions(portal_url=...))``). One of the two
            is required, unless ``development=True`` (then ``https://portal.invalid``).
        business_name: ``{{ business.name }}`` in emails ("Acme Services"). Without one,
            the emails read without it ("Help with your customer portal login").
        background: runs the anonymous flows' real work after the visitor's request
            (default: a daemon thread of this portal's own; pass your task queue's
            submit, or ``lambda job: job()`` to run it inline in development).
        document_link_key: at least 32 random bytes that sign the portal link each
            document carries (seed 004); keep it secret and stable across restarts
            (rotating it retires every link). Without it, documents raise
            ``ConfigurationError`` rather than carry an unsigned link.
        document_link_lifetime: how long a document's link works (default 90 days).
        renderer: draws documents as files (``FpdfDocumentRenderer()`` from
            ``portal_access.adapters``, with the ``pdf`` extra).
        outbox: how outbox messages are claimed (the lease), retried (the backoff) and
            batched (:class:`~portal_access.OutboxSettings`).
        topics: event topics to keep in the outbox whatever this process subscribes to
            (``{"onboarding.due"}``): a web process that subscribes to nothing still
            stores them, for the worker that subscribes to deliver. Without it, an event
            nobody in the emitting process receives is not stored. Declare the same
            topics in every process (build them all with one factory).
        development: this portal is a test's or a demo's: with no mailer, mail is kept
            in memory (``portal.mailer.sent``), and with no portal URL, links point at
            ``https://portal.invalid``. Never in production: mail would be dropped and
            links dead.

    Raises:
        ConfigurationError: two gateways with the same name; an unknown topic; no
            mailer, or no portal URL, without ``development=True`` (the message says
            what to pass); a ``document_link_key`` shorter than 32 bytes, or a document
            link lifetime that is not positive.

    >>> from portal_access.storage.memory import MemoryStore
    >>> PortalAccess(store=MemoryStore(), gateways=[])
    Traceback (most recent call last):
    ...
    portal_access.ConfigurationError: mailer: no mailer: pass mailer=SmtpMailer(...) ...
    >>> portal = PortalAccess(store=MemoryStore(), gateways=[], development=True)
    >>> portal.policy.ach.value
    'grant_on_clearing'
    """

    def __init__(
        self,
        *,
        store: Store,
        gateways: Iterable[PaymentGateway],
        mailer: Mailer | None = None,
        clock: Clock | None = None,
        ids: TokenSource | None = None,
        hasher: PasswordHasher | None = None,
        limiter: RateLimiter | None = None,
        policy: PortalPolicy | None = None,
        templates: EmailTemplates | None = None,
        links: PortalLinks | None = None,
        business_name: str | None = None,
        background: BackgroundRunner | None = None,
        document_link_key: bytes | None = None,
        document_link_lifetime: timedelta = DOCUMENT_LINK_LIFETIME,
        renderer: DocumentRenderer | None = None,
        outbox: OutboxSettings | None = None,
        topics: Iterable[str] = (),
        development: bool = False,
    ) -> None:
        policy = policy or PortalPolicy()
        if development is not True:
            _require_mail_and_links(mailer, links, policy)
        if document_link_key is not None:
            check_document_link_key(document_link_key)
        lifetime: object = document_link_lifetime  # a host may pass anything
        if not isinstance(lifetime, timedelta) or lifetime <= timedelta(0):
            raise ConfigurationError("must be a positive timedelta", field="document_link_lifetime")
        by_name: dict[str, PaymentGateway] = {}
        for gateway in gateways:
            if gateway.name in by_name:
                raise ConfigurationError("two gateways share a name", field="gateways")
            by_name[gateway.name] = gateway
        if policy.gateways is None:
            policy = attrs.evolve(policy, gateways=frozenset(by_name))
        self._context = ServiceContext(
            store=store,
            gateways=by_name,
            mailer=mailer if mailer is not None else MemoryMailer(),
            clock=clock or SystemClock(),
            ids=ids or SecretsTokenSource(),
            hasher=hasher or ScryptPasswordHasher(),
            limiter=limiter if limiter is not None else MemoryRateLimiter(),
            policy=policy,
            templates=templates or EmailTemplates(),
            links=links or PortalLinks(base_url=policy.system.portal_url),
            business_name=None
            if business_name is None
            else ensure_text(business_name, field="business_name"),
            background=background if background is not None else BackgroundThread(),
            document_link_key=document_link_key,
            document_link_lifetime=document_link_lifetime,
            renderer=renderer,
            outbox=ensure_instance(outbox or OutboxSettings(), OutboxSettings, field="outbox"),
            kept_topics=_known_topics(topics),
        )
        self._decisions = access_checks.DecisionCache()
        if policy.refund_duplicates:  # after commit, from the outbox (retried, idempotent)
            self._context.subscribers.append(
                (PaymentDuplicated.topic, partial(duplicates.refund_duplicate, self._context))
            )
            self._context.subscribers.append(
                (SubscriptionDuplicated.topic, partial(duplicates.cancel_duplicate, self._context))
            )

    @property
    def policy(self) -> PortalPolicy:
        """The policy in force."""
        return self._context.policy

    @property
    def mailer(self) -> Mailer:
        """The mailer emails go to."""
        return self._context.mailer

    # -- configuration (staff screens) ---------------------------------------------------

    def save_account_class(
        self, account_class: AccountClass, *, staff: StaffMember | None = None
    ) -> AccountClass:
        """Create or change an account class; its contacts' access follows at once. The
        audit trail puts the access changes down to ``staff`` (else to the library)."""
        return run(
            self._context,
            partial(directory.save_account_class, account_class=account_class, staff=staff),
        )

    def save_account(self, account: Account, *, staff: StaffMember | None = None) -> Account:
        """Create or change an account (access changes on the audit trail by ``staff``)."""
        return run(self._context, partial(directory.save_account, account=account, staff=staff))

    def save_site(self, site: Site, *, staff: StaffMember | None = None) -> Site:
        """Create or change a site (activate, deactivate); access changes on the audit
        trail by ``staff``."""
        return run(self._context, partial(directory.save_site, site=site, staff=staff))

    def create_contact(self, contact: Contact, *, staff: StaffMember | None = None) -> bool:
        """Save a new contact; returns whether it was auto-invited (seed 001)."""
        return run(self._context, partial(directory.create_contact, contact=contact, staff=staff))

    def update_contact(self, contact: Contact, *, staff: StaffMember | None = None) -> Contact:
        """Change a contact's name, email, role, site scope or portal settings (show staff
        :meth:`gateway_conflicts` afterwards: the gateways allowed may not cover what the
        contact owes). Access changes are on the audit trail by ``staff``."""
        return run(self._context, partial(directory.update_contact, contact=contact, staff=staff))

    def gateway_conflicts(self, contact_id: str) -> tuple[GatewayConflict, ...]:
        """Seed 004: what the contact owes through a gateway they may not use (the
        required invoice, its re-subscribe path, their open invoices); for the staff
        screen that configures the contact's gateways. Empty when none.

        Raises:
            NotFoundError: no such contact.
        """
        return run(
            self._context,
            partial(contact_gateways.contact_gateway_conflicts, contact_id=contact_id),
        )

    def save_plan(self, plan: Plan) -> Plan:
        """Create or change a subscription plan."""
        return run(self._context, partial(offers.save_plan, plan=plan))

    def save_offer(self, offer: Offer) -> Offer:
        """Create or change an offer (a kickoff form with its paid-access settings)."""
        return run(self._context, partial(offers.save_offer, offer=offer))

    def create_offer(
        self,
        name: str,
        *,
        gateway: str | None = None,
        currency: str | None = None,
        invoice_title: str = "{{ offer.name }}",
        one_time: Charge | None = None,
        plan: Plan | None = None,
        invite: InviteTiming | str = InviteTiming.IMMEDIATELY,
        role: ContactRole = ContactRole.CLIENT,
        onboarding_flow: str | None = None,
        account_class_id: str | None = None,
        offer_id: str | None = None,
    ) -> Offer:
        """Build and save an offer; paid access when ``one_time`` or ``plan`` is given.

        Raises:
            ConfigurationError: no gateway or currency for paid access, currencies that
                disagree, an unconfigured gateway, a non-Client role with payment.
            TemplateError: the invoice title does not compile.
        """
        return run(
            self._context,
            partial(
                offers.create_offer,
                name=name,
                gateway=gateway,
                currency=currency,
                invoice_title=invoice_title,
                one_time=one_time,
                plan=plan,
                invite=invite,
                role=role,
                onboarding_flow=onboarding_flow,
                account_class_id=account_class_id,
                offer_id=offer_id,
            ),
        )

    def save_invoice(self, invoice: Invoice) -> Invoice:
        """Record one of the host's own invoices (for summaries, aging, quick pay)."""
        return run(self._context, partial(directory.save_invoice, invoice=invoice))

    # -- signing up and invitations --------------------------------------------------------

    def submit_kickoff_form(
        self,
        offer_id: str,
        form: signup.KickoffForm,
        *,
        idempotency_key: str | None = None,
        account_id: str | None = None,
        staff: StaffMember | None = None,
    ) -> signup.Signup:
        """Seed 000: create the contact, its required invoice and (maybe) the invitation.
        A visitor's form makes a new account; ``account_id`` (an existing account to
        join) needs ``staff`` with ``INVITE_CONTACTS``."""
        return run(
            self._context,
            partial(
                signup.submit_kickoff_form,
                offer_id=offer_id,
                form=form,
                idempotency_key=idempotency_key,
                account_id=account_id,
                staff=staff,
            ),
        )

    def invite_contact(self, contact_id: str, *, staff: StaffMember) -> None:
        """Staff invite a saved contact with an email (seed 001)."""
        run(
            self._context,
            partial(staff_invitations.invite_contact, contact_id=contact_id, staff=staff),
        )

    def invite_email_address(self, account_id: str, email: str, *, staff: StaffMember) -> str:
        """Staff invite an address for a client from Settings (seed 002); the contact id."""
        return run(
            self._context,
            partial(
                staff_invitations.invite_email_address,
                account_id=account_id,
                email=email,
                staff=staff,
            ),
        )

    def send_invoice_email(
        self,
        invoice_id: str,
        email: InvoiceEmail | None = None,
        *,
        staff: StaffMember,
        matter_email: str | None = None,
        invite_recipients: bool = False,
    ) -> tuple[str, ...]:
        """Email an invoice; invite its To recipients when asked (seed 002); the ids of
        the contacts invited.

        Args:
            invoice_id: the invoice.
            email: the message as staff edited it (To, CC, BCC, the invite box).
            staff: who sends it (inviting needs ``INVITE_CONTACTS``).
            matter_email: without ``email``: the invoice's project/matter "Email" field,
                which overrides the client's (the invoice contact's email); see
                :func:`~portal_access.invoice_email_addresses`.
            invite_recipients: without ``email``: the "Invite recipients" box.

        Raises:
            ValidationError: ``email`` together with ``matter_email`` or
                ``invite_recipients``, or no recipient at all.
        """
        return run(
            self._context,
            partial(
                invoice_emails.send_invoice_email,
                invoice_id=invoice_id,
                email=email,
                staff=staff,
                matter_email=matter_email,
                invite_recipients=invite_recipients,
            ),
        )

    def send_statement_email(self, account_id: str, to: Iterable[EmailAddress]) -> None:
        """Email a statement notice carrying the portal link (seed 003)."""
        run(
            self._context,
            partial(invoice_emails.send_statement_email, account_id=account_id, to=to),
        )

    def send_portal_instructions(self, contact_id: str, *, staff: StaffMember) -> None:
        """Seed 003: mail the username and a set-password link (never a password)."""
        run(
            self._context,
            partial(staff_invitations.send_portal_instructions, contact_id=contact_id, staff=staff),
        )

    def set_temporary_password(self, contact_id: str, password: str, *, staff: StaffMember) -> None:
        """Seed 003: a staff-set password the contact must change at first login."""
        run(
            self._context,
            partial(
                staff_invitations.set_temporary_password,
                contact_id=contact_id,
                password=password,
                staff=staff,
            ),
        )

    def view_invitation(self, token: str) -> invitations.InvitationView:
        """GET of an invitation link: check it, consume nothing (mail scanners click)."""
        return run(
            self._context,
            partial(invitations.view_link, token=token, purposes=(TokenPurpose.INVITATION,)),
        )

    def accept_invitation(self, token: str, password: str, *, contact_id: str | None = None) -> str:
        """POST of an invitation link: set the first password (registration); the
        contact id. Pass ``contact_id`` when the visitor is known, to refuse others' links."""
        return run(
            self._context,
            partial(
                invitations.complete_password_link,
                token=token,
                password=password,
                purposes=(TokenPurpose.INVITATION,),
                contact_id=contact_id,
            ),
        )

    def view_password_link(self, token: str) -> invitations.InvitationView:
        """GET of a set-password or reset link."""
        return run(
            self._context, partial(invitations.view_link, token=token, purposes=_PASSWORD_LINKS)
        )

    def set_password(self, token: str, password: str) -> str:
        """POST of a set-password or reset link; the contact id."""
        return run(
            self._context,
            partial(
                invitations.complete_password_link,
                token=token,
                password=password,
                purposes=_PASSWORD_LINKS,
            ),
        )

    # -- logging in ------------------------------------------------------------------------

    def log_in(self, email: str, password: str, *, client_key: str) -> logins.LoginResult:
        """Check an email and password; see :func:`~portal_access._service.logins.log_in`.
        ``client_key`` is the visitor's address (rate limits are per client too)."""
        return logins.counted_log_in(self._context, email, password, client_key=client_key)

    def change_password(
        self, email: str, current: str, new: str, *, client_key: str
    ) -> logins.LoginResult:
        """Replace a password (a temporary one included); every outstanding link dies."""
        return logins.counted_change_password(
            self._context, email, current, new, client_key=client_key
        )

    def having_trouble(self, email: str, *, client_key: str) -> None:
        """ "Having trouble?": reset link, and re-subscribe link when due (seed 000),
        mailed by a background job; the same answer, in the same time, for any email."""
        logins.having_trouble(self._context, email, client_key=client_key)

    # -- access and payment ----------------------------------------------------------------

    def check_access(self, contact_id: str) -> AccessDecision:
        """The hot path: one read and :func:`~portal_access.decide` (cached per state
        version until the decision's ``valid_until``)."""
        return access_checks.check_access(self._context, contact_id, self._decisions)

    def start_checkout(
        self, contact_id: str, *, success_url: str, cancel_url: str
    ) -> CheckoutSession:
        """A hosted page that pays the contact's required invoice; two calls at once get
        one page.

        Raises:
            PaymentInProgressError: a payment of the invoice is processing or succeeded
                (show ``reason``: "your bank payment is processing").
            GatewayNotAllowedError: the contact may not use the offer's gateway (seed 004).
            ConflictError: nothing to pay (no requirement, paid, waived, revoked).
        """
        return checkout.start_required_checkout(
            self._context, contact_id, success_url=success_url, cancel_url=cancel_url
        )

    def start_payment_method_setup(
        self, contact_id: str, *, gateway: str, success_url: str, cancel_url: str
    ) -> CheckoutSession:
        """A page that saves a payment method, where the contact may (seed 003), through
        a gateway the contact may use (seed 004)."""
        return checkout.start_payment_method_setup(
            self._context,
            contact_id,
            gateway=gateway,
            success_url=success_url,
            cancel_url=cancel_url,
        )

    def handle_webhook(
        self, gateway: str, headers: webhooks.WebhookHeaders, body: bytes
    ) -> webhooks.WebhookResult:
        """Verify, record once and apply a gateway webhook (any order, any repeat).

        ``headers`` as the host has them (:data:`~portal_access.WebhookHeaders`: Flask's
        ``request.headers``, Django's ``request.headers``, a ``dict``, a list of
        pairs); ``body`` the raw bytes (``request.get_data()``, ``request.body``).

        Raises:
            WebhookVerificationError: unknown gateway, bad signature, stale timestamp,
                a text body (``reason="body"``), headers that are not text
                (``reason="header"``); nothing was parsed or stored.
        """
        return webhooks.handle_webhook(self._context, gateway, headers, body)

    def view_resubscribe(self, token: str) -> invitations.InvitationView:
        """GET of a re-subscribe link."""
        return run(
            self._context,
            partial(invitations.view_link, token=token, purposes=(TokenPurpose.RESUBSCRIBE,)),
        )

    def resubscribe(
        self, token: str, *, success_url: str, cancel_url: str, contact_id: str | None = None
    ) -> CheckoutSession:
        """POST of a re-subscribe link: a page to enter new payment details (seed 000).

        Raises:
            PaymentInProgressError: a subscription is already active or starting
                (``reason="subscription_live"``).
            GatewayNotAllowedError: the contact may not use the offer's gateway (seed 004).
        """
        return resubscribe.resubscribe(
            self._context,
            token,
            success_url=success_url,
            cancel_url=cancel_url,
            contact_id=contact_id,
        )

    def cancel_required_payment(
        self, contact_id: str, *, staff: StaffMember, reason: str = ""
    ) -> str:
        """Seed 000: void the required invoice and grant access; the invoice id. The
        audit trail records ``staff`` and ``reason``; pages opened for the invoice close."""
        return waivers.waive_required_payment(self._context, contact_id, staff=staff, reason=reason)

    def refund_payment(
        self,
        gateway: str,
        payment_id: str,
        *,
        staff: StaffMember,
        amount: Money | None = None,
        reason: str = "",
    ) -> None:
        """Staff refund a payment (in full without ``amount``), e.g. a duplicate the
        account summary lists; on the audit trail with ``reason``. The payment's new
        state arrives from the gateway like any other report. Raises as
        :func:`~portal_access._service.refunds.refund_payment` says."""
        refunds.refund_payment(
            self._context, gateway, payment_id, staff=staff, amount=amount, reason=reason
        )

    def self_register(
        self, invoice_number: str, code: str, contact_name: str, email: str, *, client_key: str
    ) -> None:
        """Seed 001: invoice-verified self-registration; same answer, in the same time,
        whatever matched (a background job compares and mails)."""
        self_registration.self_register(
            self._context,
            SelfRegistrationRequest.from_form(invoice_number, code, contact_name, email),
            client_key=client_key,
        )

    def quick_pay(
        self,
        invoice_number: str,
        code: str,
        *,
        success_url: str,
        cancel_url: str,
        client_key: str,
    ) -> quick_pay.QuickPayResult:
        """Seed 001: a guest pays an invoice with its number and quick-pay code;
        ``client_key`` is the visitor's address (rate limits are per client too)."""
        return quick_pay.quick_pay(
            self._context,
            invoice_number,
            code,
            success_url=success_url,
            cancel_url=cancel_url,
            client_key=client_key,
        )

    def account_summary(self, contact_id: str) -> summary.AccountSummary:
        """Balances, aging, invoices, settled, pending and duplicate payments (seeds 001,
        003, 004)."""
        return run(self._context, partial(summary.account_summary, contact_id=contact_id))

    # -- documents (seed 004: preview, PDF, the portal link, pay) --------------------------

    def document(self, contact_id: str, document: DocumentRef) -> Document:
        """An invoice or statement as the contact sees it (every text and amount, and its
        signed portal link), for a host drawing its own page.

        Raises:
            NotFoundError: no such contact or document, or one the contact may not see.
            AccessDeniedError: no full access.
            ConfigurationError: no ``document_link_key``.
        """
        return run(
            self._context,
            partial(
                documents.build_document,
                contact_id=contact_id,
                ref=document,
                capability=Capability.VIEW_INVOICES,
            ),
        )

    def invoice_pdf(self, contact_id: str, invoice_id: str) -> bytes:
        """The PDF of an invoice the contact may see, with its portal link. Raises as
        :meth:`document`, and ``ConfigurationError`` without a ``renderer``."""
        return self._pdf(contact_id, DocumentRef(DocumentKind.INVOICE, invoice_id))

    def statement_pdf(self, contact_id: str, account_id: str) -> bytes:
        """The PDF of the statement of the contact's account: the open invoices the
        contact may see and the balance due per currency. Raises as :meth:`invoice_pdf`."""
        return self._pdf(contact_id, DocumentRef(DocumentKind.STATEMENT, account_id))

    def document_file(self, contact_id: str, document: DocumentRef) -> DocumentFile:
        """The document as the contact sees it together with its file (the PDF), built
        once: what a download view needs (the file, its media type, and the title to
        name it after). Raises as :meth:`invoice_pdf`."""
        return run(
            self._context,
            partial(documents.document_file, contact_id=contact_id, ref=document),
        )

    def _pdf(self, contact_id: str, ref: DocumentRef) -> bytes:
        return run(
            self._context, partial(documents.render_document, contact_id=contact_id, ref=ref)
        )

    def invoice_preview_html(self, contact_id: str, invoice_id: str) -> str:
        """The invoice as an escaped HTML fragment for the portal's preview."""
        return preview_html(
            self.document(contact_id, DocumentRef(DocumentKind.INVOICE, invoice_id))
        )

    def statement_preview_html(self, contact_id: str, account_id: str) -> str:
        """The statement as an escaped HTML fragment for the portal's preview."""
        return preview_html(
            self.document(contact_id, DocumentRef(DocumentKind.STATEMENT, account_id))
        )

    def document_link(self, contact_id: str, document: DocumentRef) -> str:
        """The signed portal link of a document the contact may see: it opens that
        document for that contact only, after login, until it expires."""
        return run(
            self._context, partial(documents.document_link, contact_id=contact_id, ref=document)
        )

    def document_links(self, contact_id: str, documents: Iterable[DocumentRef]) -> tuple[str, ...]:
        """The signed portal links of several documents the contact may see, in the order
        given, in one read (a page listing the contact's invoices and statement).

        Raises:
            NotFoundError: no such contact, or a document it may not see.
            AccessDeniedError: the contact may not view invoices.
            ConfigurationError: no ``document_link_key``.
        """
        return run(
            self._context,
            partial(
                document_links.contact_document_links,
                contact_id=contact_id,
                refs=documents,
            ),
        )

    def open_document_link(self, token: str, contact_id: str) -> DocumentRef:
        """The document the link's ``token`` opens for the logged-in contact.

        Raises:
            InvalidTokenError: tampered, another key's, another contact's, or for a
                document the contact may no longer see (all "unknown link").
            TokenExpiredError: the contact's own link, expired.
            AccessDeniedError: the contact has no full access.
        """
        return run(self._context, partial(documents.open_link, token=token, contact_id=contact_id))

    def pay_document(
        self,
        contact_id: str,
        invoice_id: str,
        *,
        gateway: str,
        success_url: str,
        cancel_url: str,
    ) -> CheckoutSession:
        """ "Pay this document": a hosted page for what an invoice the contact sees still
        owes, through one of the contact's allowed gateways (seed 004); two clicks get
        one page. Raises as
        :func:`~portal_access._service.documents.prepare_document_payment`."""
        return documents.pay_document(
            self._context,
            contact_id,
            invoice_id,
            gateway=gateway,
            success_url=success_url,
            cancel_url=cancel_url,
        )

    # -- comments on documents (seed 004) --------------------------------------------------

    def comment_on_document(
        self, contact_id: str, document: DocumentRef, body: str
    ) -> DocumentComment:
        """Post the contact's comment on a document it may see; staff hear of it through a
        ``document.commented`` event. ``body``: 1 to 4000 characters after trimming.

        Raises:
            ValidationError: a blank or too long body, or control characters in it.
            NotFoundError: no such contact or document, or one the contact may not see.
            AccessDeniedError: no full access.
        """
        return run(
            self._context,
            partial(
                document_comments.comment_as_contact, contact_id=contact_id, ref=document, body=body
            ),
        )

    def staff_comment_on_document(
        self, document: DocumentRef, body: str, *, staff: StaffMember
    ) -> DocumentComment:
        """Post a staff comment on a document; every contact who may see it is mailed.

        Raises:
            ValidationError: as :meth:`comment_on_document`.
            NotFoundError: no such invoice or account.
        """
        return run(
            self._context,
            partial(document_comments.comment_as_staff, ref=document, body=body, staff=staff),
        )

    def document_comments(
        self, contact_id: str, document: DocumentRef
    ) -> tuple[DocumentComment, ...]:
        """The comments of a document the contact may see, oldest first (raises as
        :meth:`comment_on_document`)."""
        return run(
            self._context,
            partial(document_comments.comments_for_contact, contact_id=contact_id, ref=document),
        )

    def staff_document_comments(self, document: DocumentRef) -> tuple[DocumentComment, ...]:
        """Every comment of a document, oldest first (staff side).

        Raises:
            NotFoundError: no such invoice or account.
        """
        return run(self._context, partial(document_comments.comments_for_staff, ref=document))

    # -- reads for the host's pages and tests (no access check: see check_access) ---------

    def invoice(self, invoice_id: str) -> Invoice:
        """The invoice with this id.

        Raises:
            NotFoundError: no such invoice.
        """
        return run(self._context, partial(history.invoice, invoice_id=invoice_id))

    def invoice_with_number(self, number: str) -> Invoice:
        """The invoice with this number.

        Raises:
            NotFoundError: no such invoice.
        """
        return run(self._context, partial(history.invoice_with_number, number=number))

    def contact_invoices(self, contact_id: str) -> tuple[Invoice, ...]:
        """The contact's invoices (theirs and the account's addressed to no one), newest
        first.

        Raises:
            NotFoundError: no such contact.
        """
        return run(self._context, partial(history.contact_invoices, contact_id=contact_id))

    def contact_payments(self, contact_id: str) -> PaymentHistory:
        """The payments of :meth:`contact_invoices`: settled, pending (a bank payment
        clearing) and duplicates to refund, newest first.

        Raises:
            NotFoundError: no such contact.
        """
        return run(self._context, partial(history.contact_payments, contact_id=contact_id))

    def offer(self, offer_id: str) -> Offer:
        """The offer (active or not), e.g. for the kickoff form's page.

        Raises:
            NotFoundError: no such offer.
        """
        return run(self._context, partial(host_reads.offer, offer_id=offer_id), deliver=False)

    def contact(self, contact_id: str) -> Contact:
        """The contact (name, email, role, site scope, portal settings).

        Raises:
            NotFoundError: no such contact.
        """
        return run(self._context, partial(host_reads.contact, contact_id=contact_id), deliver=False)

    def account(self, account_id: str) -> Account:
        """The account (number, name, class, active or not).

        Raises:
            NotFoundError: no such account.
        """
        return run(self._context, partial(host_reads.account, account_id=account_id), deliver=False)

    def account_sites(self, account_id: str) -> tuple[Site, ...]:
        """Every site of the account, active or not, in id order (a contact's site scope
        says which of them they see).

        Raises:
            NotFoundError: no such account.
        """
        return run(
            self._context, partial(host_reads.account_sites, account_id=account_id), deliver=False
        )

    def contact_subscriptions(self, contact_id: str) -> tuple[SubscriptionReport, ...]:
        """The subscriptions the gateways reported for the contact, whatever their
        status, in ``(gateway, subscription id)`` order.

        Raises:
            NotFoundError: no such contact.
        """
        return run(
            self._context,
            partial(host_reads.contact_subscriptions, contact_id=contact_id),
            deliver=False,
        )

    # -- the audit trail (staff screens, exports) -------------------------------------------

    def audit_trail(
        self,
        *,
        contact_id: str | None = None,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> tuple[AuditRecord, ...]:
        """The audit trail: every staff action and access change about the contact and/or
        the account (the whole trail without either) that occurred at or after ``since``
        and before ``until``, **oldest first** (``newest_first=True`` for a staff screen
        showing the latest), at most ``limit`` entries.

        Raises:
            ValidationError: an id that is not one, a naive ``since``/``until``, a
                negative ``limit``.
        """
        return run(
            self._context,
            partial(
                audit_trail.entries,
                contact_id=contact_id,
                account_id=account_id,
                since=since,
                until=until,
                limit=limit,
                newest_first=newest_first,
            ),
            deliver=False,
        )

    def export_audit_trail(
        self,
        out: TextSink,
        *,
        format: AuditExportFormat | str = AuditExportFormat.JSON_LINES,
        contact_id: str | None = None,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Write the entries :meth:`audit_trail` selects, oldest first, to ``out`` (open
        files with ``newline=""``); how many were written. ``format``: JSON lines (one
        :meth:`AuditRecord.to_json_line` per line; read back with
        :meth:`AuditRecord.from_json_line`) or CSV (a header of
        :data:`~portal_access.AUDIT_CSV_COLUMNS`, then a row per entry; a cell starting
        with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'`` in front,
        so a spreadsheet never runs it).

        Raises:
            ValidationError: an unknown ``format``, or as :meth:`audit_trail`.
        """
        return audit_trail.export(
            self._context,
            out,
            format=format,
            contact_id=contact_id,
            account_id=account_id,
            since=since,
            until=until,
        )

    def reconcile(
        self,
        gateway: str,
        *,
        since: datetime,
        progress: Callable[[int, webhooks.WebhookResult], object] | None = None,
    ) -> reconciling.ReconcileReport:
        """Replay the gateway's events since ``since`` through the webhook path."""
        return reconciling.reconcile(self._context, gateway, since=since, progress=progress)

    # -- autopay (seeds 001, 003) ----------------------------------------------------------

    def saved_payment_method(self, contact_id: str) -> SavedPaymentMethod | None:
        """The payment method the contact saved (seed 003), or ``None``. A method is
        kept when its gateway reports the setup page completed, and only where the
        contact may save one (see :meth:`start_payment_method_setup`)."""
        return run(self._context, partial(autopay.saved_payment_method, contact_id=contact_id))

    def save_payment_method(
        self, contact_id: str, *, gateway: str, token: str
    ) -> SavedPaymentMethod:
        """Save a payment method without a payment, from a token the payer's browser got
        from the gateway's own script (Square's Web Payments SDK card nonce; PayPal's
        approved vault setup token, after :meth:`start_payment_method_setup`), where the
        contact may save one (seed 003) through that gateway (seed 004). See
        :func:`~portal_access._service.autopay.save_payment_method`."""
        return autopay.save_payment_method(self._context, contact_id, gateway=gateway, token=token)

    def run_autopay(self, today: date) -> autopay.AutopayReport:
        """Charge the contacts' open invoices due on or before ``today`` with their saved
        methods, never above the autopay maximum (seed 001); an invoice above it, and a
        declined charge, are mailed to the contact. Run it once a day (again the same day
        charges nothing twice). See :mod:`~portal_access._service.autopay`.

        Raises:
            ValidationError: ``today`` is not a date.
        """
        return autopay.run_autopay(self._context, today)

    # -- the catalog and purchase orders (seed 004) ----------------------------------------

    def save_catalog_item(self, item: CatalogItem) -> CatalogItem:
        """Add or change an item of the catalog (``for_sale=False`` withdraws it)."""
        return run(self._context, partial(purchase_orders.save_catalog_item, item=item))

    def catalog(self, contact_id: str) -> tuple[CatalogItem, ...]:
        """The items for sale, by name, for a contact with catalog access (seed 004).

        Raises:
            NotFoundError: no such contact.
            AccessDeniedError: the contact may not use the catalog.
        """
        return run(self._context, partial(purchase_orders.catalog_for, contact_id=contact_id))

    def place_purchase_order(
        self, contact_id: str, quantities: Mapping[str, int], *, gateway: str | None = None
    ) -> PurchaseOrder:
        """A contact with catalog access orders ``quantities`` (item id -> how many);
        the order becomes an open invoice of the contact (``invoice_id``), payable through
        ``gateway`` (default: the contact's one gateway). Raises as
        :func:`~portal_access._service.purchase_orders.place_purchase_order` says
        (``AccessDeniedError`` for a contact without catalog access)."""
        return run(
            self._context,
            partial(
                purchase_orders.place_purchase_order,
                contact_id=contact_id,
                quantities=quantities,
                gateway=gateway,
            ),
        )

    def purchase_orders(self, contact_id: str) -> tuple[PurchaseOrder, ...]:
        """The contact's purchase orders, oldest first.

        Raises:
            NotFoundError: no such contact.
        """
        return run(
            self._context, partial(purchase_orders.purchase_orders_of, contact_id=contact_id)
        )

    # -- accounting (seed 004) -------------------------------------------------------------

    def map_ledger_account(self, account: LedgerAccount, *, staff: StaffMember) -> LedgerAccount:
        """Staff match a gateway's payment method to a bank or ledger account (seed 004);
        entries recorded from now on carry its code.

        Raises:
            ConfigurationError: no such gateway is configured.
        """
        return run(
            self._context, partial(accounting.map_ledger_account, account=account, staff=staff)
        )

    def ledger_accounts(self) -> tuple[LedgerAccount, ...]:
        """Every (gateway, payment method) -> account mapping."""
        return run(self._context, accounting.ledger_accounts)

    def accounting_entries(self, start: date, end: date) -> tuple[AccountingEntry, ...]:
        """The accounting entries from ``start`` to ``end`` (days, both included, UTC),
        oldest first: one per settled payment, refund, dispute and gateway fee.

        Raises:
            ValidationError: not dates, ``end`` before ``start``, or more than about ten
                years between them.
        """
        return run(self._context, partial(accounting.accounting_entries, start=start, end=end))

    def unmapped_accounting_entries(self) -> tuple[AccountingEntry, ...]:
        """The entries recorded for a payment method no account was mapped to."""
        return run(self._context, accounting.unmapped_entries)

    def accounting_csv(self, start: date, end: date) -> str:
        """:meth:`accounting_entries` as CSV, escaped against CSV injection."""
        return run(self._context, partial(accounting.accounting_csv, start=start, end=end))

    # -- events ----------------------------------------------------------------------------

    def subscribe(
        self, callback: Callable[[OutboxMessage], object], *, topic: str | None = None
    ) -> None:
        """Call ``callback`` after commit for every event (or every ``topic`` event), at
        least once each; deduplicate on ``message.id``. Subscribe before the use cases
        run: an event emitted while nobody in this process receives its topic is not
        stored, unless its topic is among ``PortalAccess(topics=...)``. A message is
        delivered by a process that subscribes to its topic (emails by any), so give
        every process that subscribes to a topic the same subscribers."""
        self._context.subscribers.append((topic, callback))

    def deliver_outbox(self) -> int:
        """Claim the outbox messages due now (one batch) and deliver them, with what their
        subscribers' use cases add; how many went out.

        Safe to run in several workers at once: each message is claimed by one of them
        for the lease (:class:`~portal_access.OutboxSettings`), so it goes out once while
        no worker crashes, and again after the lease when one died mid-send. A failed
        message is due again after a wait that doubles each time. ``python -m
        portal_access deliver-outbox`` runs this in a loop.

        Called inside a host transaction the store joins (Django's ``atomic``; see
        :class:`~portal_access.ports.AfterCommit`), it delivers once that transaction
        commits and returns 0.
        """
        return deliver_outbox(self._context)

    def prune(
        self, retention: Retention, *, progress: Callable[[Pruned], object] | None = None
    ) -> Pruned:
        """Delete delivered outbox messages and processed gateway-event records older
        than ``retention`` says (counted from now, on this portal's clock); never an
        undelivered message. ``python -m portal_access db prune`` does the same.

        Raises:
            ValidationError: ``retention`` is not a :class:`~portal_access.Retention`.
            StorageError: the store failed (run it again: what was deleted stays so).
        """
        return retention_of_records.prune_kept_records(self._context, retention, progress=progress)
