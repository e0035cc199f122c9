"""MkDocs hooks for the documentation site (``hooks:`` in ``mkdocs.yml``).

- The README is the home page and the changelog a page, both read from the project root
  (where GitHub and PyPI show them), with their links rewritten to the site's pages.
- Pages the nav names that are not written yet (:data:`OPTIONAL_PAGES`) are left out of
  the nav instead of failing the strict build; every other nav entry must exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent

#: Pages that arrive with other work; the nav names them and skips them while absent.
OPTIONAL_PAGES: frozenset[str] = frozenset()

#: Site pages made from files at the project root: (page, source, link rewrites).
ROOT_PAGES = (
    ("index.md", "README.md", ((r"\]\(docs/", "]("), (r"\]\(CHANGELOG\.md\)", "](changelog.md)"))),
    ("changelog.md", "CHANGELOG.md", ((r"\]\(docs/", "]("),)),
)


def _without_missing(entries: list[Any], docs_dir: Path) -> list[Any]:
    kept: list[Any] = []
    for entry in entries:
        if isinstance(entry, dict):
            ((title, target),) = entry.items()
            if isinstance(target, list):
                kept.append({title: _without_missing(target, docs_dir)})
                continue
            if target in OPTIONAL_PAGES and not (docs_dir / target).exists():
                continue
        kept.append(entry)
    return kept


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Leave the optional pages not written yet out of the nav."""
    config.nav = _without_missing(config.nav or [], Path(config.docs_dir))
    return config


def root_page(source: str, rewrites: tuple[tuple[str, str], ...]) -> str:
    """The text of a root file with its links pointed at the site's pages."""
    for pattern, replacement in rewrites:
        source = re.sub(pattern, replacement, source)
    return source


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the README (home page) and the changelog."""
    for page, source, rewrites in ROOT_PAGES:
        text = root_page((ROOT / source).read_text(encoding="utf-8"), rewrites)
        files.append(File.generated(config, page, content=text))
    return files


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    """``mkdocs serve`` rebuilds when the README or the changelog changes too."""
    for _page, source, _rewrites in ROOT_PAGES:
        server.watch(str(ROOT / source))
    return server
