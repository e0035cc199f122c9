"""Single-use links and templated emails, written to the outbox with the change."""

from __future__ import annotations

from datetime import datetime

import attrs

from portal_access._domain.accounts import Account
from portal_access._domain.contacts import Contact
from portal_access._domain.email_address import EmailAddress
from portal_access._domain.errors import ConflictError
from portal_access._domain.events import EmailRequested
from portal_access._domain.tokens import MIN_TOKEN_BYTES, TokenPurpose, issue_token
from portal_access._service.context import Work
from portal_access._service.emails import EmailTemplate

__all__ = ["LINK_EXPIRY", "issue_link", "mail_link", "send_email", "template_values"]

#: How a link's expiry reads in an email.
LINK_EXPIRY = "%Y-%m-%d %H:%M %Z"


def template_values(
    work: Work, contact: Contact | None, account: Account | None, **extra: str | None
) -> dict[str, str | None]:
    """The placeholder values for a contact and its account, plus ``extra``
    (keys with ``__`` stand for dots: ``link__url`` is ``link.url``)."""
    values: dict[str, str | None] = {
        "business.name": work.context.business_name,
        "portal.url": work.context.links.base_url,
    }
    if contact is not None:
        values |= {
            "contact.first_name": contact.first_name,
            "contact.last_name": contact.last_name,
            "contact.full_name": contact.full_name,
            "contact.email": str(contact.email) if contact.email else None,
        }
    if account is not None:
        values |= {"account.name": account.name, "account.number": account.number}
    values |= {key.replace("__", "."): value for key, value in extra.items()}
    return values


def issue_link(
    work: Work, contact_id: str, purpose: TokenPurpose, path: str, *, to: EmailAddress
) -> tuple[str, datetime]:
    """Issue a single-use token for ``contact_id`` mailed to ``to``; return the link and
    its expiry.

    Only the token's digest is stored; the link exists in the email alone. It takes
    the next serial of the contact's :class:`~portal_access._domain.links.LinkLedger`
    (written to the login in this unit of work) and is bound to ``to``.

    Raises:
        ConflictError: the contact has no portal login (every link belongs to one).
    """
    login = work.uow.logins.get(contact_id)
    if login is None:
        raise ConflictError(f"contact {contact_id!r} has no portal login to link to")
    serial, ledger = login.links.issue()
    work.uow.logins.save(attrs.evolve(login, links=ledger), expected_version=login.version)
    raw = work.context.ids.token_bytes(MIN_TOKEN_BYTES)
    token, record = issue_token(
        raw,
        purpose=purpose,
        contact_id=contact_id,
        now=work.context.clock.now(),
        serial=serial,
        sent_to=to.key,
    )
    work.uow.tokens.add(record)
    return work.context.links.link(path, token), record.expires_at


def send_email(
    work: Work,
    *,
    kind: str,
    template: EmailTemplate,
    to: tuple[EmailAddress, ...],
    values: dict[str, str | None],
    contact_id: str | None = None,
) -> None:
    """Render ``template`` and queue it in the outbox (sent after commit)."""
    rendered = template.render(values)
    work.emit(
        EmailRequested(
            kind=kind,
            to=tuple(str(address) for address in to),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            contact_id=contact_id,
        )
    )


def mail_link(
    work: Work,
    contact: Contact,
    account: Account,
    *,
    to: EmailAddress,
    purpose: TokenPurpose,
    path: str,
    template: EmailTemplate,
) -> datetime:
    """Issue a single-use link for ``contact`` and mail it with ``template``; return
    when it expires. The email's kind is the link's purpose."""
    url, expires = issue_link(work, contact.id, purpose, path, to=to)
    send_email(
        work,
        kind=purpose.value,
        template=template,
        to=(to,),
        values=template_values(
            work, contact, account, link__url=url, link__expires=expires.strftime(LINK_EXPIRY)
        ),
        contact_id=contact.id,
    )
    return expires
