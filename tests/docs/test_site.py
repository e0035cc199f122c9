"""The documentation site stays whole: every public name and error in the reference,
every page in the nav, every Flask setting in the settings table, and the build's own
hooks doing what they say."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from scripts.docs_griffe import markdown_docstring
from scripts.docs_hooks import OPTIONAL_PAGES, ROOT_PAGES, root_page

import portal_access
from portal_access.contrib.flask import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"


def nav_pages() -> list[str]:
    """Every page the nav in mkdocs.yml names, in order."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages: list[str] = []

    def walk(entries: list[object]) -> None:
        for entry in entries:
            assert isinstance(entry, dict)
            ((_title, target),) = entry.items()
            if isinstance(target, list):
                walk(target)
            else:
                pages.append(target)

    walk(config["nav"])
    return pages


def test_every_public_name_has_a_reference_entry():
    """Each name in portal_access.__all__ is rendered, with its signature, by a
    `::: portal_access.NAME` directive on a reference page."""
    text = "\n".join(page.read_text(encoding="utf-8") for page in REFERENCE.glob("*.md"))
    rendered = set(re.findall(r"^::: portal_access\.([A-Za-z_]+)\s*$", text, re.M))
    missing = set(portal_access.__all__) - rendered
    assert not missing, f"add `::: portal_access.NAME` to docs/reference/ for {sorted(missing)}"


def test_the_error_tree_on_the_errors_page_is_the_class_tree():
    """docs/reference/errors.md draws every error class under its real base class."""
    text = (REFERENCE / "errors.md").read_text(encoding="utf-8")
    drawing = re.search(r"```text\n(PortalAccessError\n.*?)```", text, re.S)
    assert drawing is not None
    parents: list[str] = []
    drawn = set()
    for line in drawing.group(1).splitlines():
        name = re.search(r"[A-Za-z]+Error", line)
        assert name is not None, line
        depth = (name.start() - 4) // 4 + 1 if name.start() else 0
        del parents[depth:]
        cls = getattr(portal_access, name.group())
        if parents:
            assert getattr(portal_access, parents[-1]) in cls.__bases__, line
        parents.append(name.group())
        drawn.add(name.group())
    errors = {
        name
        for name in portal_access.__all__
        if isinstance(getattr(portal_access, name), type)
        and issubclass(getattr(portal_access, name), portal_access.PortalAccessError)
    }
    assert drawn == errors


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    """No page is built without a way to reach it, and the nav names no page that is
    neither written nor one of the pages other work adds."""
    pages = nav_pages()
    written = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    generated = {page for page, _source, _rewrites in ROOT_PAGES}
    assert written - set(pages) == set()
    assert set(pages) - written - generated <= OPTIONAL_PAGES
    assert len(pages) == len(set(pages))


