"""Placeholder templates: compile once at save time, render fast and without evaluating."""

from __future__ import annotations

import html
import re
import types

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from portal_access._domain.errors import HeaderInjectionError, TemplateError, ValidationError
from portal_access._domain.placeholders import (
    STANDARD_PLACEHOLDERS,
    PlaceholderTemplate,
    TemplateOutput,
)

SEED_000 = "000_07c53b15302458c1.txt"
LINE_BREAKS = [
    "\n",
    "\r",
    "\r\n",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x85",
    "\u2028",
    "\u2029",
]
NAMES = sorted(STANDARD_PLACEHOLDERS)


compile_ = PlaceholderTemplate.compile


# -- rendering ---------------------------------------------------------------------------


def test_seed_invoice_title_is_personalised() -> None:
    """Seed 000_07c53b15302458c1.txt: the invoice title may use dynamic placeholders for personalisation."""
    title = compile_('Welcome, {{ contact.first_name | default:"there" }} — {{ offer.name }}')
    values = {"contact.first_name": "Ann", "offer.name": "Gold Portal"}
    assert title.render(values) == "Welcome, Ann — Gold Portal"
    assert SEED_000  # the seed this rule comes from


def test_renders_every_standard_placeholder() -> None:
    """Every standard placeholder name compiles and renders its value."""
    template = compile_(" ".join(f"{{{{ {name} }}}}" for name in NAMES))
    assert template.render({name: name.upper() for name in NAMES}) == " ".join(
        name.upper() for name in NAMES
    )
    assert template.names == STANDARD_PLACEHOLDERS


def test_whitespace_inside_braces_is_optional() -> None:
    """Spaces and tabs inside the braces and around the filter are optional."""
    values = {"offer.name": "Gold"}
    for source in (
        "{{offer.name}}",
        "{{ offer.name }}",
        "{{\toffer.name\t}}",
        '{{offer.name|default:"x"}}',
        '{{  offer.name  |  default  :  "x"  }}',
    ):
        assert compile_(source).render(values) == "Gold", source


@pytest.mark.parametrize("missing", [{}, {"contact.first_name": None}, {"contact.first_name": ""}])
def test_default_is_used_when_value_is_missing_none_or_empty(
    missing: dict[str, str | None],
) -> None:
    """A name that is absent, None or empty renders its default."""
    template = compile_('Hi {{ contact.first_name | default:"there" }}!')
    assert template.render(missing) == "Hi there!"


@pytest.mark.parametrize("missing", [{}, {"contact.first_name": None}, {"contact.first_name": ""}])
def test_missing_value_without_default_renders_nothing(missing: dict[str, str | None]) -> None:
    """A name that is absent, None or empty and has no default renders as empty text."""
    assert compile_("Hi {{ contact.first_name }}!").render(missing) == "Hi !"


def test_default_is_ignored_when_value_is_present() -> None:
    """A present value wins over the default, even a single space."""
    template = compile_('{{ contact.first_name | default:"there" }}')
    assert template.render({"contact.first_name": " "}) == " "


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r'{{ offer.name | default:"say \"hi\"" }}', 'say "hi"'),
        (r'{{ offer.name | default:"back\\slash" }}', "back\\slash"),
        (r"{{ offer.name | default:'it\'s' }}", "it's"),
        (r"{{ offer.name | default:'say \"hi\"' }}", None),
        ('{{ offer.name | default:"it\'s" }}', "it's"),
        ('{{ offer.name | default:"}} {{" }}', "}} {{"),
        ('{{ offer.name | default:"" }}', ""),
    ],
)
def test_default_literal_quotes_and_escapes(source: str, expected: str | None) -> None:
    """Defaults take double or single quotes, with only the own quote and backslash escaped."""
    if expected is None:
        with pytest.raises(TemplateError, match="unsupported escape"):
            compile_(source)
    else:
        assert compile_(source).render({}) == expected


def test_literal_text_and_lone_braces_are_kept() -> None:
    """Text outside tags, a lone '{' and a stray '}}' are literal."""
    source = "Price {5} }} and { brace {"
    assert compile_(source).render({}) == source


def test_values_are_inserted_once_never_reparsed() -> None:
    """A value that looks like a tag is inserted as text, not rendered again."""
    template = compile_("{{ contact.first_name }}")
    assert template.render({"contact.first_name": "{{ contact.email }}"}) == "{{ contact.email }}"


def test_render_accepts_any_mapping_and_ignores_extra_keys() -> None:
    """Any read-only mapping works, and values for unused names are ignored."""
    values = types.MappingProxyType({"offer.name": "Gold", "not.used": "x"})
    assert compile_("{{ offer.name }}").render(values) == "Gold"


