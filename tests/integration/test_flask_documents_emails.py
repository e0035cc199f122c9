"""The emails that announce a document carry its signed link, made for each recipient
(seed 004_67d5e53a019b49ae.txt: "in each generated document there is a link to access
the portal"; seed 003_11ad6fb0c789d951.txt: invoice and statement emails carry the
portal link). Each test parses the email, follows its link in the Flask test client as
the recipient (it opens that document) and as someone else (it does not)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from portal_access import DocumentKind, DocumentRef, EmailAddress, InvoiceEmail
from portal_access.contrib.flask.testing import log_in, log_out
from tests.integration.flask_portal import PASSWORD, FlaskPortal, build
from tests.integration.test_flask_documents import (
    ADMIN,
    account_of,
    colleague,
    full_access,
    host_invoice,
    with_documents,
)

_PORTAL_LINK = re.compile(r"in your portal: (\S+)")


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value or "" for name, value in attrs if tag == "a" and name == "href"]


def mailed_link(harness: FlaskPortal, email: str, subject: str) -> str:
    """The portal link of the newest email to ``email`` whose subject has ``subject``;
    its HTML part links the same address."""
    message = next(m for m in reversed(harness.mailer.to(email)) if subject in m.subject)
    (link,) = _PORTAL_LINK.findall(message.text)
    parser = _Hrefs()
    parser.feed(message.html)
    assert parser.hrefs == [link]
    return link


def follow(harness: FlaskPortal, link: str, contact_id: str):
    """GET ``link`` in the test client logged in as ``contact_id``."""
    log_in(harness.client, contact_id)
    parts = urlsplit(link)
    return harness.client.get(f"{parts.path}?{parts.query}")


def ann_and_bo() -> tuple[FlaskPortal, str, str]:
    """Ann (full access) and her colleague Bo on one account, with H-100 addressed to no one."""
    harness = with_documents()
    ann = full_access(harness)
    account = account_of(harness, ann)
    harness.portal.save_invoice(host_invoice(account, gateway="sandbox"))
    bo = colleague(harness, account)
    return harness, ann, bo


def test_the_invoice_email_opens_the_invoice_for_its_recipient_only():
    """Ann's invoice email: its link opens H-100 for Ann, and is a 404 for Bo."""
    harness = with_documents()
    ann = full_access(harness)
    account = account_of(harness, ann)
    harness.portal.save_invoice(host_invoice(account, contact_id=ann))
    bo = colleague(harness, account)
    harness.portal.send_invoice_email("inv-H-100", staff=ADMIN)  # To: the client's email
    link = mailed_link(harness, "ann@example.com", "Invoice H-100")
    assert "/portal/document?token=" in link
    mine = follow(harness, link, ann)
    assert mine.status_code == 200
    assert "Invoice H-100" in mine.text
    theirs = follow(harness, link, bo)
    assert theirs.status_code == 404
    assert "Cleaning" not in theirs.text


def test_each_recipient_gets_a_link_of_their_own_and_outsiders_the_portal():
    """To Ann, CC Bo, BCC an outside address: two different links, each opening for its
    own contact only; the outsider (no contact) gets the portal's address."""
    harness, ann, bo = ann_and_bo()
    email = InvoiceEmail.compose(
        "ann@example.com", cc="bo@example.com", bcc="books@accountants.example"
    )
    harness.portal.send_invoice_email("inv-H-100", email, staff=ADMIN)
    ann_link = mailed_link(harness, "ann@example.com", "Invoice H-100")
    bo_link = mailed_link(harness, "bo@example.com", "Invoice H-100")
    assert ann_link != bo_link
    assert follow(harness, ann_link, ann).status_code == 200
    assert follow(harness, bo_link, bo).status_code == 200
    assert follow(harness, ann_link, bo).status_code == 404
    assert follow(harness, bo_link, ann).status_code == 404
    assert mailed_link(harness, "books@accountants.example", "Invoice H-100") == (
        "http://localhost"
    )
    assert harness.mailer.to("bo@example.com")[-1].text.startswith("Hello Bo,")
    assert harness.mailer.to("books@accountants.example")[-1].text.startswith("Hello there,")


