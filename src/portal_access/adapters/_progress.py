"""How a long command shows its progress: a bar redrawn in place on a terminal, plain
lines when the output is piped or logged (a bar's carriage returns would fill a log).

>>> import io
>>> piped = io.StringIO()
>>> progress = Progress(piped, "messages", every=2)
>>> for count in (1, 2, 3):
...     progress.update(count)
>>> progress.done(3)
>>> print(piped.getvalue(), end="")
2 messages
3 messages done
"""

from __future__ import annotations

from typing import TextIO

__all__ = ["Progress"]

_WIDTH = 20


class Progress:
    """Progress of a count of ``unit`` on ``stream``.

    Args:
        stream: where it goes (usually ``sys.stderr``).
        unit: what is counted (``"events"``, ``"messages"``).
        every: when piped, write a line every this many (a bar redraws each time).
        terminal: whether ``stream`` is a terminal (default: ``stream.isatty()``).
    """

    def __init__(
        self, stream: TextIO, unit: str, *, every: int = 100, terminal: bool | None = None
    ) -> None:
        self._stream = stream
        self._unit = unit
        self._every = max(every, 1)
        self._terminal = _isatty(stream) if terminal is None else terminal
        self._last = 0

    @property
    def terminal(self) -> bool:
        """Whether it draws a bar (else plain lines)."""
        return self._terminal

    def update(self, count: int, note: str = "") -> None:
        """``count`` done so far (``note``: a few words more)."""
        if self._terminal:
            filled = count % (_WIDTH + 1)
            self._draw(count, "#" * filled + " " * (_WIDTH - filled), note)
        elif count // self._every > self._last // self._every:
            self._line(f"{count} {self._unit}{' ' + note if note else ''}")
        self._last = count

    def done(self, count: int, note: str = "") -> None:
        """The end: ``count`` in all."""
        extra = f" {note}" if note else ""
        if self._terminal:
            self._draw(count, "#" * _WIDTH, note)
            self._stream.write("\n")
            self._stream.flush()
        else:
            self._line(f"{count} {self._unit} done{extra}")

    def _draw(self, count: int, bar: str, note: str) -> None:
        self._stream.write(f"\r[{bar}] {count} {self._unit}{' ' + note if note else ''}")
        self._stream.flush()

    def _line(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or odd stream: no bar
        return False