@pytest.mark.parametrize("page", ["reference/settings.md", "flask.md"])
def test_every_flask_setting_is_in_the_settings_tables(page):
    """The Flask settings tables list exactly the settings the extension reads."""
    text = (DOCS / page).read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(PORTAL_ACCESS_[A-Z_]+)` \|", text, re.M))
    assert listed == set(SETTINGS)


def test_the_home_page_links_to_site_pages():
    """The README's links to docs/ and the changelog point at the site's pages."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page, _source, rewrites = ROOT_PAGES[0]
    assert page == "index.md"
    home = root_page(readme, rewrites)
    assert "](docs/" not in home
    assert "](CHANGELOG.md)" not in home
    assert "](flask.md)" in home
    assert "](changelog.md)" in home


def test_docstrings_become_markdown():
    """Sphinx roles become code, a literal block's `::` a colon, examples fenced."""
    text = (
        "See :class:`~portal_access.Money` and :func:`decide`::\n\n"
        "    drawing\n\n"
        ">>> 1 + 1\n2\n\nAfter."
    )
    assert markdown_docstring(text) == (
        "See `Money` and `decide`:\n\n    drawing\n\n```pycon\n>>> 1 + 1\n2\n```\n\nAfter."
    )


#: The public modules the reference renders.
PUBLIC_MODULES = (
    "portal_access",
    "portal_access.ports",
    "portal_access.repositories",
    "portal_access.adapters",
    "portal_access.storage.memory",
    "portal_access.storage.sql",
    "portal_access.gateways.stripe",
    "portal_access.gateways.square",
    "portal_access.gateways.paypal",
    "portal_access.gateways.sandbox",
    "portal_access.testing",
    "portal_access.testing.strategies",
    "portal_access.testing.stripe",
    "portal_access.testing.square",
    "portal_access.testing.paypal",
    "portal_access.testing.sandbox",
    "portal_access.contrib.flask",
    "portal_access.contrib.flask.signals",
    "portal_access.contrib.flask.testing",
)
#: What the site never mentions: the project's working papers live outside it.
UNSPOKEN = re.compile(r"DESIGN\.md|STYLE\.md|\.\./shared|\bthe issue\b")


def public_docstrings() -> Iterator[tuple[str, str]]:
    """(where, docstring) of every public module, name and class member."""
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        yield module_name, module.__doc__ or ""
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            yield f"{module_name}.{name}", inspect.getdoc(obj) or ""
            if inspect.isclass(obj):
                for attribute, member in vars(obj).items():
                    if not attribute.startswith("_"):
                        yield f"{module_name}.{name}.{attribute}", inspect.getdoc(member) or ""


def test_the_site_speaks_for_itself():
    """No page, and no docstring the reference renders, points at the project's
    working papers; seeds are cited by file name."""
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *DOCS.rglob("*.md")]
    found = [str(page.relative_to(ROOT)) for page in pages if UNSPOKEN.search(page.read_text())]
    found += [where for where, doc in public_docstrings() if UNSPOKEN.search(doc)]
    assert found == []


#: The working papers by name; the vendors' API descriptions stay allowed (tests shape
#: their local vendor servers from them and say where they are looked for).
WORKING_PAPERS = re.compile(r"DESIGN\.md|STYLE\.md|shared/seeds")


def test_no_source_file_points_at_the_working_papers():
    """Code, tests, benchmarks, scripts and examples speak for themselves too: a rule is
    explained in docs/ and a seed is cited by its file name."""
    trees = ["src", "tests", "benchmarks", "scripts", "examples"]
    files = [path for tree in trees for path in (ROOT / tree).rglob("*.py")]
    found = [
        str(path.relative_to(ROOT))
        for path in files
        if path.name != "test_site.py" and WORKING_PAPERS.search(path.read_text())
    ]
    assert files
    assert found == []


def test_every_access_reason_is_in_the_reasons_table():
    """docs/concepts/access.md explains every AccessReason, and no other."""
    text = (DOCS / "concepts" / "access.md").read_text(encoding="utf-8")
    listed = set(
        re.findall(
            r"^\| `([A-Z_]+)` \| `(?:FULL|PAY_INVOICE_ONLY|RESUBSCRIBE_ONLY|NONE)", text, re.M
        )
    )
    assert listed == {reason.name for reason in portal_access.AccessReason}


#: The product's seed files, by the names the tests and pages cite them with.
SEEDS = {
    "000_07c53b15302458c1.txt",
    "001_345994b3bb014aeb.txt",
    "002_50038a73eff95302.txt",
    "003_11ad6fb0c789d951.txt",
    "004_67d5e53a019b49ae.txt",
}
SEED_NAME = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")


def test_every_cited_seed_is_one_of_the_product_seeds():
    """A rule's test names the seed it comes from: a misspelt name points nowhere (three
    tests once cited seeds 002 and 003 by names no seed has)."""
    trees = ["src", "tests", "docs", "benchmarks", "examples"]
    files = [
        path
        for tree in trees
        for path in (ROOT / tree).rglob("*")
        if path.suffix in {".py", ".md", ".html", ".txt"}
    ]
    cited = {
        (str(path.relative_to(ROOT)), name)
        for path in files
        for name in SEED_NAME.findall(path.read_text(encoding="utf-8"))
    }
    assert {name for _where, name in cited} >= {"000_07c53b15302458c1.txt"}
    assert sorted((where, name) for where, name in cited if name not in SEEDS) == []