def test_empty_source_renders_empty() -> None:
    """An empty template compiles, uses no names and renders empty."""
    template = compile_("")
    assert (template.render({}), template.names) == ("", frozenset())


# -- compile errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "position", "line", "column", "message"),
    [
        ("Hi {{ contact.first_name", 3, 1, 4, "unclosed '{{'"),
        ('Hi {{ contact.first_name | default:"x" ', 3, 1, 4, "unclosed '{{'"),
        ("Hi {{ }}", 3, 1, 4, "empty placeholder tag"),
        ("Hi {{}}", 3, 1, 4, "empty placeholder tag"),
        ("{{ 1contact }}", 3, 1, 4, "expected a placeholder name"),
        ("{{ | default:'x' }}", 3, 1, 4, "expected a placeholder name"),
        ("{{ contact..first_name }}", 3, 1, 4, "malformed placeholder name"),
        ("{{ contact.first-name }}", 3, 1, 4, "malformed placeholder name 'contact.first-name'"),
        ("{{ contact. }}", 3, 1, 4, "malformed placeholder name"),
        ("{{ contact.nickname }}", 3, 1, 4, "unknown placeholder 'contact.nickname'"),
        ("{{ contact.first_name | upper }}", 24, 1, 25, "unknown filter 'upper'"),
        ("{{ contact.first_name | }}", 24, 1, 25, "unknown filter '}'"),
        ("{{ contact.first_name | default }}", 32, 1, 33, "expected ':'"),
        ('{{ contact.first_name | default("x") }}', 31, 1, 32, "expected ':'"),
        ("{{ contact.first_name | default:there }}", 32, 1, 33, "must be quoted"),
        ('{{ contact.first_name | default:"there }}', 32, 1, 33, "unterminated default"),
        ("{{ contact.first_name | default:'there }}", 32, 1, 33, "unterminated default"),
        (r'{{ contact.first_name | default:"a\nb" }}', 34, 1, 35, "unsupported escape"),
        ('{{ contact.first_name | default:"x" junk }}', 36, 1, 37, "unexpected text"),
        ('{{ offer.name | default:"x" | default:"y" }}', 28, 1, 29, "unexpected text"),
        ("{{ offer.name junk }}", 14, 1, 15, "unexpected text"),
        ("Dear all,\nHi {{ contact.nickname }}", 16, 2, 7, "unknown placeholder"),
        ("one\ntwo\n  {{ offer.name", 10, 3, 3, "unclosed '{{'"),
        ("{{ offer.name }} {{ }}", 17, 1, 18, "empty placeholder tag"),
    ],
)
def test_compile_error_reports_position_line_and_column(
    source: str, position: int, line: int, column: int, message: str
) -> None:
    """Each malformed template is a TemplateError pointing at the problem."""
    with pytest.raises(TemplateError) as caught:
        compile_(source, field="invoice_title")
    error = caught.value
    assert (error.position, error.line, error.column) == (position, line, column)
    assert message in error.message
    assert f"(line {line}, column {column})" in str(error)
    assert (error.field, error.value) == ("invoice_title", source)


def test_template_error_is_a_validation_error_and_value_error() -> None:
    """A TemplateError can be caught as ValidationError or ValueError."""
    with pytest.raises(ValueError, match="empty placeholder tag") as caught:
        compile_("{{}}")
    assert isinstance(caught.value, ValidationError)


def test_unknown_name_is_an_error_at_save_time() -> None:
    """A name outside the allowed set fails when the text is compiled, not later as a blank."""
    with pytest.raises(TemplateError, match=r"did you mean 'contact.first_name'\?"):
        compile_("Hi {{ contact.firstname }}")


def test_allowed_names_can_be_narrowed_or_extended() -> None:
    """The allowed set given to compile is the whole vocabulary."""
    compile_("{{ site.name }}", allowed=["site.name"])
    with pytest.raises(TemplateError, match=r"unknown placeholder 'offer\.name'"):
        compile_("{{ offer.name }}", allowed=["site.name"])


@pytest.mark.parametrize(
    "source",
    [
        "{{ __import__('os') }}",
        "{{ __import__('os').system('id') }}",
        "{{ contact.__class__ }}",
        "{{ contact.__class__.__mro__ }}",
        "{{ contact.first_name() }}",
        "{{ contact.first_name.upper }}",
        "{{ contact['first_name'] }}",
        "{{ 1 + 1 }}",
        "{{ contact.first_name | attr:'__class__' }}",
        "{% for x in y %}{{ contact.first_name }}{% endfor %}{{ x }}",
    ],
)
def test_code_is_never_evaluated_only_rejected(source: str) -> None:
    """Anything that is not a known dotted name (calls, dunders, indexing, maths) fails to compile."""
    with pytest.raises(TemplateError):
        compile_(source)


