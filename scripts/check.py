"""Run every check the project's CI runs: lint, format, types, the documentation site,
then the test suite.

Usage: ``.venv/bin/python scripts/check.py [pytest arguments...]``. It stops at the
first failing step and exits with its status, so "all green" means all of them passed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

TREES = ["src", "tests", "benchmarks", "scripts", "examples", "conftest.py"]
STEPS = [
    ("ruff lint", [str(BIN / "ruff"), "check", *TREES]),
    ("ruff format", [str(BIN / "ruff"), "format", "--check", *TREES]),
    ("mypy --strict src", [sys.executable, "-m", "mypy"]),
    # Every warning fails the build: a broken link, a missing page, a docstring that
    # does not match its signature. The pages' examples run in pytest (tests/docs/).
    ("mkdocs build --strict", [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", "{site}"]),
    ("pytest", [sys.executable, "-m", "pytest", *sys.argv[1:]]),
]


def main() -> int:
    # The site is built into a directory of this run's own, removed afterwards.
    with tempfile.TemporaryDirectory(prefix="portal-access-site-") as site:
        return run_steps(site)


def run_steps(site: str) -> int:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    for name, command in STEPS:
        print(f"==> {name}", flush=True)
        status = subprocess.call(
            [site if part == "{site}" else part for part in command], cwd=ROOT, env=env
        )
        if status != 0:
            print(f"FAILED: {name} (exit {status})", flush=True)
            return status
    print("all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
