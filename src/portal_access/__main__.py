"""``python -m portal_access``: the demo and the operators' commands.

- ``demo``: seed 000's paid-access story on the sandbox gateway.
- ``db upgrade --url URL`` / ``db current --url URL``: create or upgrade a SQL database.
- ``reconcile --gateway NAME --since WHEN --app MODULE:FACTORY``: replay missed webhooks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib import import_module

__all__ = ["main"]

COMMANDS = {
    "demo": "portal_access._demo",
    "db": "portal_access.storage.sql._cli",
    "reconcile": "portal_access._commands.reconcile",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a command's ``main(argv)``; print usage on anything else."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        sys.stderr.write(__doc__ or "")
        return 2
    command: Callable[[list[str]], int] = import_module(COMMANDS[args[0]]).main
    return command(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