def test_the_statement_email_opens_the_statement_for_each_recipient():
    """A statement email to Ann and Bo: each link opens the account's statement for its
    own contact only."""
    harness, ann, bo = ann_and_bo()
    account = account_of(harness, ann)
    harness.portal.send_statement_email(
        account, [EmailAddress.parse("ann@example.com"), EmailAddress.parse("bo@example.com")]
    )
    for contact, email, other in ((ann, "ann@example.com", bo), (bo, "bo@example.com", ann)):
        link = mailed_link(harness, email, "Your statement")
        page = follow(harness, link, contact)
        assert page.status_code == 200
        assert "<h1>Statement</h1>" in page.text
        assert "H-100" in page.text
        assert follow(harness, link, other).status_code == 404
    assert harness.portal.open_document_link(
        urlsplit(link).query.split("token=", 1)[1], bo
    ) == DocumentRef(DocumentKind.STATEMENT, account)


def test_an_anonymous_recipient_logs_in_from_the_email_and_lands_on_the_document():
    """The email's link, opened logged out: login, then the same document."""
    harness, _ann, _bo = ann_and_bo()
    harness.portal.send_invoice_email(
        "inv-H-100", InvoiceEmail.compose("ann@example.com"), staff=ADMIN
    )
    link = urlsplit(mailed_link(harness, "ann@example.com", "Invoice H-100"))
    log_out(harness.client)
    to_login = harness.client.get(f"{link.path}?{link.query}")
    assert urlsplit(to_login.location).path == "/portal/login"
    back = harness.post(
        to_login.location,
        {
            "email": "ann@example.com",
            "password": PASSWORD,
            "next": f"{link.path}?{link.query}",
        },
    )
    assert back.location == f"{link.path}?{link.query}"
    assert "Invoice H-100" in harness.client.get(back.location).text


def test_an_invited_recipients_link_opens_once_they_have_registered():
    """ "Invite recipients": the new contact is made before its email, so the link in the
    invoice email is its own and opens the invoice after registration."""
    harness = with_documents()
    ann = full_access(harness)
    harness.portal.save_invoice(host_invoice(account_of(harness, ann)))
    email = InvoiceEmail.compose("cy@example.com", invite_recipients=True)
    (cy,) = harness.portal.send_invoice_email("inv-H-100", email, staff=ADMIN)
    link = mailed_link(harness, "cy@example.com", "Invoice H-100")
    log_out(harness.client)
    harness.register("cy@example.com")
    assert follow(harness, link, cy).status_code == 200
    assert follow(harness, link, ann).status_code == 404


def test_without_a_key_the_emails_carry_the_portals_address():
    """A portal that signs no links: the invoice and statement emails link the portal's
    home, as before (documented in docs/documents.md)."""
    harness = build()
    ann = full_access(harness)
    account = account_of(harness, ann)
    harness.portal.save_invoice(host_invoice(account, contact_id=ann))
    harness.portal.send_invoice_email("inv-H-100", staff=ADMIN)
    harness.portal.send_statement_email(account, [EmailAddress.parse("ann@example.com")])
    assert mailed_link(harness, "ann@example.com", "Invoice H-100") == "http://localhost"
    assert mailed_link(harness, "ann@example.com", "Your statement") == "http://localhost"


def test_a_staff_comment_email_links_the_document_for_each_contact():
    """The comment email (sent to every contact who sees the document) carries each one's
    own link too."""
    harness, ann, bo = ann_and_bo()
    harness.portal.staff_comment_on_document(
        DocumentRef(DocumentKind.INVOICE, "inv-H-100"), "Paid by check?", staff=ADMIN
    )
    for contact, email, other in ((ann, "ann@example.com", bo), (bo, "bo@example.com", ann)):
        link = mailed_link(harness, email, "New comment")
        page = follow(harness, link, contact)
        assert "Paid by check?" in page.text
        assert follow(harness, link, other).status_code == 404
