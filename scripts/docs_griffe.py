"""A griffe extension: the package's docstrings, written for ``help()`` and doctest, read
as Markdown on the documentation site.

- Sphinx roles (``:class:`~portal_access.Money```) become code (`` `Money` ``).
- A paragraph's closing ``::`` (a literal block follows) becomes ``:``.
- Interactive examples (``>>>`` and what they print) become ``pycon`` code blocks; pytest
  runs them as doctests, so what the page shows has run.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
from collections.abc import Iterator
from typing import Any

import attrs
import griffe

_ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|exc|obj):`~?([^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match.group(1)
    shown = target.rsplit(".", 1)[-1] if match.group(0).find("`~") != -1 else target
    return f"`{shown}`"


def _fence_examples(text: str) -> str:
    lines, out, index = text.splitlines(), [], 0
    while index < len(lines):
        line = lines[index]
        if not line.lstrip().startswith(">>>"):
            out.append(line)
            index += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out.append(f"{indent}```pycon")
        while index < len(lines) and lines[index].strip():
            out.append(lines[index])
            index += 1
        out.append(f"{indent}```")
    return "\n".join(out)


def markdown_docstring(text: str) -> str:
    """``text`` as Markdown: roles as code, ``::`` as ``:``, examples fenced."""
    text = _ROLE.sub(_role, text)
    text = re.sub(r"::$", ":", text, flags=re.M)
    return _fence_examples(text)


class MarkdownDocstrings(griffe.Extension):
    """Rewrites every docstring with :func:`markdown_docstring` as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)


def _default(value: object, field: Any) -> str | None:
    if value is inspect.Parameter.empty:
        return None
    if value is attrs.NOTHING and isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        factory = field.default.factory
        return f"{getattr(factory, '__qualname__', repr(factory))}()"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def _annotation(field: Any, annotation: object) -> str | None:
    """The field's declared type (a converter's parameter type is looser), as text."""
    declared = getattr(field, "type", None)
    if isinstance(declared, str):
        return declared
    return annotation if isinstance(annotation, str) else None


def _runtime(path: str) -> object | None:
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    except Exception:  # a module that needs its framework set up first (Django's models)
        return None


def _attrs_init(cls: griffe.Class) -> None:
    runtime = _runtime(cls.path)
    if not (isinstance(runtime, type) and attrs.has(runtime)) or "__init__" in cls.members:
        return
    fields = {field.alias: field for field in attrs.fields(runtime)}
    parameters = [
        griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword),
        *(
            griffe.Parameter(
                name,
                annotation=_annotation(fields.get(name), param.annotation),
                kind=griffe.ParameterKind(param.kind.description),
                default=_default(param.default, fields.get(name)),
            )
            for name, param in inspect.signature(runtime).parameters.items()
        ),
    ]
    init = griffe.Function(
        "__init__", lineno=0, endlineno=0, parent=cls, parameters=griffe.Parameters(*parameters)
    )
    init.returns = "None"
    cls.set_member("__init__", init)


def _classes(obj: griffe.Object) -> Iterator[griffe.Class]:
    for member in obj.members.values():
        if member.is_alias:
            continue
        if isinstance(member, griffe.Class):
            yield member
        if isinstance(member, griffe.Module | griffe.Class):
            yield from _classes(member)


class AttrsSignatures(griffe.Extension):
    """Gives attrs classes the signature attrs generates at run time (griffe reads the
    source, where attrs classes have no ``__init__``)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Add an ``__init__`` to every attrs class of ``pkg``."""
        for cls in _classes(pkg):
            _attrs_init(cls)
