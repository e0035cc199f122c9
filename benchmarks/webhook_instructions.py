"""The CPU one webhook costs, counted in instructions, against the floor's: a figure that
neither the disk nor the other processes on the machine move.

Run: ``.venv/bin/python benchmarks/webhook_instructions.py [--webhooks N]`` (needs
``valgrind``; Debian's package). Each side runs twice under ``valgrind
--tool=callgrind``, once with no webhook and once with ``N``, in a new process on a
database in ``/dev/shm`` (where ``fsync`` costs nothing); the difference of the two
totals over ``N`` is that side's instructions per webhook (interpreter start-up,
imports and set-up cancel out). ``PYTHONHASHSEED`` is fixed so that runs repeat.

- **ours**: ``PortalAccess.handle_webhook`` on ``SqlStore`` as in ``webhooks.py``
  (a ``payment_intent.processing`` applied to the contact's required payment);
- **ours, subscribed**: the same on a portal whose host subscribes to every event;
- **floor**: ``stripe.WebhookSignature.verify_header``, ``json.loads`` and one
  ``INSERT`` committed with ``sqlite3`` on a database with the store's settings.

Prints instructions per webhook and the ratios ours/floor. Wall time is
``webhooks.py``'s business: there the floor is mostly the disk's ``fsync``, which this
leaves out, so these ratios are of CPU alone and much larger.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARM = 100


def run_side(side: str, count: int, signed: int) -> None:
    """In the child: set ``side`` up, sign ``signed`` deliveries (as many in every run of a
    side, so that signing cancels out), warm it with :data:`WARM`, handle ``count``."""
    sys.path.insert(0, str(HERE))
    import webhooks  # noqa: PLC0415 - the child's own import, beside this file

    directory = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    try:
        if side == "floor":
            stack = contextlib.ExitStack()
            floor = webhooks.floor_side(directory / "floor.db", stack)
            batch = webhooks.deliveries("inv_floor", WARM + signed)
            floor(batch[:WARM])
            floor(batch[WARM : WARM + count])
            stack.close()
            return
        store = webhooks.make_store("sql", directory)
        portal, invoice_id = webhooks.portal_with_a_client(store)
        if side == "subscribed":
            portal.subscribe(lambda message: None)
        batch = webhooks.deliveries(invoice_id, WARM + signed)
        webhooks.run_ours(portal, batch[:WARM])
        webhooks.run_ours(portal, batch[WARM : WARM + count])
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def instructions(side: str, count: int, signed: int) -> int:
    """Instructions callgrind counted for a child running ``side`` with ``count`` webhooks."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                   sys.executable, __file__, "--child", side, str(count), str(signed)]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"{side}: valgrind failed:\n{done.stderr[-2000:]}")
        return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=500, help="webhooks per side")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_side(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("needs valgrind (apt-get install valgrind)")
    print(f"sqlite {sqlite3.sqlite_version}, {args.webhooks} webhooks per side, callgrind")
    sides = ("ours", "subscribed", "floor")
    runs = [(side, count) for side in sides for count in (0, args.webhooks)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counted = pool.map(lambda run: instructions(*run, args.webhooks), runs)
        totals = dict(zip(runs, counted, strict=True))
    per = {side: (totals[side, args.webhooks] - totals[side, 0]) / args.webhooks for side in sides}
    for side in sides:
        print(f"  {side:10s} {per[side] / 1e6:6.3f} M instructions per webhook")
    for side in ("ours", "subscribed"):
        print(f"  ratio {side}/floor: {per[side] / per['floor']:.1f}x (CPU only)")


if __name__ == "__main__":
    main()
