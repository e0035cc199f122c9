"""The shape rules: layers whose arrows point inward, private modules kept private, a
pure domain, nothing optional loaded at import, one error root (docs/architecture.md)."""

from __future__ import annotations

import ast
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import portal_access
import portal_access._domain.errors as errors_module
from portal_access._domain.errors import PortalAccessError

SRC = Path(portal_access.__file__).parent
ALLOWED_THIRD_PARTY = {"attrs", "cattrs", "orjson", "typing_extensions"}
# Standard-library modules that do I/O, read the clock, make randomness or run code.
FORBIDDEN_STDLIB = {
    "os",
    "io",
    "sys",
    "socket",
    "subprocess",
    "sqlite3",
    "urllib",
    "http",
    "ssl",
    "shutil",
    "pathlib",
    "tempfile",
    "time",
    "random",
    "secrets",
    "uuid",
    "logging",
    "threading",
    "asyncio",
    "multiprocessing",
    "smtplib",
    "email",
    "importlib",
    "pickle",
    "shelve",
}
# Pure parts of forbidden packages: parsing text, no I/O (``urllib.request`` stays out).
PURE_STDLIB = {"urllib.parse"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _domain_sources() -> list[Path]:
    """The domain's modules; never none (a moved folder must not make these tests vacuous)."""
    found = sorted((SRC / "_domain").glob("*.py"))
    assert len(found) > 20, "the domain's modules were not found"
    return found


def test_domain_imports_only_the_standard_library_the_core_dependencies_and_itself():
    """The domain stays pure: no I/O, no clock, no randomness, no SDK, no adapters."""
    for path in _domain_sources():
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith("portal_access."):
                assert name.startswith("portal_access._domain"), f"{path.name} imports {name}"
                continue
            assert name in PURE_STDLIB or top not in FORBIDDEN_STDLIB, f"{path.name} imports {name}"
            assert (
                top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == "__future__"
            ), f"{path.name} imports {name}"


def test_domain_never_reads_the_clock():
    """Time comes in as an argument; no now() or today() inside the domain."""
    for path in _domain_sources():
        text = path.read_text(encoding="utf-8")
        for call in (".now(", ".today(", ".utcnow(", "time.time("):
            assert call not in text, f"{path.name} calls {call}"


def test_importing_the_package_loads_no_optional_dependency():
    """docs/rules.md: import portal_access loads no vendor SDK, SQLAlchemy, Flask, Django or hypothesis."""
    code = (
        "import sys, portal_access\n"
        "bad = [m for m in ('stripe', 'square', 'paypalserversdk', 'sqlalchemy', 'psycopg', "
        "'flask', 'django', 'hypothesis', 'alembic', 'jinja2', 'fpdf', 'pypdf', 'PIL') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_every_error_has_the_one_root():
    """docs/rules.md: one exception hierarchy rooted at PortalAccessError, drawn in its docstring."""
    classes = [
        obj
        for _name, obj in inspect.getmembers(errors_module, inspect.isclass)
        if isinstance(obj, type) and issubclass(obj, BaseException)
    ]
    assert len(classes) >= 20
    doc = errors_module.__doc__ or ""
    for cls in classes:
        assert issubclass(cls, PortalAccessError)
        assert cls.__name__ in doc, f"{cls.__name__} missing from the tree in errors.py"
    assert set(errors_module.__all__) == {cls.__name__ for cls in classes}


def test_no_module_is_named_like_a_junk_drawer():
    """docs/architecture.md: no utils, helpers, manager, common or misc modules."""
    for module in pkgutil.walk_packages([str(SRC)], "portal_access."):
        leaf = module.name.rsplit(".", 1)[-1]
        assert leaf not in {"utils", "helpers", "manager", "common", "misc"}, module.name


def test_every_public_module_declares_all():
    """docs/architecture.md: explicit __all__ in every public module."""
    for path in sorted(SRC.rglob("*.py")):
        if path.name.startswith("_") and path.name != "__init__.py":
            continue
        if path.name == "__main__.py":
            continue
        assert "__all__" in path.read_text(encoding="utf-8"), path


def test_package_ships_py_typed():
    """CI: the package is typed (PEP 561)."""
    assert (SRC / "py.typed").exists()


# -- layers -------------------------------------------------------------------------------

#: Which top-level parts of the package each part may import (besides itself). The
#: arrows point inward: _domain <- ports <- repositories <- _service <- _portal; stores,
#: gateways and adapters import only the domain, the ports and the shared adapters (a
#: store also the repositories' table declarations). The Flask integration reads what the
#: facade has no read for yet through the repositories (``contrib/flask/_reads.py``).
#: ``<top>`` is ``portal_access/__init__.py`` (the host's API).
LAYERS: dict[str, set[str]] = {
    "_domain": set(),
    "ports": {"_domain"},
    "adapters": {"_domain", "ports"},
    "repositories": {"_domain", "ports"},
    "_service": {"_domain", "ports", "repositories"},
    "_portal": {"_domain", "ports", "repositories", "_service", "adapters"},
    "<top>": {"_domain", "_portal", "_service"},
    "storage": {"_domain", "ports", "repositories", "adapters"},
    "gateways": {"_domain", "ports", "adapters"},
    "testing": {
        "<top>",
        "_domain",
        "_service",
        "ports",
        "repositories",
        "adapters",
        "storage",
        "gateways",
    },
    "contrib": {
        "<top>",
        "ports",
        "repositories",
        "adapters",
        "storage",
        "gateways",
        "testing",
        "_demo",
    },
    "_commands": {"<top>", "_domain", "_service", "_portal", "storage", "gateways", "adapters"},
    "_demo": {"<top>", "ports", "adapters", "storage", "gateways", "testing", "_demo_server"},
    "_demo_server": set(),
    "__main__": set(),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    parts = module.split(".")
    return "<top>" if len(parts) == 1 else parts[1]


def _project_imports(path: Path) -> set[str]:
    return {name for name in _imports(path) if name.split(".")[0] == "portal_access"}


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_part_of_the_package_has_a_layer():
    """Each top-level module or package is placed in the layer table, so none escapes it."""
    parts = {_part(_module_name(path)) for path in _sources()}
    assert parts <= set(LAYERS), f"parts without a layer: {sorted(parts - set(LAYERS))}"


def test_every_layer_imports_only_the_layers_beneath_it():
    """Arrows point inward: a part imports only what its row of the layer table allows."""
    wrong = []
    for path in _sources():
        mine = _part(_module_name(path))
        for name in _project_imports(path):
            theirs = _part(name)
            if theirs != mine and theirs not in LAYERS[mine]:
                wrong.append(f"{_module_name(path)} ({mine}) imports {name} ({theirs})")
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_a_private_module_of_another_package():
    """A module named with a leading underscore is private to the package that holds it."""
    wrong = []
    for path in _sources():
        importer = _module_name(path)
        for name in _project_imports(path):
            parts = name.split(".")
            for depth, part in enumerate(parts[2:], start=2):
                if part.startswith("_") and not part.startswith("__"):
                    owner = ".".join(parts[:depth])
                    if not (importer + ".").startswith(owner + "."):
                        wrong.append(f"{importer} imports {name}, private to {owner}")
                    break
    assert not wrong, "\n".join(wrong)


def test_the_layers_form_no_cycle():
    """No two parts of the package import each other, directly or around a circle."""
    graph: dict[str, set[str]] = {part: set() for part in LAYERS}
    for path in _sources():
        mine = _part(_module_name(path))
        graph[mine] |= {_part(name) for name in _project_imports(path)} - {mine}
    seen: set[str] = set()
    stack: list[str] = []

    def visit(part: str) -> None:
        assert part not in stack, f"import cycle: {' -> '.join([*stack, part])}"
        if part in seen:
            return
        stack.append(part)
        for other in sorted(graph[part]):
            visit(other)
        stack.pop()
        seen.add(part)

    for part in sorted(graph):
        visit(part)


def test_the_layer_table_in_the_docs_is_the_one_the_tests_enforce():
    """docs/architecture.md shows the same layer table this module checks."""
    text = (SRC.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    documented: dict[str, set[str]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0] != "`part`":
            part = cells[0].strip("`")
            documented[part] = {name.strip("` ") for name in cells[2].split(",") if "`" in name}
    assert documented == LAYERS


def test_every_facade_method_is_one_call_into_a_use_case():
    """`PortalAccess` wires use cases to the ports and nothing more: each method other
    than ``__init__`` is one statement after its docstring (a use case's logic lives in
    `_service/`, where it is tested on its own)."""
    tree = ast.parse((SRC / "_portal.py").read_text(encoding="utf-8"))
    (facade,) = [
        node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "PortalAccess"
    ]
    methods = [node for node in facade.body if isinstance(node, ast.FunctionDef)]
    thick = [
        method.name
        for method in methods
        if method.name != "__init__"
        and len([statement for statement in method.body if not _is_docstring(statement)]) != 1
    ]
    assert len(methods) > 40
    assert thick == []


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def test_the_flask_integration_reads_through_the_facade():
    """Issue #14: the Flask pages read offers, contacts, accounts, sites and
    subscriptions through ``PortalAccess``, never through the repositories or the store
    (a value type the facade returns is the one name they may import from there)."""
    wrong = []
    for path in sorted((SRC / "contrib" / "flask").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "portal_access.repositories":
                wrong += [f"{path.name}: {a.name}" for a in node.names if a.name != "PaymentRecord"]
            if isinstance(node, ast.Attribute) and node.attr in {"store", "unit_of_work"}:
                wrong.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert wrong == []


#: The Django app's store side: the ORM store, its models and migrations, the admin (which
#: lists the rows), the settings (which build the store) and the commands. Everything
#: else in the app serves requests and goes through ``PortalAccess``.
DJANGO_STORE_SIDE = {
    "__init__.py",  # names DjangoStore lazily for the host
    "_settings.py",  # builds the DjangoStore the portal runs on
    "_store.py",
    "models.py",
    "admin.py",
    "migrations",
    "management",
}


def test_the_django_views_read_through_the_facade():
    """Issue #18: the Django app's views, guard, middleware, login backend and template
    tags read and write through ``PortalAccess`` only: never the repositories, the store
    or the ORM models of the library's rows (``_auth`` may read ``Contact.user``, the
    link to the host's user model that only Django keeps)."""
    root = SRC / "contrib" / "django"
    served = [
        path
        for path in sorted(root.rglob("*.py"))
        if path.relative_to(root).parts[0] not in DJANGO_STORE_SIDE
    ]
    assert {"_pages.py", "_documents.py", "_auth.py", "middleware.py"} <= {p.name for p in served}
    wrong = []
    for path in served:
        where = path.relative_to(root)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
                names = [module] if module else []
                names += [f"{module}.{a.name}" if module else a.name for a in node.names]
                for name in names:
                    if name.startswith("portal_access.repositories") or name.endswith("._store"):
                        wrong.append(f"{where}: imports {name}")
                    if name.endswith("django.models") and where.name != "_auth.py":
                        wrong.append(f"{where}: imports {name}")
            if isinstance(node, ast.Attribute) and node.attr in {"store", "unit_of_work", "uow"}:
                wrong.append(f"{where}:{node.lineno}: .{node.attr}")
            if isinstance(node, ast.Name) and node.id in {"unit_of_work", "DjangoStore"}:
                wrong.append(f"{where}:{node.lineno}: {node.id}")
    assert wrong == []