# -- output kinds ------------------------------------------------------------------------


def test_html_output_escapes_values() -> None:
    """In HTML output a value like <script> is escaped, including quotes."""
    template = compile_("<p>Hi {{ contact.first_name }}</p>", output=TemplateOutput.HTML)
    rendered = template.render({"contact.first_name": "<script>alert('x\"&')</script>"})
    assert rendered == "<p>Hi &lt;script&gt;alert(&#x27;x&quot;&amp;&#x27;)&lt;/script&gt;</p>"


def test_html_output_escapes_defaults_but_not_literal_text() -> None:
    """In HTML output defaults are escaped and the admin's own markup is left as written."""
    template = compile_(
        '<a href="x?a=1&b=2">{{ offer.name | default:"<Gold & co>" }}</a>',
        output=TemplateOutput.HTML,
    )
    assert template.render({}) == '<a href="x?a=1&b=2">&lt;Gold &amp; co&gt;</a>'


def test_text_output_inserts_values_verbatim() -> None:
    """TEXT output inserts values exactly as given."""
    template = compile_("{{ contact.first_name }}")
    assert template.render({"contact.first_name": "<b>&'\""}) == "<b>&'\""


@pytest.mark.parametrize("brk", ["\n", "\r", "\r\n", "\u2028", "\x85"])
def test_subject_with_line_break_in_source_is_refused_at_compile(brk: str) -> None:
    """A subject line whose source has a line break is a HeaderInjectionError naming the field."""
    for source in (f"Hello{brk}Bcc: x", f'{{{{ offer.name | default:"a{brk}b" }}}}'):
        with pytest.raises(HeaderInjectionError) as caught:
            compile_(source, output=TemplateOutput.SUBJECT, field="subject")
        assert caught.value.field == "subject"


def test_line_breaks_in_source_are_fine_outside_subjects() -> None:
    """TEXT and HTML templates may span lines."""
    for output in (TemplateOutput.TEXT, TemplateOutput.HTML):
        assert compile_("a\r\nb", output=output).render({}) == "a\r\nb"


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_subject_with_line_break_in_value_is_refused_at_render(brk: str) -> None:
    """A subject value holding any line break is a HeaderInjectionError naming the placeholder."""
    subject = compile_(
        "Invoice {{ invoice.number }} for {{ contact.full_name }}", output=TemplateOutput.SUBJECT
    )
    values = {"invoice.number": "42", "contact.full_name": f"Ann{brk}Bcc: evil@example.com"}
    with pytest.raises(HeaderInjectionError) as caught:
        subject.render(values)
    assert caught.value.field == "contact.full_name"
    assert isinstance(caught.value, ValueError)


def test_subject_renders_single_line_values() -> None:
    """A subject with one-line values renders them verbatim, with defaults."""
    subject = compile_(
        'Welcome {{ contact.first_name | default:"there" }} <{{ offer.name }}>',
        output=TemplateOutput.SUBJECT,
    )
    assert subject.render({"offer.name": "A & B"}) == "Welcome there <A & B>"


# -- the value itself --------------------------------------------------------------------


def test_equality_and_hash_are_by_source_and_output() -> None:
    """Templates compare and hash by (source, output) only."""
    a = compile_("Hi {{ offer.name }}")
    b = compile_("Hi {{ offer.name }}", allowed=["offer.name"], field="other")
    assert a == b
    assert hash(a) == hash(b)
    assert a != compile_("Hi {{ offer.name }}", output=TemplateOutput.HTML)
    assert a != compile_("Hi {{offer.name}}")
    assert len({a, b}) == 1


