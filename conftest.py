"""Run every Python example of the documentation (README.md and docs/) as a test.

Sybil, not pytest's doctest: the pages show code as a reader types it into a file, in
```` ```python ```` blocks without ``>>>`` prompts, and a page's blocks build on each
other (one namespace per page, top to bottom), which doctest over Markdown cannot do.
A page sets up what its examples assume but do not show (a clock, a store of sample
data) in an ``<!-- invisible-code-block: python -->`` comment; there is no skip.

A page's examples share one namespace, so they run in order on one worker: under
pytest-xdist (``-n``), ``load`` scheduling becomes ``loadscope``. Each page runs in an
empty working directory of its own (files such as ``portal.db`` land there); stores an
example left open are closed after the page.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser

ROOT = Path(__file__).resolve().parent


def start_page(namespace: dict[str, Any]) -> None:
    """Run a page as a script (``Flask(__name__)`` works), in an empty working directory
    of its own, and remember the environment and the directory to put back."""
    workdir = tempfile.TemporaryDirectory(prefix="portal-access-docs-")
    namespace["__name__"] = "__main__"
    namespace["_restore"] = (dict(os.environ), Path.cwd(), workdir)
    os.chdir(workdir.name)


def end_page(namespace: dict[str, Any]) -> None:
    """Close the SQL stores a page's examples opened, directly or through a Flask app,
    and put back the environment variables they set."""
    environ, cwd, workdir = namespace.pop("_restore")
    for value in list(namespace.values()):
        store = value  # type() and not isinstance(): Flask's proxies raise outside a request
        if type(value).__name__ == "Flask" and "portal_access" in value.extensions:
            from portal_access.contrib.flask._state import app_state  # noqa: PLC0415

            store = app_state(value).store
        if type(store).__name__ == "SqlStore":
            store.close()
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    workdir.cleanup()


pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser()],
    patterns=["*.md"],
    path=str(ROOT),
    setup=start_page,
    teardown=end_page,
).pytest()


def pytest_configure(config: pytest.Config) -> None:
    """Keep each page's examples on one xdist worker: ``loadscope`` sends a page (like a
    test module or class) to one worker, where ``load`` would scatter its examples."""
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadscope"
