"""Placeholder templates: ``{{ contact.first_name | default:"there" }}``, compiled once.

An admin writes text with placeholders (an invoice title, an invitation email). The text is
compiled when it is saved, so an unknown name or a malformed tag is an error then, with its
line and column, not a blank in a customer's inbox later. Rendering only substitutes strings
from a flat mapping: nothing is ever evaluated, HTML output escapes every value, and a
subject line refuses line breaks.

The syntax is deliberately tiny: a dotted name inside ``{{ }}``, optionally followed by the
one filter, ``| default:"text"`` (single quotes work too; ``\\"`` and ``\\\\`` are the only
escapes). Everything else is literal text, including a lone ``{`` or ``}}``.

>>> title = PlaceholderTemplate.compile('Welcome, {{ contact.first_name | default:"there" }}')
>>> title.render({"contact.first_name": "Ann"})
'Welcome, Ann'
>>> title.render({"contact.first_name": None})
'Welcome, there'
>>> "contact.first_name" in STANDARD_PLACEHOLDERS
True
"""

from __future__ import annotations

import difflib
import enum
import html
import re
from collections.abc import Callable, Iterable, Mapping

import attrs

from portal_access._domain.errors import HeaderInjectionError, TemplateError

__all__ = ["STANDARD_PLACEHOLDERS", "PlaceholderTemplate", "TemplateOutput"]


class TemplateOutput(enum.Enum):
    """Where a rendered template goes, which decides how values are inserted.

    ``TEXT`` inserts values verbatim. ``HTML`` escapes values and defaults with
    :func:`html.escape` and leaves the admin's own markup as written. ``SUBJECT`` is a
    single header line: a line break in the source or in a value is a
    :class:`~portal_access.HeaderInjectionError`.

    >>> TemplateOutput("html") is TemplateOutput.HTML
    True
    """

    TEXT = "text"
    HTML = "html"
    SUBJECT = "subject"


STANDARD_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "contact.first_name",
        "contact.last_name",
        "contact.full_name",
        "contact.email",
        "account.name",
        "account.number",
        "offer.name",
        "invoice.number",
        "invoice.total",
        "invoice.due_date",
        "portal.url",
        "business.name",
    }
)
"""The placeholder names every template may use unless ``compile`` is given others."""

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_NAME = re.compile(rf"{_IDENTIFIER}(?:\.{_IDENTIFIER})*")
_FILTER = re.compile(_IDENTIFIER)
_SPACE = " \t\r\n"

# One slot per placeholder: (name, default as it will be inserted, literal text after it).
_Slot = tuple[str, str, str]
_Fail = Callable[[str, int], TemplateError]


@attrs.frozen
class PlaceholderTemplate:
    """Admin-written text with placeholders, compiled once and rendered many times.

    Build it with :meth:`compile`, never directly. Two templates are equal (and hash
    alike) when their ``source`` and ``output`` are equal.

    Attributes:
        source: the text as the admin wrote it.
        output: how values are inserted (:class:`TemplateOutput`).
        names: the placeholder names the text uses.

    >>> a = PlaceholderTemplate.compile("Invoice {{ invoice.number }}")
    >>> a == PlaceholderTemplate.compile("Invoice {{ invoice.number }}"), sorted(a.names)
    (True, ['invoice.number'])
    """

    source: str
    output: TemplateOutput
    names: frozenset[str] = attrs.field(eq=False)
    _head: str = attrs.field(eq=False, repr=False)
    _slots: tuple[_Slot, ...] = attrs.field(eq=False, repr=False)

    @classmethod
    def compile(
        cls,
        source: str,
        *,
        output: TemplateOutput = TemplateOutput.TEXT,
        allowed: Iterable[str] = STANDARD_PLACEHOLDERS,
        field: str = "template",
    ) -> PlaceholderTemplate:
        """Parse and validate *source*; call it when the admin saves the text.

        Args:
            source: the template text.
            output: how values will be inserted; ``SUBJECT`` also refuses line breaks.
            allowed: the placeholder names the text may use.
            field: the name of the form field holding the text, carried by the errors.

        Raises:
            TemplateError: an unclosed ``{{``, an empty tag, a malformed or unknown name,
                an unknown filter, a malformed or unterminated default, or other text
                before the closing ``}}``; ``position``, ``line`` and ``column`` say where.
            HeaderInjectionError: *output* is ``SUBJECT`` and *source* has a line break.

        >>> try:
        ...     PlaceholderTemplate.compile("Hi {{ offer.title }}", field="title")
        ... except TemplateError as exc:
        ...     print(exc.field, exc.position, exc.line, exc.column)
        ...     print(exc.message)
        title 6 1 7
        unknown placeholder 'offer.title'; did you mean 'offer.name'? (line 1, column 7)
        """
        if not isinstance(source, str):
            raise TemplateError("a template must be text", field=field)
        if output is TemplateOutput.SUBJECT:
            first_line = source.splitlines()[0] if source else ""
            if first_line != source:
                raise HeaderInjectionError(
                    f"a line break at offset {len(first_line)}; a subject must be one line",
                    field=field,
                    value=source,
                )
        head, slots = _parse(source, frozenset(allowed), field)
        if output is TemplateOutput.HTML:
            slots = [(name, html.escape(default), tail) for name, default, tail in slots]
        names = frozenset(name for name, _, _ in slots)
        return cls(source, output, names, head, tuple(slots))

    def render(self, values: Mapping[str, str | None]) -> str:
        """Substitute *values* (keyed by dotted name) into the template.

        A name that is absent, ``None`` or ``""`` renders its default, or nothing when it
        has none. Nothing is evaluated: a value is only ever inserted as text.

        Args:
            values: a flat mapping such as ``{"contact.first_name": "Ann"}``.

        Raises:
            HeaderInjectionError: the output is ``SUBJECT`` and a value holds a line break
                (anything :meth:`str.splitlines` splits on); ``field`` is the placeholder.

        >>> body = PlaceholderTemplate.compile(
        ...     "<p>Hi {{ contact.first_name }}</p>", output=TemplateOutput.HTML
        ... )
        >>> body.render({"contact.first_name": "<b>Ann</b>"})
        '<p>Hi &lt;b&gt;Ann&lt;/b&gt;</p>'
        """
        get = values.get
        parts = [self._head]
        append = parts.append
        output = self.output
        if output is TemplateOutput.TEXT:
            for name, default, tail in self._slots:
                append(get(name) or default)
                append(tail)
        elif output is TemplateOutput.HTML:
            escape = html.escape
            for name, default, tail in self._slots:
                value = get(name)
                append(escape(value) if value else default)
                append(tail)
        else:
            for name, default, tail in self._slots:
                value = get(name)
                if not value:
                    value = default
                elif value.splitlines()[0] != value:
                    raise HeaderInjectionError(
                        "the value has a line break; a subject must be one line", field=name
                    )
                append(value)
                append(tail)
        return "".join(parts)


