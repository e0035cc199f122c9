"""Documents in the portal: preview, PDF, the signed link each carries, and "pay this".

Seed 004_67d5e53a019b49ae.txt: "in each generated document there is a link to access the
portal"; "clicking on any of the documents will open a new view where you can preview
them, download them in PDF, print them, add comments and even pay based on integrated
gateways".

Who may see a document (one rule, used by every use case here and by comments):

- the contact has full access and the capability the use case needs (view, download,
  pay, comment);
- an invoice is of the contact's account and addressed to the contact or to no one
  (another contact's own invoice is theirs);
- an invoice of a site is seen only by contacts whose site scope covers the site
  (seed 001: a site-level contact sees only the sites checked for them);
- a statement is of the contact's own account, and lists only the invoices above.

A document the contact may not see answers exactly as one that does not exist
(:class:`~portal_access.NotFoundError` ``"document"``), and its link as an unknown link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

import attrs

from portal_access._domain.access import AccessDecision, decide
from portal_access._domain.accounts import Account
from portal_access._domain.billing import Invoice, InvoiceLine, InvoiceStatus
from portal_access._domain.capabilities import Capability
from portal_access._domain.checkout import (
    CheckoutPurpose,
    CheckoutRequest,
    CheckoutSession,
    payer_fields,
)
from portal_access._domain.contacts import Contact
from portal_access._domain.documents import (
    Document,
    DocumentFile,
    DocumentKind,
    DocumentRef,
    check_document_link_key,
    invoice_document,
    open_document_link,
    sign_document_link,
    statement_document,
)
from portal_access._domain.errors import (
    AccessDeniedError,
    ConfigurationError,
    ConflictError,
    InvalidTokenError,
    NotFoundError,
)
from portal_access._domain.payment_gateways import ensure_payable
from portal_access._domain.payments import PaymentStatus
from portal_access._domain.return_urls import check_return_urls
from portal_access._domain.validation import ensure_identifier, ensure_instance
from portal_access._service.access_states import require_access_state
from portal_access._service.checkout import (
    ensure_payable_invoice,
    open_checkout,
    page_key,
    payment_methods_for,
    reuse_open_session,
)
from portal_access._service.context import ServiceContext, Work
from portal_access._service.lookups import require_account, require_contact
from portal_access._service.payment_history import invoice_payments
from portal_access.ports import DocumentRenderer, Where

__all__ = [
    "Viewer",
    "build_document",
    "document_file",
    "document_link",
    "invoice_visible",
    "open_link",
    "pay_document",
    "prepare_document_payment",
    "render_document",
    "require_document",
    "require_viewer",
    "seen_by",
    "settle_through",
    "signed_link",
    "visible_invoices",
]

#: A contact who may see documents: the contact and the access decision in force.
Viewer = tuple[Contact, AccessDecision]


def require_viewer(
    work: Work, contact_id: str, capability: Capability, *, what: str = "documents"
) -> Viewer:
    """The contact and its decision, when the contact may use ``capability`` (``what``
    names the page in the error).

    Raises:
        NotFoundError: no such contact.
        AccessDeniedError: no full access, or not this capability.
    """
    state = require_access_state(work, contact_id)
    decision = decide(state, work.context.policy, work.context.clock.now())
    if not decision.can(capability):
        raise AccessDeniedError(f"no access to {what} ({decision.reason.value})")
    return require_contact(work, contact_id), decision


def invoice_visible(invoice: Invoice, viewer: Viewer) -> bool:
    """Whether the viewer may see ``invoice`` (see the module docstring)."""
    contact, decision = viewer
    if invoice.account_id != contact.account_id or invoice.contact_id not in (None, contact.id):
        return False
    sites = decision.sites
    return invoice.site_id is None or sites.account_level or sites.allows(invoice.site_id)


def seen_by(viewer: Viewer) -> Where:
    """:func:`invoice_visible` as column filters of the invoices and payments tables
    (within the viewer's account): addressed to the contact or no one, of a site in its
    scope or of none."""
    contact, decision = viewer
    where: dict[str, tuple[str | None, ...]] = {"contact_id": (None, contact.id)}
    if not decision.sites.account_level:
        where["site_id"] = (None, *sorted(decision.sites.visible))
    return where


def visible_invoices(invoices: Iterable[Invoice], viewer: Viewer) -> list[Invoice]:
    """The invoices among ``invoices`` the viewer may see, in the order given."""
    return [invoice for invoice in invoices if invoice_visible(invoice, viewer)]


def require_document(work: Work, viewer: Viewer, ref: DocumentRef) -> Invoice | Account:
    """The invoice or the account (of a statement) ``ref`` names, when the viewer may see it.

    Raises:
        NotFoundError: no such document, or one the viewer may not see (alike).
    """
    contact = viewer[0]
    ref = ensure_instance(ref, DocumentRef, field="document")
    if ref.kind is DocumentKind.INVOICE:
        invoice = work.uow.invoices.get(ref.id)
        if invoice is not None and invoice_visible(invoice, viewer):
            return invoice
    elif ref.id == contact.account_id:
        return require_account(work, ref.id)
    raise NotFoundError("document", ref.id)


def _key(work: Work) -> bytes:
    key = work.context.document_link_key
    if key is None:
        raise ConfigurationError(
            "documents carry a signed portal link: give PortalAccess a document_link_key",
            field="document_link_key",
        )
    return check_document_link_key(key)


def signed_link(work: Work, contact: Contact, ref: DocumentRef) -> tuple[str, timedelta]:
    """The signed portal link of ``ref`` made for ``contact``, and how long it works; it
    checks nothing about who may see the document (:func:`open_link` does, when the
    link is opened).

    Raises:
        ConfigurationError: no ``document_link_key``.
    """
    lifetime = work.context.document_link_lifetime
    expires_at = work.context.clock.now() + lifetime
    token = sign_document_link(_key(work), contact_id=contact.id, ref=ref, expires_at=expires_at)
    links = work.context.links
    return links.link(links.document, token), lifetime


def document_link(work: Work, contact_id: str, ref: DocumentRef) -> str:
    """The signed portal link of a document the contact may see.

    Raises:
        NotFoundError: no such contact or document (or one the contact may not see).
        AccessDeniedError: the contact may not view invoices.
        ConfigurationError: no ``document_link_key``.
    """
    viewer = require_viewer(work, contact_id, Capability.VIEW_INVOICES)
    require_document(work, viewer, ref)
    return signed_link(work, viewer[0], ref)[0]


def build_document(
    work: Work, contact_id: str, ref: DocumentRef, capability: Capability
) -> Document:
    """The document ``ref`` as the contact sees it, with its signed link.

    Raises:
        NotFoundError, AccessDeniedError, ConfigurationError: as :func:`document_link`.
    """
    viewer = require_viewer(work, contact_id, capability)
    contact = viewer[0]
    found = require_document(work, viewer, ref)
    url, lifetime = signed_link(work, contact, ref)
    now = work.context.clock.now()
    business = work.context.business_name or ""  # the host may have named none
    if isinstance(found, Invoice):
        account = require_account(work, found.account_id)
        return invoice_document(
            found,
            contact,
            account,
            business_name=business,
            portal_link=url,
            expires_at=now + lifetime,
        )
    invoices = visible_invoices(work.uow.invoices.for_account(found.id), viewer)
    return statement_document(
        found,
        contact,
        invoices,
        as_of=now.date(),
        business_name=business,
        portal_link=url,
        expires_at=now + lifetime,
    )


def document_file(work: Work, contact_id: str, ref: DocumentRef) -> DocumentFile:
    """The document as the contact sees it and its file from the portal's renderer: the
    document is built once, for both (a download names its file after the title).

    Raises:
        ConfigurationError: no renderer (install ``portal-access[pdf]``) or no link key.
        NotFoundError, AccessDeniedError: as :func:`document_link` (the contact needs
            the "download documents" capability).
    """
    renderer: DocumentRenderer | None = work.context.renderer
    if renderer is None:
        raise ConfigurationError(
            "no document renderer: pass renderer=FpdfDocumentRenderer()", field="renderer"
        )
    document = build_document(work, contact_id, ref, Capability.DOWNLOAD_DOCUMENTS)
    return DocumentFile(document, renderer.render(document), renderer.media_type)


def render_document(work: Work, contact_id: str, ref: DocumentRef) -> bytes:
    """The document's file (PDF) from the portal's renderer (:func:`document_file`).

    Raises:
        ConfigurationError, NotFoundError, AccessDeniedError: as :func:`document_file`.
    """
    return document_file(work, contact_id, ref).content


def open_link(work: Work, token: str, contact_id: str) -> DocumentRef:
    """The document a signed link opens for the logged-in contact.

    Raises:
        InvalidTokenError: tampered, signed with another key, made for another contact,
            or for a document the contact may no longer see: all "unknown link".
        TokenExpiredError: the contact's own link, expired.
        AccessDeniedError: the contact may not view invoices (no full access).
    """
    ensure_identifier(contact_id, field="contact_id")
    ref = open_document_link(_key(work), token, contact_id=contact_id, now=work.context.clock.now())
    viewer = require_viewer(work, contact_id, Capability.VIEW_INVOICES)
    try:
        require_document(work, viewer, ref)
    except NotFoundError:
        raise InvalidTokenError("unknown link") from None
    return ref


def settle_through(gateway: str) -> Callable[[Work, CheckoutRequest, CheckoutSession], None]:
    """What recording a "pay this document" page does to its invoice: an invoice that
    names no gateway is from now on paid through ``gateway`` (a payment applies only to
    an invoice of the gateway that reports it); one that names it is left as it is."""

    def finish(work: Work, request: CheckoutRequest, _session: CheckoutSession) -> None:
        assert request.invoice_id is not None
        invoice = work.uow.invoices.get(request.invoice_id)
        if invoice is None:
            raise NotFoundError("document", request.invoice_id)
        if invoice.gateway is None:
            work.uow.invoices.save(attrs.evolve(invoice, gateway=gateway))
        elif invoice.gateway != gateway:
            raise ConflictError(f"invoice {invoice.number} is paid through {invoice.gateway}")

    return finish


def prepare_document_payment(
    work: Work,
    contact_id: str,
    invoice_id: str,
    *,
    gateway: str,
    success_url: str,
    cancel_url: str,
) -> CheckoutRequest | CheckoutSession:
    """The checkout request that pays what an invoice the contact sees still owes, through
    ``gateway`` (one of the contact's allowed gateways, seed 004); an open page for the
    same state is reused.

    Raises:
        NotFoundError: no such invoice, or one the contact may not see.
        AccessDeniedError: no full access or may not pay invoices.
        GatewayNotAllowedError: the contact may not use ``gateway``.
        ConflictError: nothing owed (paid, void), or the invoice names another gateway
            (staff set it, or an earlier page fixed it: see :func:`settle_through`).
        PaymentInProgressError: a payment of the invoice is processing or succeeded.
        ValidationError, ConfigurationError: a return URL off the portal's origins.
    """
    policy = work.context.policy
    check_return_urls(policy.system.portal_origins, success_url=success_url, cancel_url=cancel_url)
    viewer = require_viewer(work, contact_id, Capability.PAY_INVOICES)
    contact, decision = viewer
    found = require_document(work, viewer, DocumentRef(DocumentKind.INVOICE, invoice_id))
    assert isinstance(found, Invoice)  # read locked: take turns with its payments
    invoice = found
    state = require_access_state(work, contact_id)
    ensure_payable(gateway, state.portal.allowed_gateways, policy.gateways)
    work.context.gateway(gateway)  # configured, or ConfigurationError
    if invoice.gateway is not None and invoice.gateway != gateway:
        raise ConflictError(f"invoice {invoice.number} is paid through {invoice.gateway}")
    if invoice.status is not InvoiceStatus.OPEN or not invoice.balance:
        raise ConflictError(f"invoice {invoice.number} has nothing to pay")
    ensure_payable_invoice(work, invoice)
    failed = sum(r.snapshot.status is PaymentStatus.FAILED for r in invoice_payments(work, invoice))
    purpose = CheckoutPurpose.QUICK_PAY
    key = page_key(work, f"document:{gateway}", invoice.id, failed, purpose.value)
    reused = reuse_open_session(work, key)
    if reused is not None:
        return reused
    assert decision.full
    return CheckoutRequest(
        purpose=purpose,
        currency=invoice.currency,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=key,
        **payer_fields(contact),
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        lines=(InvoiceLine(f"Invoice {invoice.number}", invoice.balance),),
        payment_methods=payment_methods_for(invoice.currency),
    )


def pay_document(
    context: ServiceContext,
    contact_id: str,
    invoice_id: str,
    *,
    gateway: str,
    success_url: str,
    cancel_url: str,
) -> CheckoutSession:
    """A hosted page that pays the invoice through ``gateway`` (one the contact may use):
    :func:`prepare_document_payment`, then the page, recorded with
    :func:`settle_through`."""

    def prepare(work: Work) -> CheckoutRequest | CheckoutSession:
        return prepare_document_payment(
            work,
            contact_id=contact_id,
            invoice_id=invoice_id,
            gateway=gateway,
            success_url=success_url,
            cancel_url=cancel_url,
        )

    return open_checkout(
        context,
        prepare,
        lambda request: (gateway, request.invoice_id),
        finish=settle_through(gateway),
    )
