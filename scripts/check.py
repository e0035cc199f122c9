"""Run every check the project's CI runs: lint, format, types, then the test suite.

Usage: ``.venv/bin/python scripts/check.py [pytest arguments...]``. It stops at the
first failing step and exits with its status, so "all green" means all of them passed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

TREES = ["src", "tests", "benchmarks", "scripts", "examples"]
STEPS = [
    ("ruff lint", [str(BIN / "ruff"), "check", *TREES]),
    ("ruff format", [str(BIN / "ruff"), "format", "--check", *TREES]),
    ("mypy --strict src", [sys.executable, "-m", "mypy"]),
    ("pytest", [sys.executable, "-m", "pytest", *sys.argv[1:]]),
]


def main() -> int:
    for name, command in STEPS:
        print(f"==> {name}", flush=True)
        status = subprocess.call(command, cwd=ROOT)
        if status != 0:
            print(f"FAILED: {name} (exit {status})", flush=True)
            return status
    print("all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
