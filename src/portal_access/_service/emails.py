"""The emails portal-access sends, as placeholder templates a host may replace.

Every template is compiled when :class:`EmailTemplates` is built, so a typo in a
host's template fails at start-up, not in a customer's inbox. Links (``link.url``) are
single-use set-password, reset or re-subscribe links; no email ever carries a password
(docs/rules.md; seed 003_11ad6fb0c789d951.txt "Send Portal Instructions").

>>> templates = EmailTemplates()
>>> message = templates.invitation.render({"contact.first_name": "Ann",
...     "business.name": "Acme", "link.url": "https://portal.example/i/t0k"})
>>> message.subject
'You are invited to the Acme portal'
>>> templates.invitation.render({"business.name": None}).subject
'You are invited to the customer portal'
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from portal_access._domain.placeholders import (
    STANDARD_PLACEHOLDERS,
    PlaceholderTemplate,
    TemplateOutput,
)

__all__ = ["EMAIL_PLACEHOLDERS", "EmailTemplate", "EmailTemplates", "RenderedEmail"]

#: Names email templates may use: the standard ones plus the link and its expiry, the
#: autopay maximum (in the autopay emails), the document an email is about and its link
#: for the recipient (``document.url``: the signed portal link made for the recipient
#: contact, or the portal's address when the portal signs no links or the recipient is
#: not a contact who sees the document; in invoice, statement, autopay and comment
#: emails), a document comment's author and text, and the label of the saved payment
#: method an email is about (``payment_method.label``: "VISA ending 1111", in the
#: removed-method email) (each empty in other emails).
EMAIL_PLACEHOLDERS = STANDARD_PLACEHOLDERS | {
    "link.url",
    "link.expires",
    "autopay.maximum",
    "payment_method.label",
    "document.title",
    "document.url",
    "comment.author",
    "comment.body",
}


@attrs.frozen
class RenderedEmail:
    """A rendered message: subject line, text part, HTML part."""

    subject: str
    text: str
    html: str


@attrs.frozen
class EmailTemplate:
    """Subject, text and HTML sources, compiled and validated on construction.

    Raises:
        TemplateError: a malformed tag or an unknown name (see ``EMAIL_PLACEHOLDERS``).
        HeaderInjectionError: a line break in the subject.
    """

    subject: str
    text: str
    html: str
    _compiled: tuple[PlaceholderTemplate, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        compiled = (
            PlaceholderTemplate.compile(
                self.subject,
                output=TemplateOutput.SUBJECT,
                allowed=EMAIL_PLACEHOLDERS,
                field="subject",
            ),
            PlaceholderTemplate.compile(
                self.text, output=TemplateOutput.TEXT, allowed=EMAIL_PLACEHOLDERS, field="text"
            ),
            PlaceholderTemplate.compile(
                self.html, output=TemplateOutput.HTML, allowed=EMAIL_PLACEHOLDERS, field="html"
            ),
        )
        object.__setattr__(self, "_compiled", compiled)

    def render(self, values: Mapping[str, str | None]) -> RenderedEmail:
        """Render all three parts with ``values``.

        Raises:
            HeaderInjectionError: a value would put a line break in the subject.
        """
        subject, text, html = (template.render(values) for template in self._compiled)
        return RenderedEmail(subject, text, html)


def _template(subject: str, lines: str) -> EmailTemplate:
    text = lines.strip() + "\n"
    paragraphs = "".join(f"<p>{paragraph}</p>" for paragraph in lines.strip().split("\n\n"))
    html = paragraphs
    for name in ("link.url", "document.url"):
        html = html.replace(f"{{{{ {name} }}}}", f'<a href="{{{{ {name} }}}}">{{{{ {name} }}}}</a>')
    return EmailTemplate(subject=subject, text=text, html=html)


_GREETING = 'Hello {{ contact.first_name | default:"there" }},'


_INVITATION = _template(
    'You are invited to the {{ business.name | default:"customer" }} portal',
    f"{_GREETING}\n\nSet your password to open your portal: {{{{ link.url }}}}\n\n"
    "The link works once and until {{ link.expires }}.",
)

_PORTAL_INSTRUCTIONS = _template(
    'Your {{ business.name | default:"customer" }} portal login',
    f"{_GREETING}\n\nYour username is {{{{ contact.email }}}}. Choose your password "
    "here: {{ link.url }}\n\nThe portal is at {{ portal.url }}.",
)

_PASSWORD_RESET = _template(
    'Help with your {{ business.name | default:"customer" }} portal login',
    f"{_GREETING}\n\nSomeone (we hope you) asked for help logging in. Choose a new "
    "password here: {{ link.url }}\n\nIf it was not you, ignore this email.",
)

_ALREADY_REGISTERED = _template(
    'Your {{ business.name | default:"customer" }} portal login',
    f"{_GREETING}\n\nYou already have a login for your portal: your username is "
    "{{ contact.email }}. Log in at {{ portal.url }}\n\nIf you forgot your password, "
    'use "Having trouble?" on the login page to choose a new one.',
)

_RESUBSCRIBE = _template(
    'Restore your {{ business.name | default:"customer" }} portal access',
    f"{_GREETING}\n\nYour subscription payment did not go through, so your portal access "
    "is paused. Re-subscribe with new payment details here: {{ link.url }}",
)

_INVOICE = _template(
    'Invoice {{ invoice.number }} from {{ business.name | default:"your customer portal" }}',
    f"{_GREETING}\n\nInvoice {{{{ invoice.number }}}} for {{{{ invoice.total }}}} is due "
    "{{ invoice.due_date }}. View and pay it in your portal: {{ document.url }}",
)

_STATEMENT = _template(
    'Your statement from {{ business.name | default:"your customer portal" }}',
    f"{_GREETING}\n\nYour statement of open balances is ready in your portal: "
    "{{ document.url }}",
)

_DOCUMENT_COMMENT = _template(
    'New comment on {{ document.title }} from {{ business.name | default:"your customer portal" }}',
    f"{_GREETING}\n\n{{{{ comment.author }}}} wrote on {{{{ document.title }}}}:\n\n"
    "{{ comment.body }}\n\nRead and answer it in your portal: {{ document.url }}",
)


_AUTOPAY_OVER_MAXIMUM = _template(
    'Invoice {{ invoice.number }} from {{ business.name | default:"your customer portal" }} '
    "is yours to pay",
    f"{_GREETING}\n\nInvoice {{{{ invoice.number }}}} for {{{{ invoice.total }}}} is more than "
    "your autopay maximum of {{ autopay.maximum }}, so autopay did not charge it. Pay it "
    "in your portal: {{ document.url }}",
)

_AUTOPAY_DECLINED = _template(
    "Autopay of invoice {{ invoice.number }} was declined",
    f"{_GREETING}\n\nAutopay tried to charge {{{{ invoice.total }}}} for invoice "
    "{{ invoice.number }} to your saved payment method, and it was declined. Pay it, or "
    "save another payment method, in your portal: {{ document.url }}",
)

_SAVED_METHOD_REMOVED = _template(
    "Your saved payment method was removed",
    f'{_GREETING}\n\nYour saved payment method ({{{{ payment_method.label | default:"card" }}}}) '
    "was removed at the payment provider, so autopay will not charge it and you have no "
    "payment method on file. To keep paying automatically, save another one in your "
    "portal: {{ portal.url }}",
)


@attrs.frozen
class EmailTemplates:
    """Every email the service sends; pass your own to :class:`PortalAccess` to change them.

    ``already_registered`` goes to a contact invited again after registering: it
    carries no link (an invitation never sets a registered contact's password), only
    where to log in and the hint to use "Having trouble?". ``autopay_over_maximum`` and
    ``autopay_declined`` tell a contact autopay left an invoice for them to pay.
    ``saved_method_removed`` tells a contact the gateway removed their saved method
    (they deleted it there, or the vendor disabled it), so there is none on file; it may
    use ``{{ payment_method.label }}``.
    """

    invitation: EmailTemplate = _INVITATION
    portal_instructions: EmailTemplate = _PORTAL_INSTRUCTIONS
    password_reset: EmailTemplate = _PASSWORD_RESET
    already_registered: EmailTemplate = _ALREADY_REGISTERED
    resubscribe: EmailTemplate = _RESUBSCRIBE
    invoice: EmailTemplate = _INVOICE
    statement: EmailTemplate = _STATEMENT
    autopay_over_maximum: EmailTemplate = _AUTOPAY_OVER_MAXIMUM
    autopay_declined: EmailTemplate = _AUTOPAY_DECLINED
    saved_method_removed: EmailTemplate = _SAVED_METHOD_REMOVED
    document_comment: EmailTemplate = _DOCUMENT_COMMENT