def _parse(source: str, allowed: frozenset[str], field: str) -> tuple[str, list[_Slot]]:
    """Split *source* into the leading literal and one slot per placeholder."""

    def fail(message: str, position: int) -> TemplateError:
        return TemplateError(message, field=field, source=source, position=position)

    end = len(source)
    literals: list[str] = []
    tags: list[tuple[str, str]] = []
    literal_start = 0
    while (start := source.find("{{", literal_start)) != -1:
        literals.append(source[literal_start:start])
        if source.find("}}", start + 2) == -1:
            raise fail("unclosed '{{'", start)
        i = _skip_space(source, start + 2)
        if source.startswith("}}", i):
            raise fail("empty placeholder tag", start)
        match = _NAME.match(source, i)
        if match is None:
            raise fail("expected a placeholder name such as contact.first_name", i)
        name = match.group()
        j = match.end()
        if j < end and source[j] not in _SPACE and not source.startswith(("}}", "|"), j):
            raise fail(f"malformed placeholder name {_word_at(source, i)!r}", i)
        if name not in allowed:
            guess = difflib.get_close_matches(name, sorted(allowed), n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            raise fail(f"unknown placeholder {name!r}{hint}", i)
        i = _skip_space(source, j)
        default = ""
        if source.startswith("|", i):
            i = _skip_space(source, i + 1)
            filter_match = _FILTER.match(source, i)
            if filter_match is None or filter_match.group() != "default":
                shown = filter_match.group() if filter_match else source[i : i + 1]
                raise fail(f"unknown filter {shown!r}; the only filter is 'default'", i)
            i = _skip_space(source, filter_match.end())
            if not source.startswith(":", i):
                raise fail("expected ':' and a quoted text after 'default'", i)
            default, i = _read_quoted(source, _skip_space(source, i + 1), fail)
            i = _skip_space(source, i)
        if not source.startswith("}}", i):
            if i >= end:
                raise fail("unclosed '{{'", start)
            raise fail("unexpected text in placeholder tag; expected '}}'", i)
        tags.append((name, default))
        literal_start = i + 2
    literals.append(source[literal_start:])
    slots = [
        (name, default, tail) for (name, default), tail in zip(tags, literals[1:], strict=True)
    ]
    return literals[0], slots


def _skip_space(source: str, i: int) -> int:
    """Return the offset of the first non-blank character at or after *i*."""
    while i < len(source) and source[i] in _SPACE:
        i += 1
    return i


def _word_at(source: str, i: int) -> str:
    """Return the run of non-blank characters at *i*, for error messages."""
    j = i
    while j < len(source) and source[j] not in _SPACE and not source.startswith("}}", j):
        j += 1
    return source[i:j] if j > i else source[i : i + 1]


def _read_quoted(source: str, i: int, fail: _Fail) -> tuple[str, int]:
    """Read the quoted default at *i*; return its text and the offset after the quote."""
    quote = source[i : i + 1]
    if quote not in ('"', "'"):
        raise fail('the default must be quoted, as in default:"there"', i)
    chars: list[str] = []
    j = i + 1
    while j < len(source):
        char = source[j]
        if char == quote:
            return "".join(chars), j + 1
        if char == "\\":
            escaped = source[j + 1 : j + 2]
            if not escaped:
                break
            if escaped not in (quote, "\\"):
                raise fail(f"unsupported escape; only \\{quote} and \\\\ are allowed", j)
            char = escaped
            j += 1
        chars.append(char)
        j += 1
    raise fail("unterminated default text", i)
