"""``python -m portal_access``: the demo and the operators' commands.

usage: python -m portal_access COMMAND [ARGS...]   (COMMAND --help for its options)

commands:
  demo             seed 000's paid-access story on the sandbox gateway (--serve: in a browser)
  db               create, upgrade, inspect (upgrade, current) and prune (prune) a SQL store
  deliver-outbox   an outbox worker: deliver due messages until stopped (--once, --interval)
  reconcile        replay a gateway's events the host missed (--gateway, --since, --app)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib import import_module

__all__ = ["main"]

COMMANDS = {
    "demo": "portal_access._demo",
    "db": "portal_access.storage.sql._cli",
    "deliver-outbox": "portal_access._commands.deliver_outbox",
    "reconcile": "portal_access._commands.reconcile",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a command's ``main(argv)``. ``--help`` prints the commands (exit 0);
    no command or an unknown one prints them to stderr (exit 2)."""
    args = list(sys.argv[1:] if argv is None else argv)
    usage = (__doc__ or "").split("\n\n", 1)[1]
    if args[:1] in (["--help"], ["-h"], ["help"]):
        sys.stdout.write(usage)
        return 0
    if not args or args[0] not in COMMANDS:
        if args:
            sys.stderr.write(f"unknown command {args[0]!r}\n\n")
        sys.stderr.write(usage)
        return 2
    command: Callable[[list[str]], int] = import_module(COMMANDS[args[0]]).main
    return command(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
