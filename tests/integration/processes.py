"""Run worker functions in real processes (spawned, as separate web workers are) that
start together at a barrier and report on a queue."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

__all__ = ["run_workers"]


def run_workers(
    target: Callable[..., None],
    args: Callable[[int], tuple[Any, ...]],
    count: int,
    *,
    timeout: float = 600,
) -> list[Any]:
    """Start ``count`` processes running ``target(*args(index), start, results)`` and
    return their reports (one ``results.put`` each), sorted. ``start`` is a barrier of
    ``count``; a process still alive after its report is killed."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(count), context.Queue()
    processes = [
        context.Process(target=target, args=(*args(index), start, results))
        for index in range(count)
    ]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=timeout) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    return sorted(reports)