def test_template_is_frozen_and_reports_its_names() -> None:
    """A compiled template is immutable, lists its names and keeps its internals out of repr."""
    template = compile_("{{ offer.name }} {{ offer.name }} {{ invoice.total }}")
    assert template.names == frozenset({"offer.name", "invoice.total"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        template.source = "x"  # type: ignore[misc]
    assert repr(template).startswith("PlaceholderTemplate(source='{{ offer.name }}")
    assert "slots" not in repr(template)


# -- properties --------------------------------------------------------------------------

FRAGMENTS = [
    "{{", "}}", "{", "}", " ", "|", ":", "default", "upper", '"', "'", "\\", ".", "_", "x",
    "\n", "\r", "\u2028", "contact.first_name", "offer.name", "contact.", "__class__", "(", ")",
]  # fmt: skip
# Nearly-right tags, so the fuzzing reaches every branch of the tag parser, not only the first.
TAG_PARTS = (
    ["{{"],
    ["", " ", "\t", "\n"],
    [*NAMES, "contact.", "contact..x", "__class__", "1x", "", "contact.nickname", "x("],
    ["", " ", "\n"],
    ["", "", "", '| default:"x"', "| default:'it\\'s'", '|default:"a\\"b"', '| default:"<&>"',
     "|", "| default", '| default:"x', "| upper", '| default:"x" | default:"y"', "| default:x",
     '| default:"\\n"'],
    ["", " "],
    ["}}", "}}", "}}", "}}", "}", ""],
)  # fmt: skip
tags = st.tuples(*(st.sampled_from(part) for part in TAG_PARTS)).map("".join)
good_tags = st.builds(
    "{{{{ {} {} }}}}".format,
    st.sampled_from(NAMES),
    st.sampled_from(["", '| default:"x"', "|default:'<&>'"]),
)
tag_runs = st.lists(good_tags | tags, min_size=1, max_size=4).map(" ".join)
template_like = st.lists(tags | st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=8).map(
    "".join
)
values_st = st.dictionaries(st.sampled_from(NAMES), st.none() | st.text(max_size=20), max_size=12)
outputs = st.sampled_from(list(TemplateOutput))
without_tags = st.text().map(lambda s: re.sub(r"\{(?=\{)", "{ ", s))


@settings(max_examples=300)
@given(source=without_tags, values=values_st, output=st.sampled_from(["text", "html"]))
def test_property_text_without_tags_renders_to_itself(
    source: str, values: dict[str, str | None], output: str
) -> None:
    """Any text without '{{' compiles to no names and renders to itself."""
    template = compile_(source, output=TemplateOutput(output))
    assert template.names == frozenset()
    assert template.render(values) == source


@settings(max_examples=300)
@given(source=template_like | tag_runs | st.text(), output=outputs, values=values_st)
def test_property_compile_raises_only_template_errors(
    source: str, output: TemplateOutput, values: dict[str, str | None]
) -> None:
    """Compiling arbitrary text either succeeds or raises TemplateError/HeaderInjectionError."""
    multi_line = source.splitlines() not in ([], [source])
    failure: TemplateError | HeaderInjectionError | None = None
    try:
        template = compile_(source, output=output)
    except (TemplateError, HeaderInjectionError) as caught:
        failure = caught
    if isinstance(failure, TemplateError):
        event("TemplateError")
        assert 0 <= failure.position <= len(source)
        return
    if failure is not None:
        event("HeaderInjectionError at compile")
        assert output is TemplateOutput.SUBJECT
        assert multi_line
        return
    assert not (output is TemplateOutput.SUBJECT and multi_line)
    event(f"compiled with {len(template.names)} name(s)")
    try:
        rendered = template.render(values)
    except HeaderInjectionError:
        assert output is TemplateOutput.SUBJECT
        return
    assert isinstance(rendered, str)


@settings(max_examples=300)
@given(value=st.text())
def test_property_html_values_are_always_escaped(value: str) -> None:
    """In HTML output a value contributes no raw <, >, quotes or bare '&'."""
    template = compile_("<b>{{ contact.first_name }}</b>", output=TemplateOutput.HTML)
    rendered = template.render({"contact.first_name": value})
    inserted = rendered[len("<b>") : -len("</b>")]
    assert inserted == html.escape(value, quote=True)
    assert not set("<>\"'") & set(inserted)
    assert "&" not in re.sub(r"&(?:amp|lt|gt|quot|#x27);", "", inserted)


@settings(max_examples=300)
@given(values=values_st, with_defaults=st.booleans())
def test_property_subject_renders_never_contain_line_breaks(
    values: dict[str, str | None], with_defaults: bool
) -> None:
    """A SUBJECT render is one line or a HeaderInjectionError, whatever the values."""
    tail = ' | default:"x"' if with_defaults else ""
    source = " ".join(f"{{{{ {name}{tail} }}}}" for name in NAMES)
    subject = compile_(source, output=TemplateOutput.SUBJECT)
    try:
        rendered = subject.render(values)
    except HeaderInjectionError:
        assert any(value and value.splitlines() != [value] for value in values.values())
        return
    assert rendered.splitlines() == [rendered]
