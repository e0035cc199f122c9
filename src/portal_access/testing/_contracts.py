"""What both storage contract suites share: the message of a missing fixture, and
threads racing."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

__all__ = ["missing_fixture", "race", "start"]


def missing_fixture(contract: str, name: str, what: str) -> str:
    """The message a contract fails with when its subclass lacks a fixture."""
    return (
        f"{contract} needs a `{name}` fixture: override it in your test class to return "
        f"{what} (see docs/stores.md)."
    )


def start(work: Callable[[], object]) -> threading.Thread:
    """``work`` running in a new daemon thread."""
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def race(*actions: Callable[[], object], timeout: float = 120) -> None:
    """Run ``actions`` in threads that start together; fail with the first error.

    Raises:
        pytest.fail.Exception: an action raised, or one was still running at ``timeout``.
    """
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            action()
        except BaseException as exc:  # reported by the calling thread
            errors.append(exc)

    threads = [start(lambda action=action: run(action)) for action in actions]  # type: ignore[misc]
    for thread in threads:
        thread.join(timeout=timeout)
    if any(thread.is_alive() for thread in threads):
        pytest.fail("a racing unit of work hung")
    if errors:
        raise errors[0]
