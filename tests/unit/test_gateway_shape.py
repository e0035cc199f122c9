"""Every gateway package has the same shape: the same files, one export, no borrowing.

As the ``pay`` gem keeps one shape per processor: a reader who knows one gateway knows
where everything is in the next, and a new gateway starts as a copy of the sandbox.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import portal_access.gateways

GATEWAYS = Path(portal_access.gateways.__file__).parent
REQUIRED = {"__init__.py", "_gateway.py", "_webhooks.py", "_mapping.py", "_errors.py"}
OPTIONAL = {"_checkout.py", "_objects.py", "_rest.py"}


def _imported(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports, relative imports resolved against ``package``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _exports(init: Path) -> list[str]:
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = node.value
            assert isinstance(value, ast.List | ast.Tuple)
            return [ast.literal_eval(item) for item in value.elts]
    return []


def shape_problems(folder: Path, *, root: str = "portal_access.gateways") -> list[str]:
    """What is wrong with the gateway package in ``folder`` (nothing: ``[]``)."""
    name = folder.name
    package = f"{root}.{name}"
    problems: list[str] = []
    entries = {p.name for p in folder.iterdir() if p.name != "__pycache__"}
    problems += [f"{name}: missing {file}" for file in sorted(REQUIRED - entries)]
    problems += [f"{name}: unexpected {file}" for file in sorted(entries - REQUIRED - OPTIONAL)]
    if "__init__.py" in entries:
        exports = _exports(folder / "__init__.py")
        if len(exports) != 1 or exports[0].lower() != f"{name}gateway".replace("_", ""):
            problems.append(
                f"{name}: __init__ must export exactly one {name.title()}Gateway, not {exports}"
            )
    for path in sorted(folder.glob("*.py")):
        module = package if path.name == "__init__.py" else f"{package}.{path.stem}"
        borrowed: set[str] = set()
        for imported in _imported(path, package):
            other = imported.removeprefix(f"{root}.").split(".")[0]
            if imported.startswith(f"{root}.") and other not in (name, "_kit"):
                borrowed.add(f"another gateway ({other})")
            if imported.split(".")[:2] == ["portal_access", "testing"]:
                borrowed.add("portal_access.testing")
        problems += [f"{module} imports {what}" for what in sorted(borrowed)]
    return problems


def gateway_packages() -> list[Path]:
    return sorted(
        p
        for p in GATEWAYS.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and not p.name.startswith("_")
    )


def test_the_gateways_are_found():
    """The check sees the gateways there are (it would pass vacuously on none)."""
    assert {"sandbox", "stripe"} <= {p.name for p in gateway_packages()}


@pytest.mark.parametrize("folder", gateway_packages(), ids=lambda p: p.name)
def test_every_gateway_has_the_same_shape(folder: Path):
    """Required files present, only the optional ones besides, one Gateway exported,
    nothing imported from another gateway or from portal_access.testing."""
    assert shape_problems(folder) == []


def test_the_kit_imports_no_gateway_and_no_test_helper():
    """The kit is below every gateway: it imports none of them, nor the test helpers."""
    for path in sorted((GATEWAYS / "_kit").glob("*.py")):
        for imported in _imported(path, "portal_access.gateways._kit"):
            assert not imported.startswith("portal_access.testing"), (path.name, imported)
            top = imported.removeprefix("portal_access.gateways.").split(".")[0]
            if imported.startswith("portal_access.gateways."):
                assert top == "_kit", (path.name, imported)


def test_a_gateway_out_of_shape_is_caught(tmp_path: Path):
    """The check fails a package with a missing file, a stray file, two exports and
    imports of another gateway and of the test helpers."""
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "__init__.py").write_text('__all__ = ["AcmeGateway", "AcmeClient"]\n')
    (folder / "_gateway.py").write_text(
        "from portal_access.gateways.stripe._errors import translate\n"
        "from portal_access.testing.sandbox import SandboxVendor\n"
        "from . import _webhooks\n"
    )
    (folder / "_webhooks.py").write_text("from portal_access.gateways._kit import Fields\n")
    (folder / "_errors.py").write_text("")
    (folder / "helpers.py").write_text("")
    assert shape_problems(folder) == [
        "acme: missing _mapping.py",
        "acme: unexpected helpers.py",
        "acme: __init__ must export exactly one AcmeGateway, not ['AcmeGateway', 'AcmeClient']",
        "portal_access.gateways.acme._gateway imports another gateway (stripe)",
        "portal_access.gateways.acme._gateway imports portal_access.testing",
    ]
    (folder / "_mapping.py").write_text("")
    (folder / "helpers.py").unlink()
    (folder / "__init__.py").write_text('__all__ = ["AcmeGateway"]\n')
    (folder / "_gateway.py").write_text("from . import _webhooks\n")
    assert shape_problems(folder) == []
